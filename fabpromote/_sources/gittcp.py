"""``git://`` connections that time out: dulwich's TCP client would wait forever.

dulwich puts no timeout on the socket of a ``git://`` connection, so a server
that stops sending without closing (a hung daemon, a dropped route) would hang
a fetch or a push for good. Over HTTP the sources layer gives dulwich a pool
manager with a timeout; :func:`transport` is the same for ``git://``: dulwich's
``get_transport_and_path``, with a client whose socket gives up after
``timeout`` seconds of silence (``TimeoutError: timed out``, an ``OSError``).
Connecting is not timed: the system gives up on an unanswered connect itself.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import dulwich
from dulwich.client import TCPGitClient, get_transport_and_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO

    from dulwich.client import GitClient
    from dulwich.protocol import Protocol

__all__ = ["TimedTCPGitClient", "transport"]

log = logging.getLogger("fabpromote.sources")


def transport(location: str, *, timeout: float, **kwargs: Any) -> tuple[GitClient, str]:
    """``dulwich.client.get_transport_and_path(location, **kwargs)``; ``git://`` times out.

    Args:
        location: The URL or path of the remote.
        timeout: Seconds of silence after which a ``git://`` read or write fails.
        kwargs: For ``get_transport_and_path`` (``username``, ``password``,
            ``pool_manager``, ...); ``git://`` needs none of them.
    """
    parsed = urlparse(location)
    if parsed.scheme != "git" or not parsed.hostname:
        return get_transport_and_path(location, **kwargs)
    # As dulwich makes its git:// client: host and port of the URL (user info is never sent).
    return TimedTCPGitClient(parsed.hostname, parsed.port, timeout=timeout), parsed.path


class TimedTCPGitClient(TCPGitClient):
    """dulwich's ``git://`` client with a timeout on its socket once connected.

    Args:
        host: The server.
        port: Its port; default 9418.
        timeout: Seconds of silence after which a read or write fails.
        kwargs: For ``TCPGitClient``.
    """

    def __init__(self, host: str, port: int | None = None, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self.timeout = timeout

    def _connect(
        self, cmd: bytes, path: str | bytes, protocol_version: int | None = None
    ) -> tuple[Protocol, Callable[[], bool], IO[bytes] | None]:
        proto, can_read, stderr = super()._connect(cmd, path, protocol_version)
        sock = _socket_of(proto)
        if sock is None:
            # A dulwich that reads otherwise: still fetch, as without this module.
            log.warning("cannot set a timeout on git:// connections with dulwich %s", dulwich.__version__)
        else:
            sock.settimeout(self.timeout)
        return proto, can_read, stderr


def _socket_of(proto: Protocol) -> socket.socket | None:
    """The socket under a git:// protocol: dulwich reads through ``socket.makefile("rb")``."""
    reader = getattr(proto.read, "__self__", None)  # the buffered file; its raw part is a socket.SocketIO
    sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
