"""State owned by the run: the ``cache_dir`` setting is honoured by everything that caches.

A cluster whose apps are helm charts three ways (a chart in a git repository,
a chart whose dependencies ``helm dependency`` builds, a chart pulled from a
chart repository served on 127.0.0.1), rendered with the real helm through
the CLI in this process.
"""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote._util import racy as _racy
from fabpromote.cli import main
from fabpromote.testing.gitrepos import git

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

DEMO_CHART = Path(__file__).parent.parent / "fabpromote" / "demo" / "chart"
#: What each run must keep in its own cache directory.
CACHES = ("mirrors", "snapshots", "parsed", "renders", "charts", "helm-deps", "helm")


class _Requests(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(name="chart_repository")
def _chart_repository(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A helm chart repository holding the demo chart ``app`` 0.1.0: its URL, and the paths asked for."""
    folder = tmp_path / "chart-repository"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *args: _Requests(*args, directory=str(folder)))
    server.paths = []  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{server.server_address[1]}"
    shutil.copytree(DEMO_CHART, tmp_path / "chart-source" / "app")
    helm = shutil.which("helm") or "helm"
    # Before the test's HOME is emptied; helm's own folders for this go beside the repository.
    env = {**os.environ, "HELM_CACHE_HOME": str(tmp_path / "helm-setup")}
    for args in (
        ["package", str(tmp_path / "chart-source" / "app"), "-d", str(folder)],
        ["repo", "index", str(folder)],
    ):
        subprocess.run([helm, *args], check=True, capture_output=True, env=env)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def _repo(path: Path, branch: str, files: dict[str, str]) -> None:
    path.mkdir(parents=True)
    git("init", "-q", "-b", branch, str(path))
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git("-C", str(path), "add", "-A")
    git("-C", str(path), "commit", "-q", "-m", "files")


@pytest.fixture(name="cluster_dir")
def _cluster_dir(tmp_path: Path, chart_repository: tuple[str, list[str]]) -> Path:
    """A cluster file's folder: an app repository with two charts, a cluster HLD, an empty manifests repo."""
    url, _ = chart_repository
    repos = tmp_path / "cluster" / "repos"
    chart = {f"chart/{p.relative_to(DEMO_CHART)}": p.read_text() for p in DEMO_CHART.rglob("*") if p.is_file()}
    withdep = {
        "withdep/Chart.yaml": (
            "apiVersion: v2\nname: withdep\nversion: 0.1.0\n"
            f"dependencies:\n  - name: app\n    version: 0.1.0\n    repository: {url}\n"
        ),
        "withdep/templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: withdep\n",
    }
    _repo(repos / "app", "master", {**chart, **withdep})
    component = (
        "name: cluster\ntype: static\npath: ./manifests\nsubcomponents:\n"
        f"  - {{name: web, type: helm, method: git, source: {repos / 'app'}, branch: master, path: chart}}\n"
        f"  - {{name: withdep, type: helm, method: git, source: {repos / 'app'}, branch: master, path: withdep}}\n"
        f"  - {{name: pulled, type: helm, method: helm, source: '{url}', path: app}}\n"
    )
    _repo(repos / "hld", "dev", {"component.yaml": component, "manifests/ns.yaml": "kind: Namespace\n"})
    git("init", "-q", "--bare", "-b", "dev", str(repos / "manifests.git"))
    return tmp_path / "cluster"


def _write_config(cluster_dir: Path, cache: Path) -> Path:
    config = cluster_dir / "fabpromote.yaml"
    config.write_text(
        "name: run-state\nhld: repos/hld\nmanifests: repos/manifests.git\nenvironments: [dev]\n"
        f"settings:\n  cache_dir: {cache}\n"
    )
    return config


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture(name="empty_home")
def _empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """HOME, the XDG folders and TMPDIR in new empty folders, and no FABPROMOTE_CACHE_DIR."""
    home, scratch = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    scratch.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name, where in (("CACHE", ".cache"), ("CONFIG", ".config"), ("DATA", ".local/share"), ("STATE", ".state")):
        monkeypatch.setenv(f"XDG_{name}_HOME", str(home / where))
    monkeypatch.delenv("FABPROMOTE_CACHE_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # The files were just written: count them as settled, so that the parse cache keeps them too.
    monkeypatch.setattr(_racy, "RACY_NS", -(10**19))
    return home, scratch


def test_cache_dir_setting_keeps_every_write_in_the_cache(
    cluster_dir: Path, empty_home: tuple[Path, Path], tmp_path: Path
) -> None:
    """Materialize and publish with helm charts write only into ``cache_dir`` and the output."""
    home, scratch = empty_home
    cache = tmp_path / "the-cache"
    config = _write_config(cluster_dir, cache)
    out = tmp_path / "out"
    assert main(["materialize", "--config", str(config), "--out", str(out), "--publish", "dev"]) == 0
    assert _files(home) == []
    assert _files(scratch) == []
    assert sorted({path.name for path in cache.iterdir()} & set(CACHES)) == sorted(CACHES)
    assert (cache / "helm" / "versions").is_dir()  # helm's version, asked once, kept in this cache
    assert len(list((cache / "renders").iterdir())) == 3
    assert {"cluster.yaml", "pulled.yaml", "web.yaml", "withdep.yaml"} <= {path.name for path in out.iterdir()}
    assert "withdep.yaml" in git("--git-dir", str(cluster_dir / "repos" / "manifests.git"), "ls-tree", "dev")


def test_two_runs_with_different_caches_share_nothing(
    cluster_dir: Path, empty_home: tuple[Path, Path], tmp_path: Path, chart_repository: tuple[str, list[str]]
) -> None:
    """The second run, with another cache_dir, keeps everything in its own cache and reads nothing from the first."""
    _, paths = chart_repository
    first, second = tmp_path / "cache-1", tmp_path / "cache-2"
    assert main(["materialize", "--config", str(_write_config(cluster_dir, first)), "dev"]) == 0
    asked_first = list(paths)
    paths.clear()
    assert main(["materialize", "--config", str(_write_config(cluster_dir, second)), "dev"]) == 0
    # Each run reads the repository's index and archive itself: no index or helm path is remembered in memory.
    assert asked_first
    assert sorted(paths) == sorted(asked_first)
    # As many entries of each kind (names hold paths, and the Chart.lock that helm writes holds the time).
    # Repositories on local paths are read in place: no mirror is made of them.
    kept = {folder: len(_files(first / folder)) for folder in CACHES if folder != "mirrors"}
    assert all(kept.values())
    assert {folder: len(_files(second / folder)) for folder in kept} == kept
    assert sorted(path.name for path in second.iterdir()) == sorted(path.name for path in first.iterdir())
