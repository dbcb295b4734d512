"""A base for stateful fake REST APIs: an HTTP server on 127.0.0.1 in a thread, JSON answers, routes.

A fake Git host (a plugin's tests, or a third-party plugin's) keeps its state
and answers in its own class, and leaves HTTP to this module::

    class FakeForge(FakeRestHost):
        routes = Routes([("GET", r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)", "get_repo")])

        def __init__(self, root: Path, *, token: str) -> None:
            super().__init__(SmartHTTPServer(root, token=token))
            self.token = token

        def answer(self, request: RestRequest) -> Answer:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return Answer(401, {"message": "Bad credentials"})
            found = self.routes.find(request.method, request.path)
            if found is None:
                return Answer(404, {"message": "Not Found"})
            name, params = found
            return getattr(self, name)(**params)

    with FakeForge(tmp_path, token="t0k3n") as forge:
        client = ForgeClient(forge.url + "/api")

:class:`RestServer` is the HTTP server alone (any callable answers);
:class:`FakeRestHost` starts and stops it with the Git server behind the fake.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
from collections.abc import Iterable
from email.message import Message
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

__all__ = ["Answer", "FakeRestHost", "RestRequest", "RestServer", "Routes"]

HOST = "127.0.0.1"
#: How often the serving thread looks for stop().
POLL_INTERVAL = 0.05

_Fake = TypeVar("_Fake", bound="FakeRestHost")


@attrs.define
class Answer:
    """What the fake answers.

    Attributes:
        status: The HTTP status.
        body: A JSON value (sent as JSON), bytes (sent as they are), or None (no body).
        headers: Headers to send besides ``Content-Length`` (and ``Content-Type`` of JSON).
    """

    status: int
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)

    def encoded(self, content_type: str) -> tuple[bytes, dict[str, str]]:
        """The body's bytes and the headers to send with them (JSON typed as ``content_type`` unless set)."""
        if self.body is None:
            return b"", dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, dict(self.headers)
        headers = {"Content-Type": content_type, **self.headers}
        return json.dumps(self.body).encode(), headers


@attrs.frozen
class RestRequest:
    """One request as the fake receives it.

    Attributes:
        method: ``GET``, ``POST``, ...
        target: The request target as sent: the path and the query.
        headers: The request's headers (names case-insensitive).
        body: The body's bytes (a chunked body put together).
    """

    method: str
    target: str
    headers: Message
    body: bytes

    @property
    def path(self) -> str:
        """The target's path, still quoted."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        """The query's parameters (the last of a repeated name)."""
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def json(self) -> Any:
        """The body as JSON; None when empty. Raises ValueError when it is not JSON."""
        return json.loads(self.body) if self.body else None


class _Answers(Protocol):
    def __call__(self, request: RestRequest, /) -> Answer: ...


@attrs.define
class RestServer:
    """An HTTP server on 127.0.0.1, in a thread, that hands each request to ``answer``.

    Attributes:
        answer: Called in the serving thread with each request; its answer is sent.
            An exception in it is answered 500 with its text, and the server keeps serving.
        protocol: ``HTTP/1.1`` (keep-alive) or ``HTTP/1.0`` (a connection per request).
        content_type: The ``Content-Type`` of JSON answers.
        socket_timeout: Seconds a connection may stay silent; None: no limit.
        server_version: The ``Server`` header's product.
    """

    answer: _Answers
    protocol: str = "HTTP/1.1"
    content_type: str = "application/json; charset=utf-8"
    socket_timeout: float | None = None
    server_version: str = "fake"
    _httpd: http.server.ThreadingHTTPServer | None = attrs.field(init=False, default=None)
    _thread: threading.Thread | None = attrs.field(init=False, default=None)

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._httpd is not None, "the server is not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether it is started (and not stopped)."""
        return self._httpd is not None

    def start(self) -> None:
        """Listen on a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {
            "server_of": self,
            "protocol_version": self.protocol,
            "timeout": self.socket_timeout,
            "server_version": self.server_version,
            "sys_version": "",
        })  # fmt: skip
        httpd = http.server.ThreadingHTTPServer((HOST, 0), handler)
        httpd.daemon_threads = True
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, args=(POLL_INTERVAL,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the port; it may be started again."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> RestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(http.server.BaseHTTPRequestHandler):
    server_of: RestServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # Quiet: a fake keeps its own history.

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        request = RestRequest(self.command, self.path, self.headers, self._body())
        try:
            answer = self.server_of.answer(request)
        except Exception as exc:  # A bug in the fake: answer 500, and keep serving.
            answer = Answer(500, {"message": f"500 Internal Server Error: {exc!r}"})
        data, headers = answer.encoded(self.server_of.content_type)
        with contextlib.suppress(OSError):  # The client may have given up (a timeout test).
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()


class Routes:
    """A fake's routes: ``(method, path pattern, name)``, the pattern matched whole against the path.

    Args:
        table: The routes, the first match winning.
        prefix: A pattern every path starts with (``/api/v1``), matched before the routes'.
    """

    def __init__(self, table: Iterable[tuple[str, str, str]], *, prefix: str = "") -> None:
        self.table = [(method, re.compile(prefix + pattern), name) for method, pattern, name in table]

    def find(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The name of the route of ``method`` and ``path``, and its named groups (unquoted, those that matched)."""
        for route_method, pattern, name in self.table:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return name, {key: unquote(value) for key, value in match.groupdict().items() if value is not None}
        return None


class _Startable(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class FakeRestHost:
    """The base of a fake Git host: its REST API on one port, the Git server behind it on its own.

    A subclass answers each API request in :meth:`answer` and may set the
    class attributes that shape its server (:attr:`protocol`, :attr:`socket_timeout`,
    :attr:`server_version`, :attr:`content_type`).

    Args:
        git_server: What serves the repositories (a
            :class:`fabpromote.testing.gitservers.SmartHTTPServer`), started and
            stopped with the API; None for none.
    """

    protocol = "HTTP/1.1"
    socket_timeout: float | None = None
    server_version = "fake"
    content_type = "application/json; charset=utf-8"

    def __init__(self, git_server: _Startable | None = None) -> None:
        self.git_server = git_server
        self.server = RestServer(
            self.answer,
            protocol=self.protocol,
            content_type=self.content_type,
            socket_timeout=self.socket_timeout,
            server_version=self.server_version,
        )

    def answer(self, request: RestRequest) -> Answer:
        """Answer one API request (called in a serving thread)."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        """The API's port."""
        return self.server.port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the API, without a trailing slash."""
        return self.server.url

    def start(self) -> None:
        """Start the Git server, then the API."""
        if self.git_server is not None:
            self.git_server.start()
        self.server.start()

    def stop(self) -> None:
        """Stop the API, then the Git server."""
        self.server.stop()
        if self.git_server is not None:
            self.git_server.stop()

    def __enter__(self: _Fake) -> _Fake:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
