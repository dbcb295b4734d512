"""``materialize(cluster, env)``: render an environment of a cluster from git.

The cluster HLD is read at the environment's branch; every git component
(each app's HLD at its ``branch``) resolves to a commit; the engine renders
the tree; the result is the manifests plus the lock of every commit used.
Given that lock, it renders exactly those commits again: the same bytes.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.hosts import sources_for
from fabpromote._engine.manifests import Manifests
from fabpromote._engine.walk import RenderOptions, check_inside
from fabpromote._hld import parsed as _parsed
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.fetch import Fetcher, LockEntry, as_lock
from fabpromote._util.credentials import redact
from fabpromote.exceptions import LockMismatchError, UnknownBackendError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fabpromote._cluster.models import Cluster
    from fabpromote._sources.sources import Sources
    from fabpromote.typing import Engine

__all__ = ["CLUSTER_HLD", "Materialization", "materialize"]

#: The lock entry name of the cluster HLD itself.
CLUSTER_HLD = "."


@attrs.frozen(kw_only=True)
class Materialization:
    """The manifests of one environment of one cluster, and where they came from.

    Attributes:
        cluster: The cluster's name.
        environment: The environment's name.
        manifests: The rendered files.
        lock: Every remote part used: the cluster HLD (component ``"."``),
            each git component, chart and download, with its resolved SHA.
        engine: The engine that rendered.
        pinned: Rendered from a given lock, not from the branch heads: a
            publish never renders it again (see :func:`~fabpromote.publish`).
    """

    cluster: str
    environment: str
    manifests: Manifests
    lock: tuple[LockEntry, ...] = attrs.field(converter=as_lock)
    engine: str
    pinned: bool = False

    @property
    def hld_sha(self) -> str:
        """The commit of the cluster HLD that was rendered."""
        return next(entry.sha for entry in self.lock if entry.component == CLUSTER_HLD)

    def to_json(self) -> dict[str, object]:
        """The JSON summary ``materialize --json`` prints (without ``publish``)."""
        return {
            "cluster": self.cluster,
            "env": self.environment,
            "digest": self.manifests.digest,
            "files": len(self.manifests),
            "engine": self.engine,
            "lock": [entry.to_json() for entry in self.lock],
        }


def _engine(plugins: Plugins, name: str, cluster: Cluster) -> Engine:
    """The engine ``name``; the cluster file's, when not installed, is an error at the line that names it."""
    try:
        engine: Engine = plugins.engine(name)
    except UnknownBackendError as exc:
        if name != cluster.settings.engine or not cluster.settings.engine_written_at:
            raise
        raise exc.written_at(cluster.settings.engine_written_at) from None
    return engine


def materialize(
    cluster: Cluster,
    env: str,
    *,
    lock: Iterable[LockEntry] | None = None,
    engine: str | None = None,
    sources: Sources | None = None,
    plugins: Plugins | None = None,
) -> Materialization:
    """Render environment ``env`` of ``cluster`` from its git repositories.

    Idempotent: it reads and caches, never writes to a repository.

    Args:
        cluster: The cluster (see :meth:`Cluster.from_file`).
        env: The environment's name.
        lock: Render exactly these commits (from an earlier materialization)
            instead of resolving branches.
        engine: The engine; default the cluster's setting.
        sources: The git sources layer to use (shares mirrors and ref reads).
        plugins: The plugin facade; by default one is loaded. Its
            ``fabpromote_after_materialize`` hook is called with the result.

    Raises:
        FabpromoteError: Unknown environment, unreachable or missing branch,
            bad HLD, failed render: each naming the remote, file or field.
    """
    environment = cluster.pipeline.environment(env)
    engine = engine or cluster.settings.engine
    plugins = plugins or Plugins.load()
    fetcher = Fetcher(sources or sources_for(cluster), lock=lock or (), prefer_installed=False)
    with fetcher.sources.user_terms():
        tree = fetcher.git_tree(CLUSTER_HLD, cluster.hld.url, environment.hld_branch)
        root = check_inside(tree, Path(posixpath.normpath(str(tree / cluster.hld_path))), "cluster HLD path")
        options = RenderOptions(allow_hooks=cluster.settings.allow_hooks, fix_disabled=cluster.settings.fix_disabled)
        # Snapshots never change: the files of unchanged apps are not parsed again (see _parsed).
        with _parsed.remembered(fetcher.cache, root) as fetcher.parsed:
            manifests = _engine(plugins, engine, cluster).render(
                root, environment.fabrikate_environments, options, fetcher=fetcher, boundary=tree
            )
    if lock is not None:
        _check_fits(tuple(lock), fetcher.entries(), env)
    materialization = Materialization(
        cluster=cluster.name,
        environment=env,
        manifests=manifests,
        lock=fetcher.entries(),
        engine=engine,
        pinned=lock is not None,
    )
    plugins.after_materialize(cluster, materialization)
    return materialization


def _check_fits(lock: tuple[LockEntry, ...], used: tuple[LockEntry, ...], env: str) -> None:
    """Refuse a lock that pins what ``env`` does not use, or misses what it does (one made for another environment).

    Raises:
        LockMismatchError: Naming the first such entry.
    """
    pinned = {e.key: e for e in lock}
    fetched = {e.key: e for e in used}
    for key, entry in pinned.items():
        if key not in fetched:
            raise LockMismatchError(
                f"the lock pins {entry.component or '.'} at {_shown(entry)}, which {env} does not use: "
                "was it made for another environment?"
            )
    for key, entry in fetched.items():
        if key not in pinned:
            raise LockMismatchError(
                f"the lock has no commit for {entry.component or '.'} ({_shown(entry)}), which {env} uses: "
                "was it made for another environment?"
            )


def _shown(entry: LockEntry) -> str:
    return f"{redact(entry.url)} {entry.ref or '-'}"
