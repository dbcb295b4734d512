"""Concurrency: processes materializing, publishing and promoting the same cluster at once.

Four processes start together (after their imports, at a barrier file) and
each publishes the ``dev`` environment, then promotes the app from ``dev``
to ``stage`` with ``publish_after`` on the local host. With separate and
with one shared cache: every process succeeds or ends with a clear
FabpromoteError, no reported commit is lost, the repositories pass
``git fsck --strict`` and every cache passes ``fabpromote cache check``.

Over a real ``git daemon`` behind a proxy that delays every chunk 0-300 ms,
eight publisher processes publish ``dev`` while the HLD changes, trial after
trial: the branch ends at the materialization of the final HLD, and no
publish ever takes a component back to an older commit.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import random
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from fabpromote import Cluster, LockEntry, Manifests, materialize
from fabpromote._cli.cachecheck import check_cache
from fabpromote._cluster.publish import parse_sources
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import GitDaemon

PROCESSES = 4


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache-test"))


def _served_fleet(root: Path, *, many: int) -> tuple[LocalFleet, Path]:
    """The fleet by plain paths, its cluster HLD written, and its cluster file."""
    fleet = LocalFleet(root, many=many)
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    return fleet, fleet.config(base)


WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from fabpromote import Cluster
    from fabpromote import materialize
    from fabpromote import publish
    from fabpromote import promote
    from fabpromote.exceptions import FabpromoteError

    config, barrier = sys.argv[1], Path(sys.argv[2])
    while not barrier.exists():
        time.sleep(0.005)
    report = {}
    cluster = Cluster.from_file(config)
    try:
        report["dev"] = publish(materialize(cluster, "dev"), cluster).commit
    except FabpromoteError as exc:
        report["dev_error"] = [type(exc).__name__, str(exc)]
    try:
        result = promote(cluster, "app", source="dev", target="stage", publish_after=True)
        report["merge"] = [result.merge.status, result.merge.sha] if result.merge else None
        report["stage"] = result.publish.commit if result.publish else None
    except FabpromoteError as exc:
        report["promote_error"] = [type(exc).__name__, str(exc)]
    print(json.dumps(report))
    """
)

#: What losers of a race may end with.
ACCEPTABLE = {"StaleBranchError", "NothingToPromoteError", "PublishError"}


@pytest.mark.parametrize("shared", [False, True], ids=["separate-caches", "shared-cache"])
def test_publish_and_promote_at_once(tmp_path: Path, shared: bool) -> None:
    """Four processes publish dev and promote dev -> stage at once: one of each lands, nothing is lost."""
    fleet, config = _served_fleet(tmp_path / "fleet", many=40)
    app_dev = fleet.push_app("dev", "v2")
    barrier = tmp_path / "go"
    caches = [tmp_path / ("cache" if shared else f"cache-{n}") for n in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(config), str(barrier)],
            env={**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cache in caches
    ]
    time.sleep(0.5)  # let them import
    started = time.monotonic()
    barrier.touch()
    outputs = [process.communicate(timeout=60) for process in processes]
    elapsed = time.monotonic() - started
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    print(f"shared={shared}: {elapsed:.2f}s", *reports, sep="\n")

    for report in reports:
        for key in ("dev_error", "promote_error"):
            if key in report:
                assert report[key][0] in ACCEPTABLE, report[key]
                assert report[key][1]  # a message for people
    # dev: one commit, every reported one in the history, the tree of the app's v2.
    dev_history = fleet.history("manifests", "dev")
    dev_commits = {report["dev"] for report in reports if report.get("dev")}
    assert dev_commits <= set(dev_history)
    assert len(dev_history) == 1
    assert len(dev_commits) == 1
    # promote: the app merged into stage exactly once; its publish landed.
    # A loser that compared before the winner merged finds nothing left to merge ("up-to-date").
    merges = [report["merge"] for report in reports if report.get("merge") and report["merge"][0] != "up-to-date"]
    assert [status for status, _ in merges] == ["merged"]
    stage_app = fleet.history("app", "stage")
    assert merges[0][1] == stage_app[0]
    assert app_dev in stage_app
    stage_commits = {report["stage"] for report in reports if report.get("stage")}
    assert len(stage_commits) == 1
    assert stage_commits <= set(fleet.history("manifests", "stage"))
    cluster = Cluster.from_file(config)
    expected = materialize(cluster, "stage").manifests
    assert b"version: v2" in expected["app/app.yaml"]
    shown = git("--git-dir", str(fleet.served / "manifests.git"), "show", "stage:app/app.yaml")
    assert "version: v2" in shown
    fleet.fsck()
    for cache in set(caches):
        assert check_cache(cache) == []
        assert check_cache(cache, debris_age=0) == []


def test_many_publishers_of_different_versions_share_one_cache(tmp_path: Path) -> None:
    """Processes publishing while the app moves, sharing one cache: every reported commit is in the history."""
    fleet, config = _served_fleet(tmp_path / "fleet", many=10)
    barrier = tmp_path / "go"
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from fabpromote import Cluster
        from fabpromote import materialize
        from fabpromote import publish
        while not Path(sys.argv[2]).exists():
            time.sleep(0.005)
        cluster = Cluster.from_file(sys.argv[1])
        for _ in range(3):
            print(publish(materialize(cluster, "dev"), cluster).commit, flush=True)
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(config), str(barrier)],
            env={**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(0.5)
    barrier.touch()
    for version in ("v2", "v3", "v4"):
        fleet.push_app("dev", version)
        time.sleep(0.1)
    outputs = [process.communicate(timeout=60) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    reported = {line for stdout, _ in outputs for line in stdout.split() if line != "None"}
    history = fleet.history("manifests", "dev")
    assert reported <= set(history)
    assert len(history) == len(reported)
    fleet.fsck()
    assert check_cache(cache) == []
    assert check_cache(cache, debris_age=0) == []


class LatencyProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target_port`` that delays every chunk, each way, by 0 to ``most`` s.

    Each chunk read gets its own random delay (in order: never before the
    chunk ahead of it), as a slow, jittery network: reads and pushes of
    concurrent publishers interleave in every order, and a publisher's view
    of a branch grows old while it renders and pushes.
    """

    def __init__(self, target_port: int, *, most: float = 0.3) -> None:
        self.target_port = target_port
        self.most = most
        self.connections = 0
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.url = f"git://127.0.0.1:{self._listener.getsockname()[1]}/"
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        for sock in [self._listener, *list(self._open)]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return  # closed
            self.connections += 1
            self._open |= {client, server}
            # Once both ways are done, both sockets are closed: a long run keeps few descriptors open.
            ended = threading.Barrier(2, action=lambda pair=(client, server): self._close(*pair))
            for source, sink in ((client, server), (server, client)):
                chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(source, chunks), daemon=True).start()
                threading.Thread(target=self._send, args=(chunks, sink, ended), daemon=True).start()

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            self._open.discard(sock)
            sock.close()

    def _read(self, source: socket.socket, chunks: queue.Queue[tuple[float, bytes]]) -> None:
        due = 0.0
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                due = max(due, time.monotonic() + random.uniform(0, self.most))
                chunks.put((due, data))
        chunks.put((due, b""))  # the end, after the last chunk

    @staticmethod
    def _send(chunks: queue.Queue[tuple[float, bytes]], sink: socket.socket, ended: threading.Barrier) -> None:
        with contextlib.suppress(OSError):
            while True:
                due, data = chunks.get()
                time.sleep(max(0.0, due - time.monotonic()))
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    break
                sink.sendall(data)
        ended.wait()


PUBLISHER = textwrap.dedent(
    """
    import contextlib, io, json, random, sys, time
    from pathlib import Path
    from fabpromote.cli import main

    config, folder, me, trials, closing = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    for trial in range(trials):
        while not (folder / f"go-{trial}").exists():
            time.sleep(0.05)
        # Publishers publish again and again while the HLD changes; closing ones once, after it stopped.
        while closing == "closing" and not (folder / f"done-{trial}").exists():
            time.sleep(0.05)
        time.sleep(random.uniform(0, 0.3 if closing == "closing" else 2.0))  # so they resolve at different times
        while True:
            out, began = io.StringIO(), time.monotonic()
            with contextlib.redirect_stdout(out):
                status = main(["materialize", "dev", "--publish", "--json", "--config", config])
            took = round(time.monotonic() - began, 1)
            result = json.loads(out.getvalue())
            print(json.dumps({"trial": trial, "status": status, "took": took, "result": result}), flush=True)
            if (folder / f"done-{trial}").exists():
                break
        (folder / f"finished-{trial}-{me}").touch()
    """
)


def _publishes(fleet: LocalFleet) -> list[tuple[str, list[LockEntry]]]:
    """Every publish on the manifests branch dev, oldest first: (commit, its sources)."""
    log = fleet.manifests("log", "--first-parent", "--format=%H%n%B%x1e", "dev")
    publishes = []
    for record in filter(None, (part.strip() for part in log.split("\x1e"))):
        sha, *lines = record.splitlines()
        trailers = tuple(tuple(line.split(": ", 1)) for line in lines if line.startswith("Fabpromote-Source: "))
        publishes.append((sha, parse_sources(trailers)))  # type: ignore[arg-type]
    return publishes[::-1]


def _steps_back(fleet: LocalFleet, base: str) -> list[str]:
    """Each publish that moved a component to a commit older than the previous publish held (git ancestry)."""
    found = []
    publishes = _publishes(fleet)
    for (_, before), (sha, after) in itertools.pairwise(publishes):
        held = {(e.component, e.url): e.sha for e in before}
        for entry in after:
            earlier = held.get((entry.component, entry.url))
            if earlier is None or earlier == entry.sha:
                continue
            repo = fleet.served / entry.url.removeprefix(base)
            back = subprocess.run(
                ["git", "--git-dir", str(repo), "merge-base", "--is-ancestor", entry.sha, earlier], check=False
            )
            if back.returncode == 0:
                found.append(f"{sha[:12]} moves {entry.component} back from {earlier[:12]} to {entry.sha[:12]}")
    return found


def _change_hld(fleet: LocalFleet, trial: int, step: int) -> None:
    """One HLD change on dev: a new version of the app, or a change to the cluster HLD itself."""
    if step % 2 == 0:
        fleet.push_app("dev", f"v{trial}.{step}")
        return
    files = {"static/c000/cm.yaml": f"kind: ConfigMap\nmetadata:\n  name: c000\ndata:\n  n: '{trial}.{step}'\n"}
    fleet.hld_work.commit(files, f"cluster change {trial}.{step}", branch="dev")
    git("push", "-q", "served", "dev", cwd=fleet.hld_work.path)


#: The acceptance run's size; FABPROMOTE_RACE_TRIALS / _PUBLISHERS make a bigger run by hand.
TRIALS = int(os.environ.get("FABPROMOTE_RACE_TRIALS", "2"))
PUBLISHERS = int(os.environ.get("FABPROMOTE_RACE_PUBLISHERS", "8"))
CHANGES = 4
#: How many of the publishers start once the HLD stopped changing (the others start with the trial).
CLOSING = 2


def test_publishers_over_a_slow_network_never_go_back(tmp_path: Path) -> None:
    """Many publisher processes over git:// with 0-300 ms per chunk, while the HLD changes, trial after trial.

    In every trial the manifests branch ends equal to the materialization of
    the final HLD; over the whole history no publish moves any component to
    an older commit; every publish exits 0 and every commit reported is on the branch.
    """
    fleet = LocalFleet(tmp_path / "fleet", many=10)
    folder = tmp_path / "signals"
    folder.mkdir()
    workers: list[subprocess.Popen[str]] = []
    with GitDaemon(fleet.served) as daemon:
        proxy = LatencyProxy(daemon.port)
        try:
            fleet.write_hld(proxy.url)
            config = fleet.config(proxy.url)
            local = tmp_path / "local.yaml"  # the test's own reads skip the proxy where they can
            local.write_text(f"name: test\nhld: {fleet.served}/hld.git\nmanifests: {fleet.served}/manifests.git\n")
            workers += [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        PUBLISHER,
                        str(config),
                        str(folder),
                        str(n),
                        str(TRIALS),
                        "closing" if n < CLOSING else "-",
                    ],
                    env={**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / f"cache-{n}")},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for n in range(PUBLISHERS)
            ]
            started = time.monotonic()
            for trial in range(TRIALS):
                (folder / f"go-{trial}").touch()
                for step in range(CHANGES):
                    time.sleep(random.uniform(0.4, 1.2))  # while publishers resolve, render and push
                    _change_hld(fleet, trial, step)
                (folder / f"done-{trial}").touch()
                expected = materialize(Cluster.from_file(local), "dev")  # of the final HLD, while they publish
                _wait_for_all(folder, trial, workers)
                print(f"trial {trial}: {time.monotonic() - started:.1f} s")
                _assert_holds(fleet, expected.manifests, trial)
            elapsed = time.monotonic() - started
            outputs = [worker.communicate(timeout=60) for worker in workers]
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()  # the test failed half-way: no publisher outlives it
                    worker.communicate()
            proxy.close()
    reports = []
    for stdout, stderr in outputs:
        for line in stdout.splitlines():
            reports.append(json.loads(line))
            assert reports[-1]["status"] == 0, (reports[-1], stderr)
    assert _steps_back(fleet, proxy.url) == []
    history = set(fleet.history("manifests", "dev"))
    commits = [r["result"]["publish"]["commit"] for r in reports if r["result"]["publish"]["commit"]]
    assert set(commits) <= history
    assert len(commits) == len(history)  # every commit on the branch was reported by the one that made it
    newer = sum(1 for r in reports if r["result"]["publish"]["newer_publish"])
    print(
        f"{TRIALS} trials x {PUBLISHERS} publishers, {CHANGES} HLD changes each, {proxy.connections} connections: "
        f"{len(reports)} publishes, {len(commits)} commits, {newer} found a newer publish there; {elapsed:.1f} s"
    )
    fleet.fsck()


def _assert_holds(fleet: LocalFleet, manifests: Manifests, trial: int) -> None:
    """The manifests branch dev holds exactly ``manifests``: the same files, byte for byte, and says so."""
    assert f"Fabpromote-Digest: {manifests.digest}" in fleet.manifests("log", "-1", "--format=%B", "dev"), trial
    assert set(fleet.manifests("ls-tree", "-r", "--name-only", "dev").splitlines()) == set(manifests), trial
    for path, data in manifests.items():
        shown = subprocess.run(
            ["git", "--git-dir", str(fleet.served / "manifests.git"), "show", f"dev:{path}"],
            capture_output=True,
            check=True,
        )
        assert shown.stdout == data, (trial, path)


def _wait_for_all(folder: Path, trial: int, workers: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 120
    while len(list(folder.glob(f"finished-{trial}-*"))) < len(workers):
        dead = [
            worker.communicate()
            for n, worker in enumerate(workers)
            if worker.poll() is not None and not (folder / f"finished-{trial}-{n}").exists()
        ]
        assert not dead, dead  # ended before finishing this trial
        assert time.monotonic() < deadline, f"trial {trial}: the publishers did not finish within 120 s"
        time.sleep(0.05)
