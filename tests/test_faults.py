"""Faults: a hanging or killed helm, git servers dying mid-fetch and mid-push, a full disk, killed publishers,
and commands stopped by SIGTERM or SIGINT.

Each test proves that the failure is a clear error, that nothing is left corrupt
(``git fsck`` on the remotes, ``fabpromote cache check`` clean) and that the
next run converges.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote import Cluster, materialize, publish
from fabpromote._cli.cachecheck import check_cache, scan_cache
from fabpromote.exceptions import FabpromoteError, PushRejectedError, SourceError
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, WorkRepo, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer
from fabpromote.testing.httpfaults import FaultyHTTPServer
from fabpromote.testing.tcpfaults import FaultyProxy

SECRET = "s3cr3t-T0KEN"
REAL_HELM = Path("/root/.cache/fabpromote-tools/helm-v3.18.0/helm")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, name="cache")
def _cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> LocalFleet:
    return LocalFleet(tmp_path / "fleet")


def assert_cache_clean(cache: Path) -> None:
    """``check_cache`` finds nothing, and the CLI agrees (exit 0)."""
    assert check_cache(cache) == []
    done = subprocess.run(
        [sys.executable, "-m", "fabpromote", "cache", "check", "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def cache_files(cache: Path) -> set[str]:
    return {str(path.relative_to(cache)) for path in cache.rglob("*")} if cache.exists() else set()


# helm


CHART = {
    "Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  x: {{ .Values.x | quote }}\n",
    "values.yaml": "x: one\n",
}

STUB_HELM = {
    "hang": '#!/bin/sh\nif [ "$1" = version ]; then echo v3.18.0+stub; exit 0; fi\nexec sleep 60\n',
    # Writes half a document, then dies as if OOM-killed.
    "killed": '#!/bin/sh\nif [ "$1" = version ]; then echo v3.18.0+stub; exit 0; fi\n'
    "printf 'apiVersion: v1\\nkind: Conf'\nkill -9 $$\n",
}


def helm_tree(root: Path) -> Path:
    hld = root / "hld"
    for name, text in CHART.items():
        (hld / "chart" / name).parent.mkdir(parents=True, exist_ok=True)
        (hld / "chart" / name).write_text(text)
    (hld / "component.yaml").write_text(
        "name: app\nsubcomponents:\n- name: web\n  type: helm\n  method: local\n  path: ./chart\n"
    )
    return hld


def run_generate(hld: Path, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabpromote", "generate", "prod", "--path", str(hld)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


class TestHelm:
    @pytest.mark.parametrize("fault", ["hang", "killed"])
    def test_helm_hanging_or_killed(self, tmp_path: Path, fault: str, cache: Path) -> None:
        """A helm that hangs is killed after FABPROMOTE_HELM_TIMEOUT; one that dies is an error; nothing is written."""
        hld = helm_tree(tmp_path)
        stub = tmp_path / "bin" / "helm"
        stub.parent.mkdir()
        stub.write_text(STUB_HELM[fault])
        stub.chmod(0o755)
        env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "FABPROMOTE_HELM_TIMEOUT": "1"}
        env.pop("FABPROMOTE_HELM", None)
        started = time.monotonic()
        done = run_generate(hld, env)
        elapsed = time.monotonic() - started
        assert done.returncode == 1, done.stderr
        (line,) = [line for line in done.stderr.splitlines() if line.startswith("fabpromote: error:")]
        if fault == "hang":
            assert "did not finish within 1 s and was killed" in line
            assert elapsed < 15
        else:
            assert "helm template" in line or "exit" in line, line
        assert not (hld / "generated").exists()
        assert_cache_clean(cache)
        if not REAL_HELM.is_file():
            pytest.skip(f"no real helm at {REAL_HELM}")
        env = {**os.environ, "FABPROMOTE_HELM": str(REAL_HELM)}
        done = run_generate(hld, env, timeout=60)
        assert done.returncode == 0, done.stderr
        assert 'x: "one"' in (hld / "generated" / "prod" / "web.yaml").read_text()
        assert_cache_clean(cache)


# git servers


class TestServers:
    def test_server_dies_mid_fetch(self, fleet: LocalFleet, cache: Path) -> None:
        """A server cut off mid-pack: a clear error, no broken mirror; after a restart the rerun converges."""
        with SmartHTTPServer(fleet.served) as server:
            fleet.write_hld(server.url)
            cluster = Cluster.from_file(fleet.config(server.url))
            noise = os.urandom(400_000).hex()
            fleet.push_app("dev", noise)
            server.stop_after_bytes = 20_000
            with pytest.raises(FabpromoteError, match=r"127\.0\.0\.1.*cannot fetch") as info:
                materialize(cluster, "dev")
            assert "Traceback" not in str(info.value)
            # Whatever the killed transfer left is debris, which --repair removes, and nothing else.
            for problem in scan_cache(cache, repair=True, debris_age=0):
                assert problem.repaired, problem
                assert "leftover temporary" in problem.what, problem
            assert check_cache(cache, debris_age=0) == []
            server.start()
            assert noise.encode() in materialize(cluster, "dev").manifests["app/app.yaml"]
        fleet.fsck()
        assert_cache_clean(cache)

    def test_git_daemon_dies_mid_fetch(self, fleet: LocalFleet, cache: Path) -> None:
        """git:// cut off mid-pack: a clear error naming the remote (redacted), sound mirrors; the rerun converges."""
        with GitDaemon(fleet.served) as daemon, FaultyProxy(daemon.port) as proxy:
            # dulwich ignores user info in git:// URLs; it must still never be shown.
            base = proxy.url.replace("git://", f"git://user:{SECRET}@")
            fleet.write_hld(base)
            cluster = Cluster.from_file(fleet.config(base))
            noise = os.urandom(400_000).hex()
            fleet.push_app("dev", noise)
            proxy.cut_after = 20_000
            with pytest.raises(
                SourceError,
                match=r"^git://\*\*\*@127\.0\.0\.1:\d+/app\.git: cannot fetch commit.*: "
                r"the connection was cut mid-transfer",
            ) as info:
                materialize(cluster, "dev")
            assert proxy.cut_after is None, "the transfer should have been cut"
            assert SECRET not in str(info.value)
            # Whatever the cut transfer left is debris, which --repair removes, and nothing else.
            for problem in scan_cache(cache, repair=True, debris_age=0):
                assert problem.repaired, problem
                assert "leftover temporary" in problem.what, problem
            for mirror in (cache / "mirrors").glob("*.git"):
                done = subprocess.run(
                    ["git", "--git-dir", str(mirror), "fsck", "--strict"], capture_output=True, text=True
                )
                assert done.returncode == 0, done.stderr
            proxy.start()
            assert noise.encode() in materialize(cluster, "dev").manifests["app/app.yaml"]
        fleet.fsck()
        assert_cache_clean(cache)

    def test_server_dies_mid_push(self, fleet: LocalFleet, cache: Path) -> None:
        """The server dies as the pack is pushed: a clear error, the branch unchanged; the rerun publishes once."""
        fleet.write_hld(f"{fleet.served}/")
        result = materialize(Cluster.from_file(fleet.config(f"{fleet.served}/")), "dev")
        died: list[str] = []

        def die(method: str, path: str) -> int | None:
            if method == "POST" and path.endswith("git-receive-pack") and not died:
                died.append(path)
                server.stop()
                return 503
            return None

        server = SmartHTTPServer(fleet.served, before_request=die)
        with server:
            remote = Cluster.from_file(fleet.config(server.url))
            with pytest.raises(FabpromoteError, match=r"127\.0\.0\.1") as info:
                publish(result, remote)
            assert died
            assert "Traceback" not in str(info.value)
            assert fleet.branch("dev") is None
            fleet.fsck()
            server.start()
            first = publish(result, remote)
            assert first.commit is not None
            assert publish(result, remote).commit is None
        assert fleet.manifests("rev-list", "--count", "dev").strip() == "1"
        fleet.fsck()
        assert_cache_clean(cache)


# full disk


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def enospc(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class TestFullDisk:
    def test_mirror_on_full_tmpfs(self, tmp_path: Path, fleet: LocalFleet, monkeypatch: pytest.MonkeyPatch) -> None:
        """A cache on a 1 MiB tmpfs cannot hold a 2 MB pack: a clear error naming the cache, no partial entry."""
        cache = tmp_path / "small"
        with tmpfs(cache, "1m"):
            monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
            base = f"{fleet.served}/"
            fleet.write_hld(base)
            noise = os.urandom(1_000_000).hex()
            fleet.push_app("dev", noise)
            cluster = Cluster.from_file(fleet.config(base))
            with pytest.raises(FabpromoteError, match="No space left on device") as info:
                materialize(cluster, "dev")
            assert str(cache) in str(info.value)
            assert check_cache(cache, debris_age=0) == []
            subprocess.run(["mount", "-o", "remount,size=64m", str(cache)], check=True)
            assert noise.encode() in materialize(cluster, "dev").manifests["app/app.yaml"]
            assert_cache_clean(cache)
            fleet.fsck()

    @pytest.mark.parametrize("where", ["snapshot", "download-or-render"])
    def test_writer_fails_midway(
        self, fleet: LocalFleet, monkeypatch: pytest.MonkeyPatch, cache: Path, where: str
    ) -> None:
        """ENOSPC after some files of a snapshot, or in an atomic write: a clear error, no partial entry left."""
        import fabpromote._sources.cache
        import fabpromote._sources.snapshots
        import fabpromote._util.wholefiles

        fleet.many = 5
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        cluster = Cluster.from_file(fleet.config(base))
        if where == "snapshot":
            real = fabpromote._sources.snapshots._write_file
            calls = []

            def failing(path: Path, blob: object, *, executable: bool) -> None:
                calls.append(path)
                if len(calls) > 3:
                    enospc()
                real(path, blob, executable=executable)  # type: ignore[arg-type]

            monkeypatch.setattr(fabpromote._sources.snapshots, "_write_file", failing)
            with pytest.raises(FabpromoteError, match="No space left on device") as info:
                materialize(cluster, "dev")
            assert str(cache) in str(info.value)
            assert not list((cache / "snapshots").rglob(".*"))
        else:
            # The temporary file is made, then the disk is full at its first write (wholefiles.write_new_file).
            monkeypatch.setattr(fabpromote._util.wholefiles.os, "write", enospc)
            target = cache / "downloads" / ("0" * 64)
            with pytest.raises(OSError, match="No space"):
                fabpromote._sources.cache.atomic_write(target, b"data")
            assert not target.parent.exists() or list(target.parent.iterdir()) == []
        monkeypatch.undo()
        for name, value in GIT_ENV.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
        assert check_cache(cache, debris_age=0) == []
        assert len(materialize(cluster, "dev").manifests) == 7
        assert_cache_clean(cache)


# killed publishers


PUBLISHER = textwrap.dedent(
    """
    import sys
    from fabpromote import Cluster
    from fabpromote import materialize
    from fabpromote import publish
    cluster = Cluster.from_file(sys.argv[1])
    result = publish(materialize(cluster, "dev"), cluster)
    print(result.commit)
    """
)


def tree_files(fleet: LocalFleet, commit: str) -> dict[str, bytes]:
    names = fleet.manifests("ls-tree", "-r", "--name-only", commit).splitlines()
    bare = str(fleet.served / "manifests.git")
    show = ["git", "--git-dir", bare, "cat-file", "--batch"]
    blobs = subprocess.run(show, input="".join(f"{commit}:{name}\n" for name in names).encode(), capture_output=True)
    files, data = {}, blobs.stdout
    for name in names:
        header, _, data = data.partition(b"\n")
        size = int(header.split()[2])
        files[name], data = data[:size], data[size + 1 :]
    return files


class TestKilledPublisher:
    @pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
    def test_killed_during_publish(self, tmp_path: Path, fleet: LocalFleet, cache: Path, how: int) -> None:
        """Killed at random points: the branch holds the old or the whole new commit; a rerun publishes once."""
        fleet.many = 300
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        config = fleet.config(base)
        cluster = Cluster.from_file(config)
        rng = random.Random(how)
        env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)}
        done = subprocess.run([sys.executable, "-c", PUBLISHER, str(config)], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        fleet.push_app("dev", "warm")
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", PUBLISHER, str(config)], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        duration = time.monotonic() - started  # a warm run: what the killed ones do
        outcomes, stale_locks = [], 0
        for round_ in range(6):
            before = fleet.branch("dev")
            fleet.push_app("dev", f"v{round_ + 2}")
            process = subprocess.Popen(
                [sys.executable, "-c", PUBLISHER, str(config)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            # Between the imports and the end of the push, spread over the run.
            time.sleep(rng.uniform(0.2, 1.0) * duration)
            process.send_signal(how)
            process.communicate(timeout=30)
            after = fleet.branch("dev")
            outcomes.append((process.returncode, "landed" if after != before else "unchanged"))
            fleet.fsck()
            expected = materialize(cluster, "dev").manifests
            if after != before:
                assert fleet.manifests("rev-parse", f"{after}^").strip() == before
                assert tree_files(fleet, after) == dict(expected)
            # Debris may be left; --repair removes only debris.
            for problem in scan_cache(cache, repair=True, debris_age=0):
                assert problem.repaired, problem
                assert "leftover temporary" in problem.what, problem
            assert check_cache(cache, debris_age=0) == []
            lock = fleet.served / "manifests.git" / "refs" / "heads" / "dev.lock"
            try:
                rerun = publish(materialize(cluster, "dev"), cluster)
            except PushRejectedError as exc:
                # Killed between taking and renaming the ref lock (as git, the lock stays): named, and the
                # branch is untouched; the operator removes it.
                assert f"locked by {lock}" in str(exc)  # noqa: PT017 - the test goes on after it
                stale_locks += 1
                lock.unlink()
                rerun = publish(materialize(cluster, "dev"), cluster)
            assert (rerun.commit is None) == (after != before)
            assert fleet.manifests("rev-list", "--count", f"{before}..dev").strip() == "1"
            assert tree_files(fleet, "dev") == dict(expected)
        assert_cache_clean(cache)
        print(f"{how!r}: warm run {duration:.2f}s, return codes {outcomes}, stale ref locks {stale_locks}")
        assert any(code == -how for code, _ in outcomes)  # at least one run was really killed

    def test_stale_ref_lock_of_a_killed_push(self, fleet: LocalFleet) -> None:
        """A ref lock left by a push killed at the wrong moment is a clear error, not a traceback."""
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        cluster = Cluster.from_file(fleet.config(base))
        result = materialize(cluster, "dev")
        result_commit = publish(result, cluster).commit
        assert result_commit is not None
        fleet.push_app("dev", "v2")
        lock = fleet.served / "manifests.git" / "refs" / "heads" / "dev.lock"
        lock.write_text("")
        started = time.monotonic()
        with pytest.raises(PushRejectedError, match=f"refs/heads/dev is locked by {lock}"):
            publish(materialize(cluster, "dev"), cluster)
        assert time.monotonic() - started < 10
        assert fleet.branch("dev") == result_commit
        lock.unlink()
        assert publish(materialize(cluster, "dev"), cluster).commit is not None
        fleet.fsck()


# termination signals


def tree_state(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (dot folders included) with the bytes of files."""
    return {str(path.relative_to(root)): path.read_bytes() if path.is_file() else None for path in root.rglob("*")}


def wait_for(condition: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def fabpromote_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fabpromote", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_interrupted(process: subprocess.Popen[str], how: int, within: float) -> None:
    """The process ends within ``within`` s with 128 + the signal and one line on stderr."""
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - started < within, f"took {time.monotonic() - started:.1f}s to stop"
    assert process.returncode == 128 + how, stderr
    assert stderr == f"fabpromote: interrupted ({signal.Signals(how).name})\n"


# helm template records its pid, then hangs.
PID_HELM = (
    '#!/bin/sh\nif [ "$1" = version ]; then echo v3.18.0+stub; exit 0; fi\necho $$ > "$STUB_PIDS/$$"\nexec sleep 120\n'
)


class TestSignals:
    @pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    def test_install_cleans_its_staging(self, tmp_path: Path, cache: Path, how: int) -> None:
        """install stopped mid-download: its staged components/ and everything else it made are removed."""
        app = WorkRepo.create(tmp_path / "app", LocalFleet.app_files("v1"))
        temp = tmp_path / "tmp"
        temp.mkdir()
        with FaultyHTTPServer(body_bytes=1000, stall=True) as server:
            hld = tmp_path / "hld"
            hld.mkdir()
            # Breadth first: the git component is staged before the download of the second one starts.
            (hld / "component.yaml").write_text(
                f"name: root\nsubcomponents:\n- name: app\n  method: git\n  source: {app.url}\n  path: hld\n"
                f"- name: big\n  type: static\n  method: http\n  source: {server.url}big.yaml\n"
            )
            before = tree_state(hld)
            env = {**os.environ, "TMPDIR": str(temp)}
            process = fabpromote_process(["install", "--path", str(hld)], env)
            assert server.requested.wait(60), process.communicate(timeout=60)
            staged = [path for path in (hld / "components").iterdir() if path.name.startswith(".app.")]
            assert staged, "the git component should be staged by now"
            process.send_signal(how)
            assert_interrupted(process, how, within=10)
        assert tree_state(hld) == before
        assert list(temp.iterdir()) == []
        assert check_cache(cache, debris_age=0) == []
        assert_cache_clean(cache)

    def test_parallel_helm_renders_stopped(self, tmp_path: Path, cache: Path) -> None:
        """generate stopped while helm renders in worker threads: helm is stopped, nothing is left behind."""
        hld = helm_tree(tmp_path)
        (hld / "component.yaml").write_text(
            "name: app\nsubcomponents:\n"
            + "".join(f"- name: web{i}\n  type: helm\n  method: local\n  path: ./chart\n" for i in range(4))
        )
        stub = tmp_path / "bin" / "helm"
        stub.parent.mkdir()
        stub.write_text(PID_HELM)
        stub.chmod(0o755)
        pids, temp = tmp_path / "pids", tmp_path / "tmp"
        pids.mkdir()
        temp.mkdir()
        env = {
            **os.environ,
            "PATH": f"{stub.parent}:{os.environ['PATH']}",
            "FABPROMOTE_HELM_TIMEOUT": "600",
            "STUB_PIDS": str(pids),
            "TMPDIR": str(temp),
        }
        env.pop("FABPROMOTE_HELM", None)
        before = tree_state(hld)
        process = fabpromote_process(["generate", "prod", "--path", str(hld)], env)
        wait_for(lambda: len(list(pids.iterdir())) >= min(2, os.cpu_count() or 1), "helm to start")
        process.send_signal(signal.SIGTERM)
        # Not the 600 s helm timeout: helm itself was stopped.
        assert_interrupted(process, signal.SIGTERM, within=10)
        started = [int(path.name) for path in pids.iterdir()]
        wait_for(lambda: not any(_alive(pid) for pid in started), "the stub helms to end", timeout=5)
        assert tree_state(hld) == before
        assert list(temp.iterdir()) == []  # helm reads the values on its stdin: no temporary files
        assert_cache_clean(cache)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only its parent (init, now) has yet to reap it.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return True


# cache check itself


class TestCacheCheck:
    def test_finds_and_repairs_only_broken_entries(
        self, fleet: LocalFleet, cache: Path, request: pytest.FixtureRequest
    ) -> None:
        """Damaged snapshots, downloads, renders, mirrors and old debris are found; --repair removes only them."""
        # Served by a daemon: local repositories are read in place and get no mirror to damage.
        daemon = GitDaemon(fleet.served)
        daemon.start()
        request.addfinalizer(daemon.stop)
        base = daemon.url
        fleet.write_hld(base)
        cluster = Cluster.from_file(fleet.config(base))
        materialize(cluster, "dev")
        assert_cache_clean(cache)
        sound = cache_files(cache)
        # Damage: a snapshot missing a file, a download and a render with wrong content, old debris.
        snapshot = next((cache / "snapshots").glob("*/_root"))
        victim = next(path for path in snapshot.rglob("*") if path.is_file())
        os.chmod(victim.parent, 0o755)
        victim.unlink()
        (cache / "downloads").mkdir()
        bad_download = cache / "downloads" / ("a" * 64)
        bad_download.write_bytes(b"not that")
        (cache / "renders").mkdir()
        bad_render = cache / "renders" / ("b" * 64)
        bad_render.write_bytes(b"fabpromote-helm render 1\n" + b"b" * 64 + b"\n" + b"0" * 64 + b"\ntruncated")
        debris = cache / "downloads" / ".abc.123"
        debris.write_bytes(b"half")
        os.utime(debris, (0, 0))
        fresh = cache / "downloads" / ".def.456"
        fresh.write_bytes(b"being written")
        # A mirror other than the one holding the damaged snapshot's commit (two independent problems).
        holder = git("--git-dir", str(fleet.served / "hld.git"), "rev-parse", "dev")
        if snapshot.parent.name == holder:
            mirror = next(m for m in (cache / "mirrors").glob("*.git") if "hld" not in m.name)
        else:
            mirror = next(m for m in (cache / "mirrors").glob("*.git") if "hld" in m.name)
        pack = next((mirror / "objects" / "pack").glob("*.pack"))
        os.chmod(pack, 0o644)
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0xFF
        pack.write_bytes(bytes(data))

        problems = check_cache(cache)
        text = "\n".join(problems)
        assert len(problems) == 5, text
        for path in (snapshot, bad_download, bad_render, debris, mirror):
            assert str(path) in text
        assert str(fresh) not in text
        done = subprocess.run(
            [sys.executable, "-m", "fabpromote", "cache", "check", "--cache-dir", str(cache)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert len(done.stdout.splitlines()) == 5

        done = subprocess.run(
            [sys.executable, "-m", "fabpromote", "cache", "check", "--repair", "--cache-dir", str(cache)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert all(line.endswith("; removed") for line in done.stdout.splitlines())
        assert fresh.exists()
        fresh.unlink()
        left = cache_files(cache)
        record = snapshot.with_name(f"_sums-{snapshot.name}")  # the snapshot's record goes with it
        removed = {str(p.relative_to(cache)) for p in (snapshot, record, mirror)}
        # Nothing but the broken entries (and what they held) went away.
        assert {name for name in sound - left if not any(name.startswith(r) for r in removed)} == set()
        assert_cache_clean(cache)
        materialize(cluster, "dev")
        assert_cache_clean(cache)

    def test_empty_or_missing_cache(self, tmp_path: Path) -> None:
        assert check_cache(tmp_path / "nothing") == []
        assert check_cache(tmp_path) == []


def test_cli_documented() -> None:
    assert "## `fabpromote cache check" in (ROOT / "docs" / "cli.md").read_text()
