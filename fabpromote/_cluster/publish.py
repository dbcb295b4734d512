"""``publish``: make an environment's manifests branch hold a materialization.

One commit holds exactly the materialized tree (files that disappeared are
removed), with its provenance as git trailers in the message, never as files
Flux would try to apply. An unchanged tree makes no commit. Pushes are
compare-and-swap: when another publisher got there first, the branch is read
again and the commit rebuilt on top, a bounded number of times, so no
publisher's commit is ever dropped. And no publish replaces one made from
newer sources: each attempt compares the sources of the branch's last publish
with its own, and a publisher that rendered older ones renders the branch heads
again (see :func:`publish`).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

import attrs

from fabpromote._util.credentials import redact
from fabpromote._util.meta import core_version
from fabpromote._util.outcome import plural
from fabpromote._util.races import pause_after_lost_race
from fabpromote.exceptions import OlderLockError, PublishError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from fabpromote._cluster.materialize import Materialization
    from fabpromote._cluster.models import Cluster
    from fabpromote._plugins.manager import Plugins
    from fabpromote._sources.fetch import LockEntry
    from fabpromote._sources.githost import CommitInfo
    from fabpromote._sources.sources import Sources
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
#: How many times :func:`publish` reads a branch that moved under it again before giving up.
RETRIES = 8
#: Seconds of jitter per lost race: the pause after losing attempt n is uniform in [0, RACE_JITTER * n].
RACE_JITTER = 0.05


@attrs.frozen(kw_only=True)
class PublishResult:
    """What a publish did.

    Attributes:
        repo: The manifests repository (credentials redacted).
        branch: The manifests branch.
        commit: The new commit, or None when the branch already held the tree.
        previous: The branch's commit before (None when the branch was created).
        attempts: How many compare-and-swap rounds it took.
        materialization: What was published (or found there): the one given,
            or, when a newer publish landed meanwhile, the branch heads rendered again.
        newer: A newer publish that was already on the branch and holds what
            this one would publish (nothing was written); "" otherwise.
    """

    repo: str
    branch: str
    commit: str | None
    previous: str | None
    attempts: int = 1
    materialization: Materialization | None = None
    newer: str = ""

    def to_json(self) -> dict[str, object]:
        """The ``publish`` object of ``materialize --json``."""
        return {"branch": self.branch, "commit": self.commit, "newer_publish": self.newer or None}


def commit_message(materialization: Materialization, *, older_than: str = "") -> str:
    """The commit message: a summary line, then the provenance as trailers.

    ``older_than``: the publish this one deliberately goes back from (see ``allow_older``).
    """
    __version__ = core_version()

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
    from fabpromote._sources.fetch import LockEntry

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
    render: Callable[[], Materialization] | None = None,
    plugins: Plugins | None = None,
) -> PublishResult:
    """Commit ``materialization`` to its environment's manifests branch, never over a newer one.

    Idempotent: publishing the same tree again makes no commit. The branch
    is created when missing.

    Every attempt reads the branch and compares the sources of its last
    publish with ours, component by component (git ancestry). Where it holds
    a newer commit of some component (another publisher got there first), a
    materialization of the branch heads is rendered again and compared again,
    so a publish never replaces one made from newer sources: it publishes the
    newest of everything, or finds that tree there already (``newer``). A
    materialization of a given lock (``pinned``) is never rendered again:
    going back is refused unless ``allow_older``.

    Args:
        materialization: What :func:`~fabpromote.materialize` returned.
        cluster: The cluster it belongs to.
        host: The Git host of the manifests repo; by default the one the
            configuration names or the URL suggests.
        retries: How many times the branch may move under us before giving up.
        allow_older: Publish even when a component's commit is an ancestor of
            the one the branch's last publish holds (going back on purpose,
            e.g. ``materialize --lock OLD``, or a branch reset to an earlier
            commit); the commit says so.
        render: How to render the environment again from the branch heads;
            by default :func:`~fabpromote.materialize` with the same engine.
        plugins: The plugin facade; by default one is loaded. Its
            ``fabpromote_after_publish`` hook is called with the result,
            whether a commit was made or not.

    Raises:
        OlderLockError: Going back without ``allow_older``.
        PublishError: The branch moved under every attempt.
        FabpromoteError: The repository cannot be read or written.
    """
    from fabpromote._cluster.hosts import host_for, sources_for
    from fabpromote._plugins.manager import Plugins
    from fabpromote._sources.gitops import StaleBranchError

    environment = cluster.pipeline.environment(materialization.environment)
    url, branch = cluster.manifests.url, environment.manifests_branch
    sources = sources_for(cluster)
    plugins = plugins or Plugins.load()
    host = host or host_for(cluster, url, plugins=plugins, sources=sources)
    again = None if materialization.pinned else render or _renderer(cluster, materialization, plugins)
    current = materialization
    # Compare-and-swap, not a network retry (hosts retry their own requests, see fabpromote.network):
    # each attempt reads the branch afresh and commits only over the head it read, at most
    # `retries` times. After a lost race a random pause that grows with the attempt keeps the
    # writers that collided from colliding again. A retry library would have to raise to read
    # again and would hide the attempt count the result reports: the loop says it plainer.
    for attempt in range(1, retries + 1):
        read = _read(host, url, branch)
        if read is None:
            continue  # it moved between reading its head and its history: read it again
        previous, latest = read
        back = _going_back(current, latest, sources)
        if back and again is not None:
            # Another publish holds newer sources than we rendered: render the heads, read after it, again.
            current = again()
            back = _going_back(current, latest, sources)
        if back and not allow_older:
            raise OlderLockError(back.message(url, branch))
        message = commit_message(current, older_than=back.publish if back else "")
        try:
            commit = host.commit_files(
                url, branch, dict(current.manifests), message, expected=previous, replace=True, purpose="publish"
            )
        except StaleBranchError:
            pause_after_lost_race(attempt, RACE_JITTER)
            continue
        # Rendered again and found there: the branch already holds a publish of the newest sources.
        newer = (previous or "") if commit is None and current is not materialization else ""
        result = PublishResult(
            repo=redact(url),
            branch=branch,
            commit=commit,
            previous=previous,
            attempts=attempt,
            materialization=current,
            newer=newer,
        )
        plugins.after_publish(cluster, result)
        return result
    raise PublishError(f"{redact(url)} branch {branch} moved during {retries} attempts to publish; try again")


def _renderer(cluster: Cluster, materialization: Materialization, plugins: Plugins) -> Callable[[], Materialization]:
    """Render the environment of ``materialization`` again, from the branch heads as they are now."""
    from fabpromote._cluster.materialize import materialize

    return lambda: materialize(cluster, materialization.environment, engine=materialization.engine, plugins=plugins)


def _read(host: GitHost, url: str, branch: str) -> tuple[str | None, CommitInfo | None] | None:
    """The branch's head and its last publish (or emergency rollback), if any; None when it moved meanwhile."""
    head = host.read_branch(url, branch)
    if head is None:
        return None, None
    history = host.log(url, branch, limit=50)
    if not history or history[0].sha != head:
        return None
    return head, next((c for c in history if f"{TRAILER_PREFIX}Digest" in dict(c.trailers)), None)


@attrs.frozen
class _Back:
    """A source a publish would take back: our commit, the newer one the branch's last publish holds."""

    entry: LockEntry
    theirs: str
    publish: str

    def message(self, url: str, branch: str) -> str:
        return (
            f"{self.entry.component or '.'} at {self.entry.sha[:12]} is older than {self.theirs[:12]}, which "
            f"{redact(url)} branch {branch} holds since publish {self.publish[:12]}; publishing it would go back: "
            "pass --allow-older (allow_older=True) to do so deliberately"
        )


def _going_back(materialization: Materialization, latest: CommitInfo | None, sources: Sources) -> _Back | None:
    """The first git source of ``materialization`` older than the commit of it that ``latest`` holds.

    Sources are matched by component and repository; a commit that is
    neither ancestor nor descendant of the other (a rewritten branch) is no
    step back.
    """
    if latest is None:
        return None
    published = {(e.component, e.url): e.sha for e in parse_sources(latest.trailers) if e.kind == "git"}
    for entry in materialization.lock:
        theirs = published.get((entry.component, redact(entry.url)))
        if entry.kind == "git" and theirs and theirs != entry.sha and _descends(sources, entry.url, theirs, entry.sha):
            return _Back(entry, theirs, latest.sha)
    return None


def _descends(sources: Sources, url: str, sha: str, ancestor: str) -> bool:
    """Whether commit ``sha`` of ``url`` has ``ancestor`` in its history.

    A commit the repository no longer has (its branch was rewritten and the
    commit collected) cannot be placed: it counts as no descendant. An
    unreachable server is an error.
    """
    from fabpromote._sources.gitops import GitOps
    from fabpromote.exceptions import AuthenticationError, SourceError

    try:
        sources.fetch(url, [sha])
    except AuthenticationError:
        raise
    except SourceError:
        sources.refresh(url)  # raises when the server does not answer; else it does not have the commit
        return False
    return GitOps(sources).is_ancestor(url, ancestor, sha)
