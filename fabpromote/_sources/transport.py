"""One connection to a Git server: the dulwich client, its deadline and credentials, and its failures in words."""

from __future__ import annotations

import contextlib
import errno
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import urllib3
from dulwich.client import (
    HTTPProxyUnauthorized,
    HTTPUnauthorized,
    StrangeHostname,
    default_urllib3_manager,
)
from dulwich.errors import (
    ApplyDeltaError,
    ChecksumMismatch,
    GitProtocolError,
    HangupException,
    NotGitRepository,
)

from fabpromote._sources import gittcp as _gittcp
from fabpromote._util.network import Deadline, without_pool_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dulwich.client import GitClient

    from fabpromote._util.credentials import Credentials

__all__ = ["LOCAL_WRITE_ERRNOS", "TRANSPORT_ERRORS", "connect", "http_status", "reason"]

_HTTP_STATUS = re.compile(r"unexpected http resp (\d{3})")
# What dulwich raises when a remote is unreachable, refuses, or sends garbage.
TRANSPORT_ERRORS = (
    GitProtocolError,
    NotGitRepository,
    HTTPUnauthorized,
    HTTPProxyUnauthorized,
    OSError,
    ChecksumMismatch,
    ApplyDeltaError,
    # An ssh host starting with "-" (``-oProxyCommand=...``): dulwich refuses to run ssh with it.
    StrangeHostname,
    # What dulwich raises on an answer it cannot parse (a malformed info/refs, bad UTF-8).
    ValueError,
)

# OSErrors that come from writing the cache, not from the network.
LOCAL_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)


@contextlib.contextmanager
def connect(location: str, credentials: Credentials) -> Iterator[tuple[GitClient, str]]:
    """A dulwich client for one operation on ``location``, with its credentials; its connections closed after.

    The operation (a listing, a fetch, a push) has one :class:`Deadline`
    for all its requests and their retries (see :mod:`fabpromote._util.network`).
    """
    found = credentials.for_url(location)
    username, password = found if found else (None, None)
    deadline = Deadline()
    pool_manager = _pool_manager(location, deadline) if urlsplit(location).scheme in ("http", "https") else None
    try:
        # git:// gets a timeout too (dulwich sets none on its socket).
        yield _gittcp.transport(
            location, timeout=deadline.seconds, username=username, password=password, pool_manager=pool_manager
        )
    finally:
        if pool_manager is not None:
            pool_manager.clear()


class _ClosesResponses:
    """A urllib3 pool manager for one operation: its deadline, and every response closed at ``clear()``.

    Each request (a redirect too) waits at most what is left of the
    operation's :class:`Deadline`, and retries only within it. dulwich
    raises on a 401 or 404 without closing the response, which would keep
    its connection open until garbage collection.
    """

    _responses: list[urllib3.BaseHTTPResponse]
    deadline: Deadline

    def urlopen(self, *args: Any, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        kwargs["timeout"] = self.deadline.timeout()
        # A redirect comes back here with the retries it has left: those stay.
        kwargs.setdefault("retries", self.deadline.retry())
        response: urllib3.BaseHTTPResponse = super().urlopen(*args, **kwargs)  # type: ignore[misc]
        self.__dict__.setdefault("_responses", []).append(response)
        return response

    def clear(self) -> None:
        for response in self.__dict__.pop("_responses", []):
            response.close()
        super().clear()  # type: ignore[misc]


class _PoolManager(_ClosesResponses, urllib3.PoolManager):
    pass


class _ProxyManager(_ClosesResponses, urllib3.ProxyManager):
    pass


def _pool_manager(url: str, deadline: Deadline) -> urllib3.PoolManager:
    """What dulwich would use for ``url`` (proxies, CA settings), closing its responses, within ``deadline``."""
    # dulwich sets no timeout of its own: a silent server would hang us forever.
    manager = default_urllib3_manager(
        None, base_url=url, pool_manager_cls=_PoolManager, proxy_manager_cls=_ProxyManager
    )
    # Without auth callbacks dulwich returns the class it was given, never its callback wrapper.
    assert isinstance(manager, (_PoolManager, _ProxyManager))
    manager.deadline = deadline
    return manager


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, HTTPUnauthorized):
        return 401
    if isinstance(exc, HTTPProxyUnauthorized):
        return 407
    match = _HTTP_STATUS.search(str(exc)) if isinstance(exc, GitProtocolError) else None
    return int(match.group(1)) if match else None


def reason(exc: BaseException) -> str:
    """A short, human reason for a transport failure."""
    if isinstance(exc, NotGitRepository):
        return "no Git repository there"
    if isinstance(exc, ValueError):
        return "the server's answer is not what a Git server sends"
    if isinstance(exc, StrangeHostname):
        return "refusing an ssh host name that starts with '-' (it would be read as an option)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        missing = exc.args[0] if exc.args else b""
        return f"object {os.fsdecode(missing)} not found"
    if isinstance(exc, GitProtocolError) and str(exc).startswith("Length of pkt read"):
        return "the connection was cut mid-transfer"  # dulwich's words for a short read
    # urllib3 errors come wrapped (GitProtocolError <- MaxRetryError <- the socket
    # error); the innermost message is the readable part.
    inner = getattr(exc.__cause__, "reason", None) or exc.__cause__
    if inner is not None and not isinstance(exc, HangupException):
        text = inner.args[0] if inner.args and isinstance(inner.args[0], str) else str(inner)
        return without_pool_prefix(text)
    return str(exc) or type(exc).__name__
