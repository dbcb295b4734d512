"""Commit statuses: what ``fabpromote guard`` reports on a commit, and their combined state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from fabpromote import git

__all__ = ["STATES", "CombinedStatus", "CommitStatus"]

#: The states GitHub accepts for a commit status.
STATES = ("error", "failure", "pending", "success")
#: GitHub cuts descriptions longer than this.
DESCRIPTION_LENGTH = 140


@attrs.frozen(kw_only=True)
class CommitStatus:
    """One status of a commit, the latest of its ``context``."""

    context: str
    state: str
    description: str = ""
    target_url: str = ""
    updated_at: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommitStatus:
        """From GitHub's status object."""
        return cls(
            context=str(data.get("context") or "default"),
            state=str(data["state"]),
            description=str(data.get("description") or ""),
            target_url=str(data.get("target_url") or ""),
            updated_at=str(data.get("updated_at") or data.get("created_at") or ""),
        )

    def to_git(self) -> git.CommitStatus:
        """As every Git host gives it (GitHub's states are the same four)."""
        return git.CommitStatus(
            context=self.context,
            state=self.state,
            description=self.description,
            target_url=self.target_url,
            # GitHub writes UTC as ``2024-05-01T10:00:00Z``.
            updated_at=datetime.fromisoformat(self.updated_at) if self.updated_at else None,
        )


def _statuses(value: Iterable[CommitStatus]) -> tuple[CommitStatus, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class CombinedStatus:
    """All statuses of a commit.

    Attributes:
        sha: The commit the reference resolved to.
        state: ``failure`` if any status failed or errored, else ``pending``
            if any is pending (or there is none), else ``success``.
        statuses: The latest status of each context.
    """

    sha: str
    state: str
    statuses: tuple[CommitStatus, ...] = attrs.field(default=(), converter=_statuses)

    def get(self, context: str) -> CommitStatus | None:
        """The status of ``context``, if the commit has one."""
        return next((status for status in self.statuses if status.context == context), None)
