"""The everyday operations: guard, promote, status, preview, rollback, set-image, history.

Each works on one cluster, through the Git host backend of each repository
(a direct merge on local git, a pull/merge request on hosted hosts). Reads
see the remotes' current state; writes are compare-and-swap, so a branch
that moved since it was read is never overwritten: ``set_image`` makes its
edit again on the new head (unless the image itself changed), the others
report it.
"""

from __future__ import annotations

import difflib
import logging
import random
import re
import time
from typing import TYPE_CHECKING

import attrs
from dulwich.graph import find_merge_base
from dulwich.objects import ObjectID

from fabpromote._cluster.apps import App, app, apps
from fabpromote._cluster.hosts import host_for, protection, sources_for
from fabpromote._cluster.materialize import Materialization, materialize
from fabpromote._cluster.publish import TRAILER_PREFIX, PublishResult, parse_sources, provenance_trailers, publish
from fabpromote._hld import goyaml as _goyaml
from fabpromote._hld.loading import load_environments
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.fetch import LockEntry, as_lock, lock_key
from fabpromote._sources.githost import ChangeRequest, Comparison, MergeResult
from fabpromote._sources.gitops import GitOps
from fabpromote._util.outcome import Outcome, plural
from fabpromote._workflow.images import find_images, image_in_text, set_image_in_text
from fabpromote.exceptions import (
    MIN_SHA_PREFIX,
    FabpromoteError,
    HLDError,
    ImageConflictError,
    MissingBranchError,
    NothingToPromoteError,
    PromotionRefused,
    StaleBranchError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from fabpromote._cluster.models import Cluster, Environment
    from fabpromote._sources.sources import Sources
    from fabpromote.typing import GitHost

__all__ = [
    "HistoryEntry",
    "NothingToPromoteError",
    "Preview",
    "PromoteResult",
    "StatusRow",
    "guard",
    "history",
    "preview",
    "promote",
    "protect",
    "rollback",
    "rollback_manifests",
    "set_image",
    "status",
]


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


log = logging.getLogger(__name__)

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# An image repository as the OCI distribution spec writes one: [host[:port]/]path, lower-case path components.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_SHA_PREFIX = re.compile(rf"[0-9a-fA-F]{{{MIN_SHA_PREFIX},40}}")


@attrs.define
class _Context:
    """What one operation shares: the plugins and one view of the remotes."""

    cluster: Cluster
    plugins: Plugins = attrs.Factory(Plugins.load)
    sources: Sources = attrs.Factory(lambda self: sources_for(self.cluster), takes_self=True)

    def host(self, url: str) -> GitHost:
        return host_for(self.cluster, url, plugins=self.plugins, sources=self.sources)

    def branch(self, host: GitHost, url: str, branch: str) -> str:
        sha = host.read_branch(url, branch)
        if sha is None:
            raise MissingBranchError(f"{_shown(url)} has no branch {branch!r}")
        return sha


def _shown(url: str) -> str:
    from fabpromote._util.credentials import redact

    return redact(url)


def _env_for_branch(cluster: Cluster, branch: str) -> Environment:
    for environment in cluster.pipeline.environments:
        if branch in (environment.hld_branch, environment.name):
            return environment
    known = ", ".join(env.hld_branch for env in cluster.pipeline.environments)
    raise FabpromoteError(f"branch {branch!r} is not an environment branch of {cluster.name} ({known})")


def guard(cluster: Cluster, *, base: str, head: str) -> None:
    """Allow merging branch ``head`` into branch ``base`` only as the pipeline says.

    Raises:
        PromotionRefused: The pipeline does not allow it (the message says why).
    """
    cluster.pipeline.check_promotion(_env_for_branch(cluster, head).name, _env_for_branch(cluster, base).name)


@attrs.frozen(kw_only=True)
class PromoteResult:
    """What ``promote`` did (or, with ``dry_run``, would do), step by step.

    A promotion may take several steps: open (or reuse) a change request,
    merge it, publish the target. Each step that ran is recorded, so a
    failure in a later step never hides what an earlier one did.

    Attributes:
        change: The change request opened or reused (``number`` 0 on hosts
            that merge directly).
        merge: What the merge did; None when not asked to merge (``merge``
            False on a hosted host).
        publish: The publish of ``target`` after a merge, when asked.
        publish_error: Why that publish failed (the merge stands).
    """

    app: str
    source: str
    target: str
    repo: str
    head: str
    base: str
    head_sha: str
    pending: int
    dry_run: bool = False
    change: ChangeRequest | None = None
    merge: MergeResult | None = None
    publish: PublishResult | None = None
    publish_error: str = ""
    #: The commit that first gave the target back what a rollback undid, when newer commits were merged after it.
    restored: str = ""

    @property
    def outcome(self) -> Outcome:
        """Done, nothing to do (merged meanwhile), failed, or pending (a change request waits)."""
        if self.dry_run:
            return Outcome.DONE
        if self.merge is None:
            return Outcome.PENDING  # a change request opened or reused, not merged
        if self.publish_error:
            return Outcome.FAILED
        outcome = self.merge.outcome
        if outcome is Outcome.PENDING and self.change is not None and self.change.number == 0:
            return Outcome.FAILED  # a direct merge refused: nothing stays open to wait for
        return outcome

    def lines(self) -> list[str]:
        """What happened, for people: one line per step."""
        what = (
            f"{self.app}: {self.head} -> {self.base} in {self.repo} "
            f"({plural(self.pending, 'commit')}, head {self.head_sha[:12]})"
        )
        if self.dry_run:
            return [f"would promote {what}"]
        lines = [f"promote {what}"]
        if self.restored:
            lines.append(f"  restored what a rollback of {self.base} undid, at {self.restored}")
        if self.change is not None and self.change.url:
            lines.append(f"  change request: {self.change.url}")
        if self.merge is not None:
            detail = f" at {self.merge.sha}" if self.merge.sha else ""
            style = " (fast-forward)" if self.merge.fast_forward else ""
            lines.append(
                f"  {self.merge.status}{detail}{style}{': ' + self.merge.message if self.merge.message else ''}"
            )
        elif self.change is not None:
            lines.append("  not merged: merge it once mergeable (or run again with --merge)")
        if self.publish is not None:
            newer = f" (a newer publish is already there: {self.publish.newer})" if self.publish.newer else ""
            lines.append(f"  published {self.target}: {self.publish.commit or 'unchanged' + newer}")
        if self.publish_error:
            lines.append(f"  publish of {self.target} failed (the merge stands): {self.publish_error}")
        return lines

    def to_json(self) -> dict[str, object]:
        """The object of ``promote --json``."""
        return {
            "outcome": self.outcome.value,
            "app": self.app,
            "source": self.source,
            "target": self.target,
            "repo": self.repo,
            "head": self.head,
            "base": self.base,
            "head_sha": self.head_sha,
            "pending": self.pending,
            "dry_run": self.dry_run,
            "change": self.change.to_json() if self.change else None,
            "merge": self.merge.to_json() if self.merge else None,
            "publish": self.publish.to_json() if self.publish else None,
            "publish_error": self.publish_error or None,
            "restored": self.restored or None,
        }


def promote(
    cluster: Cluster,
    app_name: str,
    *,
    source: str,
    target: str,
    merge: bool = False,
    publish_after: bool = False,
    dry_run: bool = False,
    plugins: Plugins | None = None,
) -> PromoteResult:
    """Promote ``app_name`` from environment ``source`` into ``target``.

    On the local host the branches are merged at once (fast-forward, else a
    merge commit); on hosted hosts a pull/merge request is opened or reused,
    and merged at the expected head SHA only with ``merge``. With
    ``publish_after``, a merged promotion then publishes ``target``.

    What happened is in the result, step by step, and summed up in its
    ``outcome``: a merge the host refuses (conflicts, checks pending) is
    ``merge.status == "not-mergeable"``, pending while a change request stays
    open and failed on hosts that merge directly (nothing changed there); a
    publish that fails after the merge is ``publish_error``, failed.

    Unless ``dry_run``, the plugins' ``fabpromote_after_promote`` hook is
    called with the result, after the publish (if any).

    Raises:
        PromotionRefused: The pipeline does not allow it.
        NothingToPromoteError: ``target`` already has every commit of ``source``.
        StaleBranchError: A branch moved while promoting (nothing changed).
    """
    cluster.pipeline.check_promotion(source, target)
    ctx = _Context(cluster, plugins or Plugins.load())
    result = _promote(
        ctx, app_name, source=source, target=target, merge=merge, publish_after=publish_after, dry_run=dry_run
    )
    if not result.dry_run:
        ctx.plugins.after_promote(cluster, result)
    return result


def _promote(
    ctx: _Context, app_name: str, *, source: str, target: str, merge: bool, publish_after: bool, dry_run: bool
) -> PromoteResult:
    """The steps of :func:`promote`, up to the notification."""
    cluster = ctx.cluster
    head_app, base_app = app(cluster, source, app_name, ctx.sources), app(cluster, target, app_name, ctx.sources)
    if head_app.url != base_app.url:
        raise FabpromoteError(
            f"app {app_name!r} comes from {_shown(head_app.url)} in {source} but {_shown(base_app.url)} in {target}"
        )
    url = base_app.url
    host = ctx.host(url)
    head_sha = ctx.branch(host, url, head_app.branch)
    base_sha = ctx.branch(host, url, base_app.branch)
    comparison = host.compare(url, base_app.branch, head_app.branch)
    undone = _undone(ctx, url, comparison, base_sha, head_sha)
    pending = _pending(comparison, undone)
    result = PromoteResult(
        app=app_name,
        source=source,
        target=target,
        repo=_shown(url),
        head=head_app.branch,
        base=base_app.branch,
        head_sha=head_sha,
        pending=pending,
        dry_run=dry_run,
    )
    if pending == 0:
        raise NothingToPromoteError(
            f"nothing to promote: {base_app.branch} already has every commit of {head_app.branch} ({app_name})"
        )
    if dry_run:
        return result
    if undone is not None:
        result = _restore(host, result, url, undone, base_sha, merge=merge)
        if comparison.ahead == 0 or not _merged(result):
            return _publish_after(result, cluster, ctx) if publish_after and _merged(result) else result
        result = attrs.evolve(result, restored=result.merge.sha if result.merge else "")
    change = host.open_change(
        url,
        base=base_app.branch,
        head=head_app.branch,
        title=f"Promote {app_name} from {source} to {target}",
        body=f"Promotes {plural(pending, 'commit')} of {app_name}, up to {head_sha}, from {source} to {target}.",
    )
    merged = None
    if merge or change.number == 0:  # number 0: a host that merges directly
        merged = host.merge(
            url, change, expected_head_sha=head_sha, message=f"Promote {app_name} from {source} to {target}"
        )
    result = attrs.evolve(result, change=change, merge=merged)
    if publish_after and _merged(result):
        result = _publish_after(result, cluster, ctx)
    return result


def _merged(result: PromoteResult) -> bool:
    return result.merge is not None and result.merge.status == "merged"


def _publish_after(result: PromoteResult, cluster: Cluster, ctx: _Context) -> PromoteResult:
    """Publish the target of a merged promotion; a failure is recorded, not raised, for the merge stands."""
    try:

        def again() -> Materialization:
            return materialize(cluster, result.target, plugins=ctx.plugins)

        published = publish(again(), cluster, render=again, plugins=ctx.plugins)
    except FabpromoteError as exc:
        return attrs.evolve(result, publish_error=str(exc))
    except KeyboardInterrupt:
        # Interrupted after the merge: the result is lost with the exception, so say it here.
        log.warning(
            "%s was merged into %s at %s before the interruption; %s was not published",
            result.head,
            result.base,
            result.merge.sha if result.merge else "?",
            result.target,
        )
        raise
    return attrs.evolve(result, publish=published)


def _pending(comparison: Comparison, undone: str | None) -> int:
    """What a promotion would bring: the commits the target lacks.

    When the target has every commit of the source but not their content
    (``undone``: it was rolled back since), promoting again restores that
    content: the commits of the target that undid it are pending.
    """
    if comparison.ahead or undone is None:
        return comparison.ahead
    return comparison.behind


def _undone(ctx: _Context, url: str, comparison: Comparison, base_sha: str, head_sha: str) -> str | None:
    """The last commit of ``head_sha`` that ``base_sha`` holds, when rollbacks on ``base`` have undone its content.

    Only commits fabpromote made to restore a tree (marked with
    :data:`RESTORES`) and merges count: content someone committed to an
    unprotected target branch is never undone by a promotion.
    """
    if not comparison.behind:
        return None
    ctx.sources.fetch(url, [base_sha, head_sha])
    with ctx.sources.mirror(url) as repo:
        base, head = ObjectID(base_sha.encode()), ObjectID(head_sha.encode())
        shared = find_merge_base(repo, [base, head])
        if len(shared) != 1 or repo[base].tree == repo[shared[0]].tree:  # type: ignore[attr-defined]
            return None
        own = [entry.commit for entry in repo.get_walker(include=[base], exclude=[head])]
        if all(len(commit.parents) > 1 or _restores(commit.message) for commit in own):
            return shared[0].decode()
    return None


#: The trailer of a commit that puts an earlier tree back (a rollback, or a promotion restoring what one undid).
RESTORES = f"{TRAILER_PREFIX}Restores"


def _restores(message: bytes) -> bool:
    return any(line.startswith(f"{RESTORES}: ".encode()) for line in message.splitlines())


def _restore(
    host: GitHost, result: PromoteResult, url: str, undone: str, base_sha: str, *, merge: bool
) -> PromoteResult:
    """Give the target back the content of ``undone`` (what rollbacks took away) before merging anything newer.

    Local host: a commit on the target with ``undone``'s tree; hosted hosts:
    a change request holding it, merged with ``merge``.
    """
    message = (
        f"Promote {result.app} from {result.source} to {result.target} again: restore {undone[:12]}\n\n"
        f"{RESTORES}: {undone}\n"
    )
    done = host.revert_to(url, result.base, undone, expected=base_sha, message=message)
    merged: MergeResult | None
    if isinstance(done, str) or done is None:
        change = ChangeRequest(base=result.base, head=result.head, head_sha=result.head_sha)
        merged = MergeResult(status="merged", sha=done) if done else MergeResult(status="up-to-date")
    else:
        change = done
        merged = host.merge(url, change, expected_head_sha=change.head_sha, message=message) if merge else None
    return attrs.evolve(result, change=change, merge=merged)


@attrs.frozen(kw_only=True)
class StatusRow:
    """Which version of an app an environment holds."""

    cluster: str
    app: str
    env: str
    sha: str
    images: tuple[str, ...] = attrs.field(converter=_strings)
    pending: int
    materialized: bool

    def to_json(self) -> dict[str, object]:
        """The object of ``status --json``."""
        return {
            "cluster": self.cluster,
            "app": self.app,
            "env": self.env,
            "sha": self.sha,
            "images": list(self.images),
            "pending": self.pending,
            "materialized": self.materialized,
        }


def status(cluster: Cluster, *, plugins: Plugins | None = None) -> list[StatusRow]:
    """For each app and environment: its branch SHA, images, pending commits, materialized or not."""
    ctx = _Context(cluster, plugins or Plugins.load())
    rows = []
    by_env = {
        env.name: {a.name: a for a in apps(cluster, env.name, ctx.sources)} for env in cluster.pipeline.environments
    }
    for environment in cluster.pipeline.environments:
        published = _published_sources(ctx, environment)
        previous = cluster.pipeline.previous(environment.name)
        for entry in by_env[environment.name].values():
            host = ctx.host(entry.url)
            sha = host.read_branch(entry.url, entry.branch) or ""
            before = by_env[previous.name].get(entry.name) if previous else None
            pending = _pending_between(ctx, host, entry.url, entry.branch, before.branch) if before and sha else 0
            rows.append(
                StatusRow(
                    cluster=cluster.name,
                    app=entry.name,
                    env=environment.name,
                    sha=sha,
                    images=_images(ctx, entry, sha, environment) if sha else (),
                    pending=pending,
                    materialized=(entry.name, sha) in published,
                )
            )
    return rows


def _pending_between(ctx: _Context, host: GitHost, url: str, base: str, head: str) -> int:
    base_sha, head_sha = host.read_branch(url, base), host.read_branch(url, head)
    if base_sha is None or head_sha is None:
        return 0
    comparison = host.compare(url, base, head)
    return _pending(comparison, _undone(ctx, url, comparison, base_sha, head_sha))


def _published_sources(ctx: _Context, environment: Environment) -> set[tuple[str, str]]:
    """(component, sha) of every git source of the latest publish on the manifests branch."""
    latest = next(iter(_history(ctx, environment.name, 20)), None)
    return {(entry.component, entry.sha) for entry in latest.sources if entry.kind == "git"} if latest else set()


def _images(ctx: _Context, entry: App, sha: str, environment: Environment) -> tuple[str, ...]:
    with ctx.sources.user_terms():
        tree = ctx.sources.snapshot(entry.url, sha)
        config = load_environments(tree / entry.path, environment.fabrikate_environments)
    return tuple(find_images(config.config))


@attrs.frozen(kw_only=True)
class Preview:
    """An environment as it is, and as it would be after a promotion."""

    before: Materialization
    after: Materialization
    config_diff: str

    @property
    def manifests_diff(self) -> str:
        """Unified diff of the manifests."""
        return self.before.manifests.diff(self.after.manifests)


def preview(cluster: Cluster, app_name: str, *, source: str, target: str, plugins: Plugins | None = None) -> Preview:
    """Render ``target`` as it would be with ``app_name`` promoted from ``source``; pushes nothing.

    The app renders at the head of its ``source`` branch (what a fast-forward
    promotion gives); every other part stays at the commit ``target`` has now.
    """
    cluster.pipeline.check_promotion(source, target)
    ctx = _Context(cluster, plugins or Plugins.load())
    head_app, base_app = app(cluster, source, app_name, ctx.sources), app(cluster, target, app_name, ctx.sources)
    before = materialize(cluster, target, sources=ctx.sources, plugins=ctx.plugins)
    head_sha = ctx.sources.resolve(head_app.url, head_app.branch)
    pinned = [e for e in before.lock if e.key != lock_key("git", base_app.url, base_app.branch)]
    pinned.append(LockEntry(component=app_name, url=base_app.url, ref=base_app.branch, sha=head_sha))
    after = materialize(cluster, target, lock=pinned, sources=ctx.sources, plugins=ctx.plugins)
    environment = cluster.pipeline.environment(target)
    old_sha = ctx.sources.resolve(base_app.url, base_app.branch)
    old = _config_text(ctx, base_app, old_sha, environment)
    new = _config_text(ctx, base_app, head_sha, environment)
    config_diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{app_name}/config ({target})",
            tofile=f"b/{app_name}/config ({target} after promotion)",
        )
    )
    return Preview(before=before, after=after, config_diff=config_diff)


def _config_text(ctx: _Context, entry: App, sha: str, environment: Environment) -> str:
    with ctx.sources.user_terms():
        tree = ctx.sources.snapshot(entry.url, sha)
        config = load_environments(tree / entry.path, environment.fabrikate_environments)
    return _goyaml.dump(dict(config.config)) if config.config else "{}\n"


def rollback(
    cluster: Cluster,
    app_name: str,
    env: str,
    *,
    to: str | None = None,
    steps: int | None = None,
    plugins: Plugins | None = None,
) -> ChangeRequest | str | None:
    """Restore ``app_name``'s branch of ``env`` to an earlier commit, as a new commit.

    History is kept: the new commit's tree is the earlier one's. On hosted
    hosts this is a pull/merge request.

    Args:
        to: The commit to restore: its SHA or 7+ of its first hex digits.
        steps: Or: how many first-parent commits to go back.

    Returns:
        The new commit (local), the change request (hosted), or None when
        the branch already holds that tree.
    """
    if (to is None) == (steps is None):
        raise FabpromoteError("give exactly one of --to SHA and --steps N")
    ctx = _Context(cluster, plugins or Plugins.load())
    entry = app(cluster, env, app_name, ctx.sources)
    host = ctx.host(entry.url)
    head = ctx.branch(host, entry.url, entry.branch)
    if to is not None:
        target = host.resolve_commit(entry.url, _sha_prefix(to))
        if not GitOps(ctx.sources).is_ancestor(entry.url, target, head):
            raise PromotionRefused(
                f"{target[:12]} is not in the history of {entry.branch} of {_shown(entry.url)}: a rollback goes back "
                f"to an earlier state of {env}; to bring another version, promote it"
            )
    else:
        target = _steps_back(host, entry.url, entry.branch, steps or 0)
    return host.revert_to(
        entry.url,
        entry.branch,
        target,
        expected=head,
        message=f"Roll back {app_name} in {env} to {target[:12]}\n\n{RESTORES}: {target}\n",
    )


def _sha_prefix(text: str) -> str:
    """``text``, lower case, if it is a commit SHA as people write it: 7 to 40 hex digits.

    A branch or tag name is refused: rolling back to another environment's
    branch would be a promotion that skipped the pipeline.
    """
    if not _SHA_PREFIX.fullmatch(text):
        raise FabpromoteError(f"--to takes a commit SHA (7 to 40 hex digits, as `history` prints), not {text!r}")
    return text.lower()


def _steps_back(host: GitHost, url: str, branch: str, steps: int) -> str:
    if steps < 1:
        raise FabpromoteError("--steps must be at least 1")
    commits = host.log(url, branch, limit=steps + 1)
    if len(commits) <= steps:
        raise FabpromoteError(f"{branch} has only {plural(len(commits), 'commit')}; cannot go back {steps}")
    return commits[steps].sha


def rollback_manifests(
    cluster: Cluster, env: str, *, to: str, plugins: Plugins | None = None
) -> ChangeRequest | str | None:
    """Emergency: put an earlier publish's tree back on the manifests branch alone.

    ``to`` must be a publish of ``env`` (see :func:`history`): its SHA or 7+ of
    its first hex digits (as ``history`` prints them). The new commit
    carries that publish's provenance and a ``Fabpromote-Rollback-Of``
    trailer, so ``history`` lists it as its own entry and ``status`` shows
    what the branch holds. The app branches are left as they are, so the next
    publish of ``env`` brings their state back (refused as going back only
    when it would be older): fix or roll back the app too.

    Raises:
        FabpromoteError: ``to`` is not a publish of ``env``, or abbreviates several.
    """
    environment = cluster.pipeline.environment(env)
    ctx = _Context(cluster, plugins or Plugins.load())
    url = cluster.manifests.url
    host = ctx.host(url)
    head = ctx.branch(host, url, environment.manifests_branch)
    prefix = _sha_prefix(to)
    found = [item for item in _history(ctx, env, 1000) if item.commit.startswith(prefix)]
    where = f"{_shown(url)} branch {environment.manifests_branch}"
    if len(found) != 1:
        what = "names several publishes on" if found else "is not a publish on"
        raise FabpromoteError(f"{to} {what} {where} (see `fabpromote history {env}`)")
    (earlier,) = found
    trailers = provenance_trailers(
        cluster=cluster.name,
        environment=env,
        engine=earlier.engine,
        version=earlier.version,
        digest=earlier.digest,
        lock=earlier.sources,
    )
    summary = f"fabpromote: emergency rollback of {env} to {earlier.commit[:12]}"
    message = "\n".join([summary, "", *trailers, f"{TRAILER_PREFIX}Rollback-Of: {earlier.commit}"]) + "\n"
    return host.revert_to(url, environment.manifests_branch, earlier.commit, expected=head, message=message)


#: How many times ``set-image`` reads a branch that moved under it again before giving up.
SET_IMAGE_ATTEMPTS = 8


@attrs.frozen
class _ImageFile:
    """The file that defines an app's image for an environment, as a commit of its branch has it."""

    path: str
    text: str
    image: tuple[str, str]  # (repository, tag) as written


def set_image(
    cluster: Cluster,
    app_name: str,
    env: str,
    tag: str,
    *,
    repository: str | None = None,
    plugins: Plugins | None = None,
) -> tuple[str, str | None]:
    """Set the image tag (and repository) in ``app_name``'s HLD config on ``env``'s branch.

    The file that defines the image with the highest priority for ``env``
    (``config/<env>.yaml`` before ``config/common.yaml``) is edited in place,
    keeping its layout and comments, and committed.

    Compare-and-swap: when the branch moves meanwhile (another commit, say
    another app's image in the same repository), the edit is made again on
    the new head, up to :data:`SET_IMAGE_ATTEMPTS` times, as long as the image
    there is still the one first read (or already the one asked for). An
    image someone set to another value meanwhile is a conflict, not overwritten.

    Returns:
        The edited path and the new commit (None when the tag was already set).

    Raises:
        ProtectedBranchError: The environment is protected (promote instead).
        HLDError: No image (a map with ``repository`` and ``tag``) in its config.
        ImageConflictError: The image changed to another value meanwhile.
        StaleBranchError: The branch moved under every attempt.
    """
    if not _TAG.fullmatch(tag):
        raise FabpromoteError(f"{tag!r} is not a valid image tag")
    if repository is not None and not _REPOSITORY.fullmatch(repository):
        raise FabpromoteError(f"{repository!r} is not a valid image repository (e.g. ghcr.io/org/app)")
    ctx = _Context(cluster, plugins or Plugins.load())
    environment = cluster.pipeline.environment(env)
    entry = app(cluster, env, app_name, ctx.sources)
    host = ctx.host(entry.url)
    names = (*environment.fabrikate_environments, "common")
    message = f"Set {app_name} image to {tag} in {env}" + (f" ({repository})" if repository else "")
    first: _ImageFile | None = None
    for attempt in range(1, SET_IMAGE_ATTEMPTS + 1):
        head = ctx.branch(host, entry.url, entry.branch)
        found = _image_file(host, entry, head, names, app_name)
        first = first or found
        wanted = (repository or first.image[0], tag)
        if found.image not in (first.image, wanted):
            raise ImageConflictError(_image_conflict(entry, app_name, first, found, head, wanted))
        edited = set_image_in_text(found.text, tag, repository, file=found.path) or found.text
        try:
            commit = host.commit_files(
                entry.url,
                entry.branch,
                {found.path: edited.encode("utf-8")},
                message,
                expected=head,
                purpose="set-image",
            )
        except StaleBranchError:
            if attempt == SET_IMAGE_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.05 * attempt))  # noqa: S311 - jitter, not crypto
            continue
        return found.path, commit
    raise AssertionError("unreachable: the last attempt returns or raises")


def _image_file(host: GitHost, entry: App, head: str, names: Iterable[str], app_name: str) -> _ImageFile:
    """The first of ``config/<name>.yaml`` at ``head`` that holds an image.

    Raises:
        HLDError: None does.
    """
    for name in names:
        path = f"{entry.path}/config/{name}.yaml".lstrip("/")
        data = host.read_file(entry.url, head, path)
        if data is None:
            continue
        text = data.decode("utf-8")
        image = image_in_text(text, file=path)
        if image is not None:
            return _ImageFile(path=path, text=text, image=image)
    raise HLDError(
        f"no image (a map with repository and tag under config) in {', '.join(f'config/{n}.yaml' for n in names)} "
        f"of {app_name} on {entry.branch}"
    )


def _image_conflict(
    entry: App, app_name: str, first: _ImageFile, found: _ImageFile, head: str, wanted: tuple[str, str]
) -> str:
    was, now = ":".join(first.image), ":".join(found.image)
    return (
        f"{_shown(entry.url)} {entry.branch}:{found.path}: the image of {app_name} changed from {was} to {now} "
        f"(commit {head[:12]}) while setting {':'.join(wanted)}; not overwritten: run set-image again to replace it"
    )


def protect(
    cluster: Cluster,
    *,
    check_only: bool = False,
    plugins: Plugins | None = None,
    report: Callable[[str], None] | None = None,
) -> list[str]:
    """Configure or verify branch protection of the cluster HLD and every app repository.

    The protected environments' branches must change only through pull/merge
    requests that passed the ``fabpromote/guard`` check. Hosts without such
    settings (local git) are reported: fabpromote enforces the cluster file's
    rules on its own writes there.

    Args:
        report: Called with each line as soon as its repository is done, so
            that when a later repository fails, what was changed before is
            known (the CLI prints them as they come).

    Returns:
        One line per repository and difference found (fixed unless ``check_only``).
    """
    from fabpromote.typing import ProtectingHost

    ctx = _Context(cluster, plugins or Plugins.load())
    branches = protection(cluster, "hld").change_request_branches()
    urls = [cluster.hld.url]
    for environment in cluster.pipeline.environments:
        urls += [entry.url for entry in apps(cluster, environment.name, ctx.sources) if entry.url not in urls]
    lines = []
    for url in urls:
        host = ctx.host(url)
        if isinstance(host, ProtectingHost):
            done = host.protect(url, branches, check_only=check_only)
        else:
            done = [f"{_shown(url)}: {type(host).__name__} has no protection settings; fabpromote enforces them"]
        for line in done:
            if report is not None:
                report(line)
        lines += done
    return lines


@attrs.frozen(kw_only=True)
class HistoryEntry:
    """One publish of an environment, read back from its commit.

    Attributes:
        commit: The publish commit on the manifests branch (as :attr:`PublishResult.commit`).
        time: Its commit time (seconds since the epoch).
        digest: The sha256 of the tree it holds (as ``Manifests.digest``).
        engine: The engine that rendered it.
        version: The fabpromote version that published it.
        sources: The lock it was rendered from.
        rollback_of: The earlier publish an emergency ``rollback --manifests`` put back ("" for a publish).
    """

    commit: str
    time: int
    digest: str
    engine: str
    version: str
    sources: tuple[LockEntry, ...] = attrs.field(converter=as_lock)
    rollback_of: str = ""

    def to_json(self) -> dict[str, object]:
        """The object of ``history --json``."""
        return {
            "commit": self.commit,
            "time": self.time,
            "digest": self.digest,
            "engine": self.engine,
            "version": self.version,
            "sources": [entry.to_json() for entry in self.sources],
            "rollback_of": self.rollback_of or None,
        }


def history(cluster: Cluster, env: str, *, limit: int = 50, plugins: Plugins | None = None) -> list[HistoryEntry]:
    """The publishes of ``env``, newest first, with their provenance (at most ``limit`` commits are read)."""
    return _history(_Context(cluster, plugins or Plugins.load()), env, limit)


def _history(ctx: _Context, env: str, limit: int) -> list[HistoryEntry]:
    environment = ctx.cluster.pipeline.environment(env)
    url = ctx.cluster.manifests.url
    host = ctx.host(url)
    if host.read_branch(url, environment.manifests_branch) is None:
        return []
    publishes = []
    for commit in host.log(url, environment.manifests_branch, limit=limit):
        trailers = dict(commit.trailers)
        if f"{TRAILER_PREFIX}Digest" not in trailers:
            continue
        publishes.append(
            HistoryEntry(
                commit=commit.sha,
                time=commit.time,
                digest=trailers[f"{TRAILER_PREFIX}Digest"],
                engine=trailers.get(f"{TRAILER_PREFIX}Engine", ""),
                version=trailers.get(f"{TRAILER_PREFIX}Version", ""),
                sources=parse_sources(commit.trailers),
                rollback_of=trailers.get(f"{TRAILER_PREFIX}Rollback-Of", ""),
            )
        )
    return publishes
