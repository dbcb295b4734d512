"""The import-linter contracts of pyproject.toml: kept by the tree, and each one able to fail.

Each violation is written into a scratch copy of the core (and of one plugin), which
``lint-imports`` then checks with the project's own configuration: the copy comes first
on ``PYTHONPATH``, so it is the package analysed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fabpromote

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).parents[1]
CORE = Path(fabpromote.__file__).parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = [
    contract["name"]
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
]
LAYERS, ACYCLIC, FACADES, PLUGINS = CONTRACTS


def lint_imports(cwd: Path, pythonpath: list[Path] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_tree_keeps_every_contract() -> None:
    """`lint-imports` on the project as it is: every contract of pyproject.toml kept."""
    assert len(CONTRACTS) == 4
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in done.stdout


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the core and of the helm plugin, beside the project's pyproject.toml."""
    shutil.copytree(CORE, tmp_path / "src" / "fabpromote", ignore=shutil.ignore_patterns("__pycache__"))
    helm = ROOT / "plugins" / "fabpromote-helm" / "fabpromote_helm"
    shutil.copytree(helm, tmp_path / "src" / "fabpromote_helm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_import(module: Path, line: str) -> None:
    """Put ``line`` after the ``from __future__`` import of ``module``."""
    text = module.read_text()
    future = "from __future__ import annotations\n"
    assert future in text, module
    module.write_text(text.replace(future, f"{future}\n{line}\n", 1))


#: An upward import between subpackages also closes a cycle (the upper one imports the lower): both break.
VIOLATIONS = {
    # module of the scratch copy, the import added to it, the contracts it breaks
    "hld imports cli": ("fabpromote/_hld/model.py", "from fabpromote._cli import main", [LAYERS, ACYCLIC]),
    "sources import the engine": (
        "fabpromote/_sources/gittcp.py",
        "from fabpromote._engine import walk",
        [LAYERS, ACYCLIC],
    ),
    "a cycle inside _hld": ("fabpromote/_hld/model.py", "from fabpromote._hld import loading", [ACYCLIC]),
    "the engine imports a facade": ("fabpromote/_engine/walk.py", "from fabpromote import git", [FACADES]),
    "a plugin imports a private module": (
        "fabpromote_helm/_helm.py",
        "from fabpromote._sources.cache import Cache",
        [PLUGINS],
    ),
}


@pytest.mark.parametrize("violation", list(VIOLATIONS))
def test_a_violation_breaks_its_contract(scratch: Path, violation: str) -> None:
    """One forbidden import in the scratch copy: lint-imports fails, naming the contracts it breaks."""
    module, line, contracts = VIOLATIONS[violation]
    src = scratch / "src"
    clean = lint_imports(scratch, [src])
    assert clean.returncode == 0, clean.stdout + clean.stderr  # the copy itself is analysed, and clean
    add_import(src / module, line)
    done = lint_imports(scratch, [src])
    assert done.returncode == 1, done.stdout + done.stderr
    assert [name for name in CONTRACTS if f"{name} BROKEN" in done.stdout] == contracts
    assert f"{len(CONTRACTS) - len(contracts)} kept, {len(contracts)} broken." in done.stdout
