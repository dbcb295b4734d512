"""The git side of the fake Azure DevOps: bare repositories, and the merges a completed pull request makes.

Merges are real: ``git merge-tree --write-tree`` computes the merged tree,
``git commit-tree`` writes the commit, and ``git update-ref`` moves the
target branch only if it is still where the merge started (compare-and-swap).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fabpromote.testing.fakegit import ServerGit

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

GIT = ServerGit("Fake Azure DevOps", "fake@dev.azure.invalid")
#: Run git in a directory; its stripped output.
git = GIT.run
merge_tree = GIT.merge_tree


def rev(path: Path, name: str) -> str | None:
    """The commit ``name`` resolves to, or None."""
    return git(path, "rev-parse", "-q", "--verify", f"{name}^{{commit}}", check=False) or None


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
            try:
                git(work, "cherry-pick", "--allow-empty", *commits)
            except RuntimeError:  # A conflict.
                return None
            return git(work, "rev-parse", "HEAD")
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
