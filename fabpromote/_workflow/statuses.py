"""report-status: a commit status on an environment's manifests commit, from any CI job.

The status goes through the Git host of the cluster's manifests repository
(:meth:`fabpromote.typing.GitHost.set_commit_status`): GitHub's or GitLab's
status API, or the local host's notes ref. Gates (``statuses:``) read them
back on the manifests commit that carries an app commit, where Flux's
notification-controller posts the Kustomization's health too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

from fabpromote._plugins.manager import Plugins
from fabpromote._sources.githost import CommitStatus
from fabpromote._util.shas import is_abbreviated_sha, is_sha
from fabpromote._workflow.context import Context, shown
from fabpromote.exceptions import CommitStatusError, FabpromoteError

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster

__all__ = ["StatusReport", "report_status"]


@attrs.frozen(kw_only=True)
class StatusReport:
    """A status posted by :func:`report_status`.

    Attributes:
        env: The environment.
        repo: The manifests repository, credentials redacted.
        branch: The environment's manifests branch.
        sha: The commit the status is on.
        status: The status as posted (``updated_at`` None: the host dates it).
    """

    env: str
    repo: str
    branch: str
    sha: str
    status: CommitStatus

    def line(self) -> str:
        """One line for people."""
        return f"{self.status.context}: {self.status.state} on {self.sha[:12]} ({self.repo} branch {self.branch})"

    def to_json(self) -> dict[str, object]:
        """``report-status --json``."""
        status = self.status.to_json()
        del status["updated_at"]
        return {"env": self.env, "repo": self.repo, "branch": self.branch, "sha": self.sha, **status}


def report_status(
    cluster: Cluster,
    env: str,
    context: str,
    state: str,
    *,
    sha: str | None = None,
    description: str = "",
    url: str = "",
    plugins: Plugins | None = None,
) -> StatusReport:
    """Post the status ``context`` = ``state`` on a commit of ``env``'s manifests branch.

    Args:
        sha: The commit (40 hex digits, or 7+ of them); default the head of
            the manifests branch. It must be in that branch's history.
        description: A short line shown beside the status.
        url: Where the status links to (an ``http(s)`` URL: the CI job).

    Raises:
        UnknownNameError: No environment ``env``.
        CommitStatusError: A state other than pending, success, failure,
            error; an empty context; ``url`` not an http(s) URL.
        MissingBranchError: The manifests branch does not exist (never published).
        FabpromoteError: ``sha`` is not in the manifests branch's history.
    """
    environment = cluster.pipeline.environment(env)
    status = CommitStatus(context=context, state=state, description=description, target_url=_link(url))
    if sha is not None and not (is_sha(sha) or is_abbreviated_sha(sha)):
        raise FabpromoteError(f"--sha {sha!r} is not a commit SHA (7 to 40 hex digits)")
    ctx = Context(cluster, plugins or Plugins.load())
    repo = cluster.manifests.url
    host = ctx.host(repo)
    branch = environment.manifests_branch
    head = ctx.branch(host, repo, branch)
    commit = head if sha is None else host.resolve_commit(repo, sha)
    if commit != head and host.compare(repo, commit, head).behind:
        raise FabpromoteError(
            f"{commit[:12]} is not in the history of {shown(repo)} branch {branch} (the manifests of {env})"
        )
    host.set_commit_status(repo, commit, status)
    return StatusReport(env=env, repo=shown(repo), branch=branch, sha=commit, status=status)


def _link(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommitStatusError(f"--url must be an http(s) URL (the CI job), not {url!r}")
    return url
