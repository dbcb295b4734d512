"""What Git host backends exchange with the core: branches, comparisons, merges.

The contract itself is :class:`fabpromote.typing.GitHost`; these are the
records it passes around.
"""

from __future__ import annotations

import attrs

__all__ = ["ChangeRequest", "CommitInfo", "Comparison", "MergeResult"]


@attrs.frozen(kw_only=True)
class Comparison:
    """How branch ``head`` relates to branch ``base``.

    Attributes:
        ahead: Commits on ``head`` that ``base`` lacks (waiting to be promoted).
        behind: Commits on ``base`` that ``head`` lacks.
    """

    ahead: int
    behind: int


@attrs.frozen(kw_only=True)
class ChangeRequest:
    """A proposed merge of ``head`` into ``base``: a pull/merge request, or a
    direct merge on hosts without reviews (``number`` 0, ``url`` empty)."""

    base: str
    head: str
    head_sha: str
    number: int = 0
    url: str = ""
    mergeable: bool | None = None


@attrs.frozen(kw_only=True)
class MergeResult:
    """What a merge did.

    Attributes:
        status: ``merged``, ``up-to-date`` (nothing to merge) or
            ``not-mergeable`` (the host refuses for now: checks pending,
            conflicts); never an exception for those.
        sha: The new head of the base branch when merged.
        fast_forward: The base branch moved to the head's commit itself.
        message: A line for people, e.g. why it is not mergeable.
    """

    status: str
    sha: str = ""
    fast_forward: bool = False
    message: str = ""


@attrs.frozen(kw_only=True)
class CommitInfo:
    """One commit as history views show it.

    Attributes:
        trailers: The message's git trailers as ``(key, value)`` pairs, in
            order; a key may repeat (one ``Fabpromote-Source`` per component).
    """

    sha: str
    parents: tuple[str, ...] = attrs.field(converter=tuple)
    message: str
    author: str
    time: int
    trailers: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=tuple)
