"""A TCP proxy on 127.0.0.1 that cuts or stalls connections part-way, in front of any server.

:class:`HostileServer` is no server at all: it accepts, then hangs or answers
garbage, for tests of how a client gives up.

Put it in front of a :class:`~fabpromote.testing.gitservers.GitDaemon` to make
``git://`` transfers fail mid-pack::

    with GitDaemon(served) as daemon, FaultyProxy(daemon.port) as proxy:
        proxy.cut_after = 20_000           # the next big transfer dies after 20 kB
        url = f"{proxy.url}app.git"
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TypeVar

import attrs

__all__ = ["FaultyProxy", "HostileServer"]

HOST = "127.0.0.1"
CHUNK = 65536
#: How often a stalled connection looks for stop().
POLL_INTERVAL = 0.05
_L = TypeVar("_L", bound="_Listener")


@attrs.define
class _Listener:
    """What both servers share: a listening socket, the connections open, and a clean stop."""

    #: Chosen on the first start (0) unless given, and kept across restarts.
    port: int = attrs.field(default=0, init=False)
    connections: int = attrs.field(default=0, init=False)
    _listener: socket.socket | None = attrs.field(default=None, init=False)
    _open: set[socket.socket] = attrs.field(init=False, factory=set)
    _stopping: threading.Event = attrs.field(init=False, factory=threading.Event)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        self._stopping.set()
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = list(self._open), set()
        for sock in [*([listener] if listener else []), *sockets]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def start(self) -> None:
        """Listen (again, on the same port once chosen) and serve in background threads."""
        listener = socket.socket()
        # A restart binds the port again while connections of the last run are in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen()
        self.port = listener.getsockname()[1]
        self._stopping = threading.Event()
        self._listener = listener
        name = f"{type(self).__name__}-{self.port}"
        threading.Thread(target=self._accept, args=(listener,), name=name, daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        """Serve the connections ``listener`` accepts until :meth:`stop` (each server its own way)."""
        raise NotImplementedError

    def __enter__(self: _L) -> _L:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@attrs.define
class FaultyProxy(_Listener):
    """Forwards connections to ``target_port``, with faults to inject.

    Attributes:
        target_port: Where connections go (the real server).
        port: The proxy's port, chosen on first start and kept across restarts.
        cut_after: When set, the next connection in which the server sends
            more bytes than this gets exactly this many; then the connection
            is cut and the proxy stops, as if the server died. One-shot:
            :meth:`start` brings the proxy back without the fault.
        stall_after: When set, every connection gets this many bytes from
            the server and then nothing more, while staying open, until
            :meth:`stop`: a server that hangs.
        connections: How many connections were accepted.
    """

    target_port: int
    port: int = 0
    cut_after: int | None = attrs.field(default=None, kw_only=True)
    stall_after: int | None = attrs.field(default=None, kw_only=True)

    @property
    def url(self) -> str:
        """``git://127.0.0.1:<port>/``."""
        return f"git://{HOST}:{self.port}/"

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            try:
                server = socket.create_connection((HOST, self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._open.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while data := source.recv(CHUNK):
                allowed, fault = self._allowed(sent, len(data)) if from_server else (len(data), None)
                sink.sendall(data[:allowed])
                sent += allowed
                if fault == "cut":
                    self.stop()
                    return
                if fault == "stall":
                    while not self._stopping.wait(POLL_INTERVAL):
                        pass
                    return
            sink.shutdown(socket.SHUT_WR)

    def _allowed(self, sent: int, size: int) -> tuple[int, str | None]:
        """How many of ``size`` more bytes from the server get through, and the fault that stops the rest."""
        with self._lock:
            if self.cut_after is not None and sent + size > self.cut_after:
                allowed, self.cut_after = max(self.cut_after - sent, 0), None
                return allowed, "cut"
            if self.stall_after is not None and sent + size > self.stall_after:
                return max(self.stall_after - sent, 0), "stall"
            return size, None


@attrs.define
class HostileServer(_Listener):
    """Accepts connections on 127.0.0.1, reads what the client sends, then hangs or answers ``answer``.

    Attributes:
        answer: Bytes sent back (then the connection is closed); ``None``:
            send nothing and keep the connection open until :meth:`stop`.
        port: Chosen on :meth:`start`.
        connections: How many connections were accepted.
    """

    answer: bytes | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://{HOST}:{self.port}/"

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            with self._lock:
                self.connections += 1
                self._open.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            client.recv(CHUNK)  # the request's start: enough for the client to wait for an answer
            if self.answer is None:
                while not self._stopping.wait(POLL_INTERVAL):
                    pass
                return
            client.sendall(self.answer)
            client.shutdown(socket.SHUT_RDWR)
            client.close()
