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

import logging
import os
import time
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import requests

from fabpromote.git import redact
from fabpromote.network import (
    Clock,
    RetryPolicy,
    api_url_setting,
    number_setting,
    request_failure,
    retry_stopped,
    token_env_setting,
)
from fabpromote_gitea._errors import (
    GiteaAuthenticationError,
    GiteaError,
    GiteaNotFoundError,
    GiteaSettingsError,
)

N = TypeVar("N", int, float)

__all__ = ["DEFAULT_TOKEN_ENV", "GiteaClient", "api_url", "number", "token_env"]

log = logging.getLogger("fabpromote.gitea")

DEFAULT_TOKEN_ENV = "GITEA_TOKEN"  # noqa: S105 - the name of the variable, not a token
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_WAIT = 600.0
MAX_BACKOFF = 60.0
#: Gitea's default ``[api] MAX_RESPONSE_ITEMS`` is 50: asking for more gets 50.
PAGE_LIMIT = 50
MESSAGE_LENGTH = 500


def api_url(value: Any) -> str:
    """An ``api_url`` setting, checked: an http(s) URL without credentials, no trailing slash."""
    return api_url_setting(value, GiteaSettingsError)


def number(name: str, value: Any, kind: type[N]) -> N:
    """A numeric setting, checked: not negative (and a timeout above 0)."""
    return number_setting(name, value, kind, GiteaSettingsError)


def token_env(value: Any) -> str:
    """A ``token_env`` setting, checked: the name of an environment variable."""
    return token_env_setting(value, DEFAULT_TOKEN_ENV, GiteaSettingsError)


@attrs.define
class GiteaClient:
    """Talks to one Gitea or Forgejo REST API (``https://HOST/api/v1``).

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
        self.retry_policy.mount(self.session, self.api_url + "/")

    @property
    def retry_policy(self) -> RetryPolicy:
        """How this API's requests are retried."""
        return RetryPolicy(
            retries=self.max_retries,
            backoff=self.backoff,
            backoff_max=MAX_BACKOFF,
            max_wait=self.max_wait,
            remaining_header="",
            reset_header="",
            clock=self.clock,
        )

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
        """Send a request (retried as the policy says); the response when its status is expected.

        Raises:
            GiteaAuthenticationError: HTTP 401.
            GiteaNotFoundError: HTTP 404 (unless expected).
            GiteaError: Any other unexpected status, or the server cannot be reached.
        """
        url = self._url(path)
        shown = urlsplit(url).path
        headers = {}
        token = self.token()
        if token:
            headers["Authorization"] = f"token {token}"
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            reason = request_failure(exc)
            raise GiteaError(
                self.redact(f"cannot reach {self.kind} at {self.api_url}: {reason} ({method} {shown})"),
                host=self.kind,
            ) from exc
        log.debug("%s %s %s -> %d", self.kind, method, shown, response.status_code)
        if response.status_code in expect:
            return response
        raise self._failure(response, method, shown)

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

    def _url(self, path: str) -> str:
        if "://" not in path:
            return self.api_url + path
        base, target = urlsplit(self.api_url), urlsplit(path)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            # A Link header pointing elsewhere must not receive the token.
            raise GiteaError(self.redact(f"refusing to follow {path} off the API host {base.netloc}"), host=self.kind)
        return path

    def _failure(self, response: requests.Response, method: str, path: str) -> GiteaError:
        status = response.status_code
        text = message(response)
        where = f"{self.kind} {method} {path}"
        stopped = retry_stopped(response)
        response.close()
        if status == 401:
            advice = (
                f"set ${self.token_env} to an access token"
                if self.token() is None
                else f"the token in ${self.token_env} was refused"
            )
            return GiteaAuthenticationError(
                self.redact(f"{where}: authentication failed (HTTP 401: {text}): {advice}"),
                status=401,
                variable=self.token_env,
                host=self.kind,
            )
        if status == 403:
            return GiteaError(
                self.redact(
                    f"{where}: access denied (HTTP 403): {text}; check the scopes of the token in ${self.token_env}"
                ),
                status=403,
                host=self.kind,
            )
        if status == 404:
            return GiteaNotFoundError(self.redact(f"{where}: not found (HTTP 404): {text}"), status=404, host=self.kind)
        detail = f"; {stopped}" if stopped else ""
        return GiteaError(self.redact(f"{where}: HTTP {status}: {text}{detail}"), status=status, host=self.kind)


def message(response: requests.Response) -> str:
    """What an error answer says: Gitea's ``message`` (and ``errors``), a bare JSON string, or the body's start."""
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:MESSAGE_LENGTH] or response.reason or f"HTTP {response.status_code}"
    if isinstance(data, str):
        return data[:MESSAGE_LENGTH]
    if not isinstance(data, dict):
        return str(data)[:MESSAGE_LENGTH]
    parts = [str(data.get("message") or "").strip()]
    parts += [str(error).strip() for error in data.get("errors") or ()]
    return "; ".join(part for part in parts if part)[:MESSAGE_LENGTH] or f"HTTP {response.status_code}"
