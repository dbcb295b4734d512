"""Advance: automatic promotion of every app whose next environment's gates all hold.

Stateless: everything is read from git and the Git host at each run, so a run is
safe to repeat (a second run right after finds nothing more to do) and any
scheduler can run it.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

import attrs

from fabpromote._cluster.apps import apps
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.localhost import LocalHost
from fabpromote._util.outcome import Outcome
from fabpromote._workflow.context import Context
from fabpromote._workflow.promote import PromoteResult, promote
from fabpromote.exceptions import FabpromoteError, GatesRefused, NothingToPromoteError

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster

__all__ = ["AdvanceStep", "advance"]


@attrs.frozen(kw_only=True)
class AdvanceStep:
    """One app with something pending from ``source`` into ``target``, and what ``advance`` did with it.

    Attributes:
        action: ``promoted`` (see ``promotion.outcome``), ``would-promote``
            (a dry run), ``held`` (a gate does not hold: ``unmet``) or ``failed`` (``error``).
        promotion: The promotion, when one ran (or would run).
    """

    app: str
    source: str
    target: str
    action: str
    unmet: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    promotion: PromoteResult | None = None
    error: str = ""

    @property
    def outcome(self) -> Outcome:
        """Done for a promotion that is, pending or failed as the promotion; held is nothing to do."""
        if self.action == "failed":
            return Outcome.FAILED
        if self.promotion is not None and self.action == "promoted":
            return self.promotion.outcome
        return Outcome.DONE if self.action == "would-promote" else Outcome.NOTHING_TO_DO

    def line(self) -> str:
        """One line for people."""
        where = f"{self.app}: {self.source} -> {self.target}"
        if self.action == "held":
            return f"held {where}: {'; '.join(self.unmet)}"
        if self.action == "failed":
            return f"failed {where}: {self.error}"
        return "\n".join(self.promotion.lines()) if self.promotion is not None else f"{self.action} {where}"

    def to_json(self) -> dict[str, object]:
        """An element of ``advance --json``'s ``steps``."""
        return {
            "app": self.app,
            "source": self.source,
            "target": self.target,
            "action": self.action,
            "outcome": self.outcome.value,
            "unmet": list(self.unmet),
            "promotion": self.promotion.to_json() if self.promotion is not None else None,
            "error": self.error or None,
        }


def advance(
    cluster: Cluster,
    *,
    to: str | None = None,
    dry_run: bool = False,
    now: datetime.datetime | None = None,
    plugins: Plugins | None = None,
) -> list[AdvanceStep]:
    """Promote every app with something pending whose target's gates all hold.

    The promotions the pipeline allows are taken in pipeline order (each
    source's targets as listed), so that what one promotes into stage (and
    publishes, on the local host) is evaluated for prod at once: a run leaves
    nothing eligible behind, and a second run right after does nothing. On the
    local host each promotion is merged and its target published; on hosted
    hosts the pull/merge request is merged when the host allows (CI publishes
    on merge).

    Args:
        to: Only promotions into this environment.
        dry_run: Evaluate and report; change nothing.
        now: The time the gates are evaluated at (aware); the current time by default.

    Returns:
        One step per app with something pending, in the order they were taken;
        apps with nothing to promote are left out.
    """
    if to is not None:
        cluster.pipeline.environment(to)
    plugins = plugins or Plugins.load()
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    steps = []
    for source in cluster.pipeline.names():
        for target in cluster.pipeline.promotions.get(source, ()):
            if to is None or target == to:
                steps += _advance_pair(cluster, source, target, dry_run=dry_run, now=moment, plugins=plugins)
    return steps


def _advance_pair(
    cluster: Cluster, source: str, target: str, *, dry_run: bool, now: datetime.datetime, plugins: Plugins
) -> list[AdvanceStep]:
    ctx = Context(cluster, plugins)
    in_source = {entry.name for entry in apps(cluster, source, ctx.sources)}
    steps = []
    for entry in apps(cluster, target, ctx.sources):
        if entry.name not in in_source:
            continue
        local = isinstance(ctx.host(entry.url), LocalHost)
        done = _advance_app(cluster, entry.name, source, target, local=local, dry_run=dry_run, now=now, plugins=plugins)
        if done is not None:
            steps.append(done)
    return steps


def _advance_app(
    cluster: Cluster,
    app: str,
    source: str,
    target: str,
    *,
    local: bool,
    dry_run: bool,
    now: datetime.datetime,
    plugins: Plugins,
) -> AdvanceStep | None:
    """Promote ``app`` if its gates hold; None when it has nothing to promote."""

    def step(action: str, **more: Any) -> AdvanceStep:
        return AdvanceStep(app=app, source=source, target=target, action=action, **more)

    try:
        checked = promote(cluster, app, source=source, target=target, dry_run=True, now=now, plugins=plugins)
        if dry_run:
            return step("would-promote", promotion=checked)
        done = promote(
            cluster, app, source=source, target=target, merge=True, publish_after=local, now=now, plugins=plugins
        )
    except NothingToPromoteError:
        return None
    except GatesRefused as refused:
        return step("held", unmet=refused.unmet)
    except FabpromoteError as exc:
        return step("failed", error=str(exc))
    return step("promoted", promotion=done)
