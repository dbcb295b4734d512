"""What the tests share besides fixtures: the test token, the repository, a host factory, the fake as shared tests see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fabpromote_github import GitHubHost
from fake_github import FakeGitHub

from fabpromote.testing.hosted import HostedFake

#: A token that looks like a real one, so that a leak is easy to find in logs and messages.
TOKEN = "ghp_FaKeT0kenF0rTests0nly1234567890abcd"
TOKEN_ENV = "FABPROMOTE_TEST_GITHUB_TOKEN"
OWNER, NAME = "octo", "app"


def make_host(github: FakeGitHub, tmp_path: Path, **settings: Any) -> GitHubHost:
    """A host on the fake, waiting on the fake's clock; ``settings`` as a cluster file gives them."""
    # By default the fake's clock, so that retries wait on it and not for real.
    return hosted(github).make_host(GitHubHost.from_settings, tmp_path, settings, github.clock)


def hosted(github: FakeGitHub) -> HostedFake:
    """The fake as the shared tests see it: empty repositories of owner octo, its API base."""

    def create(name: str) -> str:
        github.create_repo("octo", name, empty=True)
        return github.repo_url("octo", name)

    return HostedFake("github", TOKEN_ENV, create, {"api_url": github.api_url})
