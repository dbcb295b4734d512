"""The GitLab REST API v4 client: one ``requests.Session``, timeouts, retries, rate limits, pages.

Every request:

- carries a timeout (connect and read);
- sends the token as ``PRIVATE-TOKEN``, read from its environment variable at
  that moment, and never writes it to a log or an error message;
- is one network operation: its tries and waits end within
  ``$FABPROMOTE_NETWORK_TIMEOUT``;
- is retried by urllib3, mounted on the session by a
  :class:`fabpromote.network.RetryPolicy`: with exponential backoff on 5xx
  answers, connection errors and timeouts of idempotent requests, and after
  the wait a 429 asks for (``Retry-After``, else ``RateLimit-Reset``);
- follows no redirect: a redirect would carry the token to another address.

Failures raise :class:`~fabpromote.exceptions.GitHostError` with the HTTP
status and a message that says what to do (``401``: which variable to set).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import attrs
import requests

from fabpromote.exceptions import GitHostError
from fabpromote.network import Clock, retry_stopped
from fabpromote.rest import HostErrors, RestClient, TokenAuth, origin

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_TOKEN_ENV", "Api", "message_of"]

log = logging.getLogger("fabpromote.gitlab")

HOST = "gitlab"
DEFAULT_TIMEOUT = 30.0
DEFAULT_TOKEN_ENV = "GITLAB_TOKEN"  # noqa: S105 - the name of a variable, not a token
DEFAULT_RETRIES = 4
MAX_PER_PAGE = 100
#: Longest wait for a rate limit or between retries; a longer one fails at once.
MAX_WAIT = 120.0
#: GitLab's rate-limit headers (the reset in epoch seconds).
REMAINING_HEADER, RESET_HEADER = "RateLimit-Remaining", "RateLimit-Reset"
_SHOWN_BODY = 300
_TAG = re.compile(r"<[^>]*>")


def message_of(response: requests.Response) -> str:
    """The error message GitLab sent: ``{"message": ...}`` or ``{"error": ...}``, else the text."""
    try:
        body = response.json()
    except ValueError:
        # Proxies and load balancers answer in HTML: keep the words.
        text = " ".join(_TAG.sub(" ", response.text).split())
        return text[:_SHOWN_BODY] or (response.reason or "")
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if body.get(key):
                return _flatten(body[key])
    return _flatten(body)[:_SHOWN_BODY]


def _flatten(value: Any) -> str:
    """GitLab's messages are strings, lists, or ``{field: [problems]}``: one line of text."""
    if isinstance(value, dict):
        return "; ".join(f"{key} {_flatten(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(_flatten(item) for item in value)
    return str(value)


def _without_slash(url: str) -> str:
    return str(url).rstrip("/")


@attrs.define
class Api(RestClient):
    """A client of one GitLab REST API.

    A :class:`fabpromote.rest.RestClient`: the token goes as ``PRIVATE-TOKEN``,
    no redirect is followed, and GitLab's answers get GitLab's messages (every
    error a :class:`~fabpromote.exceptions.GitHostError` of host ``gitlab``).

    Args:
        base_url: The API root, e.g. ``https://gitlab.com/api/v4``.
        token_env: The environment variable holding the token.
        timeout: Seconds to wait to connect, and for each read.
        retries: How many times a failed request is tried again.
        backoff: The first wait between tries, doubled each time (with jitter).
        session: The session to use; one new session by default. Its
            requests to ``base_url`` are retried under :attr:`retry_policy`.
        clock: What waits are spent on: :mod:`time`; tests give a
            :class:`fabpromote.testing.clock.FakeClock`.
    """

    label: ClassVar[str] = "GitLab"
    auth: ClassVar[TokenAuth] = TokenAuth.in_header("PRIVATE-TOKEN")
    errors: ClassVar[HostErrors] = HostErrors(error=GitHostError, not_found=GitHostError, authentication=GitHostError)
    follow_redirects: ClassVar[bool] = False
    remaining_header: ClassVar[str] = REMAINING_HEADER
    reset_header: ClassVar[str] = RESET_HEADER
    backoff_max: ClassVar[float] = MAX_WAIT

    base_url: str = attrs.field(converter=_without_slash)
    token_env: str = DEFAULT_TOKEN_ENV
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    backoff: float = 0.5
    session: requests.Session = attrs.Factory(requests.Session)
    clock: Clock = attrs.field(default=time, repr=False)

    def __attrs_post_init__(self) -> None:
        self.mount_retries()

    @property
    def api_url(self) -> str:
        """The API root (:attr:`base_url`)."""
        return self.base_url

    @property
    def max_retries(self) -> int:
        """How many times a failed request is tried again (:attr:`retries`)."""
        return self.retries

    @property
    def max_wait(self) -> float:
        """The longest wait GitLab may ask for: :data:`MAX_WAIT`."""
        return MAX_WAIT

    # Requests

    def request(  # type: ignore[override]  # GitLab's own contract: any 2xx, and the statuses in allow
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        allow: tuple[int, ...] = (),
        project: str = "",
    ) -> requests.Response:
        """Send one request, retried as needed; a failure other than ``allow`` raises.

        Args:
            path: Relative to the API root (``projects/...``), or a full URL on
                the API's own origin (pagination links).
            allow: Error statuses the caller handles itself (e.g. ``404``).
            project: The project's path, for the "not found" message.

        Raises:
            GitHostError: The request failed, with its HTTP status when there was one.
        """
        url = self.url(path)
        shown = self.shown(url)
        response = self.send(method, url, shown, params=params, json=json)
        log.debug("GitLab %s %s -> %d", method, shown, response.status_code)
        status = response.status_code
        if status < 300 or (status in allow and not _project_missing(response, project)):
            return response
        raise self._error(response, method, shown, project)

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, project: str = "") -> Any:
        """The JSON of a GET that must succeed."""
        return self.json(self.request("GET", path, params=params, project=project))

    def pages(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        limit: int | None = None,
        project: str = "",
    ) -> Iterator[Any]:
        """Every item of a paginated list, page after page, at most ``limit`` of them.

        Follows the ``Link: <...>; rel="next"`` header (offset and keyset
        pagination), else ``X-Next-Page``; stops when neither names a next page.
        """
        per_page = MAX_PER_PAGE if limit is None else max(1, min(limit, MAX_PER_PAGE))
        query: dict[str, Any] | None = {"per_page": per_page, **(params or {})}
        url = path
        count = 0
        while True:
            response = self.request("GET", url, params=query, project=project)
            items = self.json(response)
            if not isinstance(items, list):
                raise GitHostError(f"GitLab sent no list for {self.shown(self.url(url))}", host=HOST)
            for item in items:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            link = response.links.get("next", {}).get("url")
            next_page = response.headers.get("X-Next-Page", "").strip()
            if link:
                url, query = link, None
            elif next_page and items:
                query = {**(query or {}), "page": next_page}
            else:
                return

    def json(self, response: requests.Response) -> Any:
        """The JSON body of a successful answer; a body that is not JSON (a proxy's page) is an error."""
        try:
            return response.json()
        except ValueError:
            shown = self.shown(response.request.url or "") if response.request else self.base_url
            raise GitHostError(
                f"GitLab answered {shown} with no JSON (HTTP {response.status_code}): {message_of(response)}",
                host=HOST,
                status=response.status_code,
            ) from None

    # What differs from the base

    def headers(self) -> dict[str, str]:
        """JSON is asked for on each request (the session may be the caller's), with the token."""
        return {"Accept": "application/json", **super().headers()}

    def off_origin(self, url: str) -> str:
        """A link to another server is not followed: the token must not go anywhere else."""
        return self.redact(f"GitLab sent a link to another server ({origin(url)}); not following it")

    def shown(self, url: str) -> str:
        """A request is named by its whole URL, without the query."""
        return self.redact(url.split("?", 1)[0])

    def error_options(self) -> dict[str, Any]:
        """Every error is a GitHostError of host ``gitlab``."""
        return {"host": HOST}

    def unreachable(self, exc: BaseException, method: str, shown: str) -> GitHostError:
        """GitLab could not be reached, and why."""
        return GitHostError(
            self.redact(f"cannot reach GitLab ({method} {shown}): {self.reason(exc, method)}"), host=HOST
        )

    def _error(self, response: requests.Response, method: str, shown: str, project: str) -> GitHostError:
        status = response.status_code
        message = message_of(response)
        variable = self.token_env
        stopped = retry_stopped(response)
        if status == 401:
            if self.token():
                advice = f"the token in ${variable} was refused (expired, revoked, or for another server?)"
            else:
                advice = f"set ${variable} to a GitLab access token (scope api)"
            text = f"GitLab authentication failed (HTTP 401) at {self.shown(self.base_url)}: {advice}"
        elif status == 403:
            text = (
                f"GitLab refused {method} {shown} (HTTP 403): the token in ${variable} lacks the role "
                f"or scope for it: {message}"
            )
        elif _project_missing(response, project):
            text = f"repository {project} not found (or the token cannot see it) at {self.shown(self.base_url)}"
        elif status == 429:
            text = f"GitLab rate limit hit ({method} {shown}); try again later: {message}"
            text += f"; {stopped}" if stopped else ""
        elif 300 <= status < 400:
            target = response.headers.get("Location", "?")
            text = f"GitLab redirected {method} {shown} to {target.split('?', 1)[0]}: set api_url to the API's address"
        else:
            text = f"GitLab {method} {shown} failed (HTTP {status}): {message}"
            text += f"; {stopped}" if stopped else ""
        response.close()
        return GitHostError(self.redact(text), host=HOST, status=status)


def _project_missing(response: requests.Response, project: str) -> bool:
    """A 404 about the project itself, which callers allowing a 404 (of a branch, a file) never mean."""
    return bool(project) and response.status_code == 404 and "project not found" in message_of(response).lower()
