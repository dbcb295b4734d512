"""History: the publishes of an environment, read back from the commits of its manifests branch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.publish import TRAILER_PREFIX, parse_sources
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.fetch import LockEntry, as_lock
from fabpromote._workflow.context import Context

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster

__all__ = ["HistoryEntry", "history", "read_history"]


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
    return read_history(Context(cluster, plugins or Plugins.load()), env, limit)


def read_history(ctx: Context, env: str, limit: int) -> list[HistoryEntry]:
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
