"""Fixtures: the fake GitHub (REST API and git over smart HTTP) on 127.0.0.1, and an isolated home."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote.testing.clock import FakeClock
from fabpromote.testing.hosted import APP_REPO_FILES, isolate
from fabpromote.testing.unavailable import unavailable

sys.path.insert(0, str(Path(__file__).parent))

import github_openapi
from fabpromote_github import GitHubHost
from fake_github import FakeGitHub
from github_testing import NAME, OWNER, TOKEN, TOKEN_ENV, make_host


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "live: talks to the real api.github.com (needs FABPROMOTE_LIVE_GITHUB_TOKEN)")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Home, cache and git configuration in tmp_path; the test token set; no proxy."""
    isolate(monkeypatch, tmp_path, token_env=TOKEN_ENV, token=TOKEN, host_variable="GITHUB_TOKEN")


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    """The clock of the host and of the fake's rate limits: retries wait on it, not for real."""
    return FakeClock()


def _find_description() -> tuple[Path | None, str]:
    """Where the pinned description is, or why it is missing; looked up at import, before HOME moves."""
    try:
        return github_openapi.description_file(), ""
    except github_openapi.OpenAPIMissing as exc:
        return None, str(exc)


DESCRIPTION, DESCRIPTION_MISSING = _find_description()


@pytest.fixture(name="openapi", scope="session")
def _openapi() -> github_openapi.OpenAPI:
    """GitHub's OpenAPI description (pinned @octokit/openapi); CI fails without it, elsewhere tests skip."""
    if DESCRIPTION is None:
        unavailable(DESCRIPTION_MISSING)
    return github_openapi.load(DESCRIPTION)


@pytest.fixture(name="github")
def _github(tmp_path: Path, clock: FakeClock, openapi: github_openapi.OpenAPI) -> Iterator[FakeGitHub]:
    """The fake GitHub with repository octo/app: master, dev, stage and prod at one commit.

    It checks every exchange against GitHub's OpenAPI description: the test fails at
    teardown on any violation, listing each (method, path, JSON pointer).
    """
    with FakeGitHub(tmp_path / "github", token=TOKEN, openapi=openapi) as fake:
        fake.clock = clock
        fake.create_repo(OWNER, NAME, APP_REPO_FILES, branches=("dev", "stage", "prod"))
        yield fake


@pytest.fixture(name="url")
def _url(github: FakeGitHub) -> str:
    """The clone URL of octo/app."""
    return github.repo_url(OWNER, NAME)


@pytest.fixture(name="host")
def _host(github: FakeGitHub, tmp_path: Path, clock: FakeClock) -> GitHubHost:
    """The github host pointed at the fake, waiting on ``clock``."""
    return make_host(github, tmp_path, clock=clock)


@pytest.fixture(name="debug_logs")
def _debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged at DEBUG, urllib3's connection logs included."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "fabpromote", "dulwich"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog
