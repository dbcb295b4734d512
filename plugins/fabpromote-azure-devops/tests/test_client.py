"""The REST client on the fake: the token as Azure takes it, api-version, retries, throttling, errors in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_testing import TOKEN, TOKEN_ENV, make_host
from fabpromote_azure_devops import (
    AzureDevOpsAuthenticationError,
    AzureDevOpsHost,
    AzureDevOpsNotFoundError,
    AzureDevOpsRateLimitError,
)
from fake_azure import FakeAzureDevOps

from fabpromote.git import CommitStatus
from fabpromote.testing.clock import FakeClock


def _sha(host: AzureDevOpsHost, url: str) -> str:
    sha = host.read_branch(url, "dev")
    assert sha is not None
    return sha


def test_basic_auth_with_an_empty_user_and_api_version(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """The personal access token is HTTP Basic's password (empty user name); every request asks for 7.1."""
    host.commit_statuses(url, _sha(host, url))
    assert azure.requests  # each answered: the fake answers 401 to anything but Basic ":TOKEN"
    assert all(r.status == 200 and r.query.get("api-version") == "7.1" for r in azure.requests)
    assert host.client(url).api_url == azure.org_url  # from the repository URL: no api_url needed


def test_a_refused_token_names_its_variable_and_hides_it(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP 401: the error names the variable, never the token."""
    sha = _sha(host, url)
    monkeypatch.setenv(TOKEN_ENV, "wrong-" + TOKEN)
    with pytest.raises(AzureDevOpsAuthenticationError) as caught:
        host.set_commit_status(url, sha, CommitStatus(context="e2e", state="success"))
    assert caught.value.variable == TOKEN_ENV
    assert f"${TOKEN_ENV}" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert caught.value.status == 401


def test_a_missing_repository_is_named(azure: FakeAzureDevOps, host: AzureDevOpsHost) -> None:
    """TF401019 from Azure: a LookupError naming project and repository, in one line."""
    url = azure.repo_url("Fab Project", "nope")
    with pytest.raises(AzureDevOpsNotFoundError) as caught:
        host.protect(url, ["prod"], check_only=True)
    assert "Fab Project/nope" in str(caught.value)
    assert "TF401019" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_retries_server_errors_waiting_on_the_clock(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, clock: FakeClock
) -> None:
    """Two 503s, then the answer: tried three times, with backoff on the clock (nothing slept)."""
    sha = _sha(host, url)
    azure.fail_next(2, status=503)
    assert host.commit_statuses(url, sha) == []
    statuses = [r.status for r in azure.requests if r.path.endswith("/statuses")]
    assert statuses == [503, 503, 200]
    assert len(clock.sleeps) == 2


def test_throttling_waits_as_asked(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, clock: FakeClock) -> None:
    """A 429 with Retry-After (Azure's throttling) is waited exactly, then tried again."""
    sha = _sha(host, url)
    azure.fail_next(1, status=429, headers={"Retry-After": "7"})
    host.set_commit_status(url, sha, CommitStatus(context="e2e", state="success"))
    assert clock.sleeps == [7.0]


def test_throttling_past_max_wait_fails_at_once(azure: FakeAzureDevOps, tmp_path: Path, url: str) -> None:
    """A wait longer than max_wait is not waited: a one-line throttling error."""
    clock = FakeClock()
    host = make_host(azure, tmp_path, max_wait="60", clock=clock)
    sha = _sha(host, url)
    azure.fail_next(1, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(AzureDevOpsRateLimitError, match=r"throttled \(HTTP 429\).*more than max_wait"):
        host.commit_statuses(url, sha)
    assert clock.sleeps == []
