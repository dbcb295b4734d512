"""Every third-party module a distribution imports is declared by that distribution.

Read from the sources with ``ast`` (nothing is imported): ``import x``, ``from x
import y`` and ``importlib.import_module("x")`` anywhere in a module, in a
function or a ``try`` block as much as at the top. Each top-level name must be
the standard library's, the distribution's own (and, for a plugin, the core's), or
come (``importlib.metadata.packages_distributions``) from a distribution that its
``pyproject.toml`` declares: in ``dependencies``, or in an extra a user installs for
a feature (``validate``, ``testing``). The ``test`` and ``docs`` extras are this
repository's own tools, so they do not count. That the main job needs no extra at
all is tests/test_core_only_install.py's part.
"""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).parents[1]
DISTRIBUTIONS = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))]
#: Extras for working on this repository, not for using what it ships.
DEVELOPMENT_EXTRAS = ("test", "docs")


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import in ``path``, ``import_module("literal")`` included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value))
    return [(line, name.split(".")[0]) for line, name in found]


def _is_import_module(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id == "import_module"
    )


def declared(project: dict) -> set[str]:
    """Canonical names of what ``project`` declares: its dependencies and its user-facing extras."""
    lines = list(project.get("dependencies", ()))
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra not in DEVELOPMENT_EXTRAS:
            lines += requirements
    return {canonicalize_name(Requirement(line).name) for line in lines}


def undeclared(folder: Path) -> list[str]:
    """``path:line: module (distributions)`` for each import of ``folder``'s distribution it does not declare.

    Paths are relative to ``folder``.
    """
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    package = project["name"].replace("-", "_")
    own = {package, "fabpromote"}
    allowed = declared(project)
    providers = packages_distributions()
    problems = []
    for path in sorted((folder / package).rglob("*.py")):
        for line, module in imported(path):
            if module in own or module in sys.stdlib_module_names:
                continue
            dists = {canonicalize_name(name) for name in providers.get(module, ())}
            if not dists & allowed:
                problems.append(f"{path.relative_to(folder)}:{line}: {module} ({', '.join(sorted(dists)) or '?'})")
    return problems


@pytest.mark.parametrize("folder", DISTRIBUTIONS, ids=lambda folder: folder.name if folder != ROOT else "fabpromote")
def test_imports_are_declared(folder: Path) -> None:
    """The distribution in ``folder`` declares each distribution its modules import."""
    assert undeclared(folder) == []


def test_finds_an_undeclared_import(tmp_path: Path) -> None:
    """The check itself: a module importing what its distribution does not declare is reported."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "fabpromote-probe"\ndependencies = ["attrs>=23.1"]\n'
        '[project.optional-dependencies]\ntest = ["pytest>=8"]\nextra = ["PyYAML>=6.0"]\n'
    )
    package = tmp_path / "fabpromote_probe"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import json\nimport attrs\nimport yaml\nfrom fabpromote_probe import x\nfrom fabpromote.git import redact\n"
        "def f():\n    import pytest\n    return importlib.import_module('requests.adapters')\n"
    )
    assert undeclared(tmp_path) == [
        "fabpromote_probe/__init__.py:7: pytest (pytest)",
        "fabpromote_probe/__init__.py:8: requests (requests)",
    ]
