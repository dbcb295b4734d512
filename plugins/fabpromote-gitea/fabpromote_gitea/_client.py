"""The REST client: one ``requests.Session`` per API base, with timeouts and retries.

Every request carries a timeout and is one network operation: its tries and
waits end within ``$FABPROMOTE_NETWORK_TIMEOUT``. Retries are urllib3's,
mounted by a :class:`fabpromote.network.RetryPolicy`: connection failures,
5xx answers, 429s (Gitea has no rate limit of its own, but the proxy in front
of it may, with ``Retry-After``) and timeouts of idempotent requests are tried
again with exponential backoff. Lists follow ``Link: rel="next"``.

The token is read from the environment for each request, sent only in the
``Authorization: token ...`` header Gitea and Forgejo document, and redacted
from every error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

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
    error_message,
)
from fabpromote_gitea._errors import (
    GiteaAuthenticationError,
    GiteaError,
    GiteaNotFoundError,
    GiteaSettingsError,
)

__all__ = ["CHECKS", "DEFAULT_TOKEN_ENV", "GiteaClient", "message", "token_env"]

DEFAULT_TOKEN_ENV = "GITEA_TOKEN"  # noqa: S105 - the name of the variable, not a token
#: Gitea's default ``[api] MAX_RESPONSE_ITEMS`` is 50: asking for more gets 50.
PAGE_LIMIT = 50
MESSAGE_LENGTH = 500

#: The checks of the settings, raising GiteaSettingsError.
CHECKS = SettingChecks(GiteaSettingsError, DEFAULT_TOKEN_ENV)


def api_url(value: Any) -> str:
    """An ``api_url`` setting, checked: an http(s) URL without credentials, no trailing slash."""
    return CHECKS.api_url(value)


def token_env(value: Any) -> str:
    """A ``token_env`` setting, checked: the name of an environment variable."""
    return CHECKS.token_env(value)


@attrs.define
class GiteaClient(RestClient):
    """Talks to one Gitea or Forgejo REST API (``https://HOST/api/v1``).

    A :class:`fabpromote.rest.RestClient`: the token goes as ``Authorization:
    token``; errors are named after ``kind``.

    Args:
        api_url: The API base URL.
        token_env: The environment variable holding the token.
        kind: ``gitea`` or ``forgejo``: the name errors carry.
        timeout: Seconds to wait for a connection and for each read.
        max_retries: How many times a failed request is tried again.
        backoff: The first retry's delay in seconds; it doubles each time.
        max_wait: The longest wait a server may ask for (``Retry-After``).
        clock: What waits are spent on; tests give a fake clock.
    """

    auth: ClassVar[TokenAuth] = TokenAuth.with_scheme("token")
    errors: ClassVar[HostErrors] = HostErrors(
        error=GiteaError, not_found=GiteaNotFoundError, authentication=GiteaAuthenticationError
    )

    api_url: str = attrs.field(converter=api_url)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=token_env)
    kind: str = "gitea"
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff: float = DEFAULT_BACKOFF
    max_wait: float = DEFAULT_MAX_WAIT
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    session: requests.Session = attrs.field(init=False, factory=requests.Session, repr=False)

    def __attrs_post_init__(self) -> None:
        self.session.headers.update({"Accept": "application/json", "User-Agent": "fabpromote-gitea"})
        self.mount_retries()

    def title(self) -> str:
        """``gitea`` or ``forgejo``."""
        return self.kind

    def error_options(self) -> dict[str, Any]:
        """Every error names the kind of server."""
        return {"host": self.kind}

    def message(self, response: requests.Response) -> str:
        """What an error answer says (see :func:`message`)."""
        return message(response)

    def get(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON of a GET answered 200."""
        return self.request("GET", path, params=params).json()

    def paginate(self, path: str, *, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """The items of a list, page after page (``Link: rel="next"``, as Gitea sends it)."""
        query: Mapping[str, Any] | None = {"limit": PAGE_LIMIT, **(params or {})}
        target = path
        while True:
            response = self.request("GET", target, params=query)
            items = response.json()
            if not isinstance(items, list):
                raise GiteaError(self.redact(f"{self.kind} GET {urlsplit(path).path}: expected a list"), host=self.kind)
            yield from items
            following = response.links.get("next", {}).get("url")
            if not following or not items:
                return
            target, query = following, None  # The next URL carries the whole query.


def message(response: requests.Response) -> str:
    """What an error answer says: Gitea's ``message`` (and ``errors``), a bare JSON string, or the body's start."""
    return error_message(response, length=MESSAGE_LENGTH)
