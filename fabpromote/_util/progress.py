"""A progress line on the terminal while a render runs: components visited and rendered.

The CLI turns it on (:func:`shown`) when stderr is a terminal; the engine's
walk reports to whatever is current (:func:`current`), which is nothing in
pipelines, in the library, and in tests that do not ask for it. The line is
redrawn in place (``\\r``) at most :data:`REDRAWS_PER_SECOND` times a second and
cleared at the end, so the output is the same with or without it.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Progress", "current", "shown"]

REDRAWS_PER_SECOND = 10


class Progress:
    """Counts of one render, drawn on ``stream`` as one line that is rewritten."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.visited = 0
        self.rendered = 0
        self._lock = threading.Lock()
        self._drawn_at = 0.0
        self._width = 0

    def visit(self) -> None:
        """A component was visited (the walk found it)."""
        with self._lock:
            self.visited += 1
        self._maybe_draw()

    def render(self) -> None:
        """A component was rendered (from any thread)."""
        with self._lock:
            self.rendered += 1
        self._maybe_draw()

    def _maybe_draw(self) -> None:
        now = time.monotonic()
        if now - self._drawn_at < 1 / REDRAWS_PER_SECOND:
            return
        self._drawn_at = now
        self.draw()

    def draw(self) -> None:
        with self._lock:
            line = f"fabpromote: {self.label}: {self.visited} components visited, {self.rendered} rendered"
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self.stream.flush()

    def clear(self) -> None:
        """Remove the line, if one was drawn."""
        with self._lock:
            if self._width:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
                self._width = 0


_CURRENT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("fabpromote_progress", default=None)


def current() -> Progress | None:
    """The progress line of this command, if one is shown."""
    return _CURRENT.get()


@contextlib.contextmanager
def shown(label: str, stream: TextIO | None = None) -> Iterator[Progress | None]:
    """Show a progress line during the block when ``stream`` (stderr) is a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield None
        return
    progress = Progress(stream, label)
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)
        progress.clear()
