"""Evaluating the gates of a promotion, from git and the Git host alone (no state of our own).

The gates of an environment (``fabpromote._cluster.gates``) govern promotion
into it. Each is evaluated for one app commit, the head of the app's branch in
the source environment, against the source's manifests branch: its publish
commits say, in their ``Fabpromote-Source`` trailers, which app commits they
were rendered from, and when.
"""

from __future__ import annotations

import datetime
import fnmatch
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.apps import app
from fabpromote._cluster.gates import DAYS, format_duration
from fabpromote._plugins.manager import Plugins
from fabpromote._workflow.context import Context
from fabpromote._workflow.history import HistoryEntry, read_history

if TYPE_CHECKING:
    from fabpromote._cluster.gates import Gates, Window
    from fabpromote._cluster.models import Cluster

__all__ = ["GateResult", "evaluate_gates", "gate_results", "source_publishes"]

#: How many commits of the source's manifests branch are read to find the publishes of an app commit.
HISTORY_LIMIT = 1000


@attrs.frozen(kw_only=True)
class GateResult:
    """One gate of a promotion: met or not, and why.

    Attributes:
        gate: ``published``, ``soak``, ``statuses`` or ``window``.
        met: Whether it holds.
        reason: Why, for people: ``soak: 1h12m left``.
    """

    gate: str
    met: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        """The object of ``status --json``'s ``gates``."""
        return {"gate": self.gate, "met": self.met, "reason": self.reason}


def evaluate_gates(
    cluster: Cluster,
    app_name: str,
    *,
    source: str,
    target: str,
    now: datetime.datetime | None = None,
    plugins: Plugins | None = None,
) -> list[GateResult]:
    """The gates of ``target`` for promoting ``app_name``'s head in ``source`` into it.

    Args:
        now: The time the soak and the window are measured at (aware); the
            current time by default. Tests inject it.

    Returns:
        One result per gate ``target`` has, in the order published, soak,
        statuses, window; empty when it has none.
    """
    ctx = Context(cluster, plugins or Plugins.load())
    entry = app(cluster, source, app_name, ctx.sources)
    sha = ctx.branch(ctx.host(entry.url), entry.url, entry.branch)
    return gate_results(ctx, app_name, sha, source=source, target=target, now=now)


def gate_results(
    ctx: Context,
    app_name: str,
    sha: str,
    *,
    source: str,
    target: str,
    now: datetime.datetime | None,
    publishes: list[HistoryEntry] | None = None,
) -> list[GateResult]:
    """The gates of ``target`` for app commit ``sha`` of ``app_name``, as it is in ``source``.

    Args:
        publishes: ``source``'s publishes as :func:`source_publishes` reads them, when
            the caller evaluates several apps (read once); read here otherwise.
    """
    gates = ctx.cluster.pipeline.environment(target).gates
    names = gates.names()
    if not names:
        return []
    moment = now or datetime.datetime.now(datetime.timezone.utc)
    if set(names) - {"window"}:
        carrying = _carrying(publishes if publishes is not None else source_publishes(ctx, source), app_name, sha)
    else:
        carrying = []
    results = []
    for name in names:
        if name == "window":
            assert gates.window is not None  # names() lists it only then
            results.append(_window(gates.window, moment))
        elif not carrying:
            results.append(GateResult(gate=name, met=False, reason=f"{name}: {sha[:12]} not published to {source}"))
        elif name == "published":
            results.append(GateResult(gate=name, met=True, reason=f"published: {sha[:12]} in {source}"))
        elif name == "soak":
            results.append(_soak(gates, carrying[-1], moment, source))
        else:
            results.append(_statuses(ctx, gates, carrying[0], source))
    return results


def source_publishes(ctx: Context, source: str) -> list[HistoryEntry]:
    """The publishes of ``source`` the gates look at, newest first."""
    return read_history(ctx, source, HISTORY_LIMIT)


def _carrying(publishes: list[HistoryEntry], app_name: str, sha: str) -> list[HistoryEntry]:
    """The publishes rendered from ``sha`` of ``app_name``, newest first."""
    return [
        entry
        for entry in publishes
        if not entry.rollback_of
        and any(s.kind == "git" and s.component == app_name and s.sha == sha for s in entry.sources)
    ]


def _soak(gates: Gates, first: HistoryEntry, now: datetime.datetime, source: str) -> GateResult:
    """Measured from the first publish of the commit: how long ``source`` has carried it."""
    assert gates.soak is not None
    carried = now.timestamp() - first.time
    left = gates.soak - carried
    if left > 0:
        return GateResult(gate="soak", met=False, reason=f"soak: {format_duration(left)} left")
    return GateResult(
        gate="soak", met=True, reason=f"soak: {source} has carried it for {format_duration(max(carried, 0))}"
    )


def _statuses(ctx: Context, gates: Gates, newest: HistoryEntry, source: str) -> GateResult:
    """Every pattern needs a status, and every status it matches must be ``success``.

    They are read on the newest publish carrying the commit: Flux applies the
    head of the branch and reports on that commit, so while ``source`` still
    runs the app commit that is the head, and otherwise the last commit Flux
    applied with it.
    """
    url = ctx.cluster.manifests.url
    latest = {status.context: status.state for status in ctx.host(url).commit_statuses(url, newest.commit)}
    problems = []
    for pattern in gates.statuses:
        matching = sorted(context for context in latest if fnmatch.fnmatchcase(context, pattern))
        if not matching:
            problems.append(f"{pattern} missing")
        problems += [f"{context} is {latest[context]}" for context in matching if latest[context] != "success"]
    if problems:
        return GateResult(gate="statuses", met=False, reason="statuses: " + ", ".join(problems))
    return GateResult(gate="statuses", met=True, reason=f"statuses: success on {source} at {newest.commit[:12]}")


def _window(window: Window, now: datetime.datetime) -> GateResult:
    if window.is_open(now):
        return GateResult(gate="window", met=True, reason=f"window: open ({window.describe()})")
    opening = window.next_opening(now)
    when = f"{DAYS[opening.weekday()]} {opening:%H:%M}"
    return GateResult(gate="window", met=False, reason=f"window: closed until {when} {window.timezone}")
