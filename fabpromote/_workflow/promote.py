"""Promote and guard: moving an app from one environment into the next, as the pipeline allows.

Also ``protect``, which makes the Git hosts enforce the same rules on the branches.
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.apps import app, apps
from fabpromote._cluster.hosts import protection
from fabpromote._cluster.materialize import Materialization, materialize
from fabpromote._cluster.publish import TRAILER_PREFIX, PublishResult, publish
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.githost import ChangeRequest, MergeResult
from fabpromote._util.outcome import Outcome, plural
from fabpromote._workflow.changebody import body_limit, change_body
from fabpromote._workflow.context import RESTORES, Context, shown
from fabpromote._workflow.gates import GateResult, gate_results
from fabpromote._workflow.pending import pending_commits, undone_commit
from fabpromote.exceptions import FabpromoteError, GatesRefused, NothingToPromoteError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from fabpromote._cluster.models import Cluster, Environment
    from fabpromote.typing import GitHost

__all__ = [
    "GATES_IGNORED",
    "NothingToPromoteError",
    "PromoteResult",
    "guard",
    "promote",
    "protect",
]

log = logging.getLogger(__name__)


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


def _gate_tuple(value: Iterable[GateResult]) -> tuple[GateResult, ...]:
    return tuple(value)


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
    #: The gates of the target, as evaluated for this promotion (all met, or overridden).
    gates: tuple[GateResult, ...] = attrs.field(default=(), converter=_gate_tuple)
    #: Why the gates were overridden (``--ignore-gates --reason``); empty when they were not.
    ignored_gates_reason: str = ""

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
        if self.ignored_gates_reason:
            unmet = [gate.reason for gate in self.gates if not gate.met]
            lines.append(f"  gates ignored ({'; '.join(unmet) or 'all met'}): {self.ignored_gates_reason}")
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
            "gates": [gate.to_json() for gate in self.gates],
            "ignored_gates_reason": self.ignored_gates_reason or None,
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
    ignore_gates: bool = False,
    reason: str | None = None,
    now: datetime.datetime | None = None,
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

    The gates of ``target`` are evaluated first (also for a ``dry_run``), at
    ``now`` (the current time by default): any unmet gate refuses the
    promotion, naming every unmet gate. ``ignore_gates`` overrides them and
    needs a ``reason``, written into the merge commit message (local host)
    and the pull/merge request body (hosted hosts).

    Raises:
        PromotionRefused: The pipeline does not allow it.
        GatesRefused: A gate of ``target`` does not hold (a PromotionRefused).
        NothingToPromoteError: ``target`` already has every commit of ``source``.
        StaleBranchError: A branch moved while promoting (nothing changed).
    """
    cluster.pipeline.check_promotion(source, target)
    if ignore_gates and not (reason or "").strip():
        raise FabpromoteError("ignoring the gates needs a reason (--reason TEXT): it is written into the promotion")
    ctx = Context(cluster, plugins or Plugins.load())
    gates = _Gates(ignore=ignore_gates, reason=(reason or "").strip() if ignore_gates else "", now=now)
    result = _promote(
        ctx,
        app_name,
        source=source,
        target=target,
        merge=merge,
        publish_after=publish_after,
        dry_run=dry_run,
        gates=gates,
    )
    if not result.dry_run:
        ctx.plugins.after_promote(cluster, result)
    return result


@attrs.frozen(kw_only=True)
class _Gates:
    """How a promotion treats the gates of its target."""

    ignore: bool
    reason: str
    now: datetime.datetime | None

    def check(self, ctx: Context, result: PromoteResult) -> PromoteResult:
        """``result`` with the gates evaluated; refused when one is unmet and they are not ignored."""
        results = gate_results(
            ctx, result.app, result.head_sha, source=result.source, target=result.target, now=self.now
        )
        unmet = [gate.reason for gate in results if not gate.met]
        if unmet and not self.ignore:
            raise GatesRefused(
                f"{result.app} may not be promoted from {result.source} into {result.target} yet: "
                + "; ".join(unmet)
                + " (--ignore-gates --reason TEXT overrides)",
                unmet,
            )
        return attrs.evolve(result, gates=results, ignored_gates_reason=self.reason)

    def note(self) -> str:
        """What the merge commit and the change request say of an override: a trailer, empty without one."""
        return f"\n\n{GATES_IGNORED}: {self.reason}\n" if self.reason else ""


#: The trailer of a promotion that overrode the gates of its target, with the reason given.
GATES_IGNORED = f"{TRAILER_PREFIX}Gates-Ignored"


def _promote(
    ctx: Context,
    app_name: str,
    *,
    source: str,
    target: str,
    merge: bool,
    publish_after: bool,
    dry_run: bool,
    gates: _Gates,
) -> PromoteResult:
    """The steps of :func:`promote`, up to the notification."""
    cluster = ctx.cluster
    head_app, base_app = app(cluster, source, app_name, ctx.sources), app(cluster, target, app_name, ctx.sources)
    if head_app.url != base_app.url:
        raise FabpromoteError(
            f"app {app_name!r} comes from {shown(head_app.url)} in {source} but {shown(base_app.url)} in {target}"
        )
    url = base_app.url
    host = ctx.host(url)
    head_sha = ctx.branch(host, url, head_app.branch)
    base_sha = ctx.branch(host, url, base_app.branch)
    comparison = host.compare(url, base_app.branch, head_app.branch)
    undone = undone_commit(ctx, url, comparison, base_sha, head_sha)
    pending = pending_commits(comparison, undone)
    result = PromoteResult(
        app=app_name,
        source=source,
        target=target,
        repo=shown(url),
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
    result = gates.check(ctx, result)
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
        body=_body(ctx, host, result, gates),
    )
    merged = None
    if merge or change.number == 0:  # number 0: a host that merges directly
        message = f"Promote {app_name} from {source} to {target}" + gates.note()
        # An override's reason must be recorded: in a merge commit even where a fast-forward would do.
        no_ff = {"fast_forward": False} if gates.reason else {}
        merged = host.merge(url, change, expected_head_sha=head_sha, message=message, **no_ff)
    result = attrs.evolve(result, change=change, merge=merged)
    if publish_after and _merged(result):
        result = _publish_after(result, cluster, ctx)
    return result


def _body(ctx: Context, host: GitHost, result: PromoteResult, gates: _Gates) -> str:
    """The change request's body: the status page's markdown and the manifests diff summary, where the host
    shows one (local git merges at once: its merge commit has its own message)."""
    limit = body_limit(host)
    if limit <= 0:
        return ""
    return change_body(
        ctx,
        app=result.app,
        source=result.source,
        target=result.target,
        pending=result.pending,
        head_sha=result.head_sha,
        gates=result.gates,
        note=gates.note(),
        limit=limit,
        now=gates.now,
    )


def _merged(result: PromoteResult) -> bool:
    return result.merge is not None and result.merge.status == "merged"


def _publish_after(result: PromoteResult, cluster: Cluster, ctx: Context) -> PromoteResult:
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

    ctx = Context(cluster, plugins or Plugins.load())
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
            done = [f"{shown(url)}: {type(host).__name__} has no protection settings; fabpromote enforces them"]
        for line in done:
            if report is not None:
                report(line)
        lines += done
    return lines
