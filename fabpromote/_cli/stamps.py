"""The stamps of ``fabpromote generate`` (see :mod:`fabpromote._cli.unchanged`): their file, key and snapshots.

A stamp is a dict kept with :mod:`marshal` in ``<cache>/stamps/<name>``,
sealed with a CRC-32 (:func:`write`, :func:`unseal`). Its ``trees`` are
snapshots (:func:`tree`): a folder, the names at its top and the stat
signature of every file and folder under it, checked by :func:`changes`.
Its ``racy`` files and folders are checked by content (:func:`same_contents`).

This module imports the standard library only: it runs before the rest of
the command is imported.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import zlib

from fabpromote._util.atomicfile import replace_file
from fabpromote._util.cachedir import cache_root
from fabpromote._util.racy import changed_recently
from fabpromote._util.wholefiles import read_file

# Not typing's, which would cost more than the whole check (type checkers take this one for theirs).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, TypeAlias

__all__ = [
    "FOLDER",
    "NO_SKIP",
    "RACY_BYTES",
    "Entries",
    "Skip",
    "Tree",
    "changes",
    "environment",
    "is_sound",
    "key",
    "known_contents",
    "output_holds",
    "racy_inputs",
    "same_contents",
    "settled",
    "signature",
    "stamp_path",
    "stat_signature",
    "summary_line",
    "tree",
    "unseal",
    "write",
]

#: Bumped when the stamp's layout changes; stamps of another layout are ignored.
_LAYOUT = 4
#: At most this many bytes of recent output files are kept in a stamp, to be compared by content.
RACY_BYTES = 4 << 20
#: The cache folder of the stamps.
FOLDER = "stamps"

Entries: TypeAlias = "list[tuple[Any, ...]]"
#: The names of the folders a snapshot leaves out: anywhere, and at its top.
Skip: TypeAlias = "tuple[tuple[str, ...], tuple[str, ...]]"
#: A snapshot as a stamp keeps it: the folder, its inode, what it leaves out, the names at its top,
#: every file and folder under it.
Tree: TypeAlias = "tuple[str, int, Skip, list[str], Entries]"

#: A snapshot of everything.
NO_SKIP: Skip = ((), ())


def summary_line(verb: str, summary: str, digest: str) -> str:
    """What ``generate`` prints: ``wrote`` or ``unchanged:``, the files and folder, the digest."""
    return f"{verb} {summary} (sha256 {digest[:12]})"


def is_sound(data: bytes) -> bool:
    """Whether ``data`` is a whole stamp file (for ``fabpromote cache check``)."""
    return unseal(data) is not None


def key(path: str, environments: tuple[str, ...]) -> str:
    """What a stamp is for: the command line, where it runs, with what code and settings."""
    settings = sorted((name, value) for name, value in os.environ.items() if name.startswith("FABPROMOTE_"))
    folders = [(folder, signature(folder)) for folder in sys.path]
    return repr((_LAYOUT, os.getcwd(), path, environments, sys.executable, sys.version, settings, folders))


def environment(names: Iterable[str]) -> list[tuple[str, str]]:
    """The variables ``names`` names, with their values, sorted: a name ending in ``*`` is a prefix."""
    exact = {name for name in names if not name.endswith("*")}
    prefixes = tuple(name[:-1] for name in names if name.endswith("*"))
    return sorted(
        (name, value) for name, value in os.environ.items() if name in exact or (prefixes and name.startswith(prefixes))
    )


def stamp_path(key: str) -> str:
    # A checksum, not a digest: the stamp holds its key, so two keys that share a name
    # only take turns; and zlib is built in, where hashlib's import costs more than the check.
    return os.path.join(cache_root(os.environ), FOLDER, f"{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}")


def _seal(stamp: dict[str, Any]) -> bytes:
    """The stamp's file: the CRC-32 of its body, then the body (marshal).

    Against damage, as a cache restored in CI may be: a truncated or flipped
    stamp must not pass for one whose trees hold. A checksum, not a digest:
    whoever can write the cache can write any stamp, and zlib is built in.
    """
    body = marshal.dumps(stamp)  # dumps: dump writes a file object in many small writes
    return b"%08x\n" % zlib.crc32(body) + body


def unseal(data: bytes) -> dict[str, Any] | None:
    """The stamp in a file's ``data``; None when damaged or not a stamp."""
    body = memoryview(data)[9:]  # a view, not a copy of the body: "%08x\n" is 9 bytes
    if data[:9] != b"%08x\n" % zlib.crc32(body):
        return None
    try:
        # loads, not load: load reads a file object in many small reads, ten times slower.
        stamp = marshal.loads(body)  # noqa: S302 - checked by its checksum; builds plain data only
    except (EOFError, ValueError, TypeError):
        return None
    return stamp if isinstance(stamp, dict) else None


def write(stamp: dict[str, Any]) -> None:
    """Keep ``stamp`` under its key (a stamp that cannot be written only costs the full path next time)."""
    target = stamp_path(stamp["key"])
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        # 0600, as every cache file: a stamp holds paths and, for recent files, their content.
        replace_file(target, _seal(stamp), mode=0o600)
    except OSError:
        pass


def _snapshot(root: str, skip: Skip) -> Entries | None:
    """``(relative name, signature)`` of every file and folder under ``root``, but the folders ``skip`` names.

    A link to a file stands for the file; a link to a folder, or a folder
    that cannot be listed, gives None.
    """
    anywhere, at_top = skip
    entries: Entries = []
    folders = [""]
    while folders:
        relative = folders.pop()
        try:
            listing = list(os.scandir(os.path.join(root, relative)))
        except OSError:
            return None
        for entry in listing:
            name = f"{relative}/{entry.name}" if relative else entry.name
            try:
                info = entry.stat()  # follows links to files
            except OSError:
                return None
            if stat.S_ISDIR(info.st_mode):
                if entry.is_symlink():
                    return None
                if entry.name in anywhere or (not relative and entry.name in at_top):
                    continue
                folders.append(name)
            entries.append((name, stat_signature(info)))
    return entries


def tree(root: str, skip: Skip = NO_SKIP) -> Tree | None:
    """The snapshot of folder ``root`` that :func:`changes` checks; None: see :func:`_snapshot`.

    ``skip``: the names of the folders left out anywhere, and at the top.
    """
    try:
        identity = os.lstat(root).st_ino
    except OSError:
        return None
    entries = _snapshot(root, skip)
    if entries is None:
        return None
    return root, identity, skip, sorted(name for name, _ in entries if "/" not in name), entries


def _top(folder: int, skip: Skip) -> list[str]:
    """The names at the top of the open ``folder`` that :func:`_snapshot` takes, sorted.

    The top folder's own times are not kept: writing ``generated/`` moves them.
    """
    anywhere, at_top = skip
    # A listing, not a scan: only the few names skip holds need their type.
    names = os.listdir(folder)
    return sorted(name for name in names if not (name in anywhere or name in at_top) or not _is_folder(folder, name))


def _is_folder(folder: int, name: str) -> bool:
    """Whether ``name`` in the open ``folder`` is a folder itself, not a link to one."""
    return stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)


def changes(
    root: str, identity: int, skip: Skip, top: list[str], entries: Entries
) -> list[tuple[int, os.stat_result]] | None:
    """The entries of a snapshot (:func:`tree`) whose signature moved, by index, with their ``stat`` now.

    None when ``root`` is no longer the folder it was (a link, or another
    folder by that name), when the names at its top are not ``top`` or when
    an entry is gone. No folder below the top is listed: a folder's times
    move whenever a name in it is added, removed or renamed, so when they
    did not move its names are those the snapshot listed (a folder changed
    just before the stamp was made means no stamp, or its names kept with
    the stamp).
    """
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None  # gone, or a link
    # Everything from the folder's descriptor: it cannot be swapped meanwhile, and the kernel
    # walks the root's path once, not per entry.
    try:
        if os.fstat(folder).st_ino != identity or _top(folder, skip) != top:
            return None
        changes = []
        for index, (name, signature) in enumerate(entries):
            info = os.stat(name, dir_fd=folder)
            # stat_signature(info), inline: this loop is most of a warm check.
            if (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns) != signature:
                changes.append((index, info))
    except OSError:
        return None
    finally:
        os.close(folder)
    return changes


def output_holds(stamp: dict[str, Any], *, thorough: bool = True) -> bool:
    """Whether the output folder and its record in the cache are as stamped (records kept by content aside).

    Not ``thorough``: only the folder's own inode and the record's signature,
    which every fabpromote write of the folder changes (a render puts a new
    folder in place, a rewrite from a stamp writes a new record).
    """
    record, kept = stamp["record"]
    if signature(record) != kept:
        return False
    if thorough:
        return changes(*stamp["trees"][2]) == []
    root, identity = stamp["trees"][2][:2]
    try:
        return bool(os.lstat(root).st_ino == identity)
    except OSError:
        return False


def same_contents(racy: dict[str, bytes | list[str]]) -> bool:
    """Whether each file recorded by content holds those bytes, and each folder those names (sorted)."""
    for path, content in racy.items():
        try:
            if isinstance(content, list):
                if sorted(os.listdir(path)) != content:
                    return False
                continue
            if read_file(path, len(content)) != content:  # never more than one byte past what was kept
                return False
        except OSError:
            return False
    return True


def known_contents(
    statics: Iterable[tuple[str, list[str], list[bytes]]], definitions: set[str]
) -> dict[str, bytes | list[str]]:
    """Absolute path -> what a render read there: each static folder's names, each of its files' bytes.

    Folders of ``definitions`` (absolute paths) and their files are left
    out: what the walk parsed there was read apart from what the static
    generator read.
    """
    known: dict[str, bytes | list[str]] = {}
    for folder, names, contents in statics:
        folder = os.path.abspath(folder)
        if folder not in definitions:
            known[folder] = names
            known.update((os.path.join(folder, name), data) for name, data in zip(names, contents, strict=True))
    return known


def racy_inputs(
    root: str, entries: Entries, started: int, known: Mapping[str, bytes | list[str]]
) -> dict[str, bytes | list[str]] | None:
    """Each entry changed too recently to trust its stat, with what the render read there (see :func:`record`).

    None when such an entry is not in ``known`` (absolute paths).
    """
    racy = {}
    for name, (_, _, *times) in entries:
        if changed_recently(times, started):
            path = f"{root}/{name}"
            content = known.get(os.path.abspath(path))
            if content is None:
                return None
            racy[path] = content
    return racy


def signature(path: str) -> tuple[int, ...] | None:
    """The stat signature of ``path`` (see :func:`stat_signature`); None: gone."""
    try:
        return stat_signature(os.stat(path))
    except OSError:
        return None


def stat_signature(info: os.stat_result) -> tuple[int, ...]:
    """A ``stat`` as a stamp keeps it: inode, size, modification and change times."""
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def settled(stamp: dict[str, Any], started: int) -> dict[str, Any]:
    """``stamp`` without the files and folders kept by content whose signatures are now old enough to trust.

    Call it only once their contents were found the same (:func:`same_contents`):
    the signature then stands for what was kept, and any later change moves
    the change time past it. Checking by signature alone spares the next runs
    reading those files again.
    """
    racy = stamp["racy"]
    record, signature = stamp["record"]
    old = set() if changed_recently(signature[2:], started) else {record}
    for root, *_, entries in stamp["trees"]:
        # Only the names kept by content are looked up: the trees hold thousands of entries.
        wanted = {path[len(root) + 1 :] for path in racy if path.startswith(f"{root}/")}
        settled = (name for name, sig in entries if name in wanted and not changed_recently(sig[2:], started))
        old.update(f"{root}/{name}" for name in settled)
    return stamp | {"racy": {path: content for path, content in racy.items() if path not in old}}
