"""How long one network operation may wait on a remote, and the one line its failure is told in.

``$FABPROMOTE_NETWORK_TIMEOUT`` (seconds, default 60) bounds every network
operation: listing a remote's refs, a fetch, a push, a ``method: http``
download. The operation starts a :class:`Deadline`; every request it makes,
with its retries and redirects, must be answered before it, so a server
that accepts and then says nothing fails the operation once, after that
time, however many requests or retries it would have taken. Data flowing
keeps a transfer going: a read waits at most what was left of the deadline
when its request was sent.

Retries are urllib3's own (:class:`DeadlineRetry`): a connection refused
or reset before anything was sent is tried again while time is left; a
request that was sent is never sent again (its answer timed out or was not
HTTP: asking again would only wait again, or repeat a side effect).
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any, Protocol

import attrs
import urllib3
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from fabpromote._util.settings import DEFAULT_NETWORK_TIMEOUT, ENV_NETWORK_TIMEOUT, positive_number

__all__ = [
    "DEFAULT_TIMEOUT",
    "ENV_TIMEOUT",
    "Clock",
    "Deadline",
    "DeadlineRetry",
    "network_timeout",
    "one_line",
    "reason",
    "request_failure",
    "without_pool_prefix",
]

ENV_TIMEOUT = ENV_NETWORK_TIMEOUT
DEFAULT_TIMEOUT = DEFAULT_NETWORK_TIMEOUT
#: Connection attempts after the first, within the deadline.
CONNECT_RETRIES = 2
#: Redirects followed, as git does at most.
REDIRECTS = 5
#: urllib3's backoff between attempts: 0.1 s, 0.2 s, ... (never past the deadline).
BACKOFF = 0.1
#: The longest reason shown: servers' answers can be long, the error is one line.
MAX_REASON = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: What urllib3 puts before the reason: the pool (``HTTPConnectionPool(host=..., port=...): ``)
#: or the connection (``<urllib3.connection.HTTPConnection object at 0x...>: ``) that failed.
_POOL_PREFIX = re.compile(r"^(?:<[^>]*>|\w+\(.*?\)):\s*")


def network_timeout() -> float:
    """The seconds one network operation may wait: ``$FABPROMOTE_NETWORK_TIMEOUT``, else 60.

    Raises:
        HLDError: The variable is set to something other than a positive number.
    """
    return positive_number(ENV_TIMEOUT, DEFAULT_TIMEOUT, "seconds")


class Clock(Protocol):
    """The time that waiting reads and spends: the :mod:`time` module is one.

    Tests pass a clock whose ``sleep`` only moves its own time forward, so
    that no test sleeps through a real backoff or rate-limit wait.
    """

    def time(self) -> float:
        """Seconds since the epoch (HTTP dates and rate-limit resets are read against it)."""
        ...

    def monotonic(self) -> float:
        """Seconds that only go forward (deadlines are measured on it)."""
        ...

    def sleep(self, seconds: float, /) -> None:
        """Wait ``seconds``."""
        ...


@attrs.frozen
class Deadline:
    """The end of one network operation's time: ``seconds`` from when it was made.

    Attributes:
        seconds: The time the operation was given.
        clock: The clock it runs on (:mod:`time` unless a test gives another).
        end: When it runs out (``clock.monotonic()``).
    """

    seconds: float = attrs.field(factory=network_timeout)
    clock: Clock = attrs.field(default=time, kw_only=True, eq=False, repr=False)
    end: float = attrs.field(init=False)

    @end.default
    def _end(self) -> float:
        return self.clock.monotonic() + self.seconds

    def remaining(self) -> float:
        """Seconds left; 0 once past."""
        return max(0.0, self.end - self.clock.monotonic())

    def timeouts(self) -> tuple[float, float]:
        """``(connect, read)`` timeouts of a request sent now: each waits at most what is left."""
        # A request made at the very end still gets a moment, so that it fails as a timeout.
        left = max(self.remaining(), 0.001)
        return left, left

    def timeout(self, cap: float | None = None) -> urllib3.Timeout:
        """urllib3's timeout for the tries of a request: each waits at most what is left when it starts.

        Args:
            cap: The longest any one connection or read may wait, if shorter.
        """
        return _DeadlineTimeout(self, cap)

    def retry(self) -> DeadlineRetry:
        """The retries of a request of this operation (see :class:`DeadlineRetry`)."""
        return DeadlineRetry(
            total=None,
            connect=CONNECT_RETRIES,
            read=False,
            other=0,
            status=0,
            redirect=REDIRECTS,
            backoff_factor=BACKOFF,
            raise_on_redirect=False,
            raise_on_status=False,
            deadline=self,
        )


class DeadlineRetry(urllib3.Retry):
    """urllib3's ``Retry`` that stops once its :class:`Deadline` has passed, and never sleeps past it."""

    def __init__(self, *args: Any, deadline: Deadline | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def new(self, **kw: Any) -> DeadlineRetry:
        kw.setdefault("deadline", self.deadline)
        return super().new(**kw)

    def is_exhausted(self) -> bool:
        return super().is_exhausted() or (self.deadline is not None and self.deadline.remaining() <= 0)

    def get_backoff_time(self) -> float:
        backoff = super().get_backoff_time()
        return min(backoff, self.deadline.remaining()) if self.deadline is not None else backoff

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        # On the deadline's clock, so that a test's clock is not slept through for real.
        if self.deadline is None:
            super().sleep(response)
        elif (backoff := self.get_backoff_time()) > 0:
            self.deadline.clock.sleep(backoff)


class _DeadlineTimeout(urllib3.Timeout):
    """A timeout that urllib3 copies for each try (``clone``): the copy waits at most what is left then."""

    def __init__(self, deadline: Deadline, cap: float | None) -> None:
        super().__init__(connect=cap, read=cap)
        self.deadline = deadline
        self.cap = cap

    def clone(self) -> urllib3.Timeout:
        # A request made at the very end still gets a moment, so that it fails as a timeout.
        left = max(self.deadline.remaining(), 0.001)
        wait = left if self.cap is None else min(left, self.cap)
        return urllib3.Timeout(connect=wait, read=wait)


def reason(exc: BaseException, seconds: float) -> str | None:
    """One short line for a network failure somewhere in ``exc``'s causes, or None if it is none of these.

    A timeout says how long was waited and what sets it; an answer that is
    not HTTP says so, without the bytes the server sent.
    """
    for cause in _causes(exc):
        # urllib3 makes NewConnectionError (a refused connection) a ConnectTimeoutError, for history's sake.
        if isinstance(cause, (Urllib3TimeoutError, socket.timeout)) and not isinstance(cause, NewConnectionError):
            return f"no answer within {seconds:g} s (the limit is set by ${ENV_TIMEOUT})"
    for cause in _causes(exc):
        if isinstance(cause, ProtocolError) and any(isinstance(arg, OSError) for arg in cause.args):
            error = next(arg for arg in cause.args if isinstance(arg, OSError))
            return f"the connection broke: {error.strerror or error or type(error).__name__}"
        if isinstance(cause, ProtocolError):
            return "the server's answer is not HTTP (or it hung up)"
    return None


def request_failure(exc: BaseException) -> str:
    """The readable part of a requests or urllib3 error: "Connection refused", "Read timed out".

    requests wraps urllib3's error (``MaxRetryError``), which wraps the one that
    happened (its ``reason``); that innermost one is shown, without the pool or
    connection urllib3 names before it.
    """
    inner = exc.args[0] if exc.args else None
    found = getattr(inner, "reason", None) or inner or exc
    return without_pool_prefix(str(found) or type(exc).__name__)


def without_pool_prefix(text: str) -> str:
    """urllib3's message without the pool or connection that raised it."""
    return _POOL_PREFIX.sub("", text)


def one_line(text: str) -> str:
    """``text`` as one line of at most :data:`MAX_REASON` characters: what a server sent cannot flood a message."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= MAX_REASON else f"{text[: MAX_REASON - 3]}..."


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, its causes and contexts, and the errors urllib3 wraps (``reason``), outermost first."""
    found: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        wrapped = getattr(current, "reason", None)
        pending += [current.__cause__, current.__context__, wrapped if isinstance(wrapped, BaseException) else None]
    return found
