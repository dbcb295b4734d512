"""``fabpromote generate`` answered from a stamp when nothing it reads has changed.

A warm ``generate`` that changes nothing still costs the imports of the
engine and a walk of the HLD, several times what ``fab generate`` takes for
the same work. So when a render read nothing but the files of its HLD tree
(:mod:`fabpromote._util.reads`: built-in generators only, nothing fetched or
downloaded, every component folder inside the tree, no plugin told of the
result) and found nothing to write, the command keeps a *stamp* in the
cache, ``<cache>/stamps/<name>``: the stat signature (inode, size,
modification and change times) of every file and folder of the HLD tree
(without its top-level ``generated/``, and without ``.git/`` folders), of
the output folder and of fabpromote's own code, with the line the command
printed. The same command line in the same environment then checks those
signatures first and, when every one holds, prints the line again without
importing anything else: inputs and outputs are the files the stamped run
saw, so the render would give the same bytes.

The key names the command line, the working folder, the interpreter, the
folders of ``sys.path`` (a plugin installed or removed changes one) and every
``FABPROMOTE_*`` variable. Only ``generate [ENV...] [--path DIR]`` is checked;
any other option takes the full path. A link to a folder in the tree (which
the walk would not follow) means no stamp. The change time cannot be set by
users and moves on every write; a file written within the clock tick of its
stat could keep it, so, as git does for its index, an input changed less than
two seconds before the render began means no stamp, and for each output file
that recent the stamp keeps what the render gave (up to 4 MiB in all): the
check reads those files again.

This module imports the standard library only: it runs before the rest of
the command is imported.
"""

from __future__ import annotations

import marshal
import os
import stat
import sys
import zlib

from fabpromote._util.cachedir import cache_root

# Not typing's, which would cost more than the whole check (type checkers take this one for theirs).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, TypeAlias

__all__ = ["FOLDER", "answer", "is_sound", "record"]

#: Bumped when the stamp's layout changes; stamps of another layout are ignored.
_LAYOUT = 1
#: A file changed this recently before a render began may have changed again within the clock tick of its stat.
_RACY_NS = 2_000_000_000
#: At most this many bytes of such files are kept in a stamp, to be compared by content.
_RACY_BYTES = 4 << 20
#: Left out everywhere: what Python and git rewrite, which no render reads.
_SKIPPED = frozenset({"__pycache__", ".git"})
_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The trees a stamp holds: the HLD, fabpromote's code, the output folder.
_TREES = 3
#: The cache folder of the stamps.
FOLDER = "stamps"

Entries: TypeAlias = "list[tuple[Any, ...]]"
#: A snapshot as a stamp keeps it: the folder, the names at its top, every file and folder under it.
Tree: TypeAlias = "tuple[str, list[str], Entries]"


# Earns its place: bench/tricks.py::generate_stamp
def answer(argv: list[str]) -> str | None:
    """The line to print if ``argv`` is a ``generate`` whose stamp still holds; None: run the command."""
    parsed = _generate_args(argv)
    if parsed is None:
        return None
    try:
        key = _key(*parsed)  # getcwd fails in a folder since removed: then the command says so
        with open(_stamp_path(key), "rb") as file:
            stamp = _unseal(file.read())
    except OSError:
        return None
    try:
        if stamp is None or stamp["key"] != key or len(stamp["trees"]) != _TREES:
            return None
        if not all(_holds(*tree) for tree in stamp["trees"]):
            return None
        if stamp["racy"] and not _same_contents(stamp["racy"]):
            return None
        message = stamp["message"]
    except (KeyError, TypeError, ValueError):  # a stamp of another shape: the command runs
        return None
    return message if isinstance(message, str) else None


def is_sound(data: bytes) -> bool:
    """Whether ``data`` is a whole stamp file (for ``fabpromote cache check``)."""
    return _unseal(data) is not None


def record(
    path: str,
    environments: tuple[str, ...],
    started: int,
    written: Mapping[str, bytes],
    output: str,
    message: str,
    folders: set[str],
) -> None:
    """Stamp a ``generate`` of HLD ``path`` begun at ``started`` (ns) that left ``written`` in ``output``.

    ``message``: the line to print when the stamp holds. ``folders``: the
    component folders the render read (see :mod:`fabpromote._util.reads`).
    Nothing is stamped when one of them lies outside the tree, when the tree
    holds a link to a folder, or when an input changed less than two seconds
    before the render began or since (the render may have read another
    version). A stamp that cannot be written only costs the full path next time.
    """
    hld = os.path.abspath(path)
    if not all(_inside(folder, hld) for folder in folders):
        return
    trees = [tree for tree in (_tree(path), _tree(_CODE), _tree(output)) if tree is not None]
    if len(trees) < _TREES:
        return
    (_, _, inputs), (_, _, code), (_, _, outputs) = trees
    if _changed_since(inputs, started) or _changed_since(code, started):
        return
    racy = _racy_outputs(output, outputs, written, started)
    if racy is None:
        return
    try:
        key = _key(path, environments)
    except OSError:
        return
    stamp = {"key": key, "trees": trees, "racy": racy, "message": message}
    target = _stamp_path(key)
    # A dot name, as the cache's other temporary files: cache check clears it if a kill leaves it.
    temporary = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        # 0600, as every cache file: a stamp holds paths and, for recent outputs, their content.
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as file:
            file.write(_seal(stamp))
        os.replace(temporary, target)
    except OSError:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _seal(stamp: dict[str, Any]) -> bytes:
    """The stamp's file: the CRC-32 of its body, then the body (marshal).

    Against damage, as a cache restored in CI may be: a truncated or flipped
    stamp must not pass for one whose trees hold. A checksum, not a digest:
    whoever can write the cache can write any stamp, and zlib is built in.
    """
    body = marshal.dumps(stamp)  # dumps: dump writes a file object in many small writes
    return b"%08x\n" % zlib.crc32(body) + body


def _unseal(data: bytes) -> dict[str, Any] | None:
    """The stamp in a file's ``data``; None when damaged or not a stamp."""
    head, _, body = data.partition(b"\n")
    if head != b"%08x" % zlib.crc32(body):
        return None
    try:
        # loads, not load: load reads a file object in many small reads, ten times slower.
        stamp = marshal.loads(body)  # noqa: S302 - checked by its checksum; builds plain data only
    except (EOFError, ValueError, TypeError):
        return None
    return stamp if isinstance(stamp, dict) else None


def _generate_args(argv: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """``(path, environments)`` of ``generate [ENV...] [--path DIR]``; None for anything else."""
    if not argv or argv[0] != "generate":
        return None
    path: str | None = None
    environments: list[str] = []
    words = iter(argv[1:])
    for word in words:
        if word == "--path" and path is None:
            path = next(words, None)
            if path is None:
                return None
        elif word.startswith("--path=") and path is None:
            path = word.removeprefix("--path=")
        elif word.startswith("-"):
            return None
        else:
            environments.append(word)
    return "." if path is None else path, tuple(environments)


def _key(path: str, environments: tuple[str, ...]) -> str:
    """What a stamp is for: the command line, where it runs, with what code and settings."""
    settings = sorted((name, value) for name, value in os.environ.items() if name.startswith("FABPROMOTE_"))
    folders = [(folder, _signature(folder)) for folder in sys.path]
    return repr((_LAYOUT, os.getcwd(), path, environments, sys.executable, sys.version, settings, folders))


def _stamp_path(key: str) -> str:
    # A checksum, not a digest: the stamp holds its key, so two keys that share a name
    # only take turns; and zlib is built in, where hashlib's import costs more than the check.
    return os.path.join(cache_root(os.environ), FOLDER, f"{zlib.crc32(key.encode('utf-8', 'surrogateescape')):08x}")


def _signature(path: str) -> tuple[int, ...] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _snapshot(root: str) -> Entries | None:
    """``(relative name, signature)`` of every file and folder under ``root``.

    ``__pycache__`` and ``.git`` folders are left out everywhere,
    ``generated`` at the top. A link to a file stands for the
    file; a link to a folder, or a folder that cannot be listed, gives None.
    """
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
            if entry.name in _SKIPPED or (not relative and entry.name == "generated"):
                continue
            try:
                info = entry.stat()  # follows links to files
            except OSError:
                return None
            if stat.S_ISDIR(info.st_mode):
                if entry.is_symlink():
                    return None
                folders.append(name)
            entries.append((name, (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)))
    return entries


def _tree(root: str) -> Tree | None:
    """``(root, the names at its top, its snapshot)``, as :func:`_holds` checks it; None: see :func:`_snapshot`."""
    entries = _snapshot(root)
    if entries is None:
        return None
    return root, sorted(name for name, _ in entries if "/" not in name), entries


def _top(root: str) -> list[str] | None:
    """The names at the top of ``root`` that :func:`_snapshot` takes, sorted; None if it cannot be listed.

    The top folder's own times are not kept: writing ``generated/`` moves them.
    """
    try:
        names = os.listdir(root)
    except OSError:
        return None
    return sorted(name for name in names if name not in _SKIPPED and name != "generated")


def _changed_since(entries: Entries, started: int) -> bool:
    """Whether a file or folder changed less than :data:`_RACY_NS` before ``started``, or after."""
    since = started - _RACY_NS
    return any(modified >= since or changed >= since for _, (_, _, modified, changed) in entries)


def _holds(root: str, top: list[str], entries: Entries) -> bool:
    """Whether ``root`` holds the names ``top`` and every file and folder of ``entries`` its signature.

    ``top`` and ``entries``: from :func:`_top` and :func:`_snapshot`. No
    folder below the top is listed: a folder's times move whenever a name in
    it is added, removed or renamed, so when they did not move its names are
    those the snapshot listed (a folder changed just before the stamp was
    made means no stamp).
    """
    if _top(root) != top:
        return False
    for name, signature in entries:
        try:
            info = os.stat(f"{root}/{name}")
        except OSError:
            return False
        if (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns) != signature:
            return False
    return True


def _racy_outputs(output: str, entries: Entries, written: Mapping[str, bytes], started: int) -> dict[str, bytes] | None:
    """What the render gave each output file too recent for its stat to be trusted, by path.

    None when the folder holds a file the render did not give, or when those
    files add up to more than :data:`_RACY_BYTES` (the next run stamps them).
    """
    racy = {}
    since = started - _RACY_NS
    for name, (_, _, *times) in entries:
        if name in written:
            if max(times) >= since:
                racy[os.path.join(output, name)] = written[name]
        elif not os.path.isdir(os.path.join(output, name)):
            return None
    return racy if sum(map(len, racy.values())) <= _RACY_BYTES else None


def _same_contents(racy: dict[str, bytes]) -> bool:
    for path, data in racy.items():
        try:
            with open(path, "rb") as file:
                if file.read(len(data) + 1) != data:
                    return False
        except OSError:
            return False
    return True


def _inside(folder: str, top: str) -> bool:
    """Whether ``folder`` lies under ``top`` (absolute; the tree holds no link to a folder)."""
    if ".." in folder.split(os.sep):  # resolved as the system would: through the links above
        folder, top = os.path.realpath(folder), os.path.realpath(top)
    else:
        folder = os.path.abspath(folder)
    return folder == top or folder.startswith(top.rstrip(os.sep) + os.sep)
