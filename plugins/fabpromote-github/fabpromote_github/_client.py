"""The REST client: one ``requests.Session`` per API base, with timeouts, retries and rate limits.

Every request carries a timeout, and is one network operation: its tries
and waits end within ``$FABPROMOTE_NETWORK_TIMEOUT``. The retries are
urllib3's, mounted on the session by a :class:`fabpromote.network.RetryPolicy`:
connection failures, 5xx answers and timeouts of idempotent requests are
tried again with exponential backoff (and jitter). Rate limits are honoured
as GitHub documents them: a ``Retry-After`` header is waited out; a primary
limit (``X-RateLimit-Remaining: 0``) waits until ``X-RateLimit-Reset``; a 429
naming neither waits a minute, doubling. A wait longer than ``max_wait`` or
past the deadline is an error at once instead of a hang. Lists follow
``Link: rel="next"``.

The token is read from the environment for each request, sent only in the
``Authorization`` header, never logged, and redacted from every error.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import attrs
import requests

from fabpromote.network import IDEMPOTENT_METHODS, Clock, network_timeout
from fabpromote.rest import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
    HostErrors,
    RestClient,
    SettingChecks,
    TokenAuth,
    may_have_been_done,
)
from fabpromote_github._errors import (
    GitHubAuthenticationError,
    GitHubError,
    GitHubNotFoundError,
    GitHubRateLimitError,
    GitHubSettingsError,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_ENV",
    "GitHubClient",
]

log = logging.getLogger("fabpromote.github")

DEFAULT_TOKEN_ENV = "GITHUB_TOKEN"  # noqa: S105 - the name of the variable, not a token
#: GitHub: "otherwise, wait for at least one minute before retrying" (secondary limits).
SECONDARY_LIMIT_WAIT = 60.0
#: Added to X-RateLimit-Reset: the reset is in whole seconds and clocks drift.
RESET_MARGIN = 0.5
#: GitHub's rate-limit headers (the reset in epoch seconds).
REMAINING_HEADER, RESET_HEADER = "X-RateLimit-Remaining", "X-RateLimit-Reset"
API_VERSION = "2022-11-28"
PER_PAGE = 100

#: The checks of the settings, raising GitHubSettingsError.
CHECKS = SettingChecks(GitHubSettingsError, DEFAULT_TOKEN_ENV)


# Named functions: mypy's attrs plugin takes no bound method nor (strictly) lambda as a converter.
def _api_url(value: Any) -> str:
    return CHECKS.api_url(value)


def _token_env(value: Any) -> str:
    return CHECKS.token_env(value)


def _timeout(value: Any) -> float:
    return CHECKS.number("timeout", value, float)


def _max_retries(value: Any) -> int:
    return CHECKS.number("max_retries", value, int)


def _backoff(value: Any) -> float:
    return CHECKS.number("backoff", value, float)


def _max_wait(value: Any) -> float:
    return CHECKS.number("max_wait", value, float)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _new_session() -> requests.Session:
    from importlib.metadata import PackageNotFoundError, version

    try:
        agent = f"fabpromote-github/{version('fabpromote-github')}"
    except PackageNotFoundError:  # Run from a source tree that is not installed.
        agent = "fabpromote-github"
    session = requests.Session()
    session.headers.update(
        {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION, "User-Agent": agent}
    )
    return session


@attrs.define
class GitHubClient(RestClient):
    """Talks to one GitHub REST API base (``https://api.github.com``, ``https://HOST/api/v3``).

    A :class:`fabpromote.rest.RestClient`: the token goes as ``Authorization:
    Bearer``; GitHub's rate limits (primary and secondary) are honoured, and a
    used-up primary limit makes the next request wait for its reset. Its
    :meth:`request` raises GitHubAuthenticationError (HTTP 401),
    GitHubNotFoundError (404 unless expected), GitHubRateLimitError (a limit
    lasting longer than ``max_wait`` or the rest of
    ``$FABPROMOTE_NETWORK_TIMEOUT``), GitHubError (any other failure).

    Args:
        api_url: The API base URL.
        token_env: The environment variable holding the token.
        timeout: Seconds to wait for a connection and for each read.
        max_retries: How many times a failed request is tried again.
        backoff: The first retry's delay in seconds; it doubles each time.
        max_wait: The longest wait (rate limit or retry) before giving up.
        clock: What waits are spent on: :mod:`time`; tests give a
            :class:`fabpromote.testing.clock.FakeClock`.

    Attributes:
        session: The one ``requests.Session`` of this API base; its requests
            to the API are retried under :attr:`retry_policy`.
    """

    label: ClassVar[str] = "GitHub"
    auth: ClassVar[TokenAuth] = TokenAuth.bearer()
    errors: ClassVar[HostErrors] = HostErrors(
        error=GitHubError,
        not_found=GitHubNotFoundError,
        authentication=GitHubAuthenticationError,
        rate_limit=GitHubRateLimitError,
    )
    remaining_header: ClassVar[str] = REMAINING_HEADER
    reset_header: ClassVar[str] = RESET_HEADER
    limit_wait: ClassVar[float | None] = SECONDARY_LIMIT_WAIT
    rights: ClassVar[str] = "permissions"

    api_url: str = attrs.field(converter=_api_url)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=_token_env)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, converter=_timeout)
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, converter=_max_retries)
    backoff: float = attrs.field(default=DEFAULT_BACKOFF, converter=_backoff)
    max_wait: float = attrs.field(default=DEFAULT_MAX_WAIT, converter=_max_wait)
    session: requests.Session = attrs.field(factory=_new_session, repr=False)
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    _paused_until: float = attrs.field(init=False, default=0.0, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)

    def __attrs_post_init__(self) -> None:
        self.mount_retries()

    # Requests

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, expect: tuple[int, ...] = (200,)) -> Any:
        """The JSON of a GET; None for an expected status other than 200."""
        response = self.request("GET", path, params=params, expect=expect)
        return response.json() if response.status_code == 200 else None

    def pages(self, path: str, *, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """The JSON of each page of a list, following ``Link: rel="next"``."""
        query: Mapping[str, Any] | None = {"per_page": PER_PAGE, **(params or {})}
        target = path
        while True:
            response = self.request("GET", target, params=query)
            yield response.json()
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            target, query = following, None  # The next URL carries the whole query.

    def paginate(
        self, path: str, *, params: Mapping[str, Any] | None = None, key: str | None = None, limit: int | None = None
    ) -> Iterator[Any]:
        """The items of a list, page after page.

        Args:
            key: The field holding the list when pages are objects
                (``statuses`` of a combined status).
            limit: Stop after this many items (no page beyond is fetched).
        """
        count = 0
        for page in self.pages(path, params=params):
            items = page.get(key) if key is not None and isinstance(page, dict) else page
            if not isinstance(items, list):
                raise GitHubError(self.redact(f"GitHub GET {urlsplit(path).path}: expected a list"))
            if not items:
                return
            for item in items:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return

    # What differs from the base

    def unreachable(self, exc: BaseException, method: str, shown: str) -> GitHubError:
        """A connection that failed or timed out cannot reach GitHub; any other failure is told as it is."""
        if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
            return GitHubError(
                self.redact(f"cannot reach GitHub at {self.api_url}: {self.reason(exc, method)} ({method} {shown})")
            )
        return GitHubError(self.redact(f"GitHub {method} {shown}: {self.reason(exc, method)}"))

    def reason(self, exc: BaseException, method: str) -> str:
        """Why a request got no answer: the timeout in seconds, or the system's words (``Connection refused``)."""
        if may_have_been_done(exc) or (
            isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectionError)
        ):
            if method.upper() not in IDEMPOTENT_METHODS:
                # It may have been done: sending it again could do it twice.
                return f"no answer within {self.timeout:g} s; not sent again, as the {method} may have been done"
            return f"no answer within {self.timeout:g} s"
        text = str(exc)
        found = _ERRNO.search(text)
        if found:
            return found.group(1).strip()
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return f"no connection within {self.timeout:g} s"
        return text or type(exc).__name__

    def rate_limited(self, response: requests.Response) -> bool:
        """A rate limit by its headers, or a 403 whose message says so."""
        # A secondary limit may say so only in its message: it is not retried (GitHub asks
        # for a minute or more then, past the default deadline), but it is named a limit.
        return super().rate_limited(response) or (
            response.status_code == 403 and "rate limit" in self.message(response).lower()
        )

    def auth_advice(self, status: int, message: str) -> str:
        """A missing token is asked for; a refused one is said refused."""
        if self.token() is None:
            return f"authentication required (HTTP {status}): set ${self.token_env} to a GitHub token"
        return f"authentication failed (HTTP {status}: {message}): the token in ${self.token_env} was refused"

    # Rate limits

    def before_send(self) -> None:
        """Wait for the reset of a used-up primary limit (see :meth:`_wait_for_reset`)."""
        self._wait_for_reset()

    def answered(self, response: requests.Response) -> None:
        """Note a used-up primary limit (see :meth:`_note_limits`)."""
        self._note_limits(response)

    def _wait_for_reset(self) -> None:
        """Wait for the reset of a primary limit the last answer used up, when it comes soon enough.

        GitHub warns that requests sent while limited may get an integration
        banned; a reset further away is left to the answer's own retry rules
        (which refuse, with a clear error, what they will not wait).
        """
        with self._lock:
            wait = self._paused_until - self.clock.time()
        if 0 < wait <= min(self.max_wait, network_timeout()):
            log.warning("GitHub rate limit used up; waiting %.1f s for it to reset", wait)
            self.clock.sleep(wait)

    def _note_limits(self, response: requests.Response) -> None:
        """Remember a used-up primary limit, so that the next request waits for the reset."""
        log.debug("GitHub rate limit remaining %s", response.headers.get(REMAINING_HEADER, "?"))
        if response.headers.get(REMAINING_HEADER) != "0" or response.status_code >= 400:
            return
        reset = _float(response.headers.get(RESET_HEADER))
        if reset is not None:
            with self._lock:
                self._paused_until = reset + RESET_MARGIN


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
