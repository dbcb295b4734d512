"""The base of a Git host's REST client: token, redaction, sending, error answers. Public in :mod:`fabpromote.rest`.

What every hosted Git host's client does alike lives here, once; what differs
between hosts is given by the plugin's subclass, as class attributes and a few
methods it may override:

- how the token is sent (:class:`TokenAuth`: ``Authorization: Bearer``,
  ``Authorization: token``, HTTP Basic, ``PRIVATE-TOKEN``);
- the plugin's error classes (:class:`HostErrors`), so that a user meets the
  errors the plugin documents;
- what an error answer says (:meth:`RestClient.message`, built on :func:`error_message`);
- which answers are a rate limit or a refused token, and the advice each gets.

The subclass stays an attrs class with its own fields (its constructor is the
plugin's documented one); it must have ``api_url``, ``token_env``, ``timeout``
and ``session``, and for :attr:`RestClient.retry_policy` also ``max_retries``,
``backoff``, ``max_wait`` and ``clock``.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

import attrs
import requests
from urllib3.exceptions import ReadTimeoutError

from fabpromote._util.credentials import redact
from fabpromote._util.httpretry import IDEMPOTENT_METHODS, RetryPolicy, retry_stopped
from fabpromote._util.network import request_failure

if TYPE_CHECKING:
    from fabpromote._util.network import Clock
    from fabpromote.exceptions import GitHostError

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_TIMEOUT",
    "ClientsByApi",
    "HostErrors",
    "RestClient",
    "TokenAuth",
    "client_settings",
    "error_message",
    "may_have_been_done",
    "message_and_errors",
    "origin",
    "same_origin",
]

log = logging.getLogger("fabpromote.rest")

#: How much of an error answer's text a message keeps.
MESSAGE_LENGTH = 500
#: The defaults of the settings every REST host takes: seconds to connect and
#: for each read, retries after the first try, the first backoff (doubling),
#: and the longest wait a server may ask for.
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF = 1.0
DEFAULT_MAX_WAIT = 600.0


@attrs.frozen
class TokenAuth:
    """How a host takes its token: in which header, after which scheme word.

    Attributes:
        header: The header that carries the token.
        scheme: The word before the token (``Bearer``, ``token``, ``Basic``); "" for the bare token.
        basic: Send HTTP Basic credentials with an empty user name and the token as password.
    """

    header: str = "Authorization"
    scheme: str = "Bearer"
    basic: bool = False

    @classmethod
    def bearer(cls) -> TokenAuth:
        """``Authorization: Bearer TOKEN`` (GitHub, and OAuth 2 generally)."""
        return cls()

    @classmethod
    def with_scheme(cls, scheme: str) -> TokenAuth:
        """``Authorization: SCHEME TOKEN`` (Gitea and Forgejo: ``token``)."""
        return cls(scheme=scheme)

    @classmethod
    def http_basic(cls) -> TokenAuth:
        """``Authorization: Basic base64(":TOKEN")`` (Azure DevOps' personal access tokens)."""
        return cls(scheme="Basic", basic=True)

    @classmethod
    def in_header(cls, header: str) -> TokenAuth:
        """The bare token in its own header (GitLab: ``PRIVATE-TOKEN``)."""
        return cls(header=header, scheme="")

    def headers(self, token: str | None) -> dict[str, str]:
        """The header carrying ``token``; none without a token."""
        if not token:
            return {}
        value = base64.b64encode(f":{token}".encode()).decode() if self.basic else token
        return {self.header: f"{self.scheme} {value}" if self.scheme else value}


#: An error class of a plugin, called with the message and keywords.
_Error = Callable[..., "GitHostError"]


@attrs.frozen
class HostErrors:
    """The error classes of a plugin, which its client raises.

    Each is called with the (redacted) message and keywords: ``status`` always,
    ``variable`` (the token's variable) for ``authentication``, and the
    client's :meth:`RestClient.error_options`.

    Attributes:
        error: Any failure; the base of the others.
        not_found: HTTP 404.
        authentication: The token was refused, or there was none.
        rate_limit: A rate limit outlasted the waits allowed; None: such an answer is an ``error``.
    """

    error: _Error
    not_found: _Error
    authentication: _Error
    rate_limit: _Error | None = None


def message_and_errors(data: Any) -> str:
    """The ``message`` of a JSON error answer and its ``errors``: strings, or objects told by their
    ``message`` or else their ``resource``, ``field`` and ``code`` (GitHub's, Gitea's); a bare JSON value as it is."""
    if not isinstance(data, dict):
        return str(data)
    parts = [str(data.get("message") or "").strip()]
    for error in data.get("errors") or ():
        if isinstance(error, dict):
            fields = (str(error[key]) for key in ("resource", "field", "code") if error.get(key))
            error = error.get("message") or " ".join(fields)
        parts.append(str(error).strip())
    return "; ".join(part for part in parts if part)


def error_message(
    response: requests.Response, read: Callable[[Any], str] = message_and_errors, *, length: int = MESSAGE_LENGTH
) -> str:
    """What an error answer says, in one line of at most ``length`` characters.

    A JSON body is read by ``read``; any other body gives its words (a proxy's
    page); an empty one, the status' reason or number.
    """
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:length] or response.reason or f"HTTP {response.status_code}"
    return read(data)[:length] or f"HTTP {response.status_code}"


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` is on ``base``'s scheme, host and port (a default port written or not)."""
    return origin(url) == origin(base)


def origin(url: str) -> tuple[str, str, int | None]:
    """The scheme, host (lower case) and port of ``url``, its default port when none is written."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port or default


def may_have_been_done(exc: BaseException) -> bool:
    """Whether a request that failed may have reached the server: its answer timed out, after it was sent."""
    wrapped = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ReadTimeout) or isinstance(wrapped, ReadTimeoutError)


class RestClient:
    """The base of a hosted Git host's REST client (see the module's docstring).

    Class attributes a subclass sets:
        label: The host's name in messages (``GitHub``); :meth:`title` may say otherwise.
        auth: How the token is sent.
        errors: The plugin's error classes.
        follow_redirects: Whether a redirect is followed (its target gets no token
            from requests either way); False makes a redirect an error answer.
        remaining_header, reset_header, limit_wait, backoff_max: The rate-limit
            headers and waits of :attr:`retry_policy`.
    """

    label: ClassVar[str] = ""
    auth: ClassVar[TokenAuth] = TokenAuth()
    errors: ClassVar[HostErrors]
    follow_redirects: ClassVar[bool] = True
    remaining_header: ClassVar[str] = ""
    reset_header: ClassVar[str] = ""
    limit_wait: ClassVar[float | None] = None
    backoff_max: ClassVar[float] = 60.0

    token_env: str
    timeout: float
    session: requests.Session
    backoff: float
    clock: Clock

    if TYPE_CHECKING:
        # Read-only here, so that a subclass may give them as attrs fields or as properties.
        @property
        def api_url(self) -> str:
            """The API base URL, without a trailing slash."""

        @property
        def max_retries(self) -> int:
            """How many times a failed request is tried again."""

        @property
        def max_wait(self) -> float:
            """The longest wait a server may ask for."""

    @property
    def retry_policy(self) -> RetryPolicy:
        """How this API's requests are retried: the client's settings, the host's rate-limit headers, the clock."""
        return RetryPolicy(
            retries=self.max_retries,
            backoff=self.backoff,
            backoff_max=self.backoff_max,
            max_wait=self.max_wait,
            limit_wait=self.limit_wait,
            remaining_header=self.remaining_header,
            reset_header=self.reset_header,
            clock=self.clock,
        )

    def mount_retries(self) -> None:
        """Retry the session's requests to the API under :attr:`retry_policy` (once, from ``__attrs_post_init__``)."""
        self.retry_policy.mount(self.session, self.api_url + "/")

    def title(self) -> str:
        """The host's name in messages."""
        return self.label

    # Tokens

    def token(self) -> str | None:
        """The token, read from ``token_env`` now; None when unset or empty."""
        return os.environ.get(self.token_env) or None

    def redact(self, text: str) -> str:
        """``text`` without the token, nor credentials in URLs."""
        token = self.token()
        return redact(text, [token] if token else [])

    # Requests

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """Send a request (retried as :attr:`retry_policy` says); the response when its status is expected.

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``PATCH`` or ``DELETE``.
            path: Below the API base, its parts already quoted; or a full URL
                on the API's own origin (a ``Link`` target).
            params: The query.
            json: The body, sent as JSON.
            expect: The statuses returned to the caller; any other is an error.

        Raises:
            GitHostError: One of :attr:`errors` (see :meth:`failure` and :meth:`unreachable`).
        """
        url = self.url(path)
        shown = self.shown(url)
        self.before_send()
        response = self.send(method, url, shown, params=self.query(params), json=json)
        log.debug("%s %s %s -> %d", self.title(), method, shown, response.status_code)
        self.answered(response)
        if response.status_code in expect:
            return response
        error = self.failure(response, method, shown)
        response.close()
        raise error

    def send(
        self, method: str, url: str, shown: str, *, params: Mapping[str, Any] | None = None, json: Any = None
    ) -> requests.Response:
        """Send one request with the token and the timeout; a request that got no answer raises :meth:`unreachable`."""
        try:
            return self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers=self.headers(),
                timeout=self.timeout,
                allow_redirects=self.follow_redirects,
            )
        except requests.RequestException as exc:
            raise self.unreachable(exc, method, shown) from exc

    def before_send(self) -> None:
        """Called before each request (a host may wait for a rate limit to reset); nothing by default."""

    def answered(self, response: requests.Response) -> None:
        """Called with each answer, expected or not (a host may note its rate limits); nothing by default."""

    def query(self, params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """The query each request is sent with: ``params`` as given by default (a host may add to it)."""
        return params

    def headers(self) -> dict[str, str]:
        """The headers of each request: the token's."""
        return self.auth.headers(self.token())

    def url(self, path: str) -> str:
        """The URL of ``path``; a full URL only on the API's own origin, which alone may receive the token."""
        if "://" not in path:
            return f"{self.api_url}/{path.lstrip('/')}"
        if not same_origin(path, self.api_url):
            raise self.errors.error(self.off_origin(path), **self.error_options())
        return path

    def off_origin(self, url: str) -> str:
        """The message refusing to send the token to ``url``."""
        return self.redact(f"refusing to follow {url} off the API host {urlsplit(self.api_url).netloc}")

    def shown(self, url: str) -> str:
        """How a request's URL is named in messages: its path."""
        return urlsplit(url).path

    # Failures

    def error_options(self) -> dict[str, Any]:
        """Keywords every error of this client is built with, besides the message and ``status``."""
        return {}

    def reason(self, exc: BaseException, method: str) -> str:
        """Why a request got no answer, in a few words; one that may have been done is said not to be sent again."""
        text = request_failure(exc)
        if may_have_been_done(exc) and method.upper() not in IDEMPOTENT_METHODS:
            # Sending it again could do it twice.
            return f"{text}; not sent again, as the {method} may have been done"
        return text

    def unreachable(self, exc: BaseException, method: str, shown: str) -> GitHostError:
        """The error of a request that got no answer."""
        text = f"cannot reach {self.title()} at {self.api_url}: {self.reason(exc, method)} ({method} {shown})"
        return self.errors.error(self.redact(text), **self.error_options())

    def message(self, response: requests.Response) -> str:
        """What an error answer says (:func:`error_message` with the host's fields)."""
        return error_message(response)

    def failure(self, response: requests.Response, method: str, shown: str) -> GitHostError:
        """The error of an answer whose status the caller did not expect.

        In order: a rate limit (:meth:`rate_limited`), a refused token
        (:meth:`token_refused`, with :meth:`auth_advice`), 403, 404, any other.
        """
        status = response.status_code
        message = self.message(response)
        where = f"{self.title()} {method} {shown}"
        stopped = retry_stopped(response)
        tail = f"; {stopped}" if stopped else ""
        options = {"status": status, **self.error_options()}
        if self.errors.rate_limit is not None and self.rate_limited(response):
            return self.errors.rate_limit(
                self.redact(f"{where}: {self.rate_limit_words} (HTTP {status}): {message}{tail}"), **options
            )
        if self.token_refused(status):
            text = f"{where}: {self.auth_advice(status, message)}"
            return self.errors.authentication(self.redact(text), variable=self.token_env, **options)
        if status == 403:
            advice = f"check the {self.rights} of the token in ${self.token_env}"
            text = f"{where}: access denied (HTTP 403): {message}; {advice}"
            return self.errors.error(self.redact(text), **options)
        if status == 404:
            return self.errors.not_found(self.redact(f"{where}: not found (HTTP 404): {message}"), **options)
        return self.errors.error(self.redact(f"{where}: HTTP {status}: {message}{tail}"), **options)

    #: How a rate-limit error names the limit.
    rate_limit_words: ClassVar[str] = "rate limited"
    #: What a 403 asks to check of the token.
    rights: ClassVar[str] = "scopes"
    #: What a missing token should be, in the 401 advice.
    credential: ClassVar[str] = "an access token"

    def rate_limited(self, response: requests.Response) -> bool:
        """Whether an error answer is a rate limit (by :attr:`retry_policy`'s rules)."""
        return self.retry_policy.is_rate_limit(response.status_code, response.headers)

    def token_refused(self, status: int) -> bool:
        """Whether an error status says the token was refused (or is missing)."""
        return status == 401

    def auth_advice(self, status: int, message: str) -> str:
        """What a refused token's error says, after where it happened."""
        if self.token() is None:
            advice = f"set ${self.token_env} to {self.credential}"
        else:
            advice = f"the token in ${self.token_env} was refused"
        return f"authentication failed (HTTP {status}: {message}): {advice}"


C = TypeVar("C", bound=RestClient)


def client_settings(host: Any) -> dict[str, Any]:
    """The settings a host hands each of its clients: ``token_env``, ``timeout``, ``max_retries``, ``backoff``,
    ``max_wait`` and ``clock``, read from the host's attributes of those names now."""
    names = ("token_env", "timeout", "max_retries", "backoff", "max_wait", "clock")
    return {name: getattr(host, name) for name in names}


class ClientsByApi(Generic[C]):
    """A host's clients: one per API base URL, made by ``make`` on first use; safe across threads.

    A host makes its clients lazily, so that settings a test changes after
    building the host (its clock) are those the clients get.
    """

    def __init__(self, make: Callable[[str], C]) -> None:
        self._make = make
        self._clients: dict[str, C] = {}
        self._lock = threading.Lock()

    def get(self, api_url: str) -> C:
        """The client of ``api_url``, made the first time it is asked for."""
        with self._lock:
            client = self._clients.get(api_url)
            if client is None:
                client = self._clients[api_url] = self._make(api_url)
            return client
