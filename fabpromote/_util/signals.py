"""SIGTERM and SIGINT end a command through its cleanup code, not in the middle of it.

Python's default SIGTERM ends the process at once, leaving behind what it had
staged: folders beside the output, ``install``'s staged ``components/``,
temporary files in the cache. Within :func:`handled`, which the CLI enters,
the first SIGTERM or SIGINT instead raises :class:`Interrupted` in the main
thread, so every ``finally`` and ``except BaseException`` on its way up
removes what it made. Two things keep the exit prompt when threads work:

- child processes (helm, hooks) get SIGTERM as well, and keep getting it
  while the process winds down, so the threads waiting on them return;
- after :data:`GRACE_SECONDS` the process ends anyway, e.g. when a thread
  waits on a server that does not answer; what that thread had begun is
  left as after SIGKILL (``fabpromote cache check --repair`` removes it).

Later signals are ignored, so that the cleanup runs to its end. Steps that
must not be cut in two (moving a finished tree into place) run inside
:func:`deferred`: a signal then takes effect right after the step.

The kernel hands a process's signal to any of its threads. When a worker
thread gets it, Python only notes it for the main thread, and a main thread
blocked on a lock (waiting for a future) is never woken to run the handler:
the main thread waits on workers through :func:`wait`, which wakes often.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, TypeVar

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from types import FrameType

__all__ = ["GRACE_SECONDS", "Interrupted", "deferred", "handled", "report", "wait"]

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: Seconds from the first signal to the end of the process, cleanup included.
GRACE_SECONDS = 10.0
#: How often child processes started while winding down are stopped too.
REAP_INTERVAL = 0.05
#: How often a main thread waiting on workers wakes to let a signal's handler run.
WAKE_INTERVAL = 0.05


class Interrupted(KeyboardInterrupt):
    """The process got SIGTERM or SIGINT; raised in the main thread.

    A ``KeyboardInterrupt``, so that code handling Ctrl-C (``subprocess``
    killing its child) does the same for SIGTERM, and ``except Exception``
    never swallows it.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(self.name)

    @property
    def name(self) -> str:
        """``SIGTERM`` or ``SIGINT``."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """What a shell reports for a process ended by the signal: 128 + its number."""
        return 128 + self.signum


@attrs.define
class _State:
    prog: str = "fabpromote"
    received: int | None = None
    #: Nesting of deferred() in the main thread, and whether a signal waits for it.
    depth: int = 0
    pending: bool = False
    reported: bool = False
    lock: threading.Lock = attrs.Factory(threading.Lock)


_state = _State()


@contextlib.contextmanager
def handled(prog: str = "fabpromote") -> Iterator[None]:
    """Within, SIGTERM and SIGINT raise :class:`Interrupted`; the previous handlers after.

    Only for a process's entry point (the CLI): once a signal came, the
    process ends within :data:`GRACE_SECONDS`. Does nothing outside the
    main thread, where Python cannot set signal handlers.

    Args:
        prog: The name :func:`report` starts its line with.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.prog = prog
    previous = {signum: signal.signal(signum, _on_signal) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A step a signal must not cut in two: a signal during it is raised when it ends.

    Only the main thread is ever interrupted, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if not _state.depth and _state.pending:
            _state.pending = False
            # Even when the step failed: the interruption is what ends the command.
            raise Interrupted(_state.received or signal.SIGTERM)


def wait(futures: Iterable[concurrent.futures.Future[T]]) -> None:
    """Wait until every future is done, waking every :data:`WAKE_INTERVAL` s for signals."""
    pending = set(futures)
    while pending:
        _, pending = concurrent.futures.wait(pending, timeout=WAKE_INTERVAL)


def report(exc: Interrupted) -> int:
    """Print ``<prog>: interrupted (SIGTERM)`` on stderr, unless done already; return the exit status."""
    if _first_report():
        print(_interrupted_line(exc.signum), end="", file=sys.stderr, flush=True)
    return exc.exit_status


def _first_report() -> bool:
    with _state.lock:
        first, _state.reported = not _state.reported, True
    return first


def _interrupted_line(signum: int) -> str:
    return f"{_state.prog}: interrupted ({signal.Signals(signum).name})\n"


def _on_signal(signum: int, frame: FrameType | None) -> None:
    del frame
    if _state.received is not None:
        return  # winding down already: let the cleanup finish
    _state.received = signum
    threading.Thread(target=_wind_down, args=(signum,), name="fabpromote-wind-down", daemon=True).start()
    if _state.depth:
        _state.pending = True
        return
    raise Interrupted(signum)


def _wind_down(signum: int) -> None:
    """Stop child processes until the process ends; end it after the grace period."""
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        _stop_children()
        time.sleep(REAP_INTERVAL)
    # os.write: the main thread may be stuck holding sys.stderr's lock.
    line = _interrupted_line(signum) if _first_report() else ""
    line += (
        f"{_state.prog}: warning: work still running {GRACE_SECONDS:g} s after the signal was abandoned; "
        f"`{_state.prog} cache check --repair` removes what it left in the cache\n"
    )
    os.write(2, line.encode())
    os._exit(128 + signum)


def _stop_children() -> None:
    for pid in _children():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def _children() -> list[int]:
    """The processes whose parent is this one (Linux's ``/proc``; none elsewhere)."""
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    return [int(entry) for entry in entries if entry.isdigit() and _parent(entry) == me]


def _parent(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # "pid (command) state ppid ...": the command may hold spaces and ")", so split after the last one.
    fields = stat.rpartition(b")")[2].split()
    return int(fields[1]) if len(fields) > 1 else None
