"""A file replaced in one step, through a temporary file named before it is made (the standard library only).

The cache's writes (:func:`fabpromote._sources.cache.atomic_write`) and the
CLI's stamps and rewrites (:mod:`fabpromote._cli.stamps`, which run before
anything else is imported) all go through :func:`replace_file`.
"""

from __future__ import annotations

import _thread  # threading costs more to import than a warm stamp check; the ident is the same
import os

from fabpromote._util.wholefiles import write_new_file

__all__ = ["replace_file"]


def replace_file(target: str, data: bytes, *, mode: int, beside: str | None = None) -> None:
    """Put a file of ``data`` at ``target`` in one step, through a temporary file in folder ``beside``.

    ``beside`` (default: ``target``'s folder) must be on the same file system.
    The temporary file has a dot name, as the cache's other temporary files
    (cache check clears one a kill leaves behind), and is named before it is
    made, with this process and thread, so that an interruption at any point
    can remove it; on failure it is removed.
    """
    folder = os.path.dirname(target) if beside is None else beside
    name = f".{os.path.basename(target)}.{os.getpid()}.{_thread.get_ident()}.tmp"
    temporary = os.path.join(folder, name)
    try:
        write_new_file(temporary, data, mode=mode)
        os.replace(temporary, target)
    except BaseException:
        import contextlib  # only on failure: its import costs more than a warm stamp check

        with contextlib.suppress(OSError):  # never made, or gone
            os.unlink(temporary)
        raise
