"""One readable reason for a request that got no answer: ``fabpromote.network.request_failure``.

The core's downloads and the GitLab plugin tell their failures with it; the
requests here really fail, against a port that refuses connections.
"""

from __future__ import annotations

import requests
import urllib3

from fabpromote.network import request_failure
from fabpromote.testing.gitservers import refused_port


def test_refused_connection_through_requests() -> None:
    """requests' wrapping (ConnectionError of MaxRetryError of NewConnectionError) is peeled to the reason."""
    with refused_port() as port, requests.Session() as session:
        try:
            session.get(f"http://127.0.0.1:{port}/x", timeout=5)
        except requests.ConnectionError as exc:
            text = request_failure(exc)
        else:
            raise AssertionError("the port accepted a connection")
    assert "Connection refused" in text
    assert "HTTPConnectionPool" not in text
    assert "<urllib3.connection" not in text
    assert "\n" not in text


def test_refused_connection_through_urllib3() -> None:
    """urllib3's own MaxRetryError: its reason, without the pool or the connection named before it."""
    with refused_port() as port, urllib3.PoolManager(retries=False) as pool:
        try:
            pool.request(
                "GET", f"http://127.0.0.1:{port}/x", timeout=5, retries=urllib3.Retry(0, raise_on_redirect=False)
            )
        except urllib3.exceptions.MaxRetryError as exc:
            text = request_failure(requests.ConnectionError(exc))
        else:
            raise AssertionError("the port accepted a connection")
    assert "Connection refused" in text
    assert not text.startswith(("HTTPConnectionPool", "<"))


def test_an_error_without_a_wrapped_reason() -> None:
    """Anything else keeps its own words, or its type when it has none."""
    assert request_failure(requests.HTTPError("404 Client Error: Not Found for url: http://x/")) == (
        "404 Client Error: Not Found for url: http://x/"
    )
    assert request_failure(requests.ConnectionError()) == "ConnectionError"
