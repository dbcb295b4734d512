"""The retries of a REST API's requests: urllib3's ``Retry``, mounted on a requests ``Session``.

A :class:`RetryPolicy` says which answers are tried again, how often and how
long to wait; :meth:`RetryPolicy.mount` puts it on a session, where every
request is one network operation with its own :class:`~fabpromote._util.network.Deadline`
(``$FABPROMOTE_NETWORK_TIMEOUT``): its tries, waits and reads all end by then.

What is tried again, and why:

- a connection that could not be made (refused, unresolved, no connection
  in time): every method, as nothing was sent;
- 429, 503, and a 403 that is a rate limit (it carries ``Retry-After`` or
  the remaining count 0): every method, as the server refused the work;
- 500, 502, 504: every method, as GitHub and GitLab answer these before the
  work is done, and the hosts' writes are safe to repeat (a second pull or
  merge request for the same branches is refused, a merge finds itself made);
- an answer that timed out or broke off: only idempotent methods (GET, HEAD,
  PUT, DELETE, OPTIONS): a POST or PATCH may have been done, and sending it
  again could do it twice.

A wait the server asks for (``Retry-After`` in seconds or as an HTTP date, or
the reset time of a used-up rate limit) is waited exactly; other waits back
off exponentially with jitter. A wait longer than ``max_wait``, or past the
deadline, is not waited at all: the answer goes back to the caller at once,
and :func:`retry_stopped` says why, for its error message.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from typing import Any

import attrs
import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError

from fabpromote._util.network import ENV_TIMEOUT, Clock, Deadline, DeadlineRetry, network_timeout

__all__ = ["IDEMPOTENT_METHODS", "RETRIED_STATUSES", "RetryPolicy", "retry_stopped"]

log = logging.getLogger("fabpromote.network")

#: Answers tried again (a 403 only when it is a rate limit).
RETRIED_STATUSES = frozenset({403, 429, 500, 502, 503, 504})
#: Methods sent again after their answer timed out or broke off.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: Added to a reset time: it is in whole seconds, and clocks drift.
RESET_MARGIN = 1.0


def _header_float(headers: Any, name: str) -> float | None:
    value = headers.get(name) if name else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@attrs.frozen
class RetryPolicy:
    """How the requests of one HTTP API are tried again (see the module's docstring for which).

    Attributes:
        retries: Tries after the first.
        backoff: The first backoff in seconds; it doubles with each retry, plus up to a quarter of jitter.
        backoff_max: The longest backoff.
        max_wait: The longest wait a server may ask for; a longer one fails at once.
        limit_wait: The wait for a rate limit that names no time, doubling with each retry
            (GitHub asks for at least a minute); None: the backoff.
        remaining_header: The header of the requests left in a rate-limit window ("" for none).
        reset_header: The header of the time (epoch seconds) the window resets ("" for none).
        seconds: Each request's deadline; None: ``$FABPROMOTE_NETWORK_TIMEOUT``, read at each request.
        clock: The clock waits and deadlines run on (:mod:`time`; tests give a fake one).
    """

    retries: int = 4
    backoff: float = 0.5
    backoff_max: float = 60.0
    max_wait: float = 600.0
    limit_wait: float | None = None
    remaining_header: str = ""
    reset_header: str = ""
    seconds: float | None = None
    clock: Clock = attrs.field(default=time, kw_only=True, eq=False, repr=False)

    def mount(self, session: requests.Session, prefix: str) -> None:
        """Send every request of ``session`` to URLs starting with ``prefix`` under this policy.

        The timeout a request is sent with still bounds each connection and
        read; the deadline bounds them all.
        """
        session.mount(prefix, _PolicyAdapter(self))

    def deadline(self) -> Deadline:
        """The deadline of a request sent now."""
        return Deadline(network_timeout() if self.seconds is None else self.seconds, clock=self.clock)

    def retry(self, deadline: Deadline) -> urllib3.Retry:
        """urllib3's retries of one request under this policy, within ``deadline``."""
        return _PolicyRetry(
            total=self.retries,
            connect=None,
            read=None,
            redirect=0,
            status=None,
            other=0,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRIED_STATUSES,
            raise_on_redirect=False,
            raise_on_status=False,
            deadline=deadline,
            policy=self,
        )

    def is_rate_limit(self, status: int, headers: Any) -> bool:
        """Whether an answer is a rate limit: a 429, or a 403 with ``Retry-After`` or none remaining."""
        if status == 429:
            return True
        remaining = headers.get(self.remaining_header) if self.remaining_header else None
        return status == 403 and (bool(headers.get("Retry-After")) or (remaining or "").strip() == "0")

    def asked_wait(self, status: int, headers: Any) -> float | None:
        """The wait an answer asks for: ``Retry-After`` (seconds or a date), else the reset of a used-up limit."""
        retry_after = (headers.get("Retry-After") or "").strip()
        if retry_after:
            seconds = _header_float(headers, "Retry-After")
            if seconds is not None:
                return max(seconds, 0.0)
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(when.timestamp() - self.clock.time(), 0.0)
        reset = _header_float(headers, self.reset_header)
        if reset is not None and self.is_rate_limit(status, headers):
            return max(reset - self.clock.time(), 0.0) + RESET_MARGIN
        return None

    def backoff_for(self, retry: int) -> float:
        """The backoff before retry number ``retry`` (1 for the first)."""
        base = min(self.backoff * 2.0 ** (retry - 1), self.backoff_max)
        # Jitter spreads the retries of CI jobs that failed together.
        return base + random.uniform(0, base / 4)  # noqa: S311 - timing jitter, not cryptography

    def wait_for(self, retry: int, status: int | None, headers: Any) -> float:
        """The wait before retry number ``retry`` after an answer of ``status`` (None: no answer)."""
        return self._wait(retry, status, headers)[0]

    def _wait(self, retry: int, status: int | None, headers: Any) -> tuple[float, bool]:
        """:meth:`wait_for`, and whether the server asked for it."""
        if status is not None:
            asked = self.asked_wait(status, headers)
            if asked is not None:
                return asked, True
            if self.limit_wait is not None and self.is_rate_limit(status, headers):
                return self.limit_wait * 2.0 ** (retry - 1), False
        return self.backoff_for(retry), False


class _PolicyRetry(DeadlineRetry):
    """urllib3's ``Retry`` under a :class:`RetryPolicy`: it decides each retry and its wait, within the deadline."""

    def __init__(self, *args: Any, policy: RetryPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.wait = 0.0
        #: Why the answer this retry was given was not tried again ("" when it was not refused).
        self.gave_up = ""

    def new(self, **kw: Any) -> _PolicyRetry:
        kw.setdefault("policy", self.policy)
        return super().new(**kw)  # type: ignore[return-value]

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:  # noqa: ARG002
        # Every method: these answers say the work was not done (see the module's docstring).
        return status_code in RETRIED_STATUSES

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: urllib3.BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _PolicyRetry:
        status = response.status if response is not None and error is None else None
        headers = response.headers if status is not None and response is not None else {}
        if status == 403 and not self.policy.is_rate_limit(status, headers):
            raise MaxRetryError(_pool, url, ResponseError("HTTP 403 is no rate limit"))  # handed back: refused
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError:
            if status is not None:
                self.gave_up = self._exhausted()
            elif error is not None and self._is_read_error(error):
                # As urllib3 does when it may not retry: requests then tells a timeout as one.
                raise error.with_traceback(_stacktrace) from None
            raise
        wait, asked = self.policy._wait(len(retry.history), status, headers)
        refused = self._refusal(wait, asked=asked)
        if refused:
            self.gave_up = refused
            # A connection error stays the reason, for the caller's message; an answer is handed back.
            raise MaxRetryError(_pool, url, error or ResponseError(refused)) from error
        log.warning(
            "%s %s: %s; retrying in %.1f s", method, url, f"HTTP {status}" if status else type(error).__name__, wait
        )
        retry.wait = wait
        return retry

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:  # noqa: ARG002 - waited in increment's terms
        if self.wait > 0:
            self.policy.clock.sleep(self.wait)

    def _exhausted(self) -> str:
        assert self.deadline is not None
        if self.deadline.remaining() <= 0:
            return f"gave up after {len(self.history) + 1} tries: {_deadline_words(self.deadline)} ran out"
        return f"gave up after {len(self.history) + 1} tries"

    def _refusal(self, wait: float, *, asked: bool) -> str:
        """Why ``wait`` is not waited ("" when it is)."""
        assert self.deadline is not None
        what = f"it asks to wait {wait:.0f} s" if asked else f"the next try would be in {wait:.0f} s"
        if wait > self.policy.max_wait:
            return f"{what}, more than max_wait ({self.policy.max_wait:g} s)"
        left = self.deadline.remaining()
        if wait >= left:
            return f"{what}, more than the {left:.0f} s left of {_deadline_words(self.deadline)}"
        return ""


def _deadline_words(deadline: Deadline) -> str:
    return f"the {deadline.seconds:g} s that ${ENV_TIMEOUT} gives a request"


class _PolicyAdapter(HTTPAdapter):
    """requests' adapter sending each request as one operation: its own deadline and retries.

    requests hands urllib3 the adapter's ``max_retries``; here it is the
    retries of the request this thread is sending.
    """

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._sending = threading.local()
        super().__init__()

    @property
    def max_retries(self) -> urllib3.Retry:
        retry: urllib3.Retry = getattr(self._sending, "retry", self._idle_retries)
        return retry

    @max_retries.setter
    def max_retries(self, value: urllib3.Retry) -> None:
        self._idle_retries = value

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        deadline = self.policy.deadline()
        cap = timeout[1] if isinstance(timeout, tuple) else timeout
        self._sending.retry = self.policy.retry(deadline)
        try:
            # requests hands a urllib3 Timeout to urllib3 as it is (its stubs know only numbers).
            timeouts: Any = deadline.timeout(cap)
            return super().send(request, stream=stream, timeout=timeouts, verify=verify, cert=cert, proxies=proxies)
        finally:
            del self._sending.retry


def retry_stopped(response: requests.Response) -> str:
    """Why ``response``, an error answer, was not tried again: one phrase for an error message.

    "" when it was not retried by a :class:`RetryPolicy` (an answer that is
    never retried, such as a 404).
    """
    retry = getattr(response.raw, "retries", None)
    return retry.gave_up if isinstance(retry, _PolicyRetry) else ""
