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

#: pytest-xdist: one worker per CPU (pass `-- -n 0` to run in one process).
PARALLEL = ("-n", "auto")

ROOT = Path(__file__).parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
#: The plugins as the tests and benchmarks install them: the helm plugin with its in-process backend.
PLUGINS_FULL = [f"{p}[sdk]" if p.name == "fabpromote-helm" else str(p) for p in PLUGINS]


def _path_with_helm(session: nox.Session) -> dict[str, str]:
    """PATH with the reference helm and the session's tools in front."""
    helm = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-helm.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    return {"PATH": os.pathsep.join([helm, session.bin, os.environ.get("PATH", "")])}


@nox.session
def tests(session: nox.Session) -> None:
    """The core and every first-party plugin together."""
    session.install(".[test]", *PLUGINS_FULL)
    session.run("pytest", *PARALLEL, *session.posargs, env=_path_with_helm(session))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) on the tree, and the import contracts of pyproject.toml.

    ``lint-imports`` analyses the core and the plugins as installed here; the
    contracts (docs/architecture.md) keep the core's layers in order and the
    plugins on the public modules.
    """
    session.install("ruff>=0.17", "import-linter>=2.6", ".", *(str(p) for p in PLUGINS))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports", "--no-cache")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict on the core (pyproject's [tool.mypy]) and on each first-party plugin's package."""
    session.install("mypy>=1.11", "types-PyYAML", "types-requests", ".[test]", *PLUGINS_FULL)
    session.run("mypy")
    session.run("mypy", "--strict", *(str(package) for p in PLUGINS for package in p.glob("fabpromote_*")))


@nox.session
def lowest(session: nox.Session) -> None:
    """The whole suite on the lowest version every distribution's `>=` bounds allow.

    Each direct dependency of the core and of the plugins (and of the `test` and
    `validate` extras) is pinned to its lower bound with a pip constraints file;
    what they need in turn is resolved as usual. A bound that is not the version
    really needed fails here.
    """
    constraints = Path(session.create_tmp()) / "lowest-constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in lowest_pins()))
    session.log(f"pinned to their lower bounds: {', '.join(lowest_pins())}")
    session.install("-c", str(constraints), ".[test,validate]", *(str(p) for p in PLUGINS))
    session.run("pytest", *PARALLEL, *session.posargs, env=_path_with_helm(session))


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks and issue 20's targets (bench/run.py); args go to it (--quick, --only NAME).

    matplotlib draws the curve (docs/performance-curve.svg); it is needed here
    only, not by the project.
    """
    session.install(".", *PLUGINS_FULL, "matplotlib>=3.8,<4")
    session.run("python", "bench/run.py", *session.posargs, env=_path_with_helm(session))


def lowest_pins() -> list[str]:
    """``name==version``: the lowest version of each direct dependency that every ``>=`` bound allows.

    The bounds come from the core, its test and validate extras, and the plugins;
    a name bounded twice (the validate and test extras both name kubernetes-validate)
    gets the higher bound, the lowest version both accept.
    """
    import tomllib
    from packaging.requirements import Requirement
    from packaging.version import Version

    pins: dict[str, Version] = {}
    for folder in (ROOT, *PLUGINS):
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        extras = project.get("optional-dependencies", {})
        for line in [*project["dependencies"], *extras.get("test", ()), *extras.get("validate", ())]:
            requirement = Requirement(line)
            name = requirement.name.lower()
            for spec in requirement.specifier:
                if spec.operator == ">=":
                    pins[name] = max(pins.get(name, Version(spec.version)), Version(spec.version))
    return sorted(f"{name}=={version}" for name, version in pins.items())
