"""fabpromote plugin: the ``github`` Git host, for github.com and GitHub Enterprise Server.

Pull requests, merges, commit statuses and branch protection go through
GitHub's REST API; commits are pushed with git over HTTPS with the same token.
It claims github.com URLs in :func:`fabpromote_detect_git_host`; a cluster
file names other GitHub hosts (``hosts: {HOST: {type: github, api_url: ...}}``).

This module is the entry point (group ``fabpromote``, name ``github``), so it
stays cheap to import: requests and the host are imported when a host is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote.typing import HostSettings
    from fabpromote_github._client import GitHubClient
    from fabpromote_github._errors import (
        GitHubAuthenticationError,
        GitHubError,
        GitHubNotFoundError,
        GitHubRateLimitError,
        GitHubSettingsError,
        RepositoryNotFoundError,
    )
    from fabpromote_github._host import GitHubHost
    from fabpromote_github._protection import ProtectionPolicy
    from fabpromote_github._statuses import CombinedStatus, CommitStatus
    from fabpromote_github._urls import RepoRef, parse_repo

__all__ = [
    "CombinedStatus",
    "CommitStatus",
    "GitHubAuthenticationError",
    "GitHubClient",
    "GitHubError",
    "GitHubHost",
    "GitHubNotFoundError",
    "GitHubRateLimitError",
    "GitHubSettingsError",
    "ProtectionPolicy",
    "RepoRef",
    "RepositoryNotFoundError",
    "__version__",
    "fabpromote_detect_git_host",
    "fabpromote_register_git_hosts",
    "parse_repo",
]

_LAZY = {
    "GitHubClient": "fabpromote_github._client",
    "GitHubAuthenticationError": "fabpromote_github._errors",
    "GitHubError": "fabpromote_github._errors",
    "GitHubNotFoundError": "fabpromote_github._errors",
    "GitHubRateLimitError": "fabpromote_github._errors",
    "GitHubSettingsError": "fabpromote_github._errors",
    "RepositoryNotFoundError": "fabpromote_github._errors",
    "GitHubHost": "fabpromote_github._host",
    "ProtectionPolicy": "fabpromote_github._protection",
    "CombinedStatus": "fabpromote_github._statuses",
    "CommitStatus": "fabpromote_github._statuses",
    "RepoRef": "fabpromote_github._urls",
    "parse_repo": "fabpromote_github._urls",
}


def _github(settings: HostSettings) -> GitHubHost:
    from fabpromote_github._host import OPTIONS, GitHubHost

    settings.check_options("github", OPTIONS)
    core = {"sources": settings.sources, "protected": settings.protected}
    token = {"token_env": settings.token_env} if settings.token_env else {}  # else GitHub's default, GITHUB_TOKEN
    return GitHubHost.from_settings(**core, **token, **settings.options)


@hookimpl
def fabpromote_register_git_hosts(register: Register) -> None:
    """Register the ``github`` host; ``factory(settings)`` takes the ``hosts:`` options in the README."""
    register("github", _github)


@hookimpl
def fabpromote_detect_git_host(url: str) -> str | None:
    """``github`` for repositories on github.com; other GitHub hosts are named in the cluster file."""
    from fabpromote_github._urls import is_github_url

    return "github" if is_github_url(url) else None


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-github")
    raise AttributeError(f"module 'fabpromote_github' has no attribute {name!r}")
