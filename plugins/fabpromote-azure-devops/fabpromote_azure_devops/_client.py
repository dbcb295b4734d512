"""The REST client: one ``requests.Session`` per organization (collection), with retries and throttling.

Every request carries ``api-version`` (:data:`API_VERSION`) and the personal
access token as Azure DevOps takes it: HTTP Basic with an empty user name.
Each request is one network operation: its tries and waits end within
``$FABPROMOTE_NETWORK_TIMEOUT``. The retries are urllib3's, mounted by a
:class:`fabpromote.network.RetryPolicy`: connection failures, 5xx answers and
throttling (429 with ``Retry-After``, or ``X-RateLimit-Remaining: 0`` and
``X-RateLimit-Reset``) are tried again; a wait longer than ``max_wait`` or
past the deadline is an error at once. Lists are ``{"count", "value"}``.

The token is read from the environment for each request, sent only in the
``Authorization`` header, never logged, and redacted from every error.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import requests

from fabpromote.git import redact
from fabpromote.network import (
    IDEMPOTENT_METHODS,
    Clock,
    RetryPolicy,
    api_url_setting,
    number_setting,
    request_failure,
    retry_stopped,
    token_env_setting,
)
from fabpromote_azure_devops._errors import (
    AzureDevOpsAuthenticationError,
    AzureDevOpsError,
    AzureDevOpsNotFoundError,
    AzureDevOpsRateLimitError,
    AzureDevOpsSettingsError,
)

N = TypeVar("N", int, float)

__all__ = ["API_VERSION", "DEFAULT_TOKEN_ENV", "AzureClient", "error_message"]

log = logging.getLogger("fabpromote.azure_devops")

#: The REST API version every request asks for (Azure DevOps Services, and the Server releases that serve it).
API_VERSION = "7.1"
#: The variable the Azure CLI's devops extension reads a personal access token from.
DEFAULT_TOKEN_ENV = "AZURE_DEVOPS_EXT_PAT"  # noqa: S105 - the name of the variable, not a token
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_WAIT = 600.0
MAX_BACKOFF = 60.0
#: Azure DevOps' throttling headers (the reset in epoch seconds).
REMAINING_HEADER, RESET_HEADER = "X-RateLimit-Remaining", "X-RateLimit-Reset"
MESSAGE_LENGTH = 500


def api_url(value: Any) -> str:
    """An ``api_url`` setting: the organization's (collection's) http(s) URL, without credentials."""
    return api_url_setting(value, AzureDevOpsSettingsError)


def number(name: str, value: Any, kind: type[N]) -> N:
    """A numeric setting, refused in one line when it is not a positive number."""
    return number_setting(name, value, kind, AzureDevOpsSettingsError)


def token_env(value: Any) -> str:
    """A ``token_env`` setting: the name of an environment variable (default :data:`DEFAULT_TOKEN_ENV`)."""
    return token_env_setting(value, DEFAULT_TOKEN_ENV, AzureDevOpsSettingsError)


def _session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": "fabpromote-azure-devops"})
    return session


@attrs.define
class AzureClient:
    """Talks to one organization's (collection's) REST API: ``https://dev.azure.com/ORG``.

    Args:
        api_url: The organization's URL; paths below it start with the project.
        token_env: The environment variable holding the personal access token.
        timeout: Seconds to wait for a connection and for each read.
        max_retries: How many times a failed request is tried again.
        backoff: The first retry's delay in seconds; it doubles each time.
        max_wait: The longest wait (throttling or retry) before giving up.
        clock: What waits are spent on (tests give a ``FakeClock``).
    """

    api_url: str = attrs.field(converter=api_url)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=token_env)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_wait: float = DEFAULT_MAX_WAIT
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    session: requests.Session = attrs.field(factory=_session, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        RetryPolicy(
            retries=self.max_retries,
            backoff=self.backoff,
            backoff_max=MAX_BACKOFF,
            max_wait=self.max_wait,
            remaining_header=REMAINING_HEADER,
            reset_header=RESET_HEADER,
            clock=self.clock,
        ).mount(self.session, self.api_url + "/")

    def token(self) -> str | None:
        """The token, read from ``token_env`` now; None when unset or empty."""
        return os.environ.get(self.token_env) or None

    def redact(self, text: str) -> str:
        """``text`` without the token, nor credentials in URLs."""
        token = self.token()
        return redact(text, [token] if token else [])

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """Send ``method`` to ``path`` (below :attr:`api_url`, parts quoted) with ``api-version``.

        Raises:
            AzureDevOpsAuthenticationError: HTTP 401, or 203 (the sign-in page a refused token gets).
            AzureDevOpsNotFoundError: HTTP 404 (unless expected).
            AzureDevOpsRateLimitError: Throttled for longer than ``max_wait`` or the deadline.
            AzureDevOpsError: Any other unexpected status, or Azure DevOps cannot be reached.
        """
        url = self.api_url + path
        query = {**(params or {}), "api-version": API_VERSION}
        headers = {}
        token = self.token()
        if token:
            # A personal access token is the password of HTTP Basic, with an empty user name.
            headers["Authorization"] = "Basic " + base64.b64encode(f":{token}".encode()).decode()
        try:
            response = self.session.request(
                method, url, params=query, json=json, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise AzureDevOpsError(
                self.redact(
                    f"cannot reach Azure DevOps at {self.api_url}: {self._reason(exc, method)} ({method} {path})"
                )
            ) from exc
        log.debug("Azure DevOps %s %s -> %d", method, path, response.status_code)
        if response.status_code in expect:
            return response
        error = self._failure(response, method, path)
        response.close()
        raise error

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON of a GET answered 200."""
        return self.request("GET", path, params=params).json()

    def values(self, path: str, *, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every item of a list (``{"count", "value"}``), page after page.

        Pages follow the ``x-ms-continuationtoken`` header, or ``$skip`` when
        ``params`` gave ``$top`` and a page came back full.
        """
        items: list[Any] = []
        query: dict[str, Any] = dict(params or {})
        while True:
            response = self.request("GET", path, params=query)
            batch = response.json().get("value") or []
            items += batch
            token = response.headers.get("x-ms-continuationtoken")
            if token:
                query["continuationToken"] = token
            elif "$top" in query and len(batch) == query["$top"]:
                query["$skip"] = int(query.get("$skip", 0)) + len(batch)
            else:
                return items
            if not batch:
                return items

    def _failure(self, response: requests.Response, method: str, path: str) -> AzureDevOpsError:
        status = response.status_code
        message = error_message(response)
        where = f"Azure DevOps {method} {path}"
        stopped = retry_stopped(response)
        if status == 429 or (status == 503 and response.headers.get("Retry-After")):
            return AzureDevOpsRateLimitError(
                self.redact(f"{where}: throttled (HTTP {status}): {message}" + (f"; {stopped}" if stopped else "")),
                status=status,
            )
        if status in (401, 203) or 300 <= status < 400:
            # A refused token gets 401, or (203, or a redirect) the sign-in page.
            advice = (
                f"set ${self.token_env} to a personal access token"
                if self.token() is None
                else f"the personal access token in ${self.token_env} was refused or has expired"
            )
            return AzureDevOpsAuthenticationError(
                self.redact(f"{where}: authentication failed (HTTP {status}): {advice}"),
                status=status,
                variable=self.token_env,
            )
        if status == 403:
            return AzureDevOpsError(
                self.redact(
                    f"{where}: access denied (HTTP 403): {message}; check the scopes of the token in ${self.token_env}"
                ),
                status=403,
            )
        if status == 404:
            return AzureDevOpsNotFoundError(self.redact(f"{where}: not found (HTTP 404): {message}"), status=404)
        return AzureDevOpsError(
            self.redact(f"{where}: HTTP {status}: {message}" + (f"; {stopped}" if stopped else "")), status=status
        )

    def _reason(self, exc: BaseException, method: str) -> str:
        text = request_failure(exc)
        if "timed out" in text.lower() and method.upper() not in IDEMPOTENT_METHODS:
            # It may have been done: sending it again could do it twice.
            return f"{text}; not sent again, as the {method} may have been done"
        return text


def error_message(response: requests.Response) -> str:
    """Azure DevOps' ``message`` (``TF401179: ...``), or the start of the body."""
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:MESSAGE_LENGTH] or response.reason or f"HTTP {response.status_code}"
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]).strip()[:MESSAGE_LENGTH]
    return str(data)[:MESSAGE_LENGTH]
