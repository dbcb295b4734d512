"""Snapshots: the tree of one commit (or of one folder of it), exported once, read-only, shared by processes.

``snapshots/<sha>/_root`` holds the whole tree, ``snapshots/<sha>/<quoted subpath>`` one
folder of it. Each is built beside its final place and renamed there whole. A tree that
would lead out of its snapshot (a crafted name, an absolute symlink, a chain of links)
is refused.

Beside each entry, ``snapshots/<sha>/_sums-<entry>`` records what it holds: every
file's git blob id (taken from the tree while exporting, so it costs nothing), sealed
(:func:`~fabpromote._sources.cache.seal`). ``fabpromote cache check`` verifies an
entry against it, for snapshots of local repositories too, which no mirror holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

import attrs
from dulwich.objects import S_ISGITLINK, Blob, Commit, ObjectID, Tree

from fabpromote._sources.cache import atomic_write, seal, unseal
from fabpromote._sources.mirrors import oid
from fabpromote.exceptions import SourceError, UnsafePathError

if TYPE_CHECKING:
    from collections.abc import Callable

    from dulwich.object_store import BaseObjectStore

    from fabpromote._sources.remotes import Remote

__all__ = [
    "ROOT_ENTRY",
    "SUMS_PREFIX",
    "Origins",
    "build_snapshot",
    "entry_name",
    "listing_on_disk",
    "recorded_listing",
    "subpath_parts",
    "subtree",
]

log = logging.getLogger("fabpromote.sources")

ROOT_ENTRY = "_root"
#: The record of entry ``<e>`` is ``_sums-<e>``: entry names never start with ``_`` but ``_root``.
SUMS_PREFIX = "_sums-"
_SUMS_LABEL = "fabpromote snapshot sums 1"

T = TypeVar("T")


@attrs.define
class Origins:
    """What each snapshot folder handed out holds, in the user's terms: repository, ref and path."""

    _origins: dict[str, tuple[str, str]] = attrs.field(init=False, factory=dict)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def remember(self, folder: Path, shown: str, ref: str, parts: tuple[str, ...], *, replace: bool = True) -> None:
        """``folder`` holds ``parts`` of ``ref`` of the repository ``shown``."""
        origin = (f"{shown} {ref}:", "/".join(parts))
        with self._lock:
            for name in dict.fromkeys((os.fspath(folder), os.path.realpath(folder))):
                if replace or name not in self._origins:
                    self._origins[name] = origin

    def in_user_terms(self, text: str) -> str:
        """``text`` with every folder remembered named as its repository, ref and path."""
        with self._lock:
            origins = sorted(self._origins.items(), key=lambda item: len(item[0]), reverse=True)
        for folder, (repository, inside) in origins:
            if folder in text:
                text = text.replace(folder + os.sep, f"{repository}{inside}/" if inside else repository)
                text = text.replace(folder, f"{repository}{inside or '.'}")
        return text


def subpath_parts(subpath: str) -> tuple[str, ...]:
    path = PurePosixPath(subpath)
    if path.is_absolute() or ".." in path.parts or "\0" in subpath:
        raise UnsafePathError(f"subpath {subpath!r} must be relative and stay inside the repository")
    return tuple(part for part in path.parts if part != ".")


def entry_name(parts: tuple[str, ...]) -> str:
    """The snapshot directory name: ``_root``, or the subpath quoted into one name.

    Quoting a leading ``_`` or ``.`` keeps a subpath from ever being named
    ``_root`` or looking like a temporary (dot) directory.
    """
    if not parts:
        return ROOT_ENTRY
    name = quote("/".join(parts), safe="")
    if name[0] in "_.":
        name = f"%{ord(name[0]):02X}{name[1:]}"
    if len(name) > 200:
        name = f"{name[:150]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return name


def subtree(store: BaseObjectStore, sha: str, parts: tuple[str, ...], remote: Remote) -> ObjectID:
    commit = store[oid(sha)]
    if not isinstance(commit, Commit):
        raise SourceError(f"{sha} is a {commit.type_name.decode()}, not a commit", url=remote.shown)
    tree_sha: ObjectID = commit.tree
    for depth, part in enumerate(parts):
        tree = _object(store, tree_sha, Tree, f"{remote.shown}@{sha[:12]}")
        try:
            mode, tree_sha = tree[part.encode()]
        except KeyError:
            raise SourceError(f"{'/'.join(parts[: depth + 1])} does not exist in {sha}", url=remote.shown) from None
        if not stat.S_ISDIR(mode):
            raise SourceError(f"{'/'.join(parts[: depth + 1])} is not a directory in {sha}", url=remote.shown)
    return tree_sha


def build_snapshot(
    store: BaseObjectStore, tree: ObjectID, final: Path, prefix: PurePosixPath, where: str, redact: Callable[[str], str]
) -> bool:
    """Export ``tree`` to ``final`` in one step, with its record; False if another process got there first."""
    final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        listing: dict[str, str] = {}
        links = _export(store, tree, staging, prefix, where, redact, listing)
        _check_links(staging, links, where)
        # The record first: an entry is never in place without it (the same tree makes the same record).
        atomic_write(_sums_path(final), _seal_listing(final, listing))
        os.rename(staging, final)
    except OSError:
        _discard(staging)
        if final.is_dir():
            return False
        raise
    except BaseException:
        _discard(staging)
        raise
    return True


def _export(
    store: BaseObjectStore,
    tree_sha: ObjectID,
    directory: Path,
    prefix: PurePosixPath,
    where: str,
    redact: Callable[[str], str],
    listing: dict[str, str],
    inside: str = "",
) -> list[tuple[Path, PurePosixPath]]:
    """Write ``tree_sha`` into ``directory``, read-only; return the symlinks made.

    ``listing`` gets each folder, file and link written (path inside the entry ->
    ``dir``, or ``file``/``link`` and the blob id).
    """
    links: list[tuple[Path, PurePosixPath]] = []
    for entry in _object(store, tree_sha, Tree, where).iteritems():
        name = os.fsdecode(entry.path)
        shown = prefix / name
        _check_name(name, shown, where)
        path = directory / name
        if stat.S_ISDIR(entry.mode):
            path.mkdir(mode=0o700)
            listing[inside + name] = "dir"
            links += _export(store, entry.sha, path, shown, where, redact, listing, f"{inside}{name}/")
        elif S_ISGITLINK(entry.mode):
            log.warning(redact(f"{where}: skipping submodule {shown} (submodules are not exported)"))
        elif stat.S_ISLNK(entry.mode):
            target = os.fsdecode(_object(store, entry.sha, Blob, where).as_raw_string())
            if os.path.isabs(target) or "\0" in target:
                raise UnsafePathError(f"symlink to {target!r} leads out of the snapshot of {where}", file=str(shown))
            os.symlink(target, path)
            links.append((path, shown))
            listing[inside + name] = f"link {entry.sha.decode()}"
        else:
            _write_file(path, _object(store, entry.sha, Blob, where), executable=bool(entry.mode & 0o111))
            listing[inside + name] = f"file {entry.sha.decode()}"
    os.chmod(directory, 0o555)  # noqa: S103 - read-only for everyone is the point: snapshots are shared
    return links


def _sums_path(final: Path) -> Path:
    return final.with_name(SUMS_PREFIX + final.name)


def _seal_listing(final: Path, listing: dict[str, str]) -> bytes:
    # JSON, not lines: a git file name may hold any character but NUL and "/".
    body = json.dumps(listing, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return seal(_SUMS_LABEL, _sums_path(final).name, body.encode("ascii"))


def recorded_listing(entry: Path) -> dict[str, str] | None:
    """What the snapshot ``entry`` held when exported (path -> ``dir``, ``file <blob id>`` or ``link <blob id>``).

    None when its record is missing or damaged: the entry cannot be trusted then.
    """
    record = _sums_path(entry)
    try:
        body = unseal(record.name, record.read_bytes(), _SUMS_LABEL)
    except OSError:
        return None
    if body is None:
        return None
    try:
        listing = json.loads(body)
    except ValueError:
        return None
    return listing if isinstance(listing, dict) else None


def listing_on_disk(entry: Path) -> dict[str, str]:
    """What the snapshot ``entry`` holds now, as :func:`recorded_listing` tells it."""
    listing: dict[str, str] = {}
    for directory, folders, files in os.walk(entry):
        inside = os.path.relpath(directory, entry)
        prefix = "" if inside == "." else inside.replace(os.sep, "/") + "/"
        for name in folders + files:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                listing[prefix + name] = f"link {Blob.from_string(os.fsencode(os.readlink(path))).id.decode()}"
            elif name in folders:
                listing[prefix + name] = "dir"
            else:
                with open(path, "rb") as handle:
                    listing[prefix + name] = f"file {Blob.from_string(handle.read()).id.decode()}"
        # Symlinked folders are listed as links, not walked into.
        folders[:] = [name for name in folders if not os.path.islink(os.path.join(directory, name))]
    return listing


def _object(store: BaseObjectStore, sha: ObjectID, kind: type[T], where: str) -> T:
    obj = store[sha]
    if not isinstance(obj, kind):
        raise SourceError(f"object {sha.decode()} should be a {kind.__name__.lower()}: corrupt tree", url=where)
    return obj


def _check_name(name: str, shown: PurePosixPath, where: str) -> None:
    # Names a real git tree never holds; a crafted one could write outside the snapshot.
    if name in ("", ".", "..") or "/" in name or "\0" in name or name.lower() == ".git":
        raise UnsafePathError(f"unsafe file name {name!r} in the tree of {where}", file=str(shown))


def _write_file(path: Path, blob: Blob, *, executable: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in blob.as_raw_chunks():
            handle.write(chunk)
        os.fchmod(handle.fileno(), 0o555 if executable else 0o444)


def _check_links(root: Path, links: list[tuple[Path, PurePosixPath]], where: str) -> None:
    """Refuse symlinks that resolve outside ``root``, following chains of links.

    Checked on the finished tree: a target that looks inside may still lead
    out through another link (``a -> .``, ``b -> a/..``).
    """
    real_root = os.path.realpath(root)
    for path, shown in links:
        resolved = os.path.realpath(path)
        if os.path.commonpath([real_root, resolved]) != real_root:
            target = os.readlink(path)
            raise UnsafePathError(f"symlink to {target!r} leads out of the snapshot of {where}", file=str(shown))


def _discard(staging: Path) -> None:
    """Remove a half-built snapshot, whose directories are read-only."""
    for directory, _, _ in os.walk(staging):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
    shutil.rmtree(staging, ignore_errors=True)
