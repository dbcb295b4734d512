"""What waits to be promoted: how many commits, and which (their subjects for the status page)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
from dulwich.graph import find_merge_base
from dulwich.objects import ObjectID

from fabpromote._workflow.context import RESTORES, Context

if TYPE_CHECKING:
    from fabpromote._sources.githost import Comparison

__all__ = ["PendingCommit", "pending_commits", "pending_log", "undone_commit"]


@attrs.frozen(kw_only=True)
class PendingCommit:
    """One commit of the source environment's branch that the target lacks.

    Attributes:
        sha: The commit.
        subject: The first line of its message.
        author: Its author (``Name <email>``).
        time: Its commit time (seconds since the epoch).
    """

    sha: str
    subject: str
    author: str
    time: int

    def to_json(self) -> dict[str, object]:
        return {"sha": self.sha, "subject": self.subject, "author": self.author, "time": self.time}


def pending_commits(comparison: Comparison, undone: str | None) -> int:
    """What a promotion would bring: the commits the target lacks.

    When the target has every commit of the source but not their content
    (``undone``: it was rolled back since), promoting again restores that
    content: the commits of the target that undid it are pending.
    """
    if comparison.ahead or undone is None:
        return comparison.ahead
    return comparison.behind


def undone_commit(ctx: Context, url: str, comparison: Comparison, base_sha: str, head_sha: str) -> str | None:
    """The last commit of ``head_sha`` that ``base_sha`` holds, when rollbacks on ``base`` have undone its content.

    Only commits fabpromote made to restore a tree (marked with
    :data:`RESTORES`) and merges count: content someone committed to an
    unprotected target branch is never undone by a promotion.
    """
    if not comparison.behind:
        return None
    ctx.sources.fetch(url, [base_sha, head_sha])
    with ctx.sources.mirror(url) as repo:
        base, head = ObjectID(base_sha.encode()), ObjectID(head_sha.encode())
        shared = find_merge_base(repo, [base, head])
        if len(shared) != 1 or repo[base].tree == repo[shared[0]].tree:  # type: ignore[attr-defined]
            return None
        own = [entry.commit for entry in repo.get_walker(include=[base], exclude=[head])]
        if all(len(commit.parents) > 1 or _restores(commit.message) for commit in own):
            return shared[0].decode()
    return None


def _restores(message: bytes) -> bool:
    return any(line.startswith(f"{RESTORES}: ".encode()) for line in message.splitlines())


def pending_log(ctx: Context, url: str, base_sha: str, head_sha: str, *, limit: int) -> list[PendingCommit]:
    """The commits of ``head_sha`` that ``base_sha`` lacks, newest first (at most ``limit``).

    Read from the mirror of the repository, as ``git log base..head`` would,
    so merged-in commits count the way ``compare`` counts them.
    """
    ctx.sources.fetch(url, [base_sha, head_sha])
    with ctx.sources.mirror(url) as repo:
        walker = repo.get_walker(
            include=[ObjectID(head_sha.encode())], exclude=[ObjectID(base_sha.encode())], max_entries=limit
        )
        return [
            PendingCommit(
                sha=entry.commit.id.decode(),
                subject=entry.commit.message.decode("utf-8", "replace").strip().partition("\n")[0],
                author=entry.commit.author.decode("utf-8", "replace"),
                time=entry.commit.commit_time,
            )
            for entry in walker
        ]
