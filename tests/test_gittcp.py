"""git:// with a timeout: a daemon that stops sending mid-fetch is given up on, not waited for forever."""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable
from pathlib import Path

import dulwich
import pytest
from dulwich.client import HttpGitClient, LocalGitClient, TCPGitClient
from dulwich.errors import GitProtocolError
from dulwich.repo import Repo

from fabpromote import Cluster, materialize
from fabpromote._cli.cachecheck import check_cache
from fabpromote._sources.gittcp import TimedTCPGitClient, _socket_of, transport
from fabpromote.exceptions import SourceError
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import git
from fabpromote.testing.gitservers import GitDaemon
from fabpromote.testing.tcpfaults import FaultyProxy

#: How long a test waits for the call that must time out (after 1 s) before calling it hung.
BOUND = 8.0


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> LocalFleet:
    fleet = LocalFleet(tmp_path / "fleet")
    fleet.push_app("dev", os.urandom(400_000).hex())  # a pack far larger than where the proxy stalls
    return fleet


def bounded(call: Callable[[], object], proxy: FaultyProxy) -> BaseException | None:
    """Run ``call`` in a thread; return what it raised, or fail when it takes more than BOUND s.

    A hung call is freed by stopping the proxy (which cuts its connection) before failing.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:  # handed to the test, whatever it is
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND)
    if thread.is_alive():
        proxy.stop()
        thread.join(BOUND)
        pytest.fail(f"still waiting on the stalled server after {BOUND:g} s")
    return outcome[0]


class TestTransport:
    def test_stalled_fetch_times_out(self, fleet: LocalFleet, tmp_path: Path) -> None:
        """A git:// fetch from a server gone silent mid-pack fails after the timeout (dulwich says "timed out")."""
        target = Repo.init_bare(str(tmp_path / "mirror"), mkdir=True)
        sha = git("--git-dir", str(fleet.served / "app.git"), "rev-parse", "dev").encode()
        with GitDaemon(fleet.served) as daemon, FaultyProxy(daemon.port, stall_after=20_000) as proxy:
            client, path = transport(f"{proxy.url}app.git", timeout=1.0)
            assert isinstance(client, TimedTCPGitClient)
            error = bounded(lambda: client.fetch(path, target, determine_wants=lambda *_: [sha]), proxy)
        assert isinstance(error, GitProtocolError), repr(error)
        assert str(error) == "timed out"
        target.close()

    def test_live_server_unaffected(self, fleet: LocalFleet, tmp_path: Path) -> None:
        """Without a fault the client fetches as dulwich's own does."""
        target = Repo.init_bare(str(tmp_path / "mirror"), mkdir=True)
        sha = git("--git-dir", str(fleet.served / "app.git"), "rev-parse", "dev").encode()
        with GitDaemon(fleet.served) as daemon:
            client, path = transport(f"git://user:pw@127.0.0.1:{daemon.port}/app.git", timeout=1.0)
            assert path == "/app.git"
            client.fetch(path, target, determine_wants=lambda *_: [sha])
        assert sha in target.object_store
        target.close()

    def test_dulwich_private_connect_is_as_overridden(self, tmp_path: Path) -> None:
        """dulwich has no public way to time a git:// socket out, so TimedTCPGitClient overrides its
        private ``TCPGitClient._connect`` (pyproject.toml caps dulwich below 1.3 for it). A dulwich that
        changes the method's parameters, or the reader its protocol reads through, fails here by name.
        """
        expected = ["self", "cmd", "path", "protocol_version"]
        assert list(inspect.signature(TCPGitClient._connect).parameters) == expected, (
            f"dulwich {dulwich.__version__} changed TCPGitClient._connect: update fabpromote/_sources/gittcp.py"
        )
        Repo.init_bare(str(tmp_path / "app.git"), mkdir=True).close()
        with GitDaemon(tmp_path) as daemon:
            client = TimedTCPGitClient("127.0.0.1", daemon.port, timeout=1.5)
            proto, _, _ = client._connect(b"git-upload-pack", "/app.git")
            try:
                sock = _socket_of(proto)
                assert sock is not None, f"dulwich {dulwich.__version__}: no socket under a git:// protocol"
                assert sock.gettimeout() == 1.5
            finally:
                proto.close()

    def test_other_transports_as_dulwich_makes_them(self, tmp_path: Path) -> None:
        """Local paths and HTTP get dulwich's own clients (HTTP has its timeout from the pool manager)."""
        assert isinstance(transport(str(tmp_path), timeout=1.0)[0], LocalGitClient)
        assert isinstance(transport("http://127.0.0.1:9/x.git", timeout=1.0)[0], HttpGitClient)


class TestSources:
    def test_stalled_daemon_is_a_source_error(
        self, fleet: LocalFleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """materialize from a git daemon gone silent mid-pack: a SourceError after the timeout, no debris."""
        monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "1")
        cache = tmp_path / "cache"
        monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
        with GitDaemon(fleet.served) as daemon, FaultyProxy(daemon.port) as proxy:
            fleet.write_hld(proxy.url)
            cluster = Cluster.from_file(fleet.config(proxy.url))
            proxy.stall_after = 20_000
            error = bounded(lambda: materialize(cluster, "dev"), proxy)
            assert isinstance(error, SourceError), repr(error)
            assert str(error).startswith(f"{proxy.url}app.git: cannot fetch commit")
            assert str(error).endswith("no answer within 1 s (the limit is set by $FABPROMOTE_NETWORK_TIMEOUT)")
            proxy.stall_after = None
            assert "app/app.yaml" in materialize(cluster, "dev").manifests
        assert check_cache(cache, debris_age=0) == []
