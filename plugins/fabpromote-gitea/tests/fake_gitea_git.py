"""The git side of the fake Gitea: real commands on its bare repositories."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fabpromote.testing.fakegit import ServerGit

__all__ = ["_git", "_has_refs", "_is_ancestor", "_merge_tree", "_now", "_rev", "_update_ref"]


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


GIT = ServerGit("Gitea", "gitea@noreply.localhost")
_git = GIT.run
_is_ancestor = GIT.is_ancestor
_merge_tree = GIT.merge_tree
_update_ref = GIT.update_ref


def _rev(path: Path, rev: str) -> str | None:
    if not rev or rev.startswith("-") or any(char in rev for char in " ~^:\\\0"):
        return None
    return _git(path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False) or None


def _has_refs(path: Path) -> bool:
    return bool(_git(path, "for-each-ref", "--count=1", "refs/heads/"))
