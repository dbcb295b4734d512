"""How the host talks HTTP: retries, rate limits, pages, timeouts, errors, and keeping the token secret."""

from __future__ import annotations

import contextlib
import datetime
import email.utils
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
from fabpromote_gitlab import GitLabHost
from fabpromote_gitlab._api import Api

from fabpromote.exceptions import GitHostError
from fabpromote.testing.clock import FakeClock

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab, FakeProject

PROJECT = "group/sub/app"


@pytest.fixture(name="project")
def _project(gitlab: FakeGitLab, repo: str) -> FakeProject:
    return gitlab.project(PROJECT)


@pytest.fixture(name="silent_port")
def _silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture(name="closed_port")
def _closed_port() -> Iterator[int]:
    """A port that refuses connections: bound, never listening, held for the test (no other server gets it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


@contextlib.contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve ``handler`` on a port of 127.0.0.1 for the block."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _statuses(gitlab: FakeGitLab, contains: str) -> list[int]:
    return [r.status for r in gitlab.api_requests(contains=contains)]


class TestRetries:
    def test_5xx_retried(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Answers 502 and 503 are retried until GitLab answers."""
        gitlab.fail_next(1, 502)
        gitlab.fail_next(1, 503)
        assert host.read_branch(repo, "dev") == project.branch("dev")
        assert _statuses(gitlab, "/branches/dev") == [502, 503, 200]

    def test_5xx_retried_for_writes(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, project: FakeProject
    ) -> None:
        """A POST that the load balancer refused is sent again."""
        project.commit("dev", {"a.txt": "1"})
        gitlab.fail_next(2, 502, method="POST")
        assert host.open_change(repo, base="stage", head="dev", title="t", body="").number == 1
        assert _statuses(gitlab, "/merge_requests") == [200, 502, 502, 201]

    def test_gives_up(self, gitlab: FakeGitLab, repo: str, token: str, clock: FakeClock) -> None:
        """After its retries the host raises the last failure with its status."""
        host = GitLabHost(api_url=gitlab.api_url, retries=2, clock=clock)
        gitlab.fail_next(5, 503)
        with pytest.raises(
            GitHostError, match=r"failed \(HTTP 503\): 503 Service Unavailable; gave up after 3 tries"
        ) as info:
            host.read_branch(repo, "dev")
        assert (info.value.status, info.value.host) == (503, "gitlab")
        assert len(gitlab.requests) == 3
        assert len(clock.sleeps) == 2

    def test_connection_refused(self, closed_port: int, repo: str, token: str, clock: FakeClock) -> None:
        """A server that cannot be reached is a GitHostError wrapping the network error."""
        host = GitLabHost(api_url=f"http://127.0.0.1:{closed_port}/api/v4", retries=1, clock=clock)
        with pytest.raises(GitHostError, match=r"cannot reach GitLab .*Connection refused") as info:
            host.read_branch(repo, "dev")
        assert isinstance(info.value.__cause__, requests.ConnectionError)
        assert len(clock.sleeps) == 1

    def test_read_timeout(self, silent_port: int, repo: str, token: str) -> None:
        """A server that never answers fails after the configured timeout."""
        host = GitLabHost(api_url=f"http://127.0.0.1:{silent_port}/api/v4", timeout=0.3, retries=0)
        started = time.monotonic()
        with pytest.raises(GitHostError, match=r"cannot reach GitLab .*timed out") as info:
            host.read_branch(repo, "dev")
        assert time.monotonic() - started < 5
        assert isinstance(info.value.__cause__, requests.Timeout)

    def test_post_not_sent_again_after_a_timeout(
        self, silent_port: int, repo: str, token: str, clock: FakeClock
    ) -> None:
        """A POST whose answer timed out may have been done: it is not sent again, and the error says so."""
        host = GitLabHost(api_url=f"http://127.0.0.1:{silent_port}/api/v4", timeout=0.3, retries=3, clock=clock)
        with pytest.raises(GitHostError, match=r"timed out.*; not sent again, as the POST may have been done"):
            host.api(repo).request("POST", "projects/1/merge_requests", json={})
        assert clock.sleeps == []

    def test_get_sent_again_after_a_timeout(self, silent_port: int, repo: str, token: str, clock: FakeClock) -> None:
        """A GET whose answer timed out is sent again, as many times as ``retries`` allows."""
        host = GitLabHost(api_url=f"http://127.0.0.1:{silent_port}/api/v4", timeout=0.2, retries=2, clock=clock)
        with pytest.raises(GitHostError, match=r"cannot reach GitLab .*timed out"):
            host.read_branch(repo, "dev")
        assert len(clock.sleeps) == 2


class TestRateLimits:
    """Every wait is spent on the fake clock: the tests see exactly what was waited, and never wait."""

    def test_retry_after(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, project: FakeProject, clock: FakeClock
    ) -> None:
        """A 429 is retried after the seconds of its Retry-After, then succeeds."""
        gitlab.rate_limit_next(1, retry_after=7)
        assert host.read_branch(repo, "dev") == project.branch("dev")
        assert _statuses(gitlab, "/branches/dev") == [429, 200]
        assert clock.sleeps == [7.0]

    def test_retry_after_as_a_date(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, clock: FakeClock) -> None:
        """A Retry-After that is an HTTP date is waited until that date."""
        when = email.utils.format_datetime(
            datetime.datetime.fromtimestamp(int(clock.time()) + 30, datetime.timezone.utc), usegmt=True
        )
        gitlab.rate_limit_next(1, retry_after=when)
        host.read_branch(repo, "dev")
        assert len(clock.sleeps) == 1
        assert 29.0 <= clock.sleeps[0] <= 30.0

    def test_ratelimit_reset(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, clock: FakeClock) -> None:
        """Without Retry-After, the wait runs until RateLimit-Reset."""
        gitlab.rate_limit_next(1, retry_after=None, reset_in=3, now=clock.time())
        host.read_branch(repo, "dev")
        assert len(clock.sleeps) == 1
        assert 2 <= clock.sleeps[0] <= 5

    def test_too_long_a_wait_fails_at_once(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, clock: FakeClock
    ) -> None:
        """A rate limit asking for more than two minutes is an error, not a hang."""
        gitlab.rate_limit_next(1, retry_after=3600)
        with pytest.raises(
            GitHostError, match=r"rate limit.*it asks to wait 3600 s, more than max_wait \(120 s\)"
        ) as info:
            host.read_branch(repo, "dev")
        assert info.value.status == 429
        assert clock.sleeps == []

    def test_wait_past_the_deadline(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A Retry-After past $FABPROMOTE_NETWORK_TIMEOUT fails at once, in one line naming the request."""
        monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "30")
        gitlab.rate_limit_next(1, retry_after=45)
        with pytest.raises(GitHostError) as info:
            host.read_branch(repo, "dev")
        message = str(info.value)
        assert message.startswith(f"GitLab rate limit hit (GET {gitlab.api_url}/projects/")
        assert message.endswith(
            "it asks to wait 45 s, more than the 30 s left of the 30 s that $FABPROMOTE_NETWORK_TIMEOUT gives a request"
        )
        assert "\n" not in message
        assert (info.value.status, clock.sleeps, len(gitlab.requests)) == (429, [], 1)

    def test_retries_stop_at_the_deadline(
        self, gitlab: FakeGitLab, repo: str, token: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Retries of a lasting limit end with the deadline, not with ``retries``: 25 s allow 2 waits of 10 s."""
        monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "25")
        host = GitLabHost(api_url=gitlab.api_url, retries=8, clock=clock)
        gitlab.rate_limit_next(9, retry_after=10)
        with pytest.raises(GitHostError, match=r"it asks to wait 10 s, more than the 5 s left of the 25 s that"):
            host.read_branch(repo, "dev")
        assert (clock.sleeps, len(gitlab.requests)) == ([10.0, 10.0], 3)


class TestPagination:
    @pytest.fixture(name="statuses")
    def _statuses(self, host: GitLabHost, repo: str, project: FakeProject) -> str:
        sha = project.branch("dev")
        assert sha is not None
        for number in range(5):
            host.set_status(repo, sha, f"check/{number}", "success")
        return f"projects/group%2Fsub%2Fapp/repository/commits/{sha}/statuses"

    def test_link_header(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, statuses: str) -> None:
        """Pages are followed through Link rel=next until the last."""
        items = list(host.api(repo).pages(statuses, params={"per_page": 2}))
        assert [item["name"] for item in items] == [f"check/{n}" for n in range(5)]
        assert [r.query.get("page") for r in gitlab.api_requests("GET", "/statuses")] == [None, "2", "3"]

    def test_x_next_page(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, statuses: str) -> None:
        """Without Link headers, X-Next-Page leads to the next page."""
        gitlab.link_header = False
        items = list(host.api(repo).pages(statuses, params={"per_page": 2}))
        assert len(items) == 5
        assert [r.query.get("page") for r in gitlab.api_requests("GET", "/statuses")] == [None, "2", "3"]

    def test_limit_stops_early(self, gitlab: FakeGitLab, host: GitLabHost, repo: str, statuses: str) -> None:
        """No page beyond the limit is asked for."""
        items = list(host.api(repo).pages(statuses, params={"per_page": 2}, limit=3))
        assert len(items) == 3
        assert len(gitlab.api_requests("GET", "/statuses")) == 2

    def test_link_to_another_server_is_not_followed(self, gitlab: FakeGitLab, host: GitLabHost, repo: str) -> None:
        """The token never goes to a server other than the API's."""
        with pytest.raises(GitHostError, match="link to another server"):
            host.api(repo).request("GET", "https://evil.example/api/v4/projects")


class TestTimeouts:
    def test_every_request_has_a_timeout(
        self, host: GitLabHost, repo: str, project: FakeProject, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every request of every operation carries the configured timeout."""
        calls: list[tuple[str, str]] = []
        original = host.session.request

        def checked(method: str, url: str, **kwargs: Any) -> requests.Response:
            assert kwargs.get("timeout") == 10, f"{method} {url} without the timeout"
            assert kwargs.get("allow_redirects") is False
            calls.append((method, url))
            return original(method, url, **kwargs)

        monkeypatch.setattr(host.session, "request", checked)
        target = project.branch("stage")
        assert target is not None
        head = host.read_branch(repo, "dev")
        host.compare(repo, "stage", "dev")
        host.read_file(repo, "dev", "hld/component.yaml")
        host.log(repo, "dev")
        new = host.commit_files(repo, "dev", {"a.txt": b"a"}, "m", expected=head, purpose="set-image")
        assert new is not None
        host.set_status(repo, new, "fabpromote/guard", "success")
        host.get_statuses(repo, new)
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        merged = host.merge(repo, change, expected_head_sha=new, message="m")
        host.revert_to(repo, "stage", target, expected=merged.sha, message="back")
        host.protect(repo, ["stage"])
        host.protect(repo, ["stage"], check_only=True)
        assert len(calls) >= 20
        assert {method for method, _ in calls} == {"GET", "POST", "PUT"}

    def test_timeout_setting(self, gitlab: FakeGitLab, repo: str) -> None:
        """The timeout setting (a string in the cluster file) reaches the client."""
        host = GitLabHost.from_settings(api_url=gitlab.api_url, timeout="2.5")
        assert host.api(repo).timeout == 2.5


class TestErrors:
    def test_401_wrong_token(self, gitlab: FakeGitLab, repo: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A refused token is an authentication error naming its variable, never its value."""
        monkeypatch.setenv("GITLAB_TOKEN", "glpat-wrong-secret-value")
        host = GitLabHost(api_url=gitlab.api_url)
        with pytest.raises(GitHostError) as info:
            host.read_branch(repo, "dev")
        assert info.value.status == 401
        assert "authentication failed" in str(info.value)
        assert "the token in $GITLAB_TOKEN was refused" in str(info.value)
        assert "glpat-wrong-secret-value" not in str(info.value)

    def test_401_no_token(self, gitlab: FakeGitLab, repo: str) -> None:
        """Without a token the error says which variable to set."""
        host = GitLabHost(api_url=gitlab.api_url, token_env="TEAM_GITLAB_TOKEN")
        with pytest.raises(GitHostError, match=r"set \$TEAM_GITLAB_TOKEN to a GitLab access token"):
            host.read_branch(repo, "dev")

    def test_401_is_not_retried(self, gitlab: FakeGitLab, repo: str) -> None:
        """An authentication failure is reported at once."""
        with pytest.raises(GitHostError):
            GitLabHost(api_url=gitlab.api_url).read_branch(repo, "dev")
        assert len(gitlab.requests) == 1

    @pytest.mark.parametrize(
        "operation",
        [
            lambda host, url: host.read_branch(url, "dev"),
            lambda host, url: host.read_file(url, "dev", "a.txt"),
            lambda host, url: host.log(url, "dev"),
            lambda host, url: host.compare(url, "dev", "stage"),
            lambda host, url: host.protect(url, ["prod"], check_only=True),
        ],
    )
    def test_404_repository(self, gitlab: FakeGitLab, host: GitLabHost, operation: Any) -> None:
        """A project that does not exist (or is hidden) is named in a clear error."""
        with pytest.raises(GitHostError) as info:
            operation(host, gitlab.repo_url("group/missing"))
        assert info.value.status == 404
        assert str(info.value).startswith("repository group/missing not found (or the token cannot see it)")

    def test_redirect_not_followed(self, gitlab: FakeGitLab, repo: str, token: str) -> None:
        """A redirect is an error: the token is not sent to where it points."""

        class Redirect(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(301)
                self.send_header("Location", f"{gitlab.api_url}{self.path.removeprefix('/api/v4')}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        with _serving(Redirect) as port:
            host = GitLabHost(api_url=f"http://127.0.0.1:{port}/api/v4")
            with pytest.raises(GitHostError, match=r"redirected .* set api_url") as info:
                host.read_branch(repo, "dev")
        assert info.value.status == 301
        assert gitlab.requests == []

    def test_not_json(self, repo: str, token: str) -> None:
        """A page that is not JSON (a proxy's login page) is a clear error, not a traceback."""

        class Html(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = b"<html><body>Please sign in</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        with _serving(Html) as port:
            host = GitLabHost(api_url=f"http://127.0.0.1:{port}/api/v4")
            with pytest.raises(GitHostError, match=r"with no JSON \(HTTP 200\): Please sign in"):
                host.read_branch(repo, "dev")

    def test_git_authentication(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A token refused for git content names its variable, never its value."""
        head = host.read_branch(repo, "dev")
        monkeypatch.setenv("GITLAB_TOKEN", "glpat-wrong-for-git")
        with pytest.raises(PermissionError, match=r"the token in \$GITLAB_TOKEN was refused") as info:
            host.commit_files(repo, "dev", {"a.txt": b"a"}, "m", expected=head, purpose="set-image")
        assert "glpat-wrong-for-git" not in str(info.value)

    def test_http_api_url_refused(self) -> None:
        """An api_url in clear text to a network host is refused: the token would travel unencrypted."""
        with pytest.raises(GitHostError, match="must be an https:// URL"):
            GitLabHost(api_url="http://gitlab.example.com/api/v4")


class TestSecrets:
    def test_no_token_in_logs(
        self,
        gitlab: FakeGitLab,
        host: GitLabHost,
        repo: str,
        project: FakeProject,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Debug logs of the host, requests/urllib3 and git transfers never show the token."""
        caplog.set_level(logging.DEBUG)
        for name in ("urllib3", "fabpromote", "dulwich"):
            caplog.set_level(logging.DEBUG, logger=name)
        gitlab.fail_next(1, 502)
        head = host.read_branch(repo, "dev")
        new = host.commit_files(repo, "dev", {"a.txt": b"a"}, "m", expected=head, purpose="set-image")
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        assert new is not None
        host.merge(repo, change, expected_head_sha=new, message="m")
        monkeypatch.setenv("GITLAB_TOKEN", "glpat-another-secret")
        with pytest.raises(GitHostError):
            host.read_branch(repo, "dev")
        assert any(record.name.startswith("urllib3") for record in caplog.records)
        assert any(record.name == "fabpromote.gitlab" for record in caplog.records)
        assert gitlab.token not in caplog.text
        assert "glpat-another-secret" not in caplog.text

    def test_error_bodies_are_redacted(self, token: str) -> None:
        """A token echoed back by a server in an error is replaced by ***."""
        api = Api("https://gitlab.example.com/api/v4")
        response = requests.Response()
        response.status_code = 500
        response._content = json.dumps({"message": f"boom: PRIVATE-TOKEN {token} invalid"}).encode()
        error = api._error(response, "GET", "https://gitlab.example.com/api/v4/x", "")
        assert token not in str(error)
        assert "boom: PRIVATE-TOKEN *** invalid" in str(error)

    def test_url_credentials_redacted(self, gitlab: FakeGitLab, host: GitLabHost) -> None:
        """Credentials written into a repository URL do not appear in errors."""
        url = gitlab.repo_url("group/missing").replace("http://", "http://oauth2:url-secret@")
        with pytest.raises(GitHostError) as info:
            host.revert_to(url, "prod", "0" * 40, expected="1" * 40, message="m")
        assert "url-secret" not in str(info.value)
