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

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import requests

from fabpromote.network import Clock
from fabpromote.rest import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
    HostErrors,
    RestClient,
    SettingChecks,
    TokenAuth,
)
from fabpromote.rest import error_message as answer_message
from fabpromote_azure_devops._errors import (
    AzureDevOpsAuthenticationError,
    AzureDevOpsError,
    AzureDevOpsNotFoundError,
    AzureDevOpsRateLimitError,
    AzureDevOpsSettingsError,
)

__all__ = ["API_VERSION", "CHECKS", "DEFAULT_TOKEN_ENV", "AzureClient", "error_message"]

#: The REST API version every request asks for (Azure DevOps Services, and the Server releases that serve it).
API_VERSION = "7.1"
#: The variable the Azure CLI's devops extension reads a personal access token from.
DEFAULT_TOKEN_ENV = "AZURE_DEVOPS_EXT_PAT"  # noqa: S105 - the name of the variable, not a token
#: Azure DevOps' throttling headers (the reset in epoch seconds).
REMAINING_HEADER, RESET_HEADER = "X-RateLimit-Remaining", "X-RateLimit-Reset"
MESSAGE_LENGTH = 500

#: The checks of the settings, raising AzureDevOpsSettingsError.
CHECKS = SettingChecks(AzureDevOpsSettingsError, DEFAULT_TOKEN_ENV)


def api_url(value: Any) -> str:
    """An ``api_url`` setting: the organization's (collection's) http(s) URL, without credentials."""
    return CHECKS.api_url(value)


def token_env(value: Any) -> str:
    """A ``token_env`` setting: the name of an environment variable (default :data:`DEFAULT_TOKEN_ENV`)."""
    return CHECKS.token_env(value)


def _session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"Accept": "application/json", "User-Agent": "fabpromote-azure-devops"})
    return session


@attrs.define
class AzureClient(RestClient):
    """Talks to one organization's (collection's) REST API: ``https://dev.azure.com/ORG``.

    A :class:`fabpromote.rest.RestClient`: the personal access token goes as
    HTTP Basic with an empty user name, every request asks for
    :data:`API_VERSION`, no redirect is followed (a refused token is sent to
    the sign-in page), and messages name paths below the organization. Its
    :meth:`request` raises AzureDevOpsAuthenticationError (HTTP 401, or 203:
    the sign-in page a refused token gets), AzureDevOpsNotFoundError (404 unless
    expected), AzureDevOpsRateLimitError (throttled for longer than
    ``max_wait`` or the deadline), AzureDevOpsError (any other failure).

    Args:
        api_url: The organization's URL; paths below it start with the project.
        token_env: The environment variable holding the personal access token.
        timeout: Seconds to wait for a connection and for each read.
        max_retries: How many times a failed request is tried again.
        backoff: The first retry's delay in seconds; it doubles each time.
        max_wait: The longest wait (throttling or retry) before giving up.
        clock: What waits are spent on (tests give a ``FakeClock``).
    """

    label: ClassVar[str] = "Azure DevOps"
    auth: ClassVar[TokenAuth] = TokenAuth.http_basic()
    errors: ClassVar[HostErrors] = HostErrors(
        error=AzureDevOpsError,
        not_found=AzureDevOpsNotFoundError,
        authentication=AzureDevOpsAuthenticationError,
        rate_limit=AzureDevOpsRateLimitError,
    )
    follow_redirects: ClassVar[bool] = False
    remaining_header: ClassVar[str] = REMAINING_HEADER
    reset_header: ClassVar[str] = RESET_HEADER
    rate_limit_words: ClassVar[str] = "throttled"

    api_url: str = attrs.field(converter=api_url)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=token_env)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_wait: float = DEFAULT_MAX_WAIT
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    session: requests.Session = attrs.field(factory=_session, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.mount_retries()

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

    # What differs from the base

    def query(self, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Every request asks for :data:`API_VERSION`."""
        return {**(params or {}), "api-version": API_VERSION}

    def shown(self, url: str) -> str:
        """A request is named by its path below the organization."""
        return url.removeprefix(self.api_url)

    def message(self, response: requests.Response) -> str:
        """What an error answer says (see :func:`error_message`)."""
        return error_message(response)

    def rate_limited(self, response: requests.Response) -> bool:
        """A 429, or a 503 naming when to come back (Azure DevOps' throttling)."""
        status = response.status_code
        return status == 429 or (status == 503 and bool(response.headers.get("Retry-After")))

    def token_refused(self, status: int) -> bool:
        """A refused token gets 401, or (203, or a redirect) the sign-in page."""
        return status in (401, 203) or 300 <= status < 400

    def auth_advice(self, status: int, message: str) -> str:  # noqa: ARG002 - the sign-in page's text says nothing
        """The token is asked for, or said refused or expired."""
        advice = (
            f"set ${self.token_env} to a personal access token"
            if self.token() is None
            else f"the personal access token in ${self.token_env} was refused or has expired"
        )
        return f"authentication failed (HTTP {status}): {advice}"


def _said(data: Any) -> str:
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"]).strip()
    return str(data)


def error_message(response: requests.Response) -> str:
    """Azure DevOps' ``message`` (``TF401179: ...``), or the start of the body."""
    return answer_message(response, _said, length=MESSAGE_LENGTH)
