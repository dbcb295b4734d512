"""What the tests share besides fixtures: the test token, the repository, a host factory, the fake as shared tests see it."""

from __future__ import annotations

from pathlib import Path

from fabpromote_github import GitHubHost
from fake_github import FakeGitHub

from fabpromote.git import Sources
from fabpromote.testing.hosted import HostedFake, host_from_settings

#: A token that looks like a real one, so that a leak is easy to find in logs and messages.
TOKEN = "ghp_FaKeT0kenF0rTests0nly1234567890abcd"
TOKEN_ENV = "FABPROMOTE_TEST_GITHUB_TOKEN"
OWNER, NAME = "octo", "app"
PROTECTED = {"stage": ("promote", "rollback"), "prod": ("promote", "rollback")}
FILES = {
    "README.md": "# app\n",
    "hld/component.yaml": "name: app\nsubcomponents: []\n",
    "hld/config/common.yaml": "config:\n  image: app:1.0.0\n",
}


def make_host(github: FakeGitHub, tmp_path: Path, **settings: object) -> GitHubHost:
    """A host on the fake, waiting on the fake's clock; ``settings`` as a cluster file gives them."""
    defaults: dict[str, object] = {
        "sources": Sources(cache_dir=tmp_path / "cache"),
        "protected": PROTECTED,
        "api_url": github.api_url,
        "token_env": TOKEN_ENV,
        "backoff": "0.01",
        "timeout": "10",
    }
    # By default the fake's clock, so that retries wait on it and not for real.
    return host_from_settings(GitHubHost.from_settings, defaults, settings, github.clock)


def hosted(github: FakeGitHub) -> HostedFake:
    """The fake as the shared tests see it: empty repositories of owner octo, its API base."""

    def create(name: str) -> str:
        github.create_repo("octo", name, empty=True)
        return github.repo_url("octo", name)

    return HostedFake("github", TOKEN_ENV, create, {"api_url": github.api_url})
