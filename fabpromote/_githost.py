"""What Git host backends exchange with the core: branches, comparisons, merges.

The contract itself is :class:`fabpromote.typing.GitHost`; these are the
records it passes around.
"""

from __future__ import annotations

import attrs

from fabpromote._outcome import Outcome

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

    def to_json(self) -> dict[str, object]:
        """The ``change`` object of ``promote --json``."""
        return {
            "base": self.base,
            "head": self.head,
            "head_sha": self.head_sha,
            "number": self.number or None,
            "url": self.url or None,
            "mergeable": self.mergeable,
        }


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

    @property
    def outcome(self) -> Outcome:
        """``merged`` is done, ``up-to-date`` nothing to do, ``not-mergeable`` pending.

        Pending as far as the host knows: a pull/merge request stays open and
        may become mergeable. Where nothing stays open (a direct merge on
        local git), the caller makes it a failure (see ``PromoteResult``).
        """
        if self.status == "merged":
            return Outcome.DONE
        if self.status == "up-to-date":
            return Outcome.NOTHING_TO_DO
        return Outcome.PENDING

    def to_json(self) -> dict[str, object]:
        """The ``merge`` object of ``promote --json``."""
        return {
            "status": self.status,
            "sha": self.sha or None,
            "fast_forward": self.fast_forward,
            "message": self.message,
        }


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
