"""Counters of what the helm generator did in this process.

Tests use them to show that an unchanged render is served from the cache
(zero ``helm template`` and ``helm pull`` processes); operators can log them
after a run.
"""

from __future__ import annotations

import threading

import attrs

__all__ = ["RenderStats", "reset_stats", "stats"]


@attrs.frozen(kw_only=True)
class RenderStats:
    """A snapshot of the helm generator's counters.

    Attributes:
        helm_calls: ``helm template`` processes started (including failed ones).
        cache_hits: Renders served from the render cache.
        cache_misses: Cacheable renders that were not in the cache (or whose
            entry was corrupt), and so ran helm.
        helm_pulls: ``helm pull`` processes started (charts not yet in the cache).
        dependency_builds: ``helm dependency build|update`` processes started
            for charts fetched from git.
        index_downloads: Chart repository ``index.yaml`` files requested, and OCI
            registries asked for a chart's newest version (to resolve the newest
            version, or to explain a failed pull).
    """

    helm_calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    helm_pulls: int = 0
    dependency_builds: int = 0
    index_downloads: int = 0


@attrs.define
class _Counters:
    """The live counters; every change holds the lock, as renders run in threads."""

    _lock: threading.Lock = attrs.Factory(threading.Lock)
    _values: dict[str, int] = attrs.Factory(lambda: dict.fromkeys(attrs.fields_dict(RenderStats), 0))

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._values[name] += amount

    def snapshot(self) -> RenderStats:
        with self._lock:
            return RenderStats(**self._values)

    def reset(self) -> None:
        with self._lock:
            for name in self._values:
                self._values[name] = 0


COUNTERS = _Counters()


def stats() -> RenderStats:
    """The counters of this process since it started (or since :func:`reset_stats`)."""
    return COUNTERS.snapshot()


def reset_stats() -> None:
    """Set every counter back to zero."""
    COUNTERS.reset()
