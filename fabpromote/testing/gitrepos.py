"""Real git repositories for tests, driven through the ``git`` command line."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
from pathlib import Path

__all__ = ["GIT_ENV", "WorkRepo", "colliding_commits", "git"]

#: Environment that makes git ignore the user's and the system's configuration.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
}


def git(*args: str, cwd: str | Path | None = None) -> str:
    """Run git; return its stdout stripped. Raises CalledProcessError with stderr on failure.

    :data:`GIT_ENV` fills in what the environment does not set: a machine without a
    git identity (a fresh CI runner) commits too, and the user's configuration stays out.
    """
    env = {**GIT_ENV, **os.environ}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, ["git", *args], done.stdout, done.stderr)
    return done.stdout.strip()


def colliding_commits(git_dir: str | Path, branch: str, *, digits: int = 7) -> tuple[str, str]:
    """Add two commits on top of ``branch`` whose SHAs share their first ``digits`` hex digits.

    For testing ambiguous abbreviated SHAs: commits with the tree of
    ``branch`` and different messages are hashed until two collide (about
    20,000 for 7 digits, well under a second), then both are written into
    the repository at ``git_dir`` with a branch each (``twin-a``, ``twin-b``),
    so the remote reaches them.

    Returns:
        The two SHAs.
    """
    tip = git("--git-dir", str(git_dir), "rev-parse", branch)
    tree = git("--git-dir", str(git_dir), "rev-parse", f"{branch}^{{tree}}")
    seen: dict[str, bytes] = {}
    for attempt in itertools.count():
        body = (
            f"tree {tree}\nparent {tip}\nauthor A <a@example.com> 1700000000 +0000\n"
            f"committer A <a@example.com> 1700000000 +0000\n\nattempt {attempt}\n"
        ).encode()
        prefix = hashlib.sha1(b"commit %d\0" % len(body) + body, usedforsecurity=False).hexdigest()[:digits]
        if prefix in seen:
            shas = (_write_commit(git_dir, seen[prefix]), _write_commit(git_dir, body))
            for name, sha in zip(("twin-a", "twin-b"), shas, strict=True):
                git("--git-dir", str(git_dir), "update-ref", f"refs/heads/{name}", sha)
            return shas
        seen[prefix] = body
    raise AssertionError("unreachable: itertools.count() never ends")


def _write_commit(git_dir: str | Path, body: bytes) -> str:
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "hash-object", "-t", "commit", "-w", "--stdin"],
        input=body,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


class WorkRepo:
    """A repository with a work tree, for building test histories quickly.

    Its path works as a remote URL (fabpromote reads it like a server).
    Set :data:`GIT_ENV` in the environment first (tests use monkeypatch).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def url(self) -> str:
        """The repository as a remote: its path."""
        return str(self.path)

    @classmethod
    def create(
        cls, path: str | Path, files: dict[str, str | bytes] | None = None, *, branch: str = "master"
    ) -> WorkRepo:
        """``git init`` at ``path`` and commit ``files`` on ``branch``."""
        path = Path(path)
        git("-c", f"init.defaultBranch={branch}", "init", "-q", str(path))
        repo = cls(path)
        repo.commit(files or {"README.md": "hello\n"}, "initial")
        return repo

    def commit(
        self, files: dict[str, str | bytes], message: str, *, branch: str | None = None, delete: tuple[str, ...] = ()
    ) -> str:
        """Write ``files`` (and remove ``delete``) on ``branch`` (default: current) and commit."""
        if branch is not None:
            self.checkout(branch)
        for name, content in files.items():
            file = self.path / name
            file.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                file.write_bytes(content)
            else:
                file.write_text(content)
        for name in delete:
            git("rm", "-q", "-r", name, cwd=self.path)
        git("add", "-A", cwd=self.path)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.path)
        return self.sha("HEAD")

    def checkout(self, branch: str) -> None:
        """Switch to ``branch``, creating it from the current commit when missing."""
        exists = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            cwd=self.path,
            capture_output=True,
            check=False,
        )
        git("checkout", "-q", *(() if exists.returncode == 0 else ("-b",)), branch, cwd=self.path)

    def sha(self, rev: str) -> str:
        """The commit ``rev`` names."""
        return git("rev-parse", rev, cwd=self.path)
