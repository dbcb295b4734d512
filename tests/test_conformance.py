"""The Fabrikate conformance suite, one test per case, when ``../shared`` is beside the checkout.

The suite (cases and runner) is not part of this project: it lives in
``../shared/conformance`` relative to the project root and is read from there,
never copied. Each case runs through the suite's own runner
(``run_conformance.run_case``) with the settings its command line uses in CI:
``fabpromote generate`` (and ``fabpromote install``) of this interpreter's
environment, ``--allow-hooks`` where a case asks for it, the helm on ``PATH``
in front. Without the suite every test here is skipped, with the folder named.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT.parent / "shared" / "conformance"
CASES = SUITE / "fabrikate" / "cases"


def _case_names() -> list[str]:
    if not CASES.is_dir():
        return []
    return sorted(p.name for p in CASES.iterdir() if p.is_dir() and (p / "case.yaml").is_file())


@functools.cache
def _runner() -> ModuleType:
    """The suite's run_conformance.py, imported from its file (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("run_conformance", SUITE / "run_conformance.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is made.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _settings(runner: ModuleType) -> object:
    """What ``run_conformance.py --prepend-path <helm> SUITE`` runs with, this venv's fabpromote first."""
    helm = shutil.which("helm")
    prepend = [str(Path(sys.executable).parent)] + ([str(Path(helm).resolve().parent)] if helm else [])
    return runner.Settings(
        impl_cmd=runner.DEFAULT_IMPL_CMD,
        install_cmd=runner.DEFAULT_INSTALL_CMD,
        append_allow_hooks=True,
        path_prepend=prepend,
        timeout=300.0,
        keep=False,
        record=False,
        verbose=False,
    )


pytestmark = pytest.mark.skipif(not CASES.is_dir(), reason=f"no conformance suite at {CASES}")


def test_the_suite_has_cases() -> None:
    """A suite folder without a single case is a broken checkout of the suite, not a pass."""
    assert _case_names(), f"{CASES} holds no case (no */case.yaml)"


@pytest.mark.helm
@pytest.mark.parametrize("name", _case_names())
def test_case(name: str) -> None:
    """The case's generated/ tree is Fabrikate's, byte for byte (or it fails as Fabrikate does)."""
    if shutil.which("helm") is None:
        pytest.fail("the conformance cases need the reference helm on PATH (scripts/install-helm.sh)")
    runner = _runner()
    case = runner.load_case(CASES / name)
    passed, why = runner.run_case(case, _settings(runner))
    assert passed, f"{name}: {why}"
