"""The git side of the fake Azure DevOps: bare repositories, and the merges a completed pull request makes.

Merges are real: ``git merge-tree --write-tree`` computes the merged tree,
``git commit-tree`` writes the commit, and ``git update-ref`` moves the
target branch only if it is still where the merge started (compare-and-swap).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["PRE_RECEIVE", "commit_json_fields", "git", "merge", "merge_tree", "rev"]

#: Refuses pushes to the refs listed in ``fake-policy-refs``, as Azure refuses pushes to a branch with policies.
PRE_RECEIVE = """#!/bin/sh
# Written by the fake Azure DevOps: a branch with a blocking policy changes only through pull requests.
status=0
while read old new ref; do
    if [ -f "$GIT_DIR/fake-policy-refs" ] && grep -qxF "$ref" "$GIT_DIR/fake-policy-refs"; then
        echo "error: TF402455: Pushes to this branch are not permitted; you must use a pull request to update this branch." >&2
        status=1
    fi
done
exit $status
"""

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Fake Azure DevOps",
    "GIT_AUTHOR_EMAIL": "fake@dev.azure.invalid",
    "GIT_COMMITTER_NAME": "Fake Azure DevOps",
    "GIT_COMMITTER_EMAIL": "fake@dev.azure.invalid",
}


def git(
    cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True
) -> str:
    """Run git in ``cwd``; its stripped output."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env={**os.environ, **_IDENTITY, **(env or {})},
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().strip()


def rev(path: Path, name: str) -> str | None:
    """The commit ``name`` resolves to, or None."""
    return git(path, "rev-parse", "-q", "--verify", f"{name}^{{commit}}", check=False) or None


def merge_tree(path: Path, base: str, head: str) -> tuple[str, bool]:
    """The merged tree of two commits (written) and whether it merged cleanly."""
    done = subprocess.run(["git", "merge-tree", "--write-tree", base, head], cwd=path, capture_output=True, check=False)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"git merge-tree failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().split("\n", 1)[0].strip(), done.returncode == 0


def merge(path: Path, strategy: str, *, target: str, source: str, message: str) -> str | None:
    """The commit completing a pull request of ``source`` into ``target`` with ``strategy``; None on conflicts."""
    if strategy in ("rebase", "rebaseMerge"):
        tip = _replay(path, target, source)
        if tip is None:
            return None
        if strategy == "rebase":
            return tip
        source = tip
    tree, clean = merge_tree(path, target, source)
    if not clean:
        return None
    parents = ["-p", target] if strategy == "squash" else ["-p", target, "-p", source]
    return git(path, "commit-tree", tree, *parents, "-m", message)


def _replay(path: Path, target: str, source: str) -> str | None:
    """The commits of ``source`` missing from ``target`` cherry-picked onto it (a rebase); None on conflicts."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "rebase"
        git(path, "worktree", "add", "-q", "--detach", str(work), target)
        try:
            commits = git(path, "rev-list", "--reverse", "--no-merges", f"{target}..{source}").split()
            picked = subprocess.run(
                ["git", "cherry-pick", "--allow-empty", *commits],
                cwd=work,
                capture_output=True,
                env={**os.environ, **_IDENTITY},
                check=False,
            )
            return git(work, "rev-parse", "HEAD") if picked.returncode == 0 else None
        finally:
            git(path, "worktree", "remove", "--force", str(work))


def commit_json_fields(path: Path, sha: str) -> dict[str, object]:
    """The git facts of a commit as a ``GitCommit`` carries them."""
    fields = git(path, "log", "-1", "--format=%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B", sha).split(
        "\0"
    )
    tree, parents, an, ae, ad, cn, ce, cd, message = fields
    return {
        "commitId": sha,
        "treeId": tree,
        "parents": parents.split(),
        "author": {"name": an, "email": ae, "date": _utc(ad)},
        "committer": {"name": cn, "email": ce, "date": _utc(cd)},
        "comment": message.strip(),
    }


def _utc(date: str) -> str:
    from datetime import datetime, timezone

    return datetime.fromisoformat(date).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
