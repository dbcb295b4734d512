"""materialize and publish over real git servers: idempotence, locks, races, faults, bad input."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabpromote import Cluster, Plugins, materialize, publish
from fabpromote._cluster.publish import parse_sources
from fabpromote.exceptions import AuthenticationError, RefNotFoundError, SourceError, UnknownNameError
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> LocalFleet:
    return LocalFleet(tmp_path / "fleet")


@pytest.fixture(name="served", params=["path", "git", "http"])
def _served(request: pytest.FixtureRequest, fleet: LocalFleet) -> Iterator[tuple[Cluster, str]]:
    """The fleet reached by plain path, git:// and smart HTTP."""
    if request.param == "path":
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        yield Cluster.from_file(fleet.config(base)), base
        return
    server = GitDaemon(fleet.served) if request.param == "git" else SmartHTTPServer(fleet.served)
    with server:
        fleet.write_hld(server.url)
        yield Cluster.from_file(fleet.config(server.url)), server.url


def plugins() -> Plugins:
    return Plugins.load()


def manifest(fleet: LocalFleet, env: str) -> str:
    return git("--git-dir", str(fleet.served / "manifests.git"), "show", f"{env}:app/app.yaml")


class TestMaterialize:
    def test_renders_and_locks(self, served: tuple[Cluster, str], fleet: LocalFleet) -> None:
        """The cluster HLD at the environment's branch, each app at its branch, and the lock."""
        cluster, base = served
        result = materialize(cluster, "dev", plugins=plugins())
        assert result.manifests["app/app.yaml"] == b"---\nkind: ConfigMap\ndata:\n  version: v1\n\n"
        assert [(e.component, e.ref) for e in result.lock] == [(".", "dev"), ("app", "dev")]
        assert result.lock[1].url == f"{base}app.git"
        assert result.lock[1].sha == fleet.app_work.sha("dev")

    def test_twice_identical_and_lock_reproduces(self, served: tuple[Cluster, str], fleet: LocalFleet) -> None:
        """materialize is idempotent, and a lock renders the old bytes after the branch moved."""
        cluster, _ = served
        first, second = materialize(cluster, "dev"), materialize(cluster, "dev")
        assert (first.manifests, first.lock) == (second.manifests, second.lock)
        fleet.push_app("dev", "v2")
        assert materialize(cluster, "dev").manifests != first.manifests
        assert materialize(cluster, "dev", lock=first.lock).manifests == first.manifests


class TestPublish:
    def test_one_commit_with_trailers(self, served: tuple[Cluster, str], fleet: LocalFleet) -> None:
        """publish creates the branch with one commit carrying the provenance; twice makes no second commit."""
        cluster, _ = served
        result = materialize(cluster, "stage")
        first = publish(result, cluster)
        assert first.commit is not None
        assert first.previous is None
        assert publish(result, cluster).commit is None
        assert manifest(fleet, "stage").startswith("---\nkind: ConfigMap")
        message = git("--git-dir", str(fleet.served / "manifests.git"), "log", "-1", "--format=%B", "stage")
        trailers = tuple(tuple(line.split(": ", 1)) for line in message.splitlines() if line.startswith("Fabpromote-"))
        assert parse_sources(trailers) == list(result.lock)  # type: ignore[arg-type]
        ls = git("--git-dir", str(fleet.served / "manifests.git"), "ls-tree", "-r", "--name-only", "stage")
        assert ls.splitlines() == ["app/app.yaml", "cluster.yaml"]
        fleet.fsck()

    def test_removed_files_disappear(self, served: tuple[Cluster, str], fleet: LocalFleet) -> None:
        """A file that is no longer rendered is removed from the branch."""
        cluster, _ = served
        publish(materialize(cluster, "dev"), cluster)
        fleet.hld_work.commit({"component.yaml": "name: only-root\n"}, "no apps", branch="dev")
        git("push", "-q", "served", "dev", cwd=fleet.hld_work.path)
        assert publish(materialize(cluster, "dev"), cluster).commit is not None
        ls = git("--git-dir", str(fleet.served / "manifests.git"), "ls-tree", "-r", "--name-only", "dev")
        assert ls.splitlines() == ["only-root.yaml"]
        fleet.fsck()


class TestPublishProperties:
    @given(st.lists(st.sampled_from(["v1", "v2", "v3"]), min_size=1, max_size=4))
    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_commits_only_on_change(self, tmp_path_factory: pytest.TempPathFactory, versions: list[str]) -> None:
        """Publishing a sequence of app versions makes one commit per change, none for repeats."""
        fleet = LocalFleet(tmp_path_factory.mktemp("prop") / "fleet")
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        cluster = Cluster.from_file(fleet.config(base))
        current, changes = "v1", 1
        publish(materialize(cluster, "dev"), cluster)
        for version in versions:
            if version != current:
                fleet.push_app("dev", version)
                changes += 1
            else:
                fleet.push_app("dev", version)  # a new commit with the same tree renders the same bytes
            current = version
            publish(materialize(cluster, "dev"), cluster)
        count = git("--git-dir", str(fleet.served / "manifests.git"), "rev-list", "--count", "dev")
        assert int(count) == changes


CONCURRENT = textwrap.dedent(
    """
    import sys
    from fabpromote import Cluster
    from fabpromote import materialize
    from fabpromote import publish
    cluster = Cluster.from_file(sys.argv[1])
    result = materialize(cluster, "dev", lock=None)
    print(publish(result, cluster).commit)
    """
)


class TestConcurrency:
    def test_concurrent_publishers(self, tmp_path: Path, fleet: LocalFleet) -> None:
        """Processes publishing different materializations at once: every change lands, none is lost."""
        base = f"{fleet.served}/"
        fleet.write_hld(base)
        config = fleet.config(base)
        processes = []
        for version in ("v2", "v3", "v4", "v5"):
            fleet.push_app("dev", version)
            env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / f"cache-{version}")}
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", CONCURRENT, str(config)], env=env, stdout=subprocess.PIPE, text=True
                )
            )
        commits = [process.communicate(timeout=120)[0].strip() for process in processes]
        assert all(process.returncode == 0 for process in processes)
        history = git("--git-dir", str(fleet.served / "manifests.git"), "rev-list", "dev").splitlines()
        landed = [commit for commit in commits if commit != "None"]
        assert set(landed) <= set(history)
        assert len(history) == len(landed)
        assert manifest(fleet, "dev").count("version:") == 1
        fleet.fsck()


class TestFaults:
    def test_server_killed_mid_fetch(self, fleet: LocalFleet) -> None:
        """A server dying mid-fetch is a clear error; after a restart the rerun converges."""
        with SmartHTTPServer(fleet.served) as server:
            fleet.write_hld(server.url)
            cluster = Cluster.from_file(fleet.config(server.url))
            noise = base64.b64encode(random.Random(1).randbytes(300_000)).decode()  # does not compress
            fleet.push_app("dev", noise)
            server.stop_after_bytes = 20_000
            with pytest.raises(SourceError):
                materialize(cluster, "dev")
            server.start()
            assert noise.encode() in materialize(cluster, "dev").manifests["app/app.yaml"]

    def test_server_down_during_publish(self, fleet: LocalFleet) -> None:
        """A push to a server that went away fails clearly and changes nothing; a rerun publishes."""
        with SmartHTTPServer(fleet.served) as server:
            fleet.write_hld(f"{fleet.served}/")
            cluster = Cluster.from_file(fleet.config(f"{fleet.served}/"))
            result = materialize(cluster, "dev")
            remote = Cluster.from_file(fleet.config(server.url))
            server.stop()
            with pytest.raises(Exception, match=r"127\.0\.0\.1"):
                publish(result, remote)
            server.start()
            assert publish(result, remote).commit is not None
        fleet.fsck()


class TestBadInput:
    def test_unknown_environment(self, fleet: LocalFleet) -> None:
        """An unknown environment names the known ones."""
        cluster = Cluster.from_file(fleet.config(f"{fleet.served}/"))
        with pytest.raises(UnknownNameError, match="unknown environment 'qa'"):
            materialize(cluster, "qa")

    def test_missing_branch(self, fleet: LocalFleet) -> None:
        """A cluster HLD without the environment's branch is an error naming it."""
        cluster = Cluster.from_file(fleet.config(f"{fleet.served}/"))
        with pytest.raises(RefNotFoundError, match="no branch or tag named 'dev'"):
            materialize(cluster, "dev")

    def test_unreachable_remote(self, fleet: LocalFleet) -> None:
        """A closed port is an error naming the remote."""
        with GitDaemon(fleet.served) as daemon:
            url = daemon.url
        cluster = Cluster.from_file(fleet.config(url))
        with pytest.raises(SourceError, match=r"127\.0\.0\.1"):
            materialize(cluster, "dev")

    def test_failed_authentication_redacts_token(self, fleet: LocalFleet, monkeypatch: pytest.MonkeyPatch) -> None:
        """A wrong token is an authentication error that never shows the token."""
        with SmartHTTPServer(fleet.served, token="right-token") as server:
            fleet.write_hld(f"{fleet.served}/")
            url = server.url.replace("http://", "http://user:wrong-s3cret@")
            cluster = Cluster.from_file(fleet.config(url))
            with pytest.raises(AuthenticationError) as info:
                materialize(cluster, "dev")
        assert "wrong-s3cret" not in str(info.value)

    def test_cli_json(self, fleet: LocalFleet, capsys: pytest.CaptureFixture[str]) -> None:
        """materialize --json --publish prints the documented object; --lock renders it again."""
        from fabpromote.cli import main

        base = f"{fleet.served}/"
        fleet.write_hld(base)
        config = str(fleet.config(base))
        assert main(["materialize", "dev", "--config", config, "--publish", "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert set(data) >= {"env", "digest", "files", "lock", "publish"}
        assert data["publish"]["branch"] == "dev"
        assert data["publish"]["commit"]
        lock = fleet.root / "lock.json"
        lock.write_text(json.dumps(data))
        fleet.push_app("dev", "v9")
        assert main(["materialize", "dev", "--config", config, "--lock", str(lock), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["digest"] == data["digest"]
