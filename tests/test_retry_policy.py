"""fabpromote.network.RetryPolicy: urllib3's retries mounted on a requests Session, on a fake clock.

A tiny HTTP server answers from a script of (status, headers) per request; the
policy's clock is a FakeClock, so every wait is seen and none is slept.
"""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import http.server
import socket
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
import requests

from fabpromote.network import RetryPolicy, retry_stopped
from fabpromote.testing.clock import FakeClock


class _Scripted(http.server.BaseHTTPRequestHandler):
    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        self.seen.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, headers = self.script.pop(0) if self.script else (200, {})
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _server(script: list[tuple[int, dict[str, str]]]) -> Iterator[tuple[str, list[str]]]:
    handler = type("Handler", (_Scripted,), {"script": list(script), "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()


def _session(base: str, clock: FakeClock, **settings: object) -> requests.Session:
    session = requests.Session()
    RetryPolicy(clock=clock, **settings).mount(session, base + "/")  # type: ignore[arg-type]
    return session


def test_retry_after_seconds_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry-After is waited exactly, in seconds or as an HTTP date."""
    monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "600")
    clock = FakeClock()
    date = datetime.datetime.fromtimestamp(int(clock.time()) + 40, datetime.timezone.utc)
    script = [(503, {"Retry-After": "12"}), (429, {"Retry-After": email.utils.format_datetime(date, usegmt=True)})]
    with _server(script) as (base, seen):
        response = _session(base, clock).get(base + "/x", timeout=5)
    assert response.status_code == 200
    assert seen == ["GET"] * 3
    assert clock.sleeps[0] == 12.0
    # The date is 40 s after the start; 12 s were waited already.
    assert 27.0 <= clock.sleeps[1] <= 28.0


def test_rate_limit_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """A used-up limit (remaining 0) waits until its reset, also on a 403; a plain 403 is not retried."""
    monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "600")
    clock = FakeClock()
    reset = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.time()) + 100)}
    with _server([(403, reset), (403, {})]) as (base, seen):
        session = _session(base, clock, remaining_header="X-RateLimit-Remaining", reset_header="X-RateLimit-Reset")
        response = session.get(base + "/x", timeout=5)
    assert (response.status_code, seen) == (403, ["GET", "GET"])
    assert len(clock.sleeps) == 1
    assert 100.0 <= clock.sleeps[0] <= 101.0
    assert retry_stopped(response) == ""


def test_a_wait_past_the_deadline_is_not_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Retry-After longer than what is left of the deadline hands the answer back at once, saying why."""
    monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "30")
    clock = FakeClock()
    with _server([(429, {"Retry-After": "31"})]) as (base, seen):
        response = _session(base, clock).post(base + "/x", json={}, timeout=5)
    assert (response.status_code, seen, clock.sleeps) == (429, ["POST"], [])
    assert retry_stopped(response) == (
        "it asks to wait 31 s, more than the 30 s left of the 30 s that $FABPROMOTE_NETWORK_TIMEOUT gives a request"
    )


def test_retries_end_with_their_count() -> None:
    """A lasting 502 is tried ``retries`` more times, then handed back with how many tries were made."""
    clock = FakeClock()
    with _server([(502, {})] * 5) as (base, seen):
        response = _session(base, clock, retries=2, backoff=1.0).get(base + "/x", timeout=5)
    assert (response.status_code, len(seen), len(clock.sleeps)) == (502, 3, 2)
    assert 1.0 <= clock.sleeps[0] <= 1.25
    assert 2.0 <= clock.sleeps[1] <= 2.5
    assert retry_stopped(response) == "gave up after 3 tries"


@pytest.fixture(name="silent")
def _silent() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_post_that_timed_out_is_not_sent_again(silent: str) -> None:
    """A POST whose answer timed out may have been done: requests raises at once; a GET is tried again."""
    clock = FakeClock()
    session = _session(silent, clock, retries=2)
    with pytest.raises(requests.ReadTimeout):
        session.post(silent + "/x", json={}, timeout=0.2)
    assert clock.sleeps == []
    with pytest.raises(requests.ReadTimeout):
        session.get(silent + "/x", timeout=0.2)
    assert len(clock.sleeps) == 2
