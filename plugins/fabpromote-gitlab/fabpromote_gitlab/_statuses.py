"""Commit statuses: what external checks (such as ``fabpromote/guard``) report on a commit."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from fabpromote import git
from fabpromote.exceptions import GitHostError

__all__ = [
    "FROM_GITLAB",
    "STATES",
    "TO_GITLAB",
    "CommitNotFoundError",
    "CommitStatus",
    "commit_found",
    "latest_by_context",
]

HOST = "gitlab"

#: The states a status can be set to (GitLab's ``POST /projects/:id/statuses/:sha``) in every
#: GitLab the plugin supports: ``skipped`` is taken only from GitLab 17.x on (docs/githosts.md).
STATES = ("pending", "running", "success", "failed", "canceled")

#: GitLab's states (a status's, or a job's) as every host gives them: not finished is
#: ``pending``; finished without a verdict (canceled, skipped) is ``error``, never a success.
FROM_GITLAB = {
    "created": "pending",
    "waiting_for_resource": "pending",
    "preparing": "pending",
    "pending": "pending",
    "running": "pending",
    "scheduled": "pending",
    "manual": "pending",
    "success": "success",
    "failed": "failure",
    "canceled": "error",
    "skipped": "error",
}
#: Ours as GitLab takes them: ``error`` (the check broke) is ``canceled``, which reads back as ``error``.
TO_GITLAB = {"pending": "pending", "success": "success", "failure": "failed", "error": "canceled"}


class CommitNotFoundError(GitHostError, LookupError):
    """The project has no commit of that SHA (GitLab's ``404 Commit Not Found``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, host=HOST, status=404)


@attrs.frozen(kw_only=True)
class CommitStatus:
    """One status of a commit, as GitLab reports it.

    Attributes:
        context: Its name (GitLab's ``name``), e.g. ``fabpromote/guard``.
        state: ``pending``, ``running``, ``success``, ``failed``, ``canceled``,
            or another state of a GitLab job (``skipped``, ``created``...), as read.
        description: The short text shown beside it.
        target_url: Where it links to.
        sha: The commit.
        ref: The branch or tag it was reported for.
        created_at: When, as GitLab wrote it (ISO 8601).
        updated_at: When it last changed: finished, else started, else created.
    """

    context: str
    state: str
    description: str = ""
    target_url: str = ""
    sha: str = ""
    ref: str = ""
    created_at: str = ""
    updated_at: str = ""

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
            updated_at=str(data.get("finished_at") or data.get("started_at") or data.get("created_at") or ""),
        )

    def to_git(self) -> git.CommitStatus:
        """As every Git host gives it: the state mapped (:data:`FROM_GITLAB`; an unknown one is ``error``)."""
        return git.CommitStatus(
            context=self.context,
            state=FROM_GITLAB.get(self.state, "error"),
            description=self.description,
            target_url=self.target_url,
            updated_at=datetime.fromisoformat(self.updated_at) if self.updated_at else None,
        )


def latest_by_context(statuses: Iterable[CommitStatus]) -> list[git.CommitStatus]:
    """The latest status of each context (GitLab keeps one per ref and name), sorted by context."""
    latest: dict[str, CommitStatus] = {}
    for status in statuses:
        kept = latest.get(status.context)
        if kept is None or status.updated_at >= kept.updated_at:
            latest[status.context] = status
    return [latest[context].to_git() for context in sorted(latest)]


@contextlib.contextmanager
def commit_found(project: str, sha: str) -> Iterator[None]:
    """A 404 of a statuses endpoint (not about the project) as :class:`CommitNotFoundError`."""
    try:
        yield
    except GitHostError as exc:
        if exc.status == 404 and "project not found" not in str(exc).lower():
            raise CommitNotFoundError(f"{project} has no commit {sha}") from None
        raise
