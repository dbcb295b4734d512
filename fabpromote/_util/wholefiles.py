"""Reading and writing a whole small file with the fewest system calls.

``open(path, "rb").read()`` adds an ioctl, two lseeks, a second fstat, a
read that finds the end, and three Python objects per file to open, fstat,
read and close: for the thousands of small files of a large HLD that was a
third of reading them. Writing likewise needs only open, write and close.
"""

from __future__ import annotations

import os

__all__ = ["read_file", "write_new_file"]


def read_file(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    """The bytes of file ``path``; with ``limit``, at most ``limit + 1`` of them (the caller refuses more).

    One read when the file holds what its ``fstat`` says; reads on to the
    end (or the limit) when it grew meanwhile or a read came back short.

    Raises:
        OSError: It cannot be opened or read (``IsADirectoryError`` for a folder).
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        most = size + 1 if limit is None else min(size, limit) + 1
        data = os.read(fd, most)
        if len(data) == size and (limit is None or size <= limit):
            return data  # all of it: asked for one byte more than the file holds and got none
        return _read_on(fd, data, limit)
    finally:
        os.close(fd)


def _read_on(fd: int, data: bytes, limit: int | None) -> bytes:
    """``data`` and what follows it in ``fd``, up to the end or ``limit + 1`` bytes."""
    chunks = [data]
    total = len(data)
    while limit is None or total <= limit:
        chunk = os.read(fd, 1 << 16 if limit is None else min(1 << 16, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def write_new_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Create file ``path`` (mode 0666 less the umask) holding ``data``.

    Raises:
        FileExistsError: Something is at ``path`` already (a symlink too: it is not followed).
        OSError: The file system refused.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
