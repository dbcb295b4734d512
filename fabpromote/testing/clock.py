"""A clock for tests of waiting: ``sleep`` moves its time forward at once and remembers the wait.

Give it where a :class:`fabpromote.network.Clock` is taken (a
:class:`~fabpromote.network.RetryPolicy`, a Git host's ``clock``)::

    clock = FakeClock()
    host = GitHubHost(api_url=..., clock=clock)
    host.read_branch(url, "dev")      # answered 429, Retry-After: 7, then 200
    assert clock.sleeps == [7.0]
"""

from __future__ import annotations

import threading
import time

import attrs

__all__ = ["FakeClock"]


@attrs.define
class FakeClock:
    """Wall and monotonic time that pass only when slept.

    Attributes:
        wall: Seconds since the epoch; now by default, so that headers a
            real server dates (``X-RateLimit-Reset``) make sense against it.
        mono: The monotonic time.
        sleeps: Every wait asked for, in order.
    """

    wall: float = attrs.field(factory=time.time)
    mono: float = 1000.0
    sleeps: list[float] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    def time(self) -> float:
        """The wall time."""
        with self._lock:
            return self.wall

    def monotonic(self) -> float:
        """The monotonic time."""
        with self._lock:
            return self.mono

    def sleep(self, seconds: float, /) -> None:
        """Record the wait and move both times forward by it, without waiting."""
        with self._lock:
            self.sleeps.append(seconds)
            self.wall += seconds
            self.mono += seconds
