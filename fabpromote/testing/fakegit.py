"""git as a fake Git host's server runs it on its bare repositories: real commands, the host's identity.

A fake host (see :mod:`fabpromote.testing.restserver`) keeps branches and commits
in real bare repositories and merges pull requests with git itself::

    GIT = ServerGit("Forge", "noreply@forge.invalid")
    tree, clean = GIT.merge_tree(repo, base_sha, head_sha)
    if clean:
        merged = GIT.run(repo, "commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", "Merge")
        GIT.update_ref(repo, "refs/heads/main", merged, base_sha)  # compare-and-swap
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import attrs

__all__ = ["ServerGit"]

#: Seconds one git command of the fake may take.
TIMEOUT = 60


@attrs.frozen
class ServerGit:
    """git on the server side of a fake host, with no user or system configuration.

    Attributes:
        name: The author and committer of the commits the server makes (merges).
        email: Their e-mail address.
    """

    name: str
    email: str

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a command: this one's, without git configuration, the host's identity, ``extra``."""
        return {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
            **(extra or {}),
        }

    def run_bytes(
        self, cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None
    ) -> bytes:
        """git's output as it is. Raises RuntimeError with git's words when it fails."""
        done = self._run(cwd, args, input, env)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout

    def run(
        self,
        cwd: Path,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        strip: bool = True,
    ) -> str:
        """git's output (stripped unless ``strip`` is False); with ``check=False`` an empty string when it fails."""
        done = self._run(cwd, args, input, env)
        if done.returncode != 0:
            if not check:
                return ""
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        text = done.stdout.decode()
        return text.strip() if strip else text

    def is_ancestor(self, path: Path, ancestor: str, descendant: str) -> bool:
        """Whether commit ``ancestor`` is in the history of ``descendant``."""
        return self._run(path, ("merge-base", "--is-ancestor", ancestor, descendant), None, None).returncode == 0

    def merge_tree(self, path: Path, base: str, head: str) -> tuple[str, bool]:
        """The merged tree of two commits (written to the repository), and whether they merged cleanly."""
        done = self._run(path, ("merge-tree", "--write-tree", base, head), None, None)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"git merge-tree failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode().split("\n", 1)[0].strip(), done.returncode == 0

    def update_ref(self, path: Path, ref: str, new: str, old: str) -> bool:
        """Compare-and-swap: move ``ref`` to ``new`` only if it is still at ``old``; whether it moved."""
        return self._run(path, ("update-ref", ref, new, old), None, None).returncode == 0

    def _run(
        self, cwd: Path, args: tuple[str, ...], input: bytes | None, env: Mapping[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=input, env=self.env(env), capture_output=True, check=False, timeout=TIMEOUT
        )
