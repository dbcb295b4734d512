"""Status and preview: what each environment holds, and what a promotion would change."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.apps import App, app, apps
from fabpromote._cluster.materialize import Materialization, materialize
from fabpromote._hld import goyaml as _goyaml
from fabpromote._hld.loading import load_environments
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.fetch import LockEntry, lock_key
from fabpromote._workflow.context import Context
from fabpromote._workflow.gates import GateResult, gate_results, source_publishes
from fabpromote._workflow.history import HistoryEntry, read_history
from fabpromote._workflow.images import find_images
from fabpromote._workflow.pending import pending_commits, undone_commit

if TYPE_CHECKING:
    import datetime

    from fabpromote._cluster.models import Cluster, Environment
    from fabpromote.typing import GitHost

__all__ = ["Preview", "StatusRow", "preview", "status"]


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _gates(value: Iterable[GateResult]) -> tuple[GateResult, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class StatusRow:
    """Which version of an app an environment holds.

    ``gates``: the gates of the environment for promoting into it the head of
    the app in the previous environment (empty without gates or a previous one).
    """

    cluster: str
    app: str
    env: str
    sha: str
    images: tuple[str, ...] = attrs.field(converter=_strings)
    pending: int
    materialized: bool
    gates: tuple[GateResult, ...] = attrs.field(default=(), converter=_gates)

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
            "gates": [gate.to_json() for gate in self.gates],
        }


def status(
    cluster: Cluster, *, plugins: Plugins | None = None, now: datetime.datetime | None = None
) -> list[StatusRow]:
    """For each app and environment: its branch SHA, images, pending commits, materialized or not,
    and each gate of promoting into it (at ``now``, the current time by default)."""
    ctx = Context(cluster, plugins or Plugins.load())
    rows = []
    by_env = {
        env.name: {a.name: a for a in apps(cluster, env.name, ctx.sources)} for env in cluster.pipeline.environments
    }
    for environment in cluster.pipeline.environments:
        published = _published_sources(ctx, environment)
        previous = cluster.pipeline.previous(environment.name)
        publishes = source_publishes(ctx, previous.name) if previous and environment.gates.names() else []
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
                    gates=_row_gates(ctx, before, publishes, previous, environment, now),
                )
            )
    return rows


def _row_gates(
    ctx: Context,
    before: App | None,
    publishes: list[HistoryEntry],
    previous: Environment | None,
    environment: Environment,
    now: datetime.datetime | None,
) -> list[GateResult]:
    """The gates of ``environment`` for the app's head in ``previous``; none without it."""
    if before is None or previous is None:
        return []
    head = ctx.host(before.url).read_branch(before.url, before.branch)
    if head is None:
        return []
    return gate_results(
        ctx, before.name, head, source=previous.name, target=environment.name, now=now, publishes=publishes
    )


def _pending_between(ctx: Context, host: GitHost, url: str, base: str, head: str) -> int:
    base_sha, head_sha = host.read_branch(url, base), host.read_branch(url, head)
    if base_sha is None or head_sha is None:
        return 0
    comparison = host.compare(url, base, head)
    return pending_commits(comparison, undone_commit(ctx, url, comparison, base_sha, head_sha))


def _published_sources(ctx: Context, environment: Environment) -> set[tuple[str, str]]:
    """(component, sha) of every git source of the latest publish on the manifests branch."""
    latest = next(iter(read_history(ctx, environment.name, 20)), None)
    return {(entry.component, entry.sha) for entry in latest.sources if entry.kind == "git"} if latest else set()


def _images(ctx: Context, entry: App, sha: str, environment: Environment) -> tuple[str, ...]:
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
    ctx = Context(cluster, plugins or Plugins.load())
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


def _config_text(ctx: Context, entry: App, sha: str, environment: Environment) -> str:
    with ctx.sources.user_terms():
        tree = ctx.sources.snapshot(entry.url, sha)
        config = load_environments(tree / entry.path, environment.fabrikate_environments)
    return _goyaml.dump(dict(config.config)) if config.config else "{}\n"
