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
    session.run("pytest", *PARALLEL, *session.posargs, env=_path_with_helm(session))


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


def lowest_pins() -> list[str]:
    """``name==lower bound`` for every ``>=`` requirement of the core, its test and validate extras, and the plugins."""
    import tomllib
    from packaging.requirements import Requirement

    pins: dict[str, str] = {}
    for folder in (ROOT, *PLUGINS):
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        extras = project.get("optional-dependencies", {})
        for line in [*project["dependencies"], *extras.get("test", ()), *extras.get("validate", ())]:
            requirement = Requirement(line)
            for spec in requirement.specifier:
                if spec.operator == ">=":
                    name = requirement.name.lower()
                    if pins.setdefault(name, spec.version) != spec.version:
                        raise ValueError(
                            f"{folder.name}: {name}>={spec.version}, another distribution says {pins[name]}"
                        )
    return sorted(f"{name}=={version}" for name, version in pins.items())


@nox.session
@nox.parametrize("plugin", [p.name for p in PLUGINS])
def plugin(session: nox.Session, plugin: str) -> None:
    """One plugin alone with the core: catches undeclared dependencies."""
    session.install(".[test]", f"plugins/{plugin}")
    session.run("pytest", *PARALLEL, f"plugins/{plugin}", *session.posargs, env=_path_with_helm(session))


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks and the performance targets (bench/run.py); args go to it (--quick, --only NAME)."""
    session.install(".", *(str(p) for p in PLUGINS))
    session.run("python", "bench/run.py", *session.posargs, env=_path_with_helm(session))


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
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml) into site/; warnings are errors."""
    session.install(".[docs]")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def build(session: nox.Session) -> None:
    """Wheels and sdists of the core and every plugin into dist/, their metadata checked."""
    session.install("build", "twine")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for project in (ROOT, *PLUGINS):
        session.run("python", "-m", "build", "--outdir", str(dist), str(project))
    session.run("twine", "check", "--strict", *sorted(str(p) for p in dist.iterdir()))
    _check_dist(session, dist)


def _check_dist(session: nox.Session, dist: Path) -> None:
    """Versions in lock-step, and the files the tests and the demo need are in the archives."""
    import tarfile
    import zipfile

    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for plugin in PLUGINS:
        project = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
        if project["version"] != version or f"fabpromote=={version}" not in project["dependencies"]:
            session.error(f"{plugin.name}: version {project['version']} and dependency on fabpromote=={version}")
    expected = {p.name.replace("-", "_") for p in PLUGINS} | {"fabpromote"}
    for name in expected:
        wheel, sdist = dist / f"{name}-{version}-py3-none-any.whl", dist / f"{name}-{version}.tar.gz"
        if not wheel.is_file() or not sdist.is_file():
            session.error(f"missing {wheel.name} or {sdist.name}")
        with tarfile.open(sdist) as archive:
            members = archive.getnames()
        if not any("/tests/" in member for member in members):
            session.error(f"{sdist.name} has no tests/")
    with zipfile.ZipFile(dist / f"fabpromote-{version}-py3-none-any.whl") as wheel_file:
        names = wheel_file.namelist()
    for needed in (
        "fabpromote/demo/chart/Chart.yaml",
        "fabpromote/demo/chart/templates/deployment.yaml",
        "fabpromote/py.typed",
    ):
        if needed not in names:
            session.error(f"the fabpromote wheel lacks {needed}")
    session.log(f"{len(expected)} distributions at {version}, metadata and contents checked")
