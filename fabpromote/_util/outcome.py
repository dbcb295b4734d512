"""What a command's result says happened: done, nothing to do, failed, or not done yet.

Results of the library (:class:`~fabpromote._sources.githost.MergeResult`,
:class:`~fabpromote._workflow.promote.PromoteResult`, ...) carry an :class:`Outcome`;
the CLI turns it into its exit status in one place (see ``docs/cli.md``).
"""

from __future__ import annotations

import enum

__all__ = ["Outcome", "plural"]


class Outcome(enum.Enum):
    """What a command achieved; the value is what ``--json`` prints as ``outcome``."""

    #: Everything asked for happened.
    DONE = "done"
    #: There was nothing to do (already up to date, nothing to promote); nothing changed.
    NOTHING_TO_DO = "nothing-to-do"
    #: Refused or failed; what did happen before the failure is reported with it.
    FAILED = "failed"
    #: Not done yet: a pull/merge request is open and waits (checks, reviews, conflicts to resolve).
    PENDING = "pending"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 commit``, ``2 commits``, ``0 files``: ``many`` when adding an s is wrong."""
    return f"{count} {word if count == 1 else many or word + 's'}"
