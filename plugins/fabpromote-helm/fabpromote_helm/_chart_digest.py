"""The digest of a chart: everything ``helm template`` may read from it.

The walk covers the chart directory (or packaged ``.tgz``) with its
subcharts and packaged dependencies under ``charts/``: relative paths, bytes
and the executable bit of every file, and the target of every symlink. It
follows nothing: a symlink that resolves outside the chart (helm would read
through it) makes the chart uncacheable rather than trusting a digest that
cannot see the file behind it.

Hashing a large chart costs more than listing it, so the digest is
remembered per chart directory in the run's helm cache
(:class:`._run_cache.HelmCache`) and reused while a fresh listing (paths,
sizes, modes, inodes, modification and change times) is unchanged. Entries
modified in the last two seconds are never remembered: a file rewritten
twice within one timestamp tick would otherwise keep a stale digest.
"""

# The walk is the hot path: str paths and os.scandir, no Path object per entry.

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import time
from typing import TYPE_CHECKING

from fabpromote.cache import changed_recently

if TYPE_CHECKING:
    from fabpromote_helm._run_cache import HelmCache

__all__ = ["chart_digest"]

_MEMO_LIMIT = 512
_BLOCK = 1 << 20


class _Uncacheable(Exception):
    """The chart reaches outside itself, or holds something that is not a file, link or folder."""


def chart_digest(chart: str, state: HelmCache | None = None) -> str | None:
    """The sha256 of chart ``chart`` (a directory or an archive), or None when uncacheable.

    None also means that ``chart`` does not exist: helm then reports the
    error itself. With ``state`` (the run's helm cache) the digest is
    remembered there while the chart's listing is unchanged.
    """
    root = os.path.abspath(chart)
    started = time.time_ns()
    try:
        info = os.stat(root)
        real_root = os.path.realpath(root)
        if stat.S_ISDIR(info.st_mode):
            listing = _list_directory(root, real_root)
        elif stat.S_ISREG(info.st_mode):
            listing = [_file_entry("", info)]
        else:
            return None
    except (OSError, _Uncacheable):
        return None
    signature = tuple(entry for entry, _path in listing)
    memo = state.chart_digests if state is not None else {}
    lock = state.lock if state is not None else contextlib.nullcontext()
    with lock:
        remembered = memo.get(root)
    if remembered is not None and remembered[0] == signature:
        return remembered[1]
    try:
        digest = _hash(listing, root)
    except OSError:
        return None
    if not _racy(signature, started):
        with lock:
            if len(memo) >= _MEMO_LIMIT:
                memo.pop(next(iter(memo)))
            memo[root] = (signature, digest)
    return digest


def _file_entry(rel: str, info: os.stat_result) -> tuple[tuple[object, ...], str]:
    executable = bool(info.st_mode & stat.S_IXUSR)
    return ("F", rel, executable, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino), rel


def _list_directory(root: str, real_root: str) -> list[tuple[tuple[object, ...], str]]:
    """Every entry under ``root``, depth first in name order, as (signature entry, relative path)."""
    listing: list[tuple[tuple[object, ...], str]] = []
    pending = [""]
    while pending:
        rel_dir = pending.pop()
        with os.scandir(os.path.join(root, rel_dir)) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(entry.path)
                resolved = os.path.realpath(entry.path)
                if resolved != real_root and not resolved.startswith(real_root + os.sep):
                    raise _Uncacheable(entry.path)
                listing.append((("L", rel, target), rel))
            elif stat.S_ISDIR(info.st_mode):
                listing.append((("D", rel, info.st_mtime_ns, info.st_ctime_ns, info.st_ino), rel))
                subdirs.append(rel)
            elif stat.S_ISREG(info.st_mode):
                listing.append(_file_entry(rel, info))
            else:
                raise _Uncacheable(entry.path)
        # Reversed, so that popping visits the sub-folders in name order.
        pending.extend(reversed(subdirs))
    return listing


def _hash(listing: list[tuple[tuple[object, ...], str]], root: str) -> str:
    digest = hashlib.sha256(b"fabpromote-helm chart 1\0")
    for entry, rel in listing:
        kind = entry[0]
        name = os.fsencode(rel)
        if kind == "F":
            executable = b"x" if entry[2] else b"-"
            path = os.path.join(root, rel) if rel else root
            digest.update(b"F\0" + name + b"\0" + executable + b"\0" + _file_sha256(path) + b"\0")
        elif kind == "L":
            digest.update(b"L\0" + name + b"\0" + os.fsencode(str(entry[2])) + b"\0")
        else:
            digest.update(b"D\0" + name + b"\0")
    return digest.hexdigest()


def _file_sha256(path: str) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.digest()


def _racy(signature: tuple[tuple[object, ...], ...], started: int) -> bool:
    """True when some entry changed so recently that a same-tick rewrite could go unseen."""
    times = (time for entry in signature if entry[0] in ("F", "D") for time in _times(entry))
    return changed_recently((time for time in times if isinstance(time, int)), started)


def _times(entry: tuple[object, ...]) -> tuple[object, ...]:
    """The modification and change times of a file (``F``) or folder (``D``) entry."""
    return entry[4:6] if entry[0] == "F" else entry[2:4]
