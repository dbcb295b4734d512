"""The sources layer: resolve refs, mirror remotes, export snapshots, over real Git servers."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest
from dulwich.objects import Commit
from dulwich.repo import Repo

import fabpromote
from fabpromote import Credentials, Sources
from fabpromote._sources.remotes import GIT_CONNECTIONS_PER_HOST
from fabpromote._sources.snapshots import build_snapshot
from fabpromote.exceptions import AuthenticationError, FabpromoteError, RefNotFoundError, SourceError, UnsafePathError
from fabpromote.git import redact
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer, refused_port
from fabpromote.testing.tcpfaults import FaultyProxy

TOKEN = "tok-5f3a9c1e-never-print-me"
TOKEN_VARIABLE = "FABPROMOTE_TEST_TOKEN"
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}
TRANSPORTS = ["path", "file", "git", "http"]
_names = itertools.count()


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def fsck(mirror: Path) -> None:
    result = subprocess.run(
        ["git", "--git-dir", str(mirror), "fsck", "--strict", "--no-dangling"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "missing" not in result.stdout + result.stderr


class Origin:
    """A work repository and the bare repository it pushes to, which is what gets served."""

    def __init__(self, work: Path, bare: Path) -> None:
        self.work = work
        self.bare = bare

    @classmethod
    def create(cls, root: Path, files: dict[str, str | bytes] | None = None) -> Origin:
        name = f"repo{next(_names)}"
        work = root / "work" / name
        git("-c", "init.defaultBranch=master", "init", "-q", str(work))
        origin = cls(work, root / "served" / name / "app.git")
        origin.commit(files or {"README": "hello\n"}, "first")
        git("clone", "-q", "--bare", str(work), str(origin.bare))
        git("remote", "add", "origin", str(origin.bare), cwd=work)
        return origin

    def commit(self, files: dict[str, str | bytes], message: str) -> str:
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        git("add", "-A", cwd=self.work)
        git("commit", "-qm", message, cwd=self.work)
        return self.sha("HEAD")

    def push(self, *refs: str) -> None:
        git("push", "-q", "origin", *(refs or ("--all",)), cwd=self.work)

    def sha(self, rev: str) -> str:
        return git("rev-parse", rev, cwd=self.work)


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home and cache in tmp_path, and git that ignores the user's configuration."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)


@pytest.fixture(name="served_root", scope="module")
def _served_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("origins")


@pytest.fixture(name="servers", scope="module")
def _servers(served_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One git daemon and one smart HTTP server for the module, serving every origin."""
    (served_root / "served").mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        # The daemon keeps the environment it starts with: make it the isolated one.
        patch.setenv("HOME", str(tmp_path_factory.mktemp("daemon-home")))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        with GitDaemon(served_root / "served") as daemon, SmartHTTPServer(served_root / "served") as http:
            yield {"git": daemon.url, "http": http.url}


@pytest.fixture(name="make_origin")
def _make_origin(served_root: Path) -> Callable[..., Origin]:
    """Create an origin repository in the served directory."""

    def make(files: dict[str, str | bytes] | None = None) -> Origin:
        return Origin.create(served_root, files)

    return make


def url_of(origin: Origin, transport: str, servers: dict[str, str]) -> str:
    relative = origin.bare.relative_to(origin.bare.parents[2] / "served").as_posix()
    if transport == "path":
        return str(origin.bare)
    if transport == "file":
        return origin.bare.as_uri()
    return servers[transport] + relative


@pytest.fixture(name="origin")
def _origin(make_origin: Callable[..., Origin]) -> Origin:
    """An app repo: master (3 commits), dev, a lightweight and an annotated tag."""
    origin = make_origin(
        {
            "hld/component.yaml": "name: app\n",
            "hld/config/common.yaml": "config: {}\n",
            "bin/run.sh": "#!/bin/sh\necho run\n",
            "README": "app\n",
        }
    )
    os.chmod(origin.work / "bin/run.sh", 0o755)
    os.symlink("component.yaml", origin.work / "hld/link.yaml")
    origin.commit({}, "exec bit and link")
    git("tag", "v1", cwd=origin.work)
    git("tag", "-a", "v2", "-m", "release 2", cwd=origin.work)
    origin.commit({"hld/config/prod.yaml": "config: {prod: true}\n"}, "prod config")
    git("checkout", "-qb", "dev", cwd=origin.work)
    origin.commit({"hld/config/dev.yaml": "config: {dev: true}\n"}, "dev config")
    git("checkout", "-q", "master", cwd=origin.work)
    origin.push("--all")
    origin.push("--tags")
    return origin


@pytest.fixture(name="transport", params=TRANSPORTS)
def _transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="url")
def _url(origin: Origin, transport: str, servers: dict[str, str]) -> str:
    """The origin's URL over each transport: path, file://, git://, http://."""
    return url_of(origin, transport, servers)


@pytest.fixture(name="sources")
def _sources() -> Sources:
    return Sources()


#: Transports to a repository on this machine: read in place, never mirrored.
LOCAL = ("path", "file")


def mirrors() -> list[Path]:
    return sorted((Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "mirrors").glob("*.git"))


class TestResolve:
    def test_branch(self, sources: Sources, url: str, origin: Origin) -> None:
        """A branch name resolves to its tip."""
        assert sources.resolve(url, "dev") == origin.sha("dev")

    def test_head(self, sources: Sources, url: str, origin: Origin) -> None:
        """An empty ref, or HEAD, is the remote's HEAD."""
        assert sources.resolve(url) == sources.resolve(url, "HEAD") == origin.sha("master")

    def test_tags(self, sources: Sources, url: str, origin: Origin) -> None:
        """Lightweight tags resolve to their commit; annotated tags are peeled to it."""
        assert sources.resolve(url, "v1") == origin.sha("v1")
        assert sources.resolve(url, "v2") == origin.sha("v2^{commit}")
        assert origin.sha("v2") != origin.sha("v2^{commit}")

    def test_full_ref_name(self, sources: Sources, url: str, origin: Origin) -> None:
        """refs/... names are taken as they are."""
        assert sources.resolve(url, "refs/heads/dev") == origin.sha("dev")
        assert sources.resolve(url, "refs/tags/v2") == origin.sha("v2^{commit}")

    def test_sha_not_a_tip(self, sources: Sources, url: str, transport: str, origin: Origin) -> None:
        """A full SHA that no ref points at is fetched (a local repository has it in place), then returned."""
        sha = origin.sha("master~2")
        assert sources.resolve(url, sha.upper()) == sha
        assert sources.stats.fetches == (0 if transport in LOCAL else 1)

    def test_refs_read_once(self, sources: Sources, url: str, origin: Origin) -> None:
        """Any number of resolves on one URL list its refs once."""
        for ref in ["", "dev", "v1", "v2", "master", "refs/heads/dev", origin.sha("dev")]:
            sources.resolve(url, ref)
        assert sources.stats.ls_remote_calls == 1
        assert sources.stats.fetches == 0

    def test_unknown_branch(self, sources: Sources, url: str) -> None:
        """An unknown name is a RefNotFoundError naming it and the URL, listing the branches."""
        with pytest.raises(RefNotFoundError, match=r"no branch or tag named 'nope' \(branches: dev, master\)") as info:
            sources.resolve(url, "nope")
        assert url in str(info.value)
        assert isinstance(info.value, LookupError)
        assert info.value.branches == ["dev", "master"]

    def test_abbreviated_sha(self, sources: Sources, url: str, origin: Origin) -> None:
        """7 hex digits or more of a commit the remote's branches reach give its full SHA; fewer are no SHA."""
        assert sources.resolve(url, origin.sha("dev")[:12]) == origin.sha("dev")
        assert sources.resolve(url, origin.sha("master")[:7].upper()) == origin.sha("master")
        with pytest.raises(RefNotFoundError, match="at least 7 hex digits"):
            sources.resolve(url, origin.sha("dev")[:6])

    def test_local_work_tree(self, sources: Sources, origin: Origin) -> None:
        """A path to a non-bare repository works like any remote."""
        assert sources.resolve(str(origin.work), "dev") == origin.sha("dev")
        assert sources.resolve(str(origin.work), "v2") == origin.sha("v2^{commit}")
        assert (sources.snapshot(str(origin.work), origin.sha("dev")) / "hld/config/dev.yaml").is_file()

    def test_relative_path(self, sources: Sources, origin: Origin, monkeypatch: pytest.MonkeyPatch) -> None:
        """A relative path is taken from the working directory, and mirrored under its absolute path."""
        monkeypatch.chdir(origin.bare.parent)
        assert sources.resolve("app.git", "dev") == origin.sha("dev")
        sources.fetch("app.git", [origin.sha("dev")])
        monkeypatch.chdir(origin.bare.parent.parent)
        sources.fetch(str(origin.bare), [origin.sha("dev")])
        assert len(mirrors()) == 1
        assert sources.stats.fetches == 1


class TestCheckouts:
    def test_many_urls_in_parallel(self, make_origin: Callable[..., Origin], servers: dict[str, str]) -> None:
        """checkouts lists the refs of different URLs at the same time, once each, and yields in order.

        Over HTTP only ``jobs`` bounds that: six at once here, more than git:// allows one server.
        """
        origins = [make_origin({"f": str(n)}) for n in range(6)]
        barrier = threading.Barrier(len(origins), timeout=10)

        def meet(method: str, path: str) -> None:
            # Each listing waits until all six are in flight: serial calls would break the barrier.
            if method == "GET":
                barrier.wait()

        with SmartHTTPServer(origins[0].bare.parents[1], before_request=meet) as server:
            urls = [f"{server.url}{origin.bare.parent.name}/app.git" for origin in origins]
            sources = Sources(jobs=6)
            pairs = [(url, ref) for url in urls for ref in ("", "master")]
            checkouts = list(sources.checkouts(pairs))
        assert [sha for sha, _ in checkouts] == [origin.sha("master") for origin in origins for _ in range(2)]
        for (_, tree), (url, _) in zip(checkouts, pairs, strict=True):
            assert (tree / "f").read_text() == str(urls.index(url))
        assert sources.stats.ls_remote_calls == 6
        assert sources.stats.fetches == 6

    def test_git_connections_per_host_are_bounded(
        self, make_origin: Callable[..., Origin], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """However many jobs, at most GIT_CONNECTIONS_PER_HOST connections to one git:// server are open."""
        held = [0, 0]  # now, most
        lock = threading.Lock()

        class Counting(threading.BoundedSemaphore):
            # Counted at the slot: the server sees a closed connection a moment late.
            def __enter__(self) -> bool:
                entered = super().__enter__()
                with lock:
                    held[0] += 1
                    held[1] = max(held)
                return entered

            def __exit__(self, *exc_info: object) -> None:
                with lock:
                    held[0] -= 1
                super().__exit__(*exc_info)

        monkeypatch.setattr(threading, "BoundedSemaphore", Counting)
        origins = [make_origin({"f": str(n)}) for n in range(12)]
        served = origins[0].bare.parents[1]
        with GitDaemon(served) as daemon, FaultyProxy(daemon.port) as proxy:
            urls = [f"{proxy.url}{origin.bare.relative_to(served).as_posix()}" for origin in origins]
            trees = [tree for _, tree in Sources(jobs=12).checkouts([(url, "master") for url in urls])]
        assert [(tree / "f").read_text() for tree in trees] == [str(n) for n in range(12)]
        assert proxy.connections == 12  # one each, through the slots: the fetch also reads the refs
        assert held[1] == GIT_CONNECTIONS_PER_HOST

    @pytest.mark.parametrize("transport", ["git", "http"])
    def test_first_contact_lists_and_fetches_at_once(
        self, origin: Origin, servers: dict[str, str], transport: str
    ) -> None:
        """A remote never read costs one round trip for a branch; a tag is resolved the usual way."""
        url = url_of(origin, transport, servers)
        sources = Sources()
        (sha, tree), (tag_sha, _) = sources.checkouts([(url, "dev"), (url, "v2")])
        assert sha == origin.sha("dev")
        assert (tree / "hld/config/dev.yaml").is_file()
        assert tag_sha == origin.sha("v2^{commit}")
        # dev with the fetch's own listing; v2 (an annotated tag) needed a listing of its own,
        # but no fetch: its commit came with dev's history.
        assert (sources.stats.ls_remote_calls, sources.stats.fetches) == (2, 1)
        cold = Sources(cache_dir=sources.cache_dir / "other")
        assert [sha for sha, _ in cold.checkouts([(url, "dev"), (url, "")])] == [sha, origin.sha("master")]
        assert (cold.stats.ls_remote_calls, cold.stats.fetches) == (1, 1)

    def test_one_bad_url(self, sources: Sources, origin: Origin) -> None:
        """A failing URL raises its own error, in order, after the others were read."""
        checkouts = sources.checkouts([(str(origin.bare), "master"), (str(origin.work), "nope")])
        assert next(checkouts)[0] == origin.sha("master")
        with pytest.raises(RefNotFoundError, match="nope"):
            next(checkouts)
        assert sources.stats.ls_remote_calls == 2

    def test_exported_sha_needs_no_remote(self, sources: Sources, origin: Origin, tmp_path: Path) -> None:
        """A SHA whose snapshot exists costs no listing and no fetch, even when the remote is gone."""
        sha = origin.sha("master")
        ((_, tree),) = sources.checkouts([(str(origin.bare), sha)])
        again = Sources()
        assert list(again.checkouts([(str(tmp_path / "gone.git"), sha)])) == [(sha, tree)]
        assert (again.stats.ls_remote_calls, again.stats.fetches) == (0, 0)

    def test_closing_early_waits_for_the_fetches(
        self, make_origin: Callable[..., Origin], servers: dict[str, str]
    ) -> None:
        """Closing the iterator cancels what has not started and waits for the rest: no fetch runs after."""
        origins = [make_origin({"f": str(n)}) for n in range(4)]
        urls = [url_of(origin, "http", servers) for origin in origins]
        sources = Sources(jobs=1)
        checkouts = sources.checkouts([(url, "master") for url in urls])
        next(checkouts)
        checkouts.close()
        # One worker: the first URL, perhaps the second (started meanwhile); never the last two.
        settled = (sources.stats.ls_remote_calls, sources.stats.fetches)
        assert settled[1] <= 2
        time.sleep(0.2)
        assert (sources.stats.ls_remote_calls, sources.stats.fetches) == settled


class TestFetch:
    def test_incremental(self, url: str, origin: Origin) -> None:
        """A new commit brings only its new objects; what the mirror has costs no round trip."""
        first = Sources()
        first.fetch(url, [first.resolve(url, "master")])
        assert first.stats.fetches == 1
        assert first.stats.objects_fetched >= 10
        new = origin.commit({"NEW": "new\n"}, "new")
        origin.push("master")
        second = Sources()
        assert second.resolve(url, "master") == new
        second.fetch(url, [new, origin.sha("master~1")])
        # The commit, its root tree and one blob; nothing it shares with what was fetched.
        assert (second.stats.packs_fetched, second.stats.objects_fetched) == (1, 3)
        second.fetch(url, [new])
        assert second.stats.fetches == 1
        (mirror,) = mirrors()
        fsck(mirror)

    def test_one_mirror_per_url(self, make_origin: Callable[..., Origin], servers: dict[str, str]) -> None:
        """Checkouts over git:// and HTTP fill one mirror per URL; a path is read in place."""
        origins = [make_origin({"f": str(n)}) for n in range(3)]
        urls = [url_of(o, t, servers) for o, t in zip(origins, ["path", "git", "http"], strict=True)]
        sources = Sources()
        trees = [tree for _, tree in sources.checkouts([(url, "master") for url in urls])]
        assert [(tree / "f").read_text() for tree in trees] == ["0", "1", "2"]
        assert (sources.stats.fetches, sources.stats.snapshots_created) == (2, 3)
        assert len(mirrors()) == 2
        for mirror in mirrors():
            fsck(mirror)

    def test_not_a_sha(self, sources: Sources, url: str) -> None:
        """fetch takes full SHAs only."""
        with pytest.raises(SourceError, match="not a full 40-hex commit SHA"):
            sources.fetch(url, ["master"])

    def test_missing_sha(self, sources: Sources, url: str) -> None:
        """A SHA the server does not have is a SourceError naming it and the URL."""
        missing = "1" * 40
        with pytest.raises(SourceError, match="cannot fetch commit 111111111111") as info:
            sources.resolve(url, missing)
        assert url in str(info.value)
        for mirror in mirrors():
            fsck(mirror)


class TestSnapshot:
    def test_content_and_modes(self, sources: Sources, url: str, origin: Origin) -> None:
        """The snapshot holds the tree, read-only, executables 0o555, symlinks kept."""
        sha = sources.resolve(url, "dev")
        root = sources.snapshot(url, sha)
        assert root == Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "snapshots" / sha / "_root"
        files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir())
        assert files == [
            "README",
            "bin/run.sh",
            "hld/component.yaml",
            "hld/config/common.yaml",
            "hld/config/dev.yaml",
            "hld/config/prod.yaml",
            "hld/link.yaml",
        ]
        assert (root / "hld/config/dev.yaml").read_text() == "config: {dev: true}\n"
        assert stat.S_IMODE((root / "README").stat().st_mode) == 0o444
        assert stat.S_IMODE((root / "bin/run.sh").stat().st_mode) == 0o555
        assert stat.S_IMODE((root / "hld").stat().st_mode) == 0o555
        assert stat.S_IMODE(root.stat().st_mode) == 0o555
        assert os.readlink(root / "hld/link.yaml") == "component.yaml"
        # Nothing beside the snapshot but its record (what cache check verifies it against).
        assert sorted(p.name for p in root.parent.iterdir()) == ["_root", "_sums-_root"]

    def test_subpath(self, sources: Sources, url: str) -> None:
        """A subpath exports only that directory, kept apart from the whole tree."""
        sha = sources.resolve(url, "master")
        hld = sources.snapshot(url, sha, "hld/")
        assert hld.name == "hld"
        assert sorted(p.name for p in hld.iterdir()) == ["component.yaml", "config", "link.yaml"]
        config = sources.snapshot(url, sha, "./hld/config")
        assert config.name == "hld%2Fconfig"
        assert sorted(p.name for p in config.iterdir()) == ["common.yaml", "prod.yaml"]
        assert sources.snapshot(url, sha, "") != hld

    def test_reused(self, url: str) -> None:
        """A snapshot is built once; later calls, from any instance, reuse it without the network."""
        first = Sources()
        sha = first.resolve(url, "master")
        path = first.snapshot(url, sha)
        assert first.snapshot(url, sha) == path
        assert (first.stats.snapshots_created, first.stats.snapshot_hits) == (1, 1)
        second = Sources()
        assert second.snapshot(url, sha) == path
        assert (second.stats.ls_remote_calls, second.stats.fetches, second.stats.snapshot_hits) == (0, 0, 1)

    def test_bad_subpaths(self, sources: Sources, url: str) -> None:
        """Subpaths leaving the tree are unsafe; missing ones and files are SourceErrors."""
        sha = sources.resolve(url, "master")
        for subpath in ("../x", "/etc", "hld/../../x"):
            with pytest.raises(UnsafePathError, match="must be relative"):
                sources.snapshot(url, sha, subpath)
        with pytest.raises(SourceError, match="hld/nope does not exist"):
            sources.snapshot(url, sha, "hld/nope")
        with pytest.raises(SourceError, match="README is not a directory"):
            sources.snapshot(url, sha, "README")

    @pytest.mark.parametrize(
        ("links", "escaping"),
        [
            ({"out": "../outside"}, "out"),
            ({"deep/out": "../../outside"}, "deep/out"),
            ({"abs": "/etc/passwd"}, "abs"),
            # Each target looks inside on its own; through the first link the second leads out.
            ({"a": ".", "d/b": "../a/.."}, "d/b"),
        ],
    )
    def test_escaping_symlink(
        self, sources: Sources, make_origin: Callable[..., Origin], links: dict[str, str], escaping: str
    ) -> None:
        """A symlink leading out of the snapshot is refused, naming it; nothing is left behind."""
        origin = make_origin()
        for name, target in links.items():
            (origin.work / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, origin.work / name)
        sha = origin.commit({}, "links")
        with pytest.raises(UnsafePathError, match=f"^{escaping}: symlink to .* leads out of the snapshot"):
            sources.snapshot(str(origin.work), sha)
        assert not list((Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "snapshots" / sha).iterdir())

    def test_subpath_link_to_sibling(self, sources: Sources, make_origin: Callable[..., Origin]) -> None:
        """A link fine in the whole tree leads out of a subpath snapshot, so it is refused there."""
        origin = make_origin({"common/values.yaml": "a: 1\n", "app/x": "x\n"})
        os.symlink("../common/values.yaml", origin.work / "app/values.yaml")
        sha = origin.commit({}, "link")
        assert (sources.snapshot(str(origin.work), sha) / "app/values.yaml").read_text() == "a: 1\n"
        with pytest.raises(UnsafePathError, match=r"^app/values\.yaml: symlink"):
            sources.snapshot(str(origin.work), sha, "app")

    def test_submodule_skipped(
        self, sources: Sources, make_origin: Callable[..., Origin], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A submodule (gitlink) is skipped with a warning."""
        origin = make_origin()
        git("update-index", "--add", "--cacheinfo", f"160000,{origin.sha('HEAD')},vendor/lib", cwd=origin.work)
        git("commit", "-qm", "submodule", cwd=origin.work)
        with caplog.at_level(logging.WARNING, logger="fabpromote.sources"):
            root = sources.snapshot(str(origin.work), origin.sha("HEAD"))
        assert (root / "README").is_file()
        assert not (root / "vendor/lib").exists()
        assert "skipping submodule vendor/lib" in caplog.text


class TestUnreachable:
    @pytest.mark.parametrize("scheme", ["git", "http"])
    def test_closed_port(self, sources: Sources, scheme: str) -> None:
        """Nothing listening is a SourceError naming the URL and the reason."""
        with refused_port() as port:
            url = f"{scheme}://127.0.0.1:{port}/app.git"
            with pytest.raises(SourceError, match="Connection refused") as info:
                sources.resolve(url, "master")
        assert str(info.value).startswith(f"{url}: cannot list refs")
        assert isinstance(info.value, FabpromoteError)

    def test_missing_path(self, sources: Sources, tmp_path: Path) -> None:
        """A path with no repository is a SourceError naming it."""
        path = str(tmp_path / "nope.git")
        with pytest.raises(SourceError, match="no Git repository there") as info:
            sources.resolve(path)
        assert info.value.url == path

    @pytest.mark.parametrize("transport", ["git", "http"])
    def test_missing_repository(self, sources: Sources, servers: dict[str, str], transport: str) -> None:
        """A server without that repository gives a SourceError naming the URL."""
        url = servers[transport] + "nope/app.git"
        with pytest.raises(SourceError, match=f"^{url}: cannot list refs"):
            sources.resolve(url)

    def test_empty_repository(self, sources: Sources, tmp_path: Path) -> None:
        """A remote without commits has no HEAD to resolve."""
        git("init", "-q", "--bare", str(tmp_path / "empty.git"))
        with pytest.raises(SourceError, match="has no HEAD"):
            sources.resolve(str(tmp_path / "empty.git"))


@pytest.fixture(name="private")
def _private(origin: Origin) -> Iterator[SmartHTTPServer]:
    """The origin served over HTTP with a token, mapped to FABPROMOTE_TEST_TOKEN."""
    with SmartHTTPServer(origin.bare.parent, token=TOKEN) as server:
        yield server


def private_url(server: SmartHTTPServer) -> str:
    return server.url + "app.git"


def credentials_for(server: SmartHTTPServer) -> Credentials:
    return Credentials({f"127.0.0.1:{server.port}": TOKEN_VARIABLE})


class TestAuthentication:
    def test_token_missing(self, private: SmartHTTPServer) -> None:
        """Without the token, a 401 is an AuthenticationError saying which variable to set."""
        sources = Sources(credentials=credentials_for(private))
        with pytest.raises(AuthenticationError, match=f"HTTP 401\\): set \\${TOKEN_VARIABLE} to a token") as info:
            sources.resolve(private_url(private))
        assert (info.value.status, info.value.variable) == (401, TOKEN_VARIABLE)
        assert isinstance(info.value, PermissionError)

    def test_no_variable_configured(self, private: SmartHTTPServer) -> None:
        """A host with no variable mapped says how to map one."""
        with pytest.raises(AuthenticationError, match=r"no token variable is configured for 127\.0\.0\.1:"):
            Sources().resolve(private_url(private))

    def test_token_from_environment(
        self,
        private: SmartHTTPServer,
        origin: Origin,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """With the variable set, resolve, fetch and snapshot work; the token is never logged."""
        monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
        sources = Sources(credentials=credentials_for(private))
        with caplog.at_level(logging.DEBUG):
            sha = sources.resolve(private_url(private), "dev")
            root = sources.snapshot(private_url(private), sha)
        assert sha == origin.sha("dev")
        assert (root / "hld/config/dev.yaml").is_file()
        assert caplog.records
        assert TOKEN not in caplog.text

    def test_wrong_token(
        self, private: SmartHTTPServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A refused token is named by its variable, never shown."""
        monkeypatch.setenv(TOKEN_VARIABLE, TOKEN + "-wrong")
        sources = Sources(credentials=credentials_for(private))
        with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError, match="the token in \\$") as info:
            sources.resolve(private_url(private))
        assert TOKEN not in str(info.value)
        assert TOKEN not in caplog.text

    def test_token_in_url(self, private: SmartHTTPServer, origin: Origin, caplog: pytest.LogCaptureFixture) -> None:
        """Credentials in the URL are used, and redacted from messages and logs."""
        good = private_url(private).replace("http://", f"http://user:{TOKEN}@")
        sources = Sources()
        with caplog.at_level(logging.DEBUG):
            assert sources.resolve(good, "dev") == origin.sha("dev")
            sources.snapshot(good, origin.sha("dev"))
            bad = good.replace(TOKEN, TOKEN[:-1])
            with pytest.raises(AuthenticationError, match="the credentials in the URL were refused") as info:
                Sources().resolve(bad)
        assert str(info.value).startswith(f"http://***@127.0.0.1:{private.port}/app.git: ")
        assert TOKEN[:-1] not in str(info.value)
        assert TOKEN[:-1] not in caplog.text

    def test_forbidden(self, origin: Origin, monkeypatch: pytest.MonkeyPatch) -> None:
        """A 403 is an AuthenticationError too."""
        monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
        with SmartHTTPServer(origin.bare.parent, before_request=lambda *_: 403) as server:
            sources = Sources(credentials=credentials_for(server))
            with pytest.raises(AuthenticationError, match="access denied \\(HTTP 403\\)") as info:
                sources.resolve(private_url(server))
        assert info.value.status == 403
        assert TOKEN not in str(info.value)


class TestCredentials:
    def test_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """GitHub and GitLab tokens come from their usual variables, with their user names."""
        monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
        monkeypatch.setenv("GITLAB_TOKEN", "gl-token")
        credentials = Credentials()
        assert credentials.for_url("https://github.com/org/app.git") == ("x-access-token", "gh-token")
        assert credentials.for_url("https://GitLab.com:443/org/app.git") == ("oauth2", "gl-token")
        assert credentials.for_url("https://example.com/app.git") is None

    def test_per_host(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hosts map to variables, host:port first; user names can be set per host."""
        monkeypatch.setenv("CORP_TOKEN", "corp")
        monkeypatch.setenv("CORP_CI_TOKEN", "corp-ci")
        credentials = Credentials(
            {"git.corp.example": "CORP_TOKEN", "git.corp.example:8443": "CORP_CI_TOKEN"},
            usernames={"git.corp.example": "gitlab-ci-token"},
        )
        assert credentials.for_url("https://git.corp.example/a.git") == ("gitlab-ci-token", "corp")
        assert credentials.variable_for("https://git.corp.example:8443/a.git") == "CORP_CI_TOKEN"
        assert credentials.for_url("https://git.corp.example:8443/a.git") == ("gitlab-ci-token", "corp-ci")

    def test_never_in_clear_text(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Tokens go over https (or http to the loopback), never git:// or http to a network host."""
        monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
        credentials = Credentials({"127.0.0.1:8080": "GITHUB_TOKEN", "localhost": "GITHUB_TOKEN"})
        assert credentials.for_url("http://github.com/org/app.git") is None
        assert credentials.for_url("git://github.com/org/app.git") is None
        assert credentials.for_url("http://127.0.0.1:8080/app.git") == ("x-access-token", "gh-token")
        assert credentials.for_url("http://localhost/app.git") == ("x-access-token", "gh-token")

    def test_url_credentials_win(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A URL with its own user info gets nothing added, and its password becomes a secret."""
        monkeypatch.setenv("GITHUB_TOKEN", "gh-token")
        credentials = Credentials()
        assert credentials.for_url("https://me:p%40ss@github.com/org/app.git") is None
        assert credentials.redact("the password was p@ss") == "the password was ***"

    def test_redact(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """User info goes from URLs, and every known token value from any text."""
        monkeypatch.setenv("GITLAB_TOKEN", "glpat-123456")
        assert redact("fetch https://user:tok@host/x.git failed") == "fetch https://***@host/x.git failed"
        assert redact("ssh://git:pw@host/x and http://a@b@host/y") == "ssh://***@host/x and http://***@host/y"
        # A bare user name over HTTPS may be a token; over ssh it never is (keys authenticate).
        assert redact("https://tok@host/x ssh://git@host/y") == "https://***@host/x ssh://git@host/y"
        assert redact("https://host/x.git") == "https://host/x.git"
        assert Credentials().redact("header: Bearer glpat-123456") == "header: Bearer ***"


SCRIPT = textwrap.dedent(
    """
    import sys
    from fabpromote import Sources

    url, ref = sys.argv[1:]
    sources = Sources()
    sha = sources.resolve(url, ref)
    sources.fetch(url, [sha])
    print(sources.snapshot(url, sha, "hld"))
    print(sources.snapshot(url, sha))
    """
)


class TestConcurrency:
    @pytest.mark.parametrize("transport", ["path", "http"])
    def test_two_processes(self, url: str, origin: Origin, tmp_path: Path) -> None:
        """Two processes fetching and snapshotting one URL at once both succeed; the mirror is sound."""
        package_root = Path(fabpromote.__file__).parents[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_root), *sys.path])}
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", SCRIPT, url, "dev"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=60) for process in processes]
        for process, (_, err) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, err
        assert outputs[0][0] == outputs[1][0]
        hld, root = (Path(line) for line in outputs[0][0].split())
        assert (hld / "config/dev.yaml").is_file()
        assert (root / "hld/config/dev.yaml").is_file()
        assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]
        (mirror,) = mirrors()
        fsck(mirror)

    def test_threads(self, sources: Sources, url: str, transport: str, origin: Origin) -> None:
        """Threads sharing one instance may fetch and snapshot the same commit at once."""
        sha = origin.sha("dev")
        errors: list[BaseException] = []

        def work() -> None:
            try:
                sources.snapshot(url, sha, "hld")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sources.stats.snapshots_created + sources.stats.snapshot_hits == 4
        for mirror in mirrors():  # none for a local repository: it is read in place
            fsck(mirror)
        assert len(mirrors()) == (0 if transport in LOCAL else 1)

    def test_lost_race(self, sources: Sources, origin: Origin) -> None:
        """When another process renamed its snapshot into place first, ours is discarded."""
        sha = origin.sha("dev")
        final = sources.snapshot(str(origin.bare), sha)
        with contextlib.closing(Repo(str(origin.bare))) as repo:
            commit = repo[sha.encode()]
            assert isinstance(commit, Commit)
            assert build_snapshot(repo.object_store, commit.tree, final, PurePosixPath(), "origin", str) is False
        assert sorted(p.name for p in final.parent.iterdir()) == ["_root", "_sums-_root"]


class TestFaults:
    def test_http_server_stopped_mid_fetch(self, make_origin: Callable[..., Origin]) -> None:
        """A server dying mid-transfer is a clear SourceError; after a restart a rerun converges."""
        origin = make_origin({"big.bin": os.urandom(512 * 1024), "README": "x\n"})
        with SmartHTTPServer(origin.bare.parent) as server:
            url = server.url + "app.git"
            sha = Sources().resolve(url, "master")
            server.stop_after_bytes = 64 * 1024
            with pytest.raises(SourceError, match=f"^{url}: cannot fetch commit"):
                Sources().snapshot(url, sha)
            (mirror,) = mirrors()
            fsck(mirror)
            assert git("--git-dir", str(mirror), "for-each-ref") == ""
            with pytest.raises(SourceError, match="cannot list refs"):
                Sources().resolve(url)
            server.start()
            sources = Sources()
            root = sources.snapshot(url, sources.resolve(url, "master"))
        assert (root / "big.bin").stat().st_size == 512 * 1024
        fsck(mirror)
        assert git("--git-dir", str(mirror), "for-each-ref", "--format=%(objectname)") == sha

    def test_pinned_sha_offline(self, origin: Origin, served_root: Path) -> None:
        """A SHA already in the mirror resolves and exports with the server down."""
        with GitDaemon(served_root / "served") as daemon:
            url = daemon.url + origin.bare.relative_to(served_root / "served").as_posix()
            sha = origin.sha("master~2")
            Sources().fetch(url, [sha])
        sources = Sources()
        assert sources.resolve(url, sha) == sha
        assert (sources.snapshot(url, sha, "hld") / "component.yaml").is_file()
        assert (sources.stats.ls_remote_calls, sources.stats.fetches) == (0, 0)

    def test_git_daemon_restarted(self, origin: Origin, served_root: Path) -> None:
        """A stopped daemon is a SourceError; once it is back, the same URL works."""
        with GitDaemon(served_root / "served") as daemon:
            url = daemon.url + origin.bare.relative_to(served_root / "served").as_posix()
            daemon.stop()
            with pytest.raises(SourceError, match="Connection refused"):
                Sources().resolve(url, "dev")
            daemon.start()
            sources = Sources()
            assert sources.snapshot(url, sources.resolve(url, "dev")).is_dir()
        fsck(mirrors()[0])

    def test_debris_of_a_killed_fetch(self, sources: Sources, origin: Origin) -> None:
        """Leftovers of a killed fetch (temporary and unindexed packs) are removed by the next fetch."""
        url = str(origin.bare)
        sources.fetch(url, [origin.sha("master~1")])
        (mirror,) = mirrors()
        pack_dir = mirror / "objects" / "pack"
        (pack_dir / "tmp_pack_abc123").write_bytes(b"PACK partial")
        (pack_dir / "pack-0000000000000000000000000000000000000000.pack").write_bytes(b"PACK partial")
        fsck(mirror)
        sources.fetch(url, [origin.sha("master")])
        assert sorted(p.suffix for p in pack_dir.iterdir()) == [".idx", ".idx", ".pack", ".pack"]
        fsck(mirror)
