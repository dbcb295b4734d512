"""The status page's data: status rows with their pending commits, and each environment's last publishes.

``status --html`` and ``status --markdown`` render it (:mod:`fabpromote._workflow.pagerender`);
hosted promotions put the markdown into the pull/merge request body.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.apps import App, apps
from fabpromote._plugins.manager import Plugins
from fabpromote._workflow.context import Context
from fabpromote._workflow.history import HistoryEntry, read_history
from fabpromote._workflow.pending import PendingCommit, pending_log
from fabpromote._workflow.status import StatusRow, status

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster


__all__ = ["Cell", "Change", "ClusterPage", "Publish", "StatusPage", "status_page", "when"]

#: The pending commits the page lists per app and environment (the count is always exact).
PENDING_SHOWN = 5
#: The publishes the page lists per environment.
PUBLISHES_SHOWN = 5


def _changes_of(value: Iterable[Change]) -> tuple[Change, ...]:
    return tuple(value)


def _commits_of(value: Iterable[PendingCommit]) -> tuple[PendingCommit, ...]:
    return tuple(value)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _cells_of(value: Iterable[Cell]) -> tuple[Cell, ...]:
    return tuple(value)


def _publishes_of(value: Iterable[tuple[str, Iterable[Publish]]]) -> tuple[tuple[str, tuple[Publish, ...]], ...]:
    return tuple((env, tuple(publishes)) for env, publishes in value)


def _clusters_of(value: Iterable[ClusterPage]) -> tuple[ClusterPage, ...]:
    return tuple(value)


def when(seconds: int) -> str:
    """A commit time in UTC, as the page shows it."""
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@attrs.frozen(kw_only=True)
class Change:
    """What one publish changed in one git source: ``before`` empty when added, ``after`` empty when removed."""

    component: str
    before: str
    after: str

    def phrase(self) -> str:
        name = _named(self.component)
        if not self.before:
            return f"{name} added at {self.after[:12]}"
        if not self.after:
            return f"{name} removed"
        return f"{name} {self.before[:12]} → {self.after[:12]}"


def _named(component: str) -> str:
    """The lock calls the cluster HLD's own component ``.``."""
    return "cluster HLD" if component == "." else component


@attrs.frozen(kw_only=True)
class Publish:
    """One publish of an environment, and what it changed since the publish before it.

    ``changes`` is empty when the sources stayed the same (a change of the cluster
    HLD or of a chart) and ``first`` when no earlier publish was read to compare with.
    """

    entry: HistoryEntry
    changes: tuple[Change, ...] = attrs.field(converter=_changes_of)
    first: bool = False

    def phrases(self) -> list[str]:
        """What it changed, one phrase per source (plain text: the renderers escape it)."""
        if self.entry.rollback_of:
            return [f"emergency rollback to {self.entry.rollback_of[:12]}"]
        if self.first:
            return ["first publish read: " + ", ".join(f"{_named(c.component)} {c.after[:12]}" for c in self.changes)]
        if not self.changes:
            return ["same sources (cluster HLD, config or charts changed)"]
        return [change.phrase() for change in self.changes]


@attrs.frozen(kw_only=True)
class Cell:
    """One app in one environment: its status row, and the newest commits waiting to come into it."""

    row: StatusRow
    commits: tuple[PendingCommit, ...] = attrs.field(converter=_commits_of)


@attrs.frozen(kw_only=True)
class ClusterPage:
    """One cluster: its environments in pipeline order, its cells, and each environment's last publishes."""

    name: str
    environments: tuple[str, ...] = attrs.field(converter=_strings)
    cells: tuple[Cell, ...] = attrs.field(converter=_cells_of)
    publishes: tuple[tuple[str, tuple[Publish, ...]], ...] = attrs.field(converter=_publishes_of)

    @property
    def apps(self) -> list[str]:
        """The apps, in the order they first appear (the pipeline's first environment's HLD order)."""
        return list(dict.fromkeys(cell.row.app for cell in self.cells))

    def cell(self, app: str, env: str) -> Cell | None:
        return next((c for c in self.cells if c.row.app == app and c.row.env == env), None)


@attrs.frozen(kw_only=True)
class StatusPage:
    """What ``status --html`` and ``status --markdown`` show, at ``generated``."""

    clusters: tuple[ClusterPage, ...] = attrs.field(converter=_clusters_of)
    generated: datetime.datetime


def status_page(
    clusters: Iterable[Cluster], *, plugins: Plugins | None = None, now: datetime.datetime | None = None
) -> StatusPage:
    """The status of every cluster (as :func:`~fabpromote.status`), with pending commits and last publishes."""
    loaded = plugins or Plugins.load()
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    return StatusPage(clusters=[_cluster_page(c, loaded, moment) for c in clusters], generated=moment)


def _cluster_page(cluster: Cluster, plugins: Plugins, now: datetime.datetime) -> ClusterPage:
    rows = status(cluster, plugins=plugins, now=now)
    ctx = Context(cluster, plugins)
    names = [env.name for env in cluster.pipeline.environments]
    by_env = {name: {a.name: a for a in apps(cluster, name, ctx.sources)} for name in names}
    cells = [Cell(row=row, commits=_commits(ctx, row, by_env, names)) for row in rows]
    publishes = [(name, _publishes(read_history(ctx, name, PUBLISHES_SHOWN + 1))) for name in names]
    return ClusterPage(name=cluster.name, environments=names, cells=cells, publishes=publishes)


def _commits(
    ctx: Context, row: StatusRow, by_env: dict[str, dict[str, App]], names: Sequence[str]
) -> list[PendingCommit]:
    """The newest commits of the app in the previous environment that ``row``'s environment lacks."""
    index = names.index(row.env)
    if not row.pending or not row.sha or index == 0:
        return []
    before = by_env[names[index - 1]].get(row.app)
    if before is None:
        return []
    head = ctx.host(before.url).read_branch(before.url, before.branch)
    return pending_log(ctx, before.url, row.sha, head, limit=PENDING_SHOWN) if head else []


def _publishes(entries: list[HistoryEntry]) -> list[Publish]:
    """The newest :data:`PUBLISHES_SHOWN` publishes, each compared with the one before it."""
    shown = []
    for index, entry in enumerate(entries[:PUBLISHES_SHOWN]):
        older = entries[index + 1] if index + 1 < len(entries) else None
        shown.append(Publish(entry=entry, changes=_changes(older, entry), first=older is None))
    return shown


def _changes(older: HistoryEntry | None, newer: HistoryEntry) -> list[Change]:
    before = {s.component: s.sha for s in older.sources if s.kind == "git"} if older else {}
    after = {s.component: s.sha for s in newer.sources if s.kind == "git"}
    return [
        Change(component=name, before=before.get(name, ""), after=after.get(name, ""))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
