"""What a render read, for the CLI's stamp of a ``generate`` that may be answered without rendering.

``fabpromote generate`` records a render (:func:`recorded`); the layers that
read report to whatever is current: the walk the folders of the components
it visits (:func:`note_folder`), the static generator the files it joined
(:func:`note_static`), and anything that makes a render depend on
more than the files of the HLD tree (a fetch, a download, a generator that cannot
name what it reads, a plugin told of the result, a warning logged) spoils it
(:func:`spoil`). A plugin generator that can name what it reads outside the
tree reports it (:func:`note_inputs`). Outside the CLI nothing is current
and the reports cost nothing. See :mod:`fabpromote._cli.unchanged` for what
is done with the record.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Reads", "note_folder", "note_inputs", "note_static", "recorded", "recording", "spoil"]


class Reads:
    """The folders one render read from, and why it read more than files of its tree (if it did).

    Attributes:
        folders: The folders components were read from, as the walk joined them (not resolved).
        definitions: The folders of the visited components' own files
            (``component.yaml``, ``config/``), as the walk joined them.
        statics: Output path -> ``(folder, names, contents)`` of each static
            component rendered from a folder: its manifest is those files
            (each name's bytes as read), joined.
        spoiled: Why the render depends on more than its files (empty: it does not).
        paths: Absolute paths of the files and folders outside the tree that
            plugin generators said their renders read.
        environment: The environment variables they said they read (a
            trailing ``*``: every variable with that prefix).
        plugins: Whether a plugin generator rendered a component (it may
            read any file of the tree, a static component's too).
    """

    def __init__(self) -> None:
        self.folders: set[str] = set()
        self.definitions: set[str] = set()
        self.statics: dict[str, tuple[str, list[str], list[bytes]]] = {}
        self.spoiled: list[str] = []
        self.paths: set[str] = set()
        self.environment: set[str] = set()
        self.plugins = False


class _Warnings(logging.Handler):
    """Spoils the record on a warning: an answer from a stamp would not log it again."""

    def __init__(self, reads: Reads) -> None:
        super().__init__(logging.WARNING)
        self.reads = reads

    def emit(self, record: logging.LogRecord) -> None:  # from any thread: the record is at hand, not current
        self.reads.spoiled.append(f"logged a warning: {record.getMessage()}")


_current: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("fabpromote_reads", default=None)


@contextlib.contextmanager
def recorded() -> Iterator[Reads]:
    """Record the reads of the render run in this block (in this thread)."""
    reads = Reads()
    token = _current.set(reads)
    warnings = _Warnings(reads)
    logger = logging.getLogger("fabpromote")
    logger.addHandler(warnings)
    try:
        yield reads
    finally:
        logger.removeHandler(warnings)
        _current.reset(token)


def recording() -> bool:
    """Whether the reads of this thread's render are recorded (what is worth asking a plugin)."""
    return _current.get() is not None


def note_folder(directory: str | os.PathLike[str], path: str) -> None:
    """A component defined in ``directory`` was read from ``<directory>/<path>`` (joined only when recorded)."""
    reads = _current.get()
    if reads is not None:
        reads.folders.add(os.path.join(directory, path))
        defined = os.fspath(directory)
        reads.definitions.update((defined, os.path.join(defined, "config")))


def note_static(output_path: str, folder: str, names: list[str], contents: list[bytes]) -> None:
    """A static component's manifest (at ``output_path``) joined the files ``names`` of ``folder``, as read."""
    reads = _current.get()
    if reads is not None:
        reads.statics[output_path] = (folder, names, contents)


def note_inputs(paths: tuple[str, ...], environment: tuple[str, ...]) -> None:
    """A plugin generator's render read ``paths`` (absolute) outside the tree and the ``environment`` variables."""
    reads = _current.get()
    if reads is not None:
        reads.paths.update(paths)
        reads.environment.update(environment)
        reads.plugins = True


def spoil(reason: str) -> None:
    """The render depends on more than the files of its tree, for ``reason``."""
    reads = _current.get()
    if reads is not None:
        reads.spoiled.append(reason)
