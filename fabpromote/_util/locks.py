"""An exclusive lock between fabpromote processes, on a lock file (the standard library only).

Used where two commands could write one thing at once: a git mirror in the
cache (:mod:`fabpromote._sources.mirrors`), and an output folder, which a
render replacing it and the CLI rewriting one file of it from a stamp
(:mod:`fabpromote._cli.patching`) each lock while they check what it holds
and change it.
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["FileLock"]


class FileLock:
    """``flock`` on the file ``path`` (made 0600, with its folder, if missing), held for a ``with`` block.

    The lock ends with the block, or with the process: a killed holder
    leaves no stale lock behind, only the empty file, which is never
    truncated or replaced (another process may hold it).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases its lock
            self._fd = None
