"""Fixtures for the local Git host: served bare repositories over a path, git:// and http://."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fabpromote.testing.contracts import ServedRepo
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer

_names = itertools.count()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home and cache in tmp_path, and git that ignores the user's configuration."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(name="served_root", scope="module")
def _served_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local-host")
    (root / "served").mkdir()
    return root


@pytest.fixture(name="servers", scope="module")
def _servers(served_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A git daemon and a smart HTTP server for the module, both accepting pushes."""
    with pytest.MonkeyPatch.context() as patch:
        # The servers keep the environment they start with: make it the isolated one.
        patch.setenv("HOME", str(tmp_path_factory.mktemp("server-home")))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        with GitDaemon(served_root / "served") as daemon, SmartHTTPServer(served_root / "served") as http:
            yield {"git": daemon.url, "http": http.url}


@pytest.fixture(name="transport", params=["path", "git", "http"])
def _transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="make_repo")
def _make_repo(served_root: Path, servers: dict[str, str], transport: str) -> Iterator[Callable[..., ServedRepo]]:
    """Make served repositories (master with ``files``); each is fsck'ed at the end of the test."""
    made: list[ServedRepo] = []

    def make(files: dict[str, str] | None = None) -> ServedRepo:
        name = f"repo{next(_names)}.git"
        bare = served_root / "served" / name
        work = served_root / "work" / name
        git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
        git("clone", "-q", str(bare), str(work))
        url = str(bare) if transport == "path" else servers[transport] + name
        repo = ServedRepo(bare, work, url)
        repo.commit("master", files or {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"}, "initial")
        made.append(repo)
        return repo

    yield make
    for repo in made:
        repo.check()


@pytest.fixture(name="repo")
def _repo(make_repo: Callable[..., ServedRepo]) -> ServedRepo:
    """A served repository: master with README.md and hld/config/common.yaml."""
    return make_repo()
