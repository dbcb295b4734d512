"""An HTTP server on 127.0.0.1 that misbehaves on purpose, for tests of downloads.

Every ``GET`` is answered 200 with filler bytes, shaped by the attributes:
an announced ``Content-Length`` far larger than the limit, a body that never
ends, or a body that stops half-way and keeps the connection open::

    with FaultyHTTPServer(body_bytes=None) as server:    # an endless body
        download(server.url + "big.yaml")
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from typing import Any

import attrs

__all__ = ["FaultyHTTPServer"]

HOST = "127.0.0.1"
#: What the body is made of: valid YAML comments, so a small body would render.
FILLER = b"# filler\n" * 7282
#: How often a stalled or endless response looks for stop().
POLL_INTERVAL = 0.05


@attrs.define
class FaultyHTTPServer:
    """Answers every ``GET`` with filler, misbehaving as the attributes say.

    Attributes:
        content_length: The ``Content-Length`` to announce; ``None`` for none
            (the body then ends when the connection closes, as in HTTP/1.0).
        body_bytes: How many bytes of body to send; ``None``: send until the
            client hangs up or the server stops.
        stall: After ``body_bytes``, keep the connection open and silent until
            :meth:`stop` instead of closing it.
        payload: Send these bytes as the body instead of filler (``body_bytes``
            is then ignored), e.g. a gzip bomb.
        content_encoding: The ``Content-Encoding`` to announce, e.g. ``gzip``.
        requested: Set when the first request arrives (a test waits on it).
        sent: Body bytes sent so far, over all requests.
    """

    content_length: int | None = None
    body_bytes: int | None = None
    stall: bool = False
    payload: bytes | None = None
    content_encoding: str | None = None
    requested: threading.Event = attrs.field(init=False, factory=threading.Event)
    sent: int = attrs.field(init=False, default=0)
    _stopping: threading.Event = attrs.field(init=False, factory=threading.Event)
    _httpd: http.server.ThreadingHTTPServer | None = attrs.field(init=False, default=None)
    _thread: threading.Thread | None = attrs.field(init=False, default=None)

    @property
    def url(self) -> str:
        """The base URL, ending in a slash."""
        assert self._httpd is not None, "start() the server first"
        return f"http://{HOST}:{self._httpd.server_address[1]}/"

    def start(self) -> None:
        """Listen on a free port and serve in a background thread."""
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = http.server.ThreadingHTTPServer((HOST, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(POLL_INTERVAL,), name="faulty-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and end every response being sent."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FaultyHTTPServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _respond(self, handler: _Handler) -> None:
        self.requested.set()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/yaml")
        if self.content_length is not None:
            handler.send_header("Content-Length", str(self.content_length))
        if self.content_encoding is not None:
            handler.send_header("Content-Encoding", self.content_encoding)
        handler.end_headers()
        # A client that hangs up ends the response; that is what these tests expect of it.
        with contextlib.suppress(OSError):
            self._send_body(handler)
            while self.stall and not self._stopping.wait(POLL_INTERVAL):
                pass

    def _send_body(self, handler: _Handler) -> None:
        if self.payload is not None:
            handler.wfile.write(self.payload)
            self.sent += len(self.payload)
            return
        left = self.body_bytes
        while (left is None or left > 0) and not self._stopping.is_set():
            chunk = FILLER if left is None else FILLER[:left]
            handler.wfile.write(chunk)
            handler.wfile.flush()
            self.sent += len(chunk)
            left = None if left is None else left - len(chunk)


class _Handler(http.server.BaseHTTPRequestHandler):
    owner: FaultyHTTPServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.owner._respond(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet test output
