"""What the helm plugin keeps for one run: its folders in the run's cache, and its memos.

A run (one ``materialize``, ``generate``, ``publish``) owns one
:class:`fabpromote.cache.Cache`; :meth:`HelmCache.of` gives the helm
plugin's part of it, made on first use and kept in the cache's memos. So the
private helm home, pulled charts, built dependencies, renders and helm's
version live under the run's ``cache_dir``, and the in-memory memos (helm's
path and version, chart and archive digests, repository indexes) end with
the run: a second run with another cache directory starts from nothing.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fabpromote.cache import Cache

__all__ = ["HelmCache"]


@attrs.define(eq=False)
class HelmCache:
    """The helm plugin's part of one run's cache.

    Attributes:
        cache: The run's cache.
        found: The helm binary found per (setting, ``PATH``).
        versions: ``helm version --short`` per (binary, size, mtime).
        chart_digests: Chart digests per chart folder (see :mod:`._chart_digest`).
        archive_digests: sha256 of pulled archives per (path, size, mtime, inode).
        indexes: Repository indexes per URL (see :mod:`._index`), and the newest
            version per OCI chart reference (see :mod:`._oci`).
    """

    cache: Cache
    found: dict[tuple[str | None, str], str] = attrs.Factory(dict)
    versions: dict[tuple[str, int, int], str] = attrs.Factory(dict)
    chart_digests: dict[str, tuple[tuple[tuple[object, ...], ...], str]] = attrs.Factory(dict)
    archive_digests: dict[tuple[str, int, int, int], str] = attrs.Factory(dict)
    indexes: dict[str, Any] = attrs.Factory(dict)
    lock: threading.Lock = attrs.Factory(threading.Lock)
    _key_locks: dict[str, threading.Lock] = attrs.Factory(dict)

    @classmethod
    def of(cls, cache: Cache) -> HelmCache:
        """The helm part of ``cache`` (the same object for every render of the run)."""
        return cache.memo("fabpromote_helm", lambda: cls(cache))

    def path(self, *parts: str) -> Path:
        """``<cache root>/<parts...>``."""
        return self.cache.path(*parts)

    @contextlib.contextmanager
    def one_at_a_time(self, key: str) -> Iterator[None]:
        """Holds the lock of ``key`` in this run: one pull or build per entry.

        Other processes may race; the rename into place decides.
        """
        with self.lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            yield
