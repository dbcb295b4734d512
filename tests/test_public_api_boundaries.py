"""The plugin-author API's boundaries: plugins use public modules only, the core uses no plugin.

Read from the sources with ``ast`` (nothing is imported), so an import inside a
function, or a test helper of a plugin, counts as much as one at the top.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import fabpromote

ROOT = Path(__file__).parents[1]
PLUGINS = ROOT / "plugins"
CORE = Path(fabpromote.__file__).parent
#: The public modules a plugin may import, beside the package itself.
PUBLIC = (
    "fabpromote.cache",
    "fabpromote.cli",
    "fabpromote.exceptions",
    "fabpromote.fetch",
    "fabpromote.git",
    "fabpromote.goyaml",
    "fabpromote.hookspecs",
    "fabpromote.network",
    "fabpromote.paths",
    "fabpromote.rest",
    "fabpromote.testing",
    "fabpromote.typing",
)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything ``path`` imports; ``from a import b`` gives ``a.b``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _private(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "fabpromote" and any(part.startswith("_") for part in parts[1:])


def _plugin_packages() -> set[str]:
    return {path.name for path in PLUGINS.glob("*/fabpromote_*") if path.is_dir()}


def test_plugins_import_only_public_names() -> None:
    """No module of a first-party plugin, its tests included, imports ``fabpromote._*``."""
    sources = sorted(PLUGINS.glob("*/**/*.py"))
    assert len(sources) > 50
    private = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sources
        for line, name in _imports(path)
        if _private(name)
    ]
    assert private == []


def test_plugins_never_name_a_private_module() -> None:
    """Not even in a docstring, a README or a mock's target: a plugin's author reads only public names."""
    files = [path for path in sorted(PLUGINS.rglob("*")) if path.suffix in {".py", ".md", ".toml"}]
    named = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "fabpromote._" in line
    ]
    assert named == []


def test_core_imports_no_plugin() -> None:
    """The core (and fabpromote.testing) never imports a first-party plugin."""
    packages = _plugin_packages()
    assert {"fabpromote_helm", "fabpromote_github"} <= packages
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in sorted(CORE.rglob("*.py"))
        for line, name in _imports(path)
        if name.split(".")[0] in packages
    ]
    assert found == []


@pytest.mark.parametrize(
    "module_name", [name for name in PUBLIC if name not in ("fabpromote.hookspecs", "fabpromote.typing")]
)
def test_public_modules_are_documented(module_name: str) -> None:
    """Each public module says what it is for, lists its names, and documents every one of them.

    Classes and functions carry their own docstring; constants are named in the module's.
    (Not the hookspecs and the Protocols: they are the hooks and the contracts themselves,
    each documented, with type aliases documented beside them, and in docs/plugins.md.)
    """
    module = importlib.import_module(module_name)
    assert (module.__doc__ or "").strip(), module_name
    names = getattr(module, "__all__", None)
    assert names, f"{module_name} has no __all__"
    for name in names:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert (value.__doc__ or "").strip(), f"{module_name}.{name} has no docstring"
        elif not inspect.ismodule(value):
            assert name in (module.__doc__ or ""), f"{module_name}.{name} is not named in the module's docstring"


def test_plugin_author_modules_export_no_private_type() -> None:
    """The plugin-author modules hand out nothing whose name is private."""
    for module_name in ("fabpromote.cache", "fabpromote.fetch", "fabpromote.git", "fabpromote.paths"):
        module = importlib.import_module(module_name)
        assert [name for name in module.__all__ if name.startswith("_")] == []
        assert all(hasattr(module, name) for name in module.__all__)
