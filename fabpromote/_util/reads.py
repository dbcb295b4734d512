"""What a render read, for the CLI's stamp of a ``generate`` that may be answered without rendering.

``fabpromote generate`` records a render (:func:`recorded`); the layers that
read report to whatever is current: the walk the folders of the components
it visits (:func:`note_folder`), the static generator the files it joined
(:func:`note_static`), and anything that makes a render depend on
more than the files of the HLD tree (a fetch, a download, a generator that is
not a built-in one, a plugin told of the result) spoils it (:func:`spoil`).
Outside the CLI nothing is current and the reports cost nothing. See
:mod:`fabpromote._cli.unchanged` for what is done with the record.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Reads", "note_folder", "note_static", "recorded", "spoil"]


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
    """

    def __init__(self) -> None:
        self.folders: set[str] = set()
        self.definitions: set[str] = set()
        self.statics: dict[str, tuple[str, list[str], list[bytes]]] = {}
        self.spoiled: list[str] = []


_current: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("fabpromote_reads", default=None)


@contextlib.contextmanager
def recorded() -> Iterator[Reads]:
    """Record the reads of the render run in this block (in this thread)."""
    reads = Reads()
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)


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


def spoil(reason: str) -> None:
    """The render depends on more than the files of its tree, for ``reason``."""
    reads = _current.get()
    if reads is not None:
        reads.spoiled.append(reason)
