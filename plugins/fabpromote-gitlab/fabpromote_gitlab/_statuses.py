"""Commit statuses: what external checks (such as ``fabpromote/guard``) report on a commit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["STATES", "CommitStatus"]

#: The states a status can be set to (GitLab's ``POST /projects/:id/statuses/:sha``).
STATES = ("pending", "running", "success", "failed", "canceled", "skipped")


@attrs.frozen(kw_only=True)
class CommitStatus:
    """One status of a commit, as GitLab reports it.

    Attributes:
        context: Its name (GitLab's ``name``), e.g. ``fabpromote/guard``.
        state: ``pending``, ``running``, ``success``, ``failed``, ``canceled``,
            ``skipped`` (or another state of a GitLab job, such as ``created``).
        description: The short text shown beside it.
        target_url: Where it links to.
        sha: The commit.
        ref: The branch or tag it was reported for.
        created_at: When, as GitLab wrote it (ISO 8601).
    """

    context: str
    state: str
    description: str = ""
    target_url: str = ""
    sha: str = ""
    ref: str = ""
    created_at: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> CommitStatus:
        """The record for one status object of the API."""
        return cls(
            context=str(data.get("name") or "default"),
            state=str(data.get("status") or ""),
            description=str(data.get("description") or ""),
            target_url=str(data.get("target_url") or ""),
            sha=str(data.get("sha") or ""),
            ref=str(data.get("ref") or ""),
            created_at=str(data.get("created_at") or ""),
        )
