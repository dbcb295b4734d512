"""A core-only install (``pip install fabpromote``, no plugin) materializes, publishes and promotes.

The environment is a new virtual environment (``--without-pip``) holding the core
and exactly the distributions it declares, nothing else:

- the core from this checkout: a ``.pth`` file naming the checkout, and a
  ``fabpromote`` dist-info written from ``pyproject.toml`` (name, version,
  ``Requires-Dist``, entry points), as an installer would write it;
- every distribution the core's ``[project] dependencies`` name, and what they
  require in turn (with the extras asked for, markers evaluated), resolved from
  the metadata of the environment running the tests: each one's top-level files
  (packages, modules, its ``.dist-info``) linked into the new site-packages.

That is what ``pip install fabpromote`` puts on ``sys.path``, built in about a
second and offline; a dependency the code uses but the core does not declare is
missing there, as it would be for a user. It also checks the versions found
satisfy the declared specifiers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fabpromote.testing.fleet import ENVS, LocalFleet

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def declared_closure(requirements: list[str]) -> dict[str, Distribution]:
    """The installed distributions ``requirements`` name, and those they require, by canonical name.

    Raises AssertionError naming a requirement no installed distribution meets.
    """
    found: dict[str, Distribution] = {}
    seen: set[tuple[str, str]] = set()
    todo = [(Requirement(line), "") for line in requirements]
    while todo:
        requirement, extra = todo.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                dist = found.setdefault(name, distribution(requirement.name))
            except PackageNotFoundError:
                raise AssertionError(f"{requirement} is not installed in the running environment") from None
            assert requirement.specifier.contains(dist.version, prereleases=True), (str(requirement), dist.version)
            todo += [(Requirement(line), wanted) for line in dist.requires or ()]
    return found


def _link(dist: Distribution, site: Path) -> None:
    """Link the top-level entries of ``dist``'s files (its RECORD) into ``site``."""
    assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
    tops = {file.parts[0] for file in dist.files if file.parts[0] not in ("..", "__pycache__")}
    for top in sorted(tops):
        source = Path(str(dist.locate_file(top)))
        target = site / top
        # Two distributions owning one top-level name (a namespace package) would need merging: say so.
        assert not target.exists(), f"{top} is in {dist.metadata['Name']} and another distribution"
        target.symlink_to(source, target_is_directory=source.is_dir())


def _core_metadata(site: Path) -> None:
    """The core's dist-info, from pyproject.toml: what an installer writes for ``pip install fabpromote``."""
    info = site / f"fabpromote-{PROJECT['version']}.dist-info"
    info.mkdir()
    requires = "".join(f"Requires-Dist: {line}\n" for line in PROJECT["dependencies"])
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {PROJECT['name']}\nVersion: {PROJECT['version']}\n{requires}"
    )
    groups = {"console_scripts": PROJECT["scripts"], **PROJECT["entry-points"]}
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) for group, entries in groups.items()
        )
    )
    (info / "top_level.txt").write_text("fabpromote\n")


@pytest.fixture(name="core_only", scope="module")
def _core_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a virtual environment holding the core and its declared dependencies only."""
    venv = tmp_path_factory.mktemp("core-only") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    site = Path(purelib)
    (site / "fabpromote-checkout.pth").write_text(f"{ROOT}\n")
    _core_metadata(site)
    for dist in declared_closure(PROJECT["dependencies"]).values():
        _link(dist, site)
    return python


def _run(python: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # -I: no PYTHONPATH, no user site-packages, not the current folder: only what the environment holds.
    return subprocess.run([python, "-I", *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


class TestEnvironment:
    def test_holds_the_core_and_no_plugin(self, core_only: Path) -> None:
        """The core imports from this checkout, with merge3 for dulwich; no plugin nor test tool; only built-ins load."""
        done = _run(core_only, "-c", "import fabpromote; print(fabpromote.__file__, fabpromote.__version__)")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [str(ROOT / "fabpromote" / "__init__.py"), PROJECT["version"]]
        for module in (
            "fabpromote_helm",
            "fabpromote_kustomize",
            "fabpromote_github",
            "fabpromote_gitlab",
            "fabpromote_gitea",
            "fabpromote_fabrikate",
            "fabpromote_azure_devops",
            "pytest",
        ):
            done = _run(core_only, "-c", f"import {module}")
            assert done.returncode == 1, module
            assert f"No module named {module!r}" in done.stderr, done.stderr
        # Line-level merges of the local host: dulwich finds merge3 (else a file changed on both sides conflicts).
        done = _run(core_only, "-c", "import dulwich.merge; print(dulwich.merge.merge3 is not None)")
        assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr
        done = _run(core_only, "-m", "fabpromote", "plugins", "--json")
        assert done.returncode == 0, done.stderr
        plugins = json.loads(done.stdout)["plugins"]
        assert [row["name"] for row in plugins] == ["fabpromote.builtins"]
        assert "Git host local" in plugins[0]["backends"]


class TestMainJob:
    def test_materialize_publish_promote(self, core_only: Path, tmp_path: Path) -> None:
        """Static components on local repositories: publish every environment, then promote dev to stage."""
        fleet = LocalFleet(tmp_path / "fleet")
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        config = str(fleet.config(base))
        for env in ENVS:
            done = _run(core_only, "-m", "fabpromote", "materialize", env, "--publish", "--config", config)
            assert done.returncode == 0, done.stderr
        for env in ENVS:
            assert "version: v1" in _manifest(fleet, env)

        fleet.push_app("dev", "v2")
        done = _run(core_only, "-m", "fabpromote", "materialize", "dev", "--publish", "--config", config)
        assert done.returncode == 0, done.stderr
        argv = ("promote", "app", "--from", "dev", "--to", "stage", "--publish", "--json", "--config", config)
        done = _run(core_only, "-m", "fabpromote", *argv)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["outcome"] == "done"

        assert [("version: v2" in _manifest(fleet, env)) for env in ENVS] == [True, True, False]
        assert "version: v1" in _manifest(fleet, "prod")
        fleet.fsck()


def _manifest(fleet: LocalFleet, branch: str) -> str:
    """Every manifest file on ``branch`` of the manifests repository, concatenated."""
    files = fleet.manifests("ls-tree", "-r", "--name-only", branch).split()
    assert files, f"{branch} of the manifests repository is empty"
    return "".join(fleet.manifests("show", f"{branch}:{path}") for path in files)
