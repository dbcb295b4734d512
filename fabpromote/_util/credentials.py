"""Tokens for Git remotes, read from the environment, and their redaction.

A :class:`Credentials` maps a host (``github.com``, ``gitlab.example.com:8443``)
or one repository on it (``github.com/org/repo``, see :func:`repo_key`) to the
*name* of the environment variable that holds its token; the token is
read when a request is made, never stored, and never logged.

:func:`redact` is the one redaction of the process: every printer, serializer
and log line goes through it. It removes the user info of every URL, and
every secret this process has met: the passwords of URLs given to a
:class:`Credentials`, and the values of every variable a :class:`Credentials`
reads tokens from (so a token is hidden even where it appears outside a URL).
"""

from __future__ import annotations

import os
import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import attrs

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_TOKEN_VARIABLES",
    "DEFAULT_USERNAMES",
    "Credentials",
    "host_keys",
    "redact",
    "remember_url",
    "repo_key",
]

DEFAULT_TOKEN_VARIABLES: Mapping[str, str] = {"github.com": "GITHUB_TOKEN", "gitlab.com": "GITLAB_TOKEN"}
# GitHub takes any user name with a token; GitLab wants "oauth2" for OAuth tokens.
DEFAULT_USERNAMES: Mapping[str, str] = {"gitlab.com": "oauth2"}
GENERIC_USERNAME = "x-access-token"
REDACTED = "***"
#: Secrets met (token values, URL passwords) shorter than this are hidden in URLs only: replacing
#: a value like "1" everywhere would mangle every SHA and manifest printed, and hide nothing.
MIN_KNOWN_SECRET = 4

_USERINFO = re.compile(r"(?P<scheme>\b(?P<name>[A-Za-z][A-Za-z0-9+.-]*)://)(?P<userinfo>[^/?#\s@]*(?:@[^/?#\s@]*)*)@")
#: Schemes whose user name is never a secret (ssh authenticates with keys): ``ssh://git@host`` is kept.
_SSH_SCHEMES = {"ssh", "git+ssh", "ssh+git"}


class _Known:
    """What every :func:`redact` of the process hides: secrets met, and the variables tokens come from."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        self.variables: set[str] = set()

    def all(self) -> set[str]:
        with self.lock:
            found = set(self.secrets)
            variables = list(self.variables)
        found.update(os.environ.get(variable, "") for variable in variables)
        found.discard("")
        return found


_KNOWN = _Known()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without URL user info (``https://***@host``), any of ``secrets``, nor any secret met so far.

    Secrets met: the passwords of URLs a :class:`Credentials` was asked
    about (as written and percent-decoded), and the values of the variables
    any :class:`Credentials` of this process reads tokens from.
    """
    text = _USERINFO.sub(_without_secret, text)
    # Longest first, so that a token containing another is removed whole.
    known = {s for s in _KNOWN.all() if len(s) >= MIN_KNOWN_SECRET}
    for secret in sorted({s for s in (*secrets, *known) if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _without_secret(match: re.Match[str]) -> str:
    """The user info of a URL redacted: a password always; a bare user name (a token, over HTTPS) but over ssh."""
    if match["name"].lower() in _SSH_SCHEMES and ":" not in match["userinfo"]:
        return match[0]
    return f"{match['scheme']}{REDACTED}@"


def remember_url(url: str) -> None:
    """Hide the password of ``url`` wherever :func:`redact` meets it from now on, in or out of a URL."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        with _KNOWN.lock:
            _KNOWN.secrets.update((password, unquote(password)))


def _merged(mapping: Mapping[str, str] | None, defaults: Mapping[str, str]) -> dict[str, str]:
    merged = {host.lower(): value for host, value in defaults.items()}
    merged.update({host.lower(): value for host, value in (mapping or {}).items()})
    return merged


def _with_default_variables(mapping: Mapping[str, str] | None) -> dict[str, str]:
    return _merged(mapping, DEFAULT_TOKEN_VARIABLES)


def _with_default_usernames(mapping: Mapping[str, str] | None) -> dict[str, str]:
    return _merged(mapping, DEFAULT_USERNAMES)


@attrs.define
class Credentials:
    """Which environment variable holds the token for which host.

    Args:
        mapping: Host (``name`` or ``name:port``), or one repository
            (``name[:port]/path``, see :func:`repo_key`), to the name of the
            variable holding its token (a repository's entry wins over its
            host's); added to, and overriding, the defaults ``github.com`` ->
            ``GITHUB_TOKEN`` and ``gitlab.com`` -> ``GITLAB_TOKEN``.
        usernames: Host to the user name sent with its token; the default is
            ``oauth2`` for ``gitlab.com`` and ``x-access-token`` elsewhere.
    """

    _mapping: dict[str, str] = attrs.field(default=None, converter=_with_default_variables)
    _usernames: dict[str, str] = attrs.field(default=None, converter=_with_default_usernames)

    def __attrs_post_init__(self) -> None:
        # Their values are hidden by every redact() of the process from now on.
        with _KNOWN.lock:
            _KNOWN.variables.update(self._mapping.values())

    def assign(self, url: str, variable: str) -> None:
        """From now on, the repository at ``url`` (that one alone) takes its token from ``variable``.

        How a Git host built with a ``token_env`` hands it to the sources it
        reads and pushes through: keyed by repository, so that repositories
        sharing a host and a :class:`Credentials` keep their own tokens, and
        failures name the variable.
        """
        key = repo_key(url)
        if key and variable:
            with _KNOWN.lock:
                _KNOWN.variables.add(variable)
                self._mapping[key] = variable

    def variable_for(self, url: str) -> str | None:
        """The name of the variable configured for ``url``'s host, if any."""
        keys = _lookup_keys(url)
        return next((self._mapping[key] for key in keys if key in self._mapping), None)

    def for_url(self, url: str) -> tuple[str, str] | None:
        """``(username, token)`` for ``url``, or ``None`` to send no credentials.

        Credentials go only to ``https`` URLs (and ``http`` on the loopback
        interface, for test servers), never in clear text over a network. A
        URL carrying its own user info keeps it.
        """
        remember_url(url)
        parts = urlsplit(url)
        if parts.username is not None or not _may_carry_token(parts.scheme, parts.hostname):
            return None
        variable = self.variable_for(url)
        token = os.environ.get(variable, "") if variable else ""
        if not token:
            return None
        keys = host_keys(url)
        username = next((self._usernames[key] for key in keys if key in self._usernames), GENERIC_USERNAME)
        return username, token

    def redact(self, text: str) -> str:
        """``text`` with URL user info and every known token value replaced by ``***`` (see :func:`redact`)."""
        return redact(text)


def repo_key(url: str) -> str:
    """The key of the one repository at ``url`` in a mapping: ``host[:port]/path``.

    Without user info, trailing ``/`` or ``.git``, so that each spelling of
    a repository's URL finds it; empty for a URL without a host or path.
    """
    path = urlsplit(url).path.strip("/").removesuffix(".git").lower()
    hosts = host_keys(url)
    return f"{hosts[0]}/{path}" if hosts and path else ""


def host_keys(url: str) -> list[str]:
    """Lookup keys for ``url``'s host, most specific first: ``host:port``, ``host``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return []
    try:
        port = parts.port
    except ValueError:
        port = None
    return [f"{host}:{port}", host] if port else [host]


def _lookup_keys(url: str) -> list[str]:
    """Keys for ``url``, most specific first: its repository's (:func:`repo_key`), then its host's."""
    return [key for key in (repo_key(url), *host_keys(url)) if key]


def _may_carry_token(scheme: str, host: str | None) -> bool:
    if scheme == "https":
        return True
    return scheme == "http" and _is_loopback(host or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only plain-HTTP URLs come here: every command imports this module

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
