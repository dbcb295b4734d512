"""The HTTP side: timeouts, retries, rate limits, pagination, errors and the secrecy of the token."""

from __future__ import annotations

import datetime
import email.utils
from pathlib import Path
from typing import Any

import pytest
import requests
from fabpromote_github import (
    GitHubAuthenticationError,
    GitHubClient,
    GitHubError,
    GitHubHost,
    GitHubRateLimitError,
    RepositoryNotFoundError,
    _client,
    _host,
)
from fake_github import FakeGitHub, closed_port
from github_testing import NAME, OWNER, TOKEN, TOKEN_ENV, make_host

from fabpromote.exceptions import FabpromoteError, GitHostError
from fabpromote.git import ChangeRequest
from fabpromote.testing.clock import FakeClock


def _every_operation(host: GitHubHost, github: FakeGitHub, url: str) -> None:
    """Call every host operation once, successfully."""
    dev = github.commit(OWNER, NAME, "dev", {"a": "1\n"}, "a")
    host.read_branch(url, "dev")
    host.compare(url, "stage", "dev")
    host.read_file(url, "dev", "a")
    host.log(url, "dev")
    new = host.commit_files(url, "dev", {"b": b"2\n"}, "b", expected=dev, purpose="set-image")
    assert new is not None
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    host.set_status(url, new, "fabpromote/guard", "success")
    host.get_statuses(url, new)
    host.merge(url, change, expected_head_sha=new, message="Promote")
    prod = host.read_branch(url, "prod")
    assert prod is not None
    host.revert_to(url, "stage", prod, expected=str(host.read_branch(url, "stage")), message="Roll back")
    host.protect(url, ["prod"])
    host.protect(url, ["prod"], check_only=True)


class TestTimeouts:
    def test_every_request_has_a_timeout(
        self, host: GitHubHost, github: FakeGitHub, url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No request leaves without a timeout, across every operation."""
        session = host.client(url).session
        calls: list[dict[str, Any]] = []
        original = session.request

        def request(method: str, target: str, **kwargs: Any) -> requests.Response:
            calls.append(kwargs)
            assert kwargs.get("timeout") == 10.0, f"{method} {target} without the configured timeout"
            return original(method, target, **kwargs)

        monkeypatch.setattr(session, "request", request)
        _every_operation(host, github, url)
        assert len(calls) == len(github.requests) > 20

    def test_default_timeout(self, github: FakeGitHub) -> None:
        """The default timeout is 30 seconds."""
        assert GitHubHost(api_url=github.api_url).timeout == 30.0
        assert GitHubClient(github.api_url).timeout == 30.0

    def test_slow_answer_is_retried(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """An answer slower than the timeout is given up on and the request tried again."""
        host = make_host(github, tmp_path, timeout="0.3")
        github.delay_next(1.0)
        assert host.read_branch(url, "dev") == github.branch_sha(OWNER, NAME, "dev")

    def test_always_slow(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """When every try times out, the error says so."""
        host = make_host(github, tmp_path, timeout="0.2", max_retries="1")
        github.delay_next(0.6, count=2)
        with pytest.raises(GitHubError, match=r"no answer within 0\.2 s"):
            host.read_branch(url, "dev")


class TestRetries:
    def test_post_not_sent_again_after_a_timeout(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """A POST whose answer timed out may have been done: it is not sent again, and the error says so."""
        host = make_host(github, tmp_path, timeout="0.3")
        github.commit(OWNER, NAME, "dev", {"a": "1\n"}, "a")
        github.delay_next(1.0, method="POST", path=r"/pulls$")
        with pytest.raises(
            GitHubError, match=r"no answer within 0\.3 s; not sent again, as the POST may have been done"
        ):
            host.open_change(url, base="stage", head="dev", title="Promote", body="")
        assert len(github.api_requests("POST", r"/pulls$")) == 1

    def test_5xx_retried(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Two 502s, then the answer: the caller sees only the answer."""
        github.fail_next(2, status=502)
        assert host.read_branch(url, "dev") == github.branch_sha(OWNER, NAME, "dev")
        assert [request.status for request in github.requests] == [502, 502, 200]

    def test_writes_retried(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A 503 on a POST is retried too, and the pull request opened once."""
        github.commit(OWNER, NAME, "dev", {"a": "1\n"}, "a")
        github.fail_next(1, status=503, method="POST", path=r"/pulls$")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        assert change.number == 1
        assert [request.status for request in github.api_requests("POST")] == [503, 201]

    def test_gives_up(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """A 5xx that lasts is an error with the status, after max_retries retries."""
        host = make_host(github, tmp_path, max_retries="2")
        github.fail_next(5, status=500)
        with pytest.raises(GitHubError, match="HTTP 500: Server Error") as caught:
            host.read_branch(url, "dev")
        assert caught.value.status == 500
        assert len(github.requests) == 3

    def test_connection_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An API nobody listens on is a wrapped, clear error."""
        with closed_port() as port:
            host = GitHubHost(
                api_url=f"http://127.0.0.1:{port}/api/v3", token_env=TOKEN_ENV, backoff=0.01, max_retries=2
            )
            with pytest.raises(
                GitHubError, match=r"cannot reach GitHub at http://127.0.0.1:\d+/api/v3: .*refused"
            ) as caught:
                host.read_branch(f"http://127.0.0.1:{port}/octo/app.git", "dev")
        assert isinstance(caught.value.__cause__, requests.ConnectionError)
        assert isinstance(caught.value, FabpromoteError)


class TestRateLimits:
    """Every wait is spent on the fake clock: the tests see exactly what was waited, and never wait."""

    def test_secondary_limit_waits_retry_after(
        self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock
    ) -> None:
        """A secondary rate limit (403, Retry-After: 7) is waited out, then the request succeeds."""
        github.secondary_rate_limit(retry_after=7)
        assert host.read_branch(url, "dev") is not None
        assert [request.status for request in github.requests] == [403, 200]
        assert clock.sleeps == [7.0]

    def test_429_waits_retry_after(self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock) -> None:
        """A 429 with Retry-After is waited out too."""
        github.too_many_requests(retry_after=5)
        assert host.read_branch(url, "dev") is not None
        assert [request.status for request in github.requests] == [429, 200]
        assert clock.sleeps == [5.0]

    def test_retry_after_as_a_date(self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock) -> None:
        """A Retry-After that is an HTTP date is waited until that date."""
        when = email.utils.format_datetime(
            datetime.datetime.fromtimestamp(int(clock.time()) + 20, datetime.timezone.utc), usegmt=True
        )
        github.too_many_requests(retry_after=when)
        assert host.read_branch(url, "dev") is not None
        assert [request.status for request in github.requests] == [429, 200]
        assert len(clock.sleeps) == 1
        assert 19.0 <= clock.sleeps[0] <= 20.0

    def test_503_waits_retry_after(self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock) -> None:
        """A 503 asking to come back in 9 s is tried again after 9 s, not after the backoff."""
        github.fail_next(1, status=503, message="Service Unavailable", headers={"Retry-After": "9"})
        assert host.read_branch(url, "dev") is not None
        assert clock.sleeps == [9.0]

    def test_primary_limit_waits_for_reset(
        self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock
    ) -> None:
        """A used-up primary limit (remaining 0) waits until X-RateLimit-Reset."""
        github.exhaust_rate_limit(reset_in=30)
        assert host.read_branch(url, "dev") is not None
        assert [request.status for request in github.requests] == [403, 200]
        assert len(clock.sleeps) == 1
        assert 30.0 <= clock.sleeps[0] <= 32.0

    def test_last_remaining_request_pauses_the_next(
        self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock
    ) -> None:
        """After an answer with remaining 0, the next request waits for the reset instead of failing."""
        github.set_rate_limit(remaining=1, reset_in=20)
        host.read_branch(url, "dev")
        host.read_branch(url, "prod")
        assert [request.status for request in github.requests] == [200, 200]
        assert len(clock.sleeps) == 1
        assert 20.0 <= clock.sleeps[0] <= 21.5

    def test_too_long_a_wait(self, github: FakeGitHub, tmp_path: Path, url: str, clock: FakeClock) -> None:
        """A wait longer than max_wait is an error at once, not a hang."""
        host = make_host(github, tmp_path, max_wait="0.5")
        github.secondary_rate_limit(retry_after=30)
        with pytest.raises(GitHubRateLimitError, match=r"it asks to wait 30 s, more than max_wait \(0\.5 s\)"):
            host.read_branch(url, "dev")
        assert clock.sleeps == []

    def test_wait_past_the_deadline(
        self, host: GitHubHost, github: FakeGitHub, url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A Retry-After past $FABPROMOTE_NETWORK_TIMEOUT fails at once, in one line naming the request."""
        monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "60")
        github.too_many_requests(retry_after=120)
        with pytest.raises(GitHubRateLimitError) as caught:
            host.read_branch(url, "dev")
        message = str(caught.value)
        assert message.startswith("GitHub GET /api/v3/repos/octo/app/branches/dev: rate limited (HTTP 429): ")
        assert message.endswith(
            "it asks to wait 120 s, more than the 60 s left of the 60 s that $FABPROMOTE_NETWORK_TIMEOUT gives a request"
        )
        assert "\n" not in message
        assert (caught.value.status, clock.sleeps, len(github.requests)) == (429, [], 1)

    def test_retries_stop_at_the_deadline(
        self, github: FakeGitHub, tmp_path: Path, url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Retries of a lasting 503 end with the deadline, not with max_retries: 25 s allow 2 waits of 10 s."""
        monkeypatch.setenv("FABPROMOTE_NETWORK_TIMEOUT", "25")
        host = make_host(github, tmp_path, max_retries="8")
        github.fail_next(9, status=503, message="Service Unavailable", headers={"Retry-After": "10"})
        with pytest.raises(GitHubError) as caught:
            host.read_branch(url, "dev")
        assert str(caught.value) == (
            "GitHub GET /api/v3/repos/octo/app/branches/dev: HTTP 503: Service Unavailable; "
            "it asks to wait 10 s, more than the 5 s left of the 25 s that $FABPROMOTE_NETWORK_TIMEOUT gives a request"
        )
        assert (caught.value.status, clock.sleeps, len(github.requests)) == (503, [10.0, 10.0], 3)

    def test_plain_403_not_retried(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A 403 that is no rate limit is an error at once, naming the token variable."""
        github.fail_next(1, status=403, message="Resource not accessible by integration")
        with pytest.raises(GitHubError, match=f"access denied.*Resource not accessible.*\\${TOKEN_ENV}") as caught:
            host.read_branch(url, "dev")
        assert caught.value.status == 403
        assert len(github.requests) == 1


class TestPagination:
    @pytest.fixture(autouse=True)
    def _small_pages(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(_client, "PER_PAGE", 2)
        monkeypatch.setattr(_host, "LOG_PAGE", 2)

    def test_log_follows_links(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """History longer than a page is read page after page through Link headers."""
        for number in range(5):
            github.commit(OWNER, NAME, "dev", {"n": f"{number}\n"}, f"commit {number}")
        history = host.log(url, "dev")
        assert len(history) == 6
        pages = [request.query.get("page", "1") for request in github.api_requests("GET", r"/commits$")]
        assert pages == ["1", "2", "3"]
        assert all(
            request.query["sha"] == "dev" and request.query["per_page"] == "2"
            for request in github.api_requests("GET", r"/commits$")
        )

    def test_log_stops_at_limit(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """No page beyond the one holding the last commit wanted is fetched."""
        for number in range(5):
            github.commit(OWNER, NAME, "dev", {"n": f"{number}\n"}, f"commit {number}")
        assert len(host.log(url, "dev", limit=2)) == 2
        assert len(github.api_requests("GET", r"/commits$")) == 1

    def test_statuses_follow_links(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Every status of a combined status is read, across pages."""
        dev = github.branch_sha(OWNER, NAME, "dev")
        assert dev is not None
        for number in range(5):
            host.set_status(url, dev, f"check/{number}", "success")
        combined = host.get_statuses(url, dev)
        assert sorted(status.context for status in combined.statuses) == [f"check/{n}" for n in range(5)]
        assert combined.state == "success"
        assert len(github.api_requests("GET", r"/status$")) == 3

    def test_pull_requests_found_beyond_the_first_page(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """The open pull request is found by filtering, whatever page size."""
        github.commit(OWNER, NAME, "dev", {"a": "1\n"}, "a")
        first = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        assert host.open_change(url, base="stage", head="dev", title="Promote", body="").number == first.number

    def test_link_off_the_api_host_is_refused(self, host: GitHubHost, url: str) -> None:
        """A Link to another host would receive the token: it is not followed."""
        client = host.client(url)
        with pytest.raises(GitHubError, match="refusing to follow"):
            client.request("GET", "https://evil.example.com/api/v3/repos/o/r")


class TestErrors:
    def test_bad_token(self, host: GitHubHost, github: FakeGitHub, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A refused token is an authentication error naming the variable, never the value."""
        wrong = "ghp_wrongwrongwrongwrongwrongwrong0000"
        monkeypatch.setenv(TOKEN_ENV, wrong)
        with pytest.raises(GitHubAuthenticationError) as caught:
            host.read_branch(url, "dev")
        message = str(caught.value)
        assert f"${TOKEN_ENV}" in message
        assert "Bad credentials" in message
        assert wrong not in message
        assert (caught.value.status, caught.value.host, caught.value.variable) == (401, "github", TOKEN_ENV)
        assert isinstance(caught.value, GitHostError)

    def test_no_token(self, host: GitHubHost, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without a token the error says which variable to set."""
        monkeypatch.delenv(TOKEN_ENV)
        with pytest.raises(GitHubAuthenticationError, match=f"set \\${TOKEN_ENV} to a GitHub token"):
            host.read_branch(url, "dev")

    def test_git_push_with_a_bad_token(
        self, host: GitHubHost, github: FakeGitHub, url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """git over HTTPS refusing the token is the same clear authentication error."""
        dev = host.read_branch(url, "dev")
        wrong = "ghp_wrongwrongwrongwrongwrongwrong0000"
        monkeypatch.setenv(TOKEN_ENV, wrong)
        with pytest.raises(GitHubAuthenticationError, match=f"\\${TOKEN_ENV}") as caught:
            host.commit_files(url, "dev", {"a": b"1\n"}, "a", expected=dev, purpose="set-image")
        assert wrong not in str(caught.value)
        assert TOKEN not in str(caught.value)

    @pytest.mark.parametrize(
        "call",
        [
            lambda host, url: host.read_branch(url, "dev"),
            lambda host, url: host.compare(url, "stage", "dev"),
            lambda host, url: host.read_file(url, "dev", "README.md"),
            lambda host, url: host.log(url, "dev"),
            lambda host, url: host.open_change(url, base="stage", head="dev", title="t", body=""),
            lambda host, url: host.merge(
                url,
                ChangeRequest(base="dev", head="x", head_sha="0" * 40, number=1),
                expected_head_sha="0" * 40,
                message="m",
            ),
            lambda host, url: host.get_statuses(url, "dev"),
            lambda host, url: host.protect(url, ["dev"]),
        ],
        ids=["read_branch", "compare", "read_file", "log", "open_change", "merge", "get_statuses", "protect"],
    )
    def test_repository_not_found(self, host: GitHubHost, github: FakeGitHub, call: Any) -> None:
        """Every operation on a repository GitHub does not show says so plainly."""
        with pytest.raises(
            RepositoryNotFoundError, match=r"repository octo/missing not found \(or the token cannot see it\)"
        ) as caught:
            call(host, github.repo_url(OWNER, "missing"))
        assert caught.value.status == 404

    def test_echoed_token_is_redacted(self, host: GitHubHost, url: str) -> None:
        """A token GitHub echoes back in an error body is redacted from the message."""
        with pytest.raises(GitHubError) as caught:
            host.read_file(url, TOKEN, "README.md")
        assert TOKEN not in str(caught.value)
        assert "***" in str(caught.value)


class TestTokenSecrecy:
    def test_no_token_in_logs_or_errors(
        self,
        host: GitHubHost,
        github: FakeGitHub,
        url: str,
        debug_logs: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Every operation, retries and failures included, logs nothing holding the token."""
        github.fail_next(1, status=502)
        github.secondary_rate_limit(retry_after=0)
        _every_operation(host, github, url)
        messages = []
        for call in (
            lambda: host.read_branch(github.repo_url(OWNER, "missing"), "dev"),
            lambda: host.commit_files(url, "dev", {"a": b"x\n"}, "a", expected="0" * 40, purpose="set-image"),
        ):
            with pytest.raises(FabpromoteError) as caught:
                call()
            messages.append(str(caught.value))
        monkeypatch.setenv(TOKEN_ENV, TOKEN + "-wrong")
        with pytest.raises(FabpromoteError) as caught:
            host.commit_files(
                url, "dev", {"a": b"x\n"}, "a", expected=host.read_branch(url, "dev"), purpose="set-image"
            )
        messages.append(str(caught.value))
        assert any(record.name.startswith("urllib3") for record in debug_logs.records)
        assert any(record.name == "fabpromote.github" for record in debug_logs.records)
        assert TOKEN not in debug_logs.text
        for message in messages:
            assert TOKEN not in message, message

    def test_token_sent_as_bearer_only(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """The API gets the token in an Authorization: Bearer header, never in the URL."""
        host.read_branch(url, "dev")
        request = github.requests[0]
        assert request.auth_scheme == "Bearer"
        assert TOKEN not in request.path
        assert TOKEN not in str(request.query)
