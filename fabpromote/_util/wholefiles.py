"""Reading and writing a whole small file with the fewest system calls.

``open(path, "rb").read()`` adds an ioctl, two lseeks and two fstats (and
their result objects), and three Python objects per file to open, read,
read (the end) and close: for the thousands of small files of a large HLD
that was half of reading them. Writing likewise needs only open, write and close.
"""

from __future__ import annotations

import os

__all__ = ["read_file", "write_new_file"]

#: What one read asks for: more than most HLD files hold.
_CHUNK = 1 << 16


def read_file(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of file ``path``; with ``limit``, at most ``limit + 1`` of them (the caller refuses more).

    Read until a read finds the end, as the size a ``stat`` gives may be
    stale (a file that grows) or zero (a pipe): two reads for a small file.

    Raises:
        OSError: It cannot be opened or read (``IsADirectoryError`` for a folder).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        total = 0
        while limit is None or total <= limit:
            chunk = os.read(fd, _CHUNK if limit is None else min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)  # one chunk: that very object, not a copy
    finally:
        os.close(fd)


def write_new_file(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o666) -> None:
    """Create file ``path`` (``mode`` less the umask) holding ``data``.

    Raises:
        FileExistsError: Something is at ``path`` already (a symlink too: it is not followed).
        OSError: The file system refused.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
