"""Commit statuses as Azure DevOps keeps them (``GitStatus``), and fabpromote's four states.

A status's context is a genre and a name in Azure DevOps; fabpromote's
context ``genre/name`` is split at its last ``/`` (``fabpromote/guard`` is
genre ``fabpromote``, name ``guard``; ``e2e`` has no genre), and read back
the same way, so every context round-trips.

States read: ``succeeded`` is ``success``; ``failed`` is ``failure``;
``pending`` and ``notSet`` are ``pending``; ``error`` is ``error``, and so is
``notApplicable`` (finished without a verdict: never a success). States
written: ``success`` -> ``succeeded``, ``failure`` -> ``failed``, ``pending``,
``error``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from fabpromote import git

__all__ = ["context_of", "from_azure", "latest", "split_context", "to_azure"]

TO_AZURE = {"success": "succeeded", "failure": "failed", "pending": "pending", "error": "error"}
FROM_AZURE = {
    "succeeded": "success",
    "failed": "failure",
    "pending": "pending",
    "notset": "pending",
    "error": "error",
    "notapplicable": "error",
}
#: Azure writes 0 to 7 digits of fractions of a second; Python 3.10 reads 3 or 6.
_FRACTION = re.compile(r"\.(\d+)")


def split_context(context: str) -> tuple[str, str]:
    """``(genre, name)`` of a fabpromote context: split at its last ``/``."""
    genre, _, name = context.rpartition("/")
    return genre, name


def context_of(data: Mapping[str, Any] | None) -> str:
    """The fabpromote context of Azure's ``{"genre", "name"}``."""
    genre = str((data or {}).get("genre") or "")
    name = str((data or {}).get("name") or "")
    return f"{genre}/{name}" if genre else name


def to_azure(status: git.CommitStatus) -> dict[str, Any]:
    """The body of ``POST .../commits/{sha}/statuses`` (a ``GitStatus``)."""
    genre, name = split_context(status.context)
    body: dict[str, Any] = {
        "state": TO_AZURE[status.state],
        "description": status.description,
        "context": {"genre": genre, "name": name} if genre else {"name": name},
    }
    if status.target_url:
        body["targetUrl"] = status.target_url
    return body


def from_azure(data: Mapping[str, Any]) -> git.CommitStatus:
    """fabpromote's status of one of Azure's (``GitStatus``)."""
    state = FROM_AZURE.get(str(data.get("state") or "").lower(), "error")
    when = data.get("updatedDate") or data.get("creationDate")
    return git.CommitStatus(
        context=context_of(data.get("context")),
        state=state,
        description=str(data.get("description") or ""),
        target_url=str(data.get("targetUrl") or ""),
        updated_at=parse_date(str(when)) if when else None,
    )


def latest(statuses: Iterable[Mapping[str, Any]]) -> list[git.CommitStatus]:
    """The newest status of each context (the highest ``id``), sorted by context."""
    newest: dict[str, Mapping[str, Any]] = {}
    for data in statuses:
        context = context_of(data.get("context"))
        if context not in newest or int(data.get("id") or 0) > int(newest[context].get("id") or 0):
            newest[context] = data
    return [from_azure(newest[context]) for context in sorted(newest)]


def parse_date(value: str) -> datetime:
    """An Azure DevOps date (``2024-05-01T10:00:00.1234567Z``), timezone-aware."""
    return datetime.fromisoformat(
        _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], value.replace("Z", "+00:00"))
    )
