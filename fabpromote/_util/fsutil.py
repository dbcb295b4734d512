"""File system helpers: replacing a folder in one step, staging beside a target."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from fabpromote._util import signals as _signals

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "copy_writable",
    "files_under",
    "replace_path",
    "staged_beside",
    "staging_dir",
]


def files_under(folder: str | os.PathLike[str]) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under ``folder`` that is not a folder (symlinks not followed), with its relative POSIX path."""
    stack = [(os.fspath(folder), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{prefix}{entry.name}/"))
                else:
                    yield prefix + entry.name, entry


def staging_dir(target: Path) -> Path:
    """A new empty folder beside ``target``, on the same file system."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))


@contextlib.contextmanager
def staged_beside(target: Path) -> Iterator[Path]:
    """A :func:`staging_dir` for the block, removed when the block raises or is interrupted.

    Move it into place (:func:`replace_path`) inside the block.
    """
    staging: Path | None = None
    try:
        # Made and named in one step: a signal between the two would leave it behind, unnamed.
        with _signals.deferred():
            staging = staging_dir(target)
        yield staging
    except BaseException:
        if staging is not None:
            _remove(staging)
        raise


def copy_writable(source: Path, destination: Path) -> None:
    """Copy a tree (symlinks kept as links) and make it writable by its owner.

    Snapshots in the cache are read-only; installed copies must not be.
    """
    shutil.copytree(source, destination, symlinks=True)
    for directory, dirs, files in os.walk(destination):
        for name in (*dirs, *files):
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    os.chmod(destination, os.stat(destination).st_mode | stat.S_IWUSR)


def replace_path(staging: Path, target: Path) -> None:
    """Put ``staging`` (a file or folder) where ``target`` is, in one step.

    Readers see the old ``target`` or the new one, never a mix; the old one
    is removed after. Both must be on one file system (make ``staging``
    beside ``target``). SIGTERM cannot stop it half-way (see
    :func:`fabpromote._util.signals.deferred`): without renameat2, ``target`` is
    briefly moved aside, and must never stay there.
    """
    with _signals.deferred():
        if not target.exists():
            os.rename(staging, target)
            return
        if _exchange(staging, target):
            _remove(staging)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rename(target, old / "tree")
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old / "tree", target)
            raise
        finally:
            _remove(old)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically with Linux's renameat2; False where unsupported."""
    import ctypes  # only when an output folder is replaced: a cold run (a new folder) never needs it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return bool(renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
