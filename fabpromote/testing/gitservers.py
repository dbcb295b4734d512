"""Real Git servers on 127.0.0.1 for test suites: ``git daemon`` and smart HTTP.

Both serve every repository under a base directory, run the real ``git``
programs, and stop when their ``with`` block ends::

    with git_daemon(tmp_path) as base:
        subprocess.run(["git", "clone", base + "app.git"], check=True)

Tests that need to restart a server, or to kill it part-way through a
transfer, use the classes (:class:`GitDaemon`, :class:`SmartHTTPServer`),
which keep their port across ``stop()`` and ``start()``.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import hmac
import http.server
import os
import signal
import socket
import subprocess
import tempfile
import threading
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = ["GitDaemon", "SmartHTTPServer", "git_daemon", "smart_http"]

HOST = "127.0.0.1"
STOP_TIMEOUT = 5.0
MAX_BODY = 64 * 1024 * 1024
MAX_OUTPUT = 256 * 1024 * 1024
CGI_TIMEOUT = 60.0
SOCKET_TIMEOUT = 30.0
MAX_CONCURRENT_REQUESTS = 16
REQUEST_LOG_LENGTH = 1000
# How often serve_forever looks for shutdown(): bounds how long stop() takes.
POLL_INTERVAL = 0.05


@contextlib.contextmanager
def git_daemon(base_dir: str | Path) -> Iterator[str]:
    """Serve ``base_dir`` with ``git daemon``; yield its ``git://127.0.0.1:<port>/`` URL."""
    with GitDaemon(base_dir) as daemon:
        yield daemon.url


@contextlib.contextmanager
def smart_http(base_dir: str | Path, *, token: str | None = None) -> Iterator[str]:
    """Serve ``base_dir`` over smart HTTP; yield its ``http://127.0.0.1:<port>/`` URL.

    Args:
        base_dir: The directory holding the repositories.
        token: When given, every request must carry HTTP Basic credentials
            with this password (any user name); others get a 401.
    """
    with SmartHTTPServer(base_dir, token=token) as server:
        yield server.url


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the block runs.

    Its socket is bound and never listens: a connection to it is refused, and
    the system gives the port to no other server meanwhile (one started by a
    test in another pytest-xdist worker, say), as it could once a socket that
    only looked the port up is closed.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])


@attrs.define
class GitDaemon:
    """``git daemon`` exporting every repository under ``base_dir``, pushes enabled.

    The listening socket is this process's own, bound to a port the system
    picks on first start: suites running side by side (pytest-xdist workers)
    never race for a port, as they would if a free port were looked up and
    then handed to ``git daemon``. Each connection is served by its own
    ``git daemon --inetd``, as ``git daemon`` forks one child per connection.

    Attributes:
        base_dir: The directory served; ``<url><name>`` is ``base_dir/<name>``.
        port: The port, chosen on first start and kept across restarts.
    """

    base_dir: Path = attrs.field(converter=Path)
    port: int = 0
    _listener: socket.socket | None = attrs.field(default=None, init=False)
    _children: list[subprocess.Popen[bytes]] = attrs.field(init=False, factory=list)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL, ending in a slash."""
        return f"git://{HOST}:{self.port}/"

    def start(self) -> None:
        """Listen (again, on the same port) and serve connections from a background thread."""
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            # A restart binds the port again while connections of the last run are in TIME_WAIT.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((HOST, self.port))
            listener.listen()
            self.port = int(listener.getsockname()[1])
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name=f"git-daemon-{self.port}", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        command = [
            "git",
            "daemon",
            "--inetd",
            "--export-all",
            f"--base-path={self.base_dir}",
            "--enable=receive-pack",
            str(self.base_dir),
        ]
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed by stop()
            with connection, self._lock:
                if self._listener is not listener:
                    return  # stopped while this connection came in: it is refused with the rest
                # A session of its own, so that stop() reaches the upload-pack it runs too.
                child = subprocess.Popen(
                    command, stdin=connection.fileno(), stdout=connection.fileno(), start_new_session=True
                )
                self._children = [c for c in self._children if c.poll() is None] + [child]

    def stop(self) -> None:
        """Stop listening, and end the connections being served."""
        with self._lock:
            listener, self._listener = self._listener, None
            children, self._children = self._children, []
        if listener is None:
            return
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        listener.close()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=STOP_TIMEOUT)

    def __enter__(self) -> GitDaemon:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@attrs.define
class SmartHTTPServer:
    """A threaded HTTP server running the real ``git http-backend`` CGI.

    Attributes:
        base_dir: The directory served; ``<url><name>`` is ``base_dir/<name>``.
        token: The password HTTP Basic auth must carry; ``None`` for no auth.
        tokens: Repository (its first path segment, ``app.git``) -> the
            password requests for it must carry instead of ``token``: one
            host whose repositories each want their own token.
        port: The port, chosen on first start and kept across restarts.
        stop_after_bytes: A fault to inject: when set, the next ``upload-pack``
            response longer than this is cut after this many body bytes and
            the server stops, as if killed mid-transfer. ``start()`` brings it back.
        before_request: A hook called with the method and path of every
            request, in the request's thread (to delay it, or to meet other
            requests at a barrier); when it returns a status, the request is
            answered with that status instead of being served.
        requests: ``(method, path, status)`` of recent requests, oldest first.
    """

    base_dir: Path = attrs.field(converter=Path)
    token: str | None = attrs.field(default=None, kw_only=True)
    tokens: Mapping[str, str] = attrs.field(factory=dict, kw_only=True)
    port: int = attrs.field(default=0, kw_only=True)
    stop_after_bytes: int | None = attrs.field(default=None, init=False)
    before_request: Callable[[str, str], int | None] | None = attrs.field(default=None, kw_only=True)
    requests: collections.deque[tuple[str, str, int]] = attrs.field(
        init=False, factory=lambda: collections.deque(maxlen=REQUEST_LOG_LENGTH)
    )
    _httpd: _HTTPServer | None = attrs.field(default=None, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL, ending in a slash."""
        return f"http://{HOST}:{self.port}/"

    def start(self) -> None:
        """Start serving (again, on the same port) in a background thread."""
        with self._lock:
            if self._httpd is not None:
                return
            httpd = _HTTPServer((HOST, self.port), _Handler, owner=self)
            self.port = int(httpd.server_address[1])
            self._httpd = httpd
            self._thread = threading.Thread(
                target=httpd.serve_forever, args=(POLL_INTERVAL,), name=f"smart-http-{self.port}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop at once: close the listener and cut every open connection."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
            thread, self._thread = self._thread, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.cut_connections()
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT)

    def _take_fault(self, size: int) -> int | None:
        """The byte count to cut a response of ``size`` bytes at, disarming the fault."""
        with self._lock:
            limit = self.stop_after_bytes
            if limit is None or size <= limit:
                return None
            self.stop_after_bytes = None
        return limit

    def __enter__(self) -> SmartHTTPServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # stop() cuts connections itself; joining handler threads could wait on a
    # handler that is the one calling stop() (the stop_after_bytes fault).
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[_Handler], *, owner: SmartHTTPServer) -> None:
        self.owner = owner
        self.slots = threading.BoundedSemaphore(MAX_CONCURRENT_REQUESTS)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _BadRequest(Exception):
    """The request cannot be served; the message is sent back to the client."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    # One request per connection keeps body framing simple; git and dulwich cope.
    protocol_version = "HTTP/1.0"
    timeout = SOCKET_TIMEOUT

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: test output stays readable; self.server.owner.requests keeps the history.
        pass

    def _serve(self) -> None:
        if not self.server.slots.acquire(timeout=SOCKET_TIMEOUT):
            self._reply_error(503, "too many concurrent requests")
            return
        try:
            hook = self.server.owner.before_request
            status = hook(self.command, self.path) if hook else None
            if status is not None:
                self._reply_error(status, f"refused by the test hook with {status}")
                return
            user = self._authenticate()
            if user is None:
                return
            body = self._read_body()
            output = self._run_backend(body, user)
            self._relay(output)
        except _BadRequest as exc:
            self._reply_error(exc.status, str(exc))
        finally:
            self.server.slots.release()

    def _record(self, status: int) -> None:
        self.server.owner.requests.append((self.command, self.path, status))

    def _reply_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        data = (message + "\n").encode()
        self._record(status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authenticate(self) -> str | None:
        """The user name to report to git; ``None`` after answering 401."""
        owner = self.server.owner
        repository = unquote(urlsplit(self.path).path).lstrip("/").split("/", 1)[0]
        token = owner.tokens.get(repository, owner.token)
        if token is None:
            return "anonymous"
        user, password = _basic_credentials(self.headers.get("Authorization", ""))
        if password is not None and hmac.compare_digest(password.encode(), token.encode()):
            return user or "anonymous"
        self._reply_error(401, "authentication required", {"WWW-Authenticate": 'Basic realm="git"'})
        return None

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise _BadRequest(413, "request body too large")
            body = self.rfile.read(length)
        if self.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
            body = _gunzip(body)
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunked body") from None
            if size == 0:
                # Skip trailers up to the blank line that ends the body.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _BadRequest(413, "request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _cgi_environment(self, body: bytes, user: str) -> dict[str, str]:
        split = urlsplit(self.path)
        env = dict(os.environ)
        env.update(
            GIT_PROJECT_ROOT=str(self.server.owner.base_dir),
            GIT_HTTP_EXPORT_ALL="1",
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.receivepack",
            GIT_CONFIG_VALUE_0="true",
            GATEWAY_INTERFACE="CGI/1.1",
            SERVER_PROTOCOL="HTTP/1.1",
            REQUEST_METHOD=self.command,
            PATH_INFO=unquote(split.path),
            QUERY_STRING=split.query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            REMOTE_USER=user,
            REMOTE_ADDR=self.client_address[0],
        )
        if self.headers.get("Git-Protocol"):
            # http-backend passes this on to upload-pack: it is how protocol v2 is asked for.
            env["HTTP_GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        return env

    def _run_backend(self, body: bytes, user: str) -> bytes:
        with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
            stdin.write(body)
            stdin.seek(0)
            process = subprocess.Popen(
                ["git", "http-backend"],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self._cgi_environment(body, user),
            )
            timer = threading.Timer(CGI_TIMEOUT, process.kill)
            timer.start()
            with process:
                try:
                    output = _read_bounded(process.stdout)
                finally:
                    timer.cancel()
                    if process.poll() is None:
                        process.kill()
        if output is None:
            raise _BadRequest(502, "git http-backend wrote too much")
        return output

    def _relay(self, output: bytes) -> None:
        head, body = _split_cgi_output(output)
        status, headers = _parse_cgi_head(head)
        self._record(status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        limit = self.server.owner._take_fault(len(body)) if self.path.endswith("git-upload-pack") else None
        if limit is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[:limit])
        self.wfile.flush()
        self.server.owner.stop()


def _read_bounded(stream: IO[bytes] | None) -> bytes | None:
    """Everything ``stream`` gives, or ``None`` past MAX_OUTPUT bytes."""
    assert stream is not None
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(65536):
        total += len(chunk)
        if total > MAX_OUTPUT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _split_cgi_output(output: bytes) -> tuple[bytes, bytes]:
    """Split CGI output at the blank line that ends its headers."""
    ends = [(index, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (index := output.find(sep)) >= 0]
    if not ends:
        raise _BadRequest(502, "git http-backend wrote no headers")
    index, length = min(ends)
    return output[:index], output[index + length :]


def _parse_cgi_head(head: bytes) -> tuple[int, list[tuple[str, str]]]:
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "status":
            status = int(value.split()[0])
        elif name.strip():
            headers.append((name.strip(), value.strip()))
    return status, headers


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else (None, None)


def _gunzip(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        result = decompressor.decompress(data, MAX_BODY)
    except zlib.error:
        raise _BadRequest(400, "malformed gzip body") from None
    if decompressor.unconsumed_tail:
        raise _BadRequest(413, "request body too large")
    return result
