"""Developer sessions: `nox -s tests`, `nox -s lint`, `nox -s typing`, ...

Tests run against installed copies (not the source tree), as attrs does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv" if shutil.which("uv") else "virtualenv"
nox.options.sessions = ["tests", "lint", "typing"]

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def _path_with_helm(session: nox.Session) -> dict[str, str]:
    """PATH with the reference helm and the session's tools in front."""
    helm = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-helm.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"PATH": os.pathsep.join([helm, session.bin, os.environ.get("PATH", "")])}


@nox.session
def tests(session: nox.Session) -> None:
    """The core and every first-party plugin together."""
    session.install(".[test]", *(str(p) for p in PLUGINS))
    session.run("pytest", *session.posargs, env=_path_with_helm(session))


@nox.session
@nox.parametrize("plugin", [p.name for p in PLUGINS])
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin alone with the core: catches undeclared dependencies."""
    session.install(".[test]", f"plugins/{plugin}")
    session.run("pytest", f"plugins/{plugin}", *session.posargs, env=_path_with_helm(session))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy on the core."""
    session.install("mypy", "types-PyYAML", "types-requests", ".")
    session.run("mypy")


@nox.session
def build(session: nox.Session) -> None:
    """Wheels and sdists of the core and every plugin."""
    session.install("build")
    for project in (ROOT, *PLUGINS):
        session.run("python", "-m", "build", "--outdir", str(ROOT / "dist"), str(project))
