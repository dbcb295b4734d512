"""Commit statuses as Gitea writes them, and as fabpromote's records.

Gitea names a status's state ``status`` in its answers and ``state`` in
requests. It knows two states fabpromote does not: ``warning`` (a check
that passed with complaints) is read as ``failure``, so that a gate waiting
on it does not pass; ``skipped`` (a check that did not need to run) is read
as ``success``, as a required check skipped on GitHub counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from fabpromote.git import CommitStatus

__all__ = ["DESCRIPTION_LENGTH", "from_gitea", "to_gitea"]

#: A description is one short line beside the check; longer ones are cut here, not by the server.
DESCRIPTION_LENGTH = 255
_STATES = {"warning": "failure", "skipped": "success"}


def from_gitea(item: Mapping[str, Any]) -> CommitStatus:
    """A status of Gitea's answers (``CommitStatus``) as fabpromote's record."""
    state = str(item.get("status") or item.get("state") or "pending")
    return CommitStatus(
        context=str(item.get("context") or ""),
        state=_STATES.get(state, state),
        description=str(item.get("description") or ""),
        target_url=str(item.get("target_url") or ""),
        updated_at=_time(item.get("updated_at") or item.get("created_at")),
    )


def to_gitea(status: CommitStatus) -> dict[str, Any]:
    """The body of ``POST /repos/{owner}/{repo}/statuses/{sha}`` (``CreateStatusOption``)."""
    body: dict[str, Any] = {
        "state": status.state,
        "context": status.context,
        "description": status.description[:DESCRIPTION_LENGTH],
    }
    if status.target_url:
        body["target_url"] = status.target_url
    return body


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    # Gitea writes RFC 3339 in the server's zone (+02:00) or Z; Python 3.10 does not read "Z".
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc)
