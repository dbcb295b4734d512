"""Fixtures for the local Git host: served bare repositories over a path, git:// and http://."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer

_names = itertools.count()


class ServedRepo:
    """A bare repository behind a Git host, and a clone to change it behind the host's back.

    This is the ``repo`` fixture of the Git host contract: ``url`` is what the
    host is given; the other methods tell the truth about the remote without
    going through the host.
    """

    def __init__(self, bare: Path, work: Path, url: str) -> None:
        self.bare = bare
        self.work = work
        self.url = url

    def commit(self, branch: str, files: dict[str, str], message: str, *, start: str = "master") -> str:
        """Commit ``files`` on ``branch`` (a new one starts at ``start``) and push, as someone else."""
        git("fetch", "-q", "origin", cwd=self.work)
        if _exists(self.work, f"origin/{branch}"):
            git("checkout", "-q", "-B", branch, f"origin/{branch}", cwd=self.work)
        elif _exists(self.work, f"origin/{start}"):
            git("checkout", "-q", "-B", branch, f"origin/{start}", cwd=self.work)
        else:
            git("checkout", "-q", "--orphan", branch, cwd=self.work)
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        sha = self.sha(branch)
        assert sha is not None
        return sha

    def sha(self, branch: str) -> str | None:
        """Where ``branch`` is, or None."""
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    def show(self, rev: str, path: str) -> str:
        """The content of ``path`` at ``rev``, without its last newline."""
        return git("--git-dir", str(self.bare), "show", f"{rev}:{path}")

    def files(self, rev: str) -> list[str]:
        """Every file at ``rev``, sorted."""
        return git("--git-dir", str(self.bare), "ls-tree", "-r", "--name-only", rev).splitlines()

    def parents(self, rev: str) -> list[str]:
        """The parents of ``rev``."""
        return git("--git-dir", str(self.bare), "rev-list", "--parents", "-n", "1", rev).split()[1:]

    def tree(self, rev: str) -> str:
        """The tree SHA of ``rev``."""
        return git("--git-dir", str(self.bare), "rev-parse", f"{rev}^{{tree}}")

    def check(self) -> None:
        """The repository is intact (``git fsck --strict``)."""
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), "fsck", "--strict", "--no-dangling"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _exists(work: Path, rev: str) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"], cwd=work, capture_output=True, check=False
    )
    return done.returncode == 0


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
