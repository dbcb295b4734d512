"""``publish``: make an environment's manifests branch hold a materialization.

One commit holds exactly the materialized tree (files that disappeared are
removed), with its provenance as git trailers in the message, never as files
Flux would try to apply. An unchanged tree makes no commit. Pushes are
compare-and-swap: when another publisher got there first, the branch is read
again and the commit rebuilt on top, a bounded number of times, so no
publisher's commit is ever dropped.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from typing import TYPE_CHECKING

import attrs

from fabpromote._credentials import redact
from fabpromote._outcome import plural
from fabpromote.exceptions import OlderLockError, PublishError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fabpromote._cluster import Cluster
    from fabpromote._fetch import LockEntry
    from fabpromote._materialize import Materialization
    from fabpromote.typing import GitHost

__all__ = [
    "TRAILER_PREFIX",
    "OlderLockError",
    "PublishError",
    "PublishResult",
    "commit_message",
    "parse_sources",
    "provenance_trailers",
    "publish",
]

TRAILER_PREFIX = "Fabpromote-"
RETRIES = 8


@attrs.frozen(kw_only=True)
class PublishResult:
    """What a publish did.

    Attributes:
        repo: The manifests repository (credentials redacted).
        branch: The manifests branch.
        commit: The new commit, or None when the branch already held the tree.
        previous: The branch's commit before (None when the branch was created).
        attempts: How many compare-and-swap rounds it took.
    """

    repo: str
    branch: str
    commit: str | None
    previous: str | None
    attempts: int = 1

    def to_json(self) -> dict[str, object]:
        """The ``publish`` object of ``materialize --json``."""
        return {"branch": self.branch, "commit": self.commit}


def commit_message(materialization: Materialization, *, older_than: str = "") -> str:
    """The commit message: a summary line, then the provenance as trailers.

    ``older_than``: the publish this one deliberately goes back from (see ``allow_older``).
    """
    from fabpromote import __version__

    manifests = materialization.manifests
    summary = (
        f"fabpromote: publish {materialization.cluster}/{materialization.environment} "
        f"({plural(len(manifests), 'file')}, sha256 {manifests.digest[:12]})"
    )
    if older_than:
        summary += f", deliberately older than {older_than[:12]}"
    trailers = provenance_trailers(
        cluster=materialization.cluster,
        environment=materialization.environment,
        engine=materialization.engine,
        version=__version__,
        digest=manifests.digest,
        lock=materialization.lock,
    )
    if older_than:
        trailers.append(f"{TRAILER_PREFIX}Older-Than: {older_than}")
    return "\n".join([summary, "", *trailers]) + "\n"


def provenance_trailers(
    *, cluster: str, environment: str, engine: str, version: str, digest: str, lock: Iterable[LockEntry]
) -> list[str]:
    """The trailers that say what a manifests commit holds and where it was rendered from."""
    lines = [
        f"{TRAILER_PREFIX}Cluster: {cluster}",
        f"{TRAILER_PREFIX}Environment: {environment}",
        f"{TRAILER_PREFIX}Engine: {engine}",
        f"{TRAILER_PREFIX}Version: {version}",
        f"{TRAILER_PREFIX}Digest: {digest}",
    ]
    return lines + [f"{TRAILER_PREFIX}Source: {_source(entry)}" for entry in lock]


def _source(entry: LockEntry) -> str:
    # "<component> <kind> <url> <ref> <sha>", each field with %, space and newline percent-encoded
    # (a path to a repository, or a component's name, may hold spaces).
    fields = (entry.component, entry.kind, redact(entry.url), entry.ref or "-", entry.sha)
    return " ".join(_escape(field) for field in fields)


def _escape(field: str) -> str:
    return field.replace("%", "%25").replace(" ", "%20").replace("\n", "%0A")


def parse_sources(trailers: tuple[tuple[str, str], ...]) -> list[LockEntry]:
    """The lock recorded in a publish commit's trailers."""
    from fabpromote._fetch import LockEntry

    entries = []
    for key, value in trailers:
        parts = value.split(" ")
        if key == f"{TRAILER_PREFIX}Source" and len(parts) == 5:
            component, kind, url, ref, sha = (urllib.parse.unquote(part) for part in parts)
            entries.append(LockEntry(component=component, kind=kind, url=url, ref="" if ref == "-" else ref, sha=sha))
    return entries


def publish(
    materialization: Materialization,
    cluster: Cluster,
    *,
    host: GitHost | None = None,
    retries: int = RETRIES,
    allow_older: bool = False,
) -> PublishResult:
    """Commit ``materialization`` to its environment's manifests branch.

    Idempotent: publishing the same tree again makes no commit. The branch
    is created when missing.

    Args:
        materialization: What :func:`~fabpromote.materialize` returned.
        cluster: The cluster it belongs to.
        host: The Git host of the manifests repo; by default the one the
            configuration names or the URL suggests.
        retries: How many times to rebuild on top of a concurrent publish.
        allow_older: Publish even when a component's commit is an ancestor of
            the one the branch's last publish holds (going back on purpose,
            e.g. ``materialize --lock OLD``); the commit says so.

    Raises:
        OlderLockError: Going back without ``allow_older``.
        PublishError: The branch moved under every attempt.
        FabpromoteError: The repository cannot be read or written.
    """
    from fabpromote._gitops import StaleBranchError
    from fabpromote._hosts import host_for, sources_for

    environment = cluster.pipeline.environment(materialization.environment)
    url, branch = cluster.manifests.url, environment.manifests_branch
    host = host or host_for(cluster, url, sources=sources_for(cluster))
    files = dict(materialization.manifests)
    older_than = _older_than(materialization, cluster, host, url, branch)
    if older_than and not allow_older:
        raise OlderLockError(older_than[1])
    message = commit_message(materialization, older_than=older_than[0] if older_than else "")
    for attempt in range(1, retries + 1):
        previous = host.read_branch(url, branch)
        try:
            commit = host.commit_files(url, branch, files, message, expected=previous, replace=True, purpose="publish")
        except StaleBranchError:
            time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not crypto
            continue
        return PublishResult(repo=redact(url), branch=branch, commit=commit, previous=previous, attempts=attempt)
    raise PublishError(f"{redact(url)} branch {branch} moved during {retries} attempts to publish; try again")


def _older_than(
    materialization: Materialization, cluster: Cluster, host: GitHost, url: str, branch: str
) -> tuple[str, str] | None:
    """The last publish on ``branch`` and why, when a component of ``materialization`` goes back from it."""
    from fabpromote._gitops import GitOps
    from fabpromote._hosts import sources_for

    if host.read_branch(url, branch) is None:
        return None
    latest = next((c for c in host.log(url, branch, limit=50) if f"{TRAILER_PREFIX}Digest" in dict(c.trailers)), None)
    if latest is None:
        return None
    published = {entry.component: entry.sha for entry in parse_sources(latest.trailers) if entry.kind == "git"}
    ops = GitOps(sources_for(cluster))
    for entry in materialization.lock:
        sha = published.get(entry.component)
        if entry.kind == "git" and sha and sha != entry.sha and ops.is_ancestor(entry.url, entry.sha, sha):
            return latest.sha, (
                f"{entry.component or '.'} at {entry.sha[:12]} is older than {sha[:12]}, which {redact(url)} "
                f"branch {branch} holds since publish {latest.sha[:12]}; publishing it would go back: "
                "pass --allow-older (allow_older=True) to do so deliberately"
            )
    return None
