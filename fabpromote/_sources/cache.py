"""The on-disk cache shared by sources and renders, and its atomic writes.

One :class:`Cache` object belongs to one run: it names the cache root (the
``cache_dir`` setting, see :mod:`fabpromote._util.settings`) and holds the run's
in-memory memos (chart digests, helm's version, repository indexes), so two
runs in one process share nothing but what they find on disk. Everything
that caches is handed the run's Cache; nothing keeps process-wide state.

Several processes may share the root: every entry is written to a temporary
name beside it and renamed into place, so a reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import attrs

from fabpromote._util.atomicfile import replace_file
from fabpromote._util.fsutil import files_under
from fabpromote._util.settings import ENV_CACHE_DIR, RunSettings, default_cache_dir

__all__ = [
    "ENV_CACHE_DIR",
    "FOLDER_RECORD_SUFFIX",
    "Cache",
    "atomic_write",
    "cache_root",
    "folder_digests",
    "seal",
    "unseal",
]

#: A folder entry ``<name>`` may be recorded in ``<name>.files``: its :func:`folder_digests`
#: as JSON, sealed (:func:`seal`, keyed by that file name).
FOLDER_RECORD_SUFFIX = ".files"

T = TypeVar("T")


def cache_root(setting: str | Path | None = None) -> Path:
    """The cache directory: ``setting``, else the default (:func:`fabpromote._util.settings.default_cache_dir`)."""
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
    def from_settings(cls, settings: RunSettings | None = None) -> Cache:
        """A new cache at ``settings.cache_dir`` (default: :meth:`RunSettings.load`)."""
        return cls((settings or RunSettings.load()).cache_dir)

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
    """Write ``data`` to ``path`` (0600) so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    replace_file(str(path), data, mode=0o600)


def seal(label: str, key: str, body: bytes) -> bytes:
    """A cache entry that checks itself: ``label``, ``key`` and the sha256 of ``body``, one line each, then ``body``.

    Store it under the file name ``key``: :func:`unseal` then tells a whole,
    current entry from a truncated or damaged one, and ``fabpromote cache
    check`` can verify it without knowing which plugin wrote it.

    Args:
        label: What the entry holds and in which format, e.g.
            ``fabpromote-helm render 1``; change it when the body's format changes.
        key: The entry's key (its file name); ASCII without line breaks.
    """
    if "\n" in label or "\n" in key:
        raise ValueError("a sealed entry's label and key are single lines")
    digest = hashlib.sha256(body).hexdigest()
    return f"{label}\n{key}\n{digest}\n".encode("ascii") + body


def unseal(key: str, data: bytes, label: str | None = None) -> bytes | None:
    """The body of the entry :func:`seal` made for ``key``; None when ``data`` is not that, whole.

    None when ``data`` is truncated or damaged (the digest does not match), is
    sealed for another key, or (``label`` given) has another label.
    """
    found, sep1, rest = data.partition(b"\n")
    found_key, sep2, rest = rest.partition(b"\n")
    digest, sep3, body = rest.partition(b"\n")
    if not (sep1 and sep2 and sep3) or found_key != key.encode("ascii", "replace"):
        return None
    if label is not None and found != label.encode("ascii", "replace"):
        return None
    if hashlib.sha256(body).hexdigest().encode("ascii") != digest:
        return None
    return body


def folder_digests(folder: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file under ``folder`` (a symlink: ``link:`` and the sha256 of its target).

    Record it with an entry that is a folder (the helm plugin's charts): ``fabpromote
    cache check`` verifies the folder against it. Empty when ``folder`` is missing.
    """
    if not os.path.isdir(folder):
        return {}
    found: dict[str, str] = {}
    for path, entry in files_under(folder):
        if entry.is_symlink():
            found[path] = "link:" + hashlib.sha256(os.fsencode(os.readlink(entry.path))).hexdigest()
        else:
            with open(entry.path, "rb") as handle:
                found[path] = hashlib.sha256(handle.read()).hexdigest()
    return dict(sorted(found.items()))
