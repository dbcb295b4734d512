"""The git side of the fake Gitea: real commands on its bare repositories."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["_git", "_has_refs", "_is_ancestor", "_merge_tree", "_now", "_rev", "_update_ref"]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    env.update(GIT_AUTHOR_NAME="Gitea", GIT_AUTHOR_EMAIL="gitea@noreply.localhost")
    env.update(GIT_COMMITTER_NAME="Gitea", GIT_COMMITTER_EMAIL="gitea@noreply.localhost")
    return {**env, **(extra or {})}


def _git(cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, input=input, env=_env(env), capture_output=True, check=False, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().strip()


def _rev(path: Path, rev: str) -> str | None:
    if not rev or rev.startswith("-") or any(char in rev for char in " ~^:\\\0"):
        return None
    done = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=path,
        env=_env(),
        capture_output=True,
        check=False,
    )
    return done.stdout.decode().strip() or None


def _is_ancestor(path: Path, ancestor: str, descendant: str) -> bool:
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=path, env=_env(), check=False
    )
    return done.returncode == 0


def _has_refs(path: Path) -> bool:
    return bool(_git(path, "for-each-ref", "--count=1", "refs/heads/"))


def _merge_tree(path: Path, base: str, head: str) -> tuple[str, bool]:
    """The merged tree of two commits (stored), and whether they merged cleanly."""
    done = subprocess.run(
        ["git", "merge-tree", "--write-tree", base, head], cwd=path, env=_env(), capture_output=True, check=False
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"git merge-tree failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().split("\n", 1)[0].strip(), done.returncode == 0


def _update_ref(path: Path, ref: str, new: str, old: str) -> bool:
    """Compare-and-swap: move ``ref`` to ``new`` only if it is still at ``old``."""
    return (
        subprocess.run(
            ["git", "update-ref", ref, new, old], cwd=path, env=_env(), capture_output=True, check=False
        ).returncode
        == 0
    )
