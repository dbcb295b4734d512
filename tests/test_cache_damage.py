"""A restored cache can never change the bytes produced.

A real cache is made by materializing a small fleet (static and helm
components from repositories served by ``git daemon``, so mirrors exist, and a
chart pulled from a chart repository), the local demo, and generating a local HLD
folder (so the parse cache and a ``method: http`` download are there too). Then, seed after
seed, a copy of it is damaged at random in every area (files truncated,
emptied, deleted, a byte flipped) and materialized from as the CI templates
do (``fabpromote cache check --repair``, then ``fabpromote materialize``):
the output is byte for byte that of a run with an empty cache.
"""

from __future__ import annotations

import functools
import http.server
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from fabpromote.testing.gitrepos import GIT_ENV, WorkRepo, git
from fabpromote.testing.gitservers import GitDaemon

pytestmark = pytest.mark.helm

SEEDS = int(os.environ.get("FABPROMOTE_DAMAGE_SEEDS", "12"))
CHART = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
    "data:\n  greeting: {{ .Values.greeting | quote }}\n"
)


def _helm() -> str:
    found = shutil.which("helm")
    if found is None:
        pytest.fail("helm is not on PATH: run scripts/bootstrap.sh, then put $(bash scripts/install-helm.sh) on PATH")
    return found


def _chart_files(prefix: str, greeting: str) -> dict[str, str | bytes]:
    return {
        f"{prefix}/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
        f"{prefix}/values.yaml": f"greeting: {greeting}\n",
        f"{prefix}/templates/cm.yaml": CHART,
    }


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@attrs.define
class Cluster:
    """What to render: ``materialize dev`` of the cluster file in ``folder``, or ``generate dev`` of the HLD there."""

    name: str
    folder: Path
    generate: bool = False

    def render(self, cache: Path, out: Path) -> subprocess.CompletedProcess[str]:
        """Render into ``out`` with the cache ``cache``, as CI does."""
        if self.generate:
            # generate writes <hld>/generated/dev: render into a fresh one, then move it to `out`.
            # An empty one, not none: a first run into a new folder keeps no parse cache, whose
            # damage this test covers too.
            shutil.rmtree(self.folder / "generated", ignore_errors=True)
            (self.folder / "generated" / "dev").mkdir(parents=True)
            args = ["generate", "dev", "--path", str(self.folder)]
        else:
            args = ["materialize", "dev", "--out", str(out)]
        done = subprocess.run(
            [_fabpromote(), *args], cwd=self.folder, env=_env(cache), capture_output=True, text=True, timeout=300
        )
        if self.generate and done.returncode == 0:
            shutil.move(self.folder / "generated" / "dev", out)
        return done


@pytest.fixture(name="clusters", scope="module")
def _clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Cluster]]:
    root = tmp_path_factory.mktemp("fleet")
    for name, value in GIT_ENV.items():
        os.environ.setdefault(name, value)
    helm = _helm()
    served = root / "served"
    served.mkdir()
    charts = root / "charts"
    charts.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(charts)))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    pulled = root / "pulled"
    for path, text in _chart_files("pulled", "from-a-chart-repository").items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(str(text))
    subprocess.run([helm, "package", str(pulled), "--destination", str(charts)], check=True, capture_output=True)
    subprocess.run([helm, "repo", "index", str(charts), "--url", url], check=True, capture_output=True)
    demo = root / "demo"
    subprocess.run([_fabpromote(), "demo", str(demo)], check=True, capture_output=True, env=_env(root / "demo-cache"))
    (charts / "extra.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: downloaded\n")
    with GitDaemon(served) as daemon:
        _repositories(root, served, daemon.url, url)
        (root / "fleet").mkdir()
        (root / "fleet" / "fabpromote.yaml").write_text(
            f"name: fleet\nhld: {daemon.url}hld.git\nmanifests: {daemon.url}manifests.git\n"
        )
        local = _local_hld(root / "local", daemon.url, url)
        # The parse cache keeps no file changed within the last two seconds (racily clean).
        time.sleep(2.1)
        yield [Cluster("fleet", root / "fleet"), Cluster("demo", demo), Cluster("local", local, generate=True)]
    server.shutdown()
    server.server_close()


def _repositories(root: Path, served: Path, base: str, charts: str) -> None:
    """Serve app.git (static), web.git (a helm chart), hld.git (both and a pulled chart), manifests.git."""
    app = {
        "hld/component.yaml": "name: app\ntype: static\npath: ./manifests\n",
        "hld/manifests/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: app\ndata:\n  v: '1'\n",
        "hld/manifests/deploy.yaml": "kind: Deployment\nmetadata:\n  name: app\n",
    }
    web = {
        "hld/component.yaml": "name: web\ntype: helm\npath: ./chart\n",
        "hld/config/common.yaml": "config:\n  greeting: from-git\n",
        **_chart_files("hld/chart", "hello"),
        # A chart fetched from git whose dependency is not in charts/: built into helm-deps/.
        **_chart_files("charts/deps", "with-a-dependency"),
        "charts/deps/Chart.yaml": (
            "apiVersion: v2\nname: deps\nversion: 0.1.0\n"
            "dependencies:\n- name: sub\n  version: 0.1.0\n  repository: file://../sub\n"
        ),
        "charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        "charts/sub/templates/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\n",
    }
    hld = {
        "component.yaml": (
            "name: cluster\ntype: static\npath: ./manifests\nsubcomponents:\n"
            f"- name: app\n  method: git\n  source: {base}app.git\n  branch: dev\n  path: hld\n"
            f"- name: web\n  method: git\n  source: {base}web.git\n  branch: dev\n  path: hld\n"
            f"- name: pulled\n  type: helm\n  method: helm\n  source: {charts}\n  path: web\n  version: 0.1.0\n"
            f"- name: deps\n  type: helm\n  method: git\n  source: {base}web.git\n  branch: dev\n  path: charts/deps\n"
        ),
        "manifests/ns.yaml": "kind: Namespace\nmetadata:\n  name: fleet\n",
    }
    for name, files in (("app", app), ("web", web), ("hld", hld)):
        work = WorkRepo.create(root / "work" / name, files)
        work.checkout("dev")
        git("clone", "-q", "--bare", str(work.path), str(served / f"{name}.git"))
    git("init", "-q", "--bare", str(served / "manifests.git"))


def _local_hld(folder: Path, base: str, downloads: str) -> Path:
    """An HLD folder (the parse cache keeps its files) with a static, a git and an http component."""
    (folder / "manifests").mkdir(parents=True)
    (folder / "manifests" / "ns.yaml").write_text("kind: Namespace\nmetadata:\n  name: local\n")
    (folder / "component.yaml").write_text(
        "name: local\ntype: static\npath: ./manifests\nsubcomponents:\n"
        f"- name: app\n  method: git\n  source: {base}app.git\n  branch: dev\n  path: hld\n"
        f"- name: extra\n  type: static\n  method: http\n  source: {downloads}/extra.yaml\n"
    )
    (folder / "config").mkdir()
    (folder / "config" / "dev.yaml").write_text("subcomponents:\n  app:\n    namespace: local\n")
    return folder


def _fabpromote() -> str:
    return str(Path(sys.executable).with_name("fabpromote"))


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)}


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _damage(cache: Path, rng: random.Random) -> list[str]:
    """Damage a third of the cache's files (and at least one in every area); return what was done."""
    files = sorted(path for path in cache.rglob("*") if path.is_file() and not path.is_symlink())
    for directory in {path.parent for path in files}:
        os.chmod(directory, 0o700)
    areas: dict[str, list[Path]] = {}
    for path in files:
        areas.setdefault(path.relative_to(cache).parts[0], []).append(path)
    chosen = {rng.choice(paths) for paths in areas.values()} | set(rng.sample(files, len(files) // 3))
    done = []
    for path in sorted(chosen):
        os.chmod(path, 0o600)
        data = path.read_bytes()
        how = rng.choice(["truncate", "flip", "delete", "empty"])
        if how == "delete":
            path.unlink()
        elif how == "empty" or not data:
            path.write_bytes(b"")
        elif how == "truncate":
            path.write_bytes(data[: rng.randrange(len(data))])
        else:
            at = rng.randrange(len(data))
            path.write_bytes(data[:at] + bytes([data[at] ^ (1 << rng.randrange(8))]) + data[at + 1 :])
        done.append(f"{how} {path.relative_to(cache)}")
    return done


def test_a_damaged_restored_cache_never_changes_the_output(clusters: list[Cluster], tmp_path: Path) -> None:
    """Over many seeds, check --repair then materialize on a damaged cache gives the empty-cache bytes."""
    expected = {}
    warm = tmp_path / "warm"
    for cluster in clusters:
        cold = cluster.render(tmp_path / f"empty-{cluster.name}", tmp_path / f"ref-{cluster.name}")
        assert cold.returncode == 0, cold.stderr
        expected[cluster.name] = _tree(tmp_path / f"ref-{cluster.name}")
        first = cluster.render(warm, tmp_path / f"first-{cluster.name}")
        assert first.returncode == 0, first.stderr
    areas = {path.name for path in warm.iterdir()}
    assert {"mirrors", "snapshots", "renders", "charts", "helm", "helm-deps", "downloads", "parsed"} <= areas, areas
    for seed in range(SEEDS):
        cache = tmp_path / f"cache-{seed}"
        shutil.copytree(warm, cache, symlinks=True)
        damage = _damage(cache, random.Random(seed))
        shown = f"seed {seed}, damage: {'; '.join(damage)}"
        check = subprocess.run(
            [_fabpromote(), "cache", "check", "--repair", "--cache-dir", str(cache)],
            env=_env(cache),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0, f"{shown}\n{check.stdout}{check.stderr}"
        for cluster in clusters:
            out = tmp_path / f"out-{seed}-{cluster.name}"
            done = cluster.render(cache, out)
            assert done.returncode == 0, f"{cluster.name}, {shown}\n{done.stderr}"
            assert _tree(out) == expected[cluster.name], f"{cluster.name}: other bytes, {shown}"


def test_a_sound_snapshot_passes_whatever_its_names(tmp_path: Path) -> None:
    """File names with line breaks are recorded and verified: cache check finds nothing wrong with the snapshot."""
    for name, value in GIT_ENV.items():
        os.environ.setdefault(name, value)
    odd = {
        "hld/component.yaml": "name: app\ntype: static\npath: ./manifests\n",
        "hld/manifests/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: app\n",
        "notes/line\nbreak.txt": "one\n",
        "notes/para\u2028graph \u0085.txt": "two\n",
    }
    work = WorkRepo.create(tmp_path / "app", odd)
    hld = tmp_path / "hld"
    hld.mkdir()
    (hld / "component.yaml").write_text(
        f"name: root\nsubcomponents:\n- name: app\n  method: git\n  source: {work.path}\n  branch: master\n  path: hld\n"
    )
    cache = tmp_path / "cache"
    done = subprocess.run(
        [_fabpromote(), "generate", "--path", str(hld)], env=_env(cache), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert list((cache / "snapshots").glob("*/_sums-*"))
    check = subprocess.run(
        [_fabpromote(), "cache", "check", "--cache-dir", str(cache)], capture_output=True, text=True, timeout=120
    )
    assert (check.returncode, check.stdout) == (0, ""), check.stdout + check.stderr
