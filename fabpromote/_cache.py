"""The on-disk cache shared by sources and renders, and its atomic writes.

One :class:`Cache` object belongs to one run: it names the cache root (the
``cache_dir`` setting, see :mod:`fabpromote._settings`) and holds the run's
in-memory memos (chart digests, helm's version, repository indexes), so two
runs in one process share nothing but what they find on disk. Everything
that caches is handed the run's Cache; nothing keeps process-wide state.

Several processes may share the root: every entry is written to a temporary
name beside it and renamed into place, so a reader sees a whole entry or none.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs

from fabpromote import _signals
from fabpromote._settings import ENV_CACHE_DIR, Settings, default_cache_dir

__all__ = ["ENV_CACHE_DIR", "Cache", "atomic_write", "cache_root"]

T = TypeVar("T")


def cache_root(setting: str | Path | None = None) -> Path:
    """The cache directory: ``setting``, else the environment's (see :func:`fabpromote._settings.default_cache_dir`)."""
    return Path(setting) if setting else default_cache_dir()


@attrs.define(eq=False)
class Cache:
    """The cache of one run: its root on disk and its in-memory memos.

    Args:
        root: The cache root.
    """

    root: Path = attrs.field(converter=Path)
    _memos: dict[str, Any] = attrs.field(init=False, factory=dict, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Cache:
        """A new cache at ``settings.cache_dir`` (default: :meth:`Settings.load`)."""
        return cls((settings or Settings.load()).cache_dir)

    def path(self, *parts: str) -> Path:
        """``<root>/<parts...>``."""
        return self.root.joinpath(*parts)

    def memo(self, name: str, factory: Callable[[], T]) -> T:
        """The in-memory memo ``name`` of this run, made by ``factory`` when first asked for.

        Thread-safe: renders run in threads and all get the same object.
        """
        with self._lock:
            found = self._memos.get(name)
            if found is None:
                found = self._memos[name] = factory()
            return found


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp: str | None = None
    try:
        # Made and named in one step: a signal between the two would leave it behind, unnamed.
        with _signals.deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
