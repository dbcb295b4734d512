"""fabpromote plugin: the ``gitea`` Git host, for Gitea and Forgejo (one API), also registered as ``forgejo``.

Pull requests, merges at the expected head, commit statuses and branch
protection go through the server's REST API (``/api/v1``); content goes over
git with the same token. No URL is claimed by detection: a cluster file names
the server (``hosts: {HOST: {type: gitea}}``).

This module is the entry point (group ``fabpromote``, name ``gitea``), so it
stays cheap to import: requests and the host are imported when a host is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote.typing import HostSettings
    from fabpromote_gitea._client import GiteaClient
    from fabpromote_gitea._errors import (
        GiteaAuthenticationError,
        GiteaError,
        GiteaNotFoundError,
        GiteaSettingsError,
        RepositoryNotFoundError,
    )
    from fabpromote_gitea._host import GiteaHost
    from fabpromote_gitea._protection import ProtectionPolicy
    from fabpromote_gitea._urls import RepoRef, parse_repo

__all__ = [
    "KINDS",
    "GiteaAuthenticationError",
    "GiteaClient",
    "GiteaError",
    "GiteaHost",
    "GiteaNotFoundError",
    "GiteaSettingsError",
    "ProtectionPolicy",
    "RepoRef",
    "RepositoryNotFoundError",
    "__version__",
    "fabpromote_register_git_hosts",
    "parse_repo",
]

#: The names the host is registered under, and the token variable each reads by default.
KINDS = {"gitea": "GITEA_TOKEN", "forgejo": "FORGEJO_TOKEN"}

_LAZY = {
    "GiteaClient": "fabpromote_gitea._client",
    "GiteaAuthenticationError": "fabpromote_gitea._errors",
    "GiteaError": "fabpromote_gitea._errors",
    "GiteaNotFoundError": "fabpromote_gitea._errors",
    "GiteaSettingsError": "fabpromote_gitea._errors",
    "RepositoryNotFoundError": "fabpromote_gitea._errors",
    "GiteaHost": "fabpromote_gitea._host",
    "ProtectionPolicy": "fabpromote_gitea._protection",
    "RepoRef": "fabpromote_gitea._urls",
    "parse_repo": "fabpromote_gitea._urls",
}


def _factory(kind: str) -> Any:
    def build(settings: HostSettings) -> GiteaHost:
        from fabpromote_gitea._host import OPTIONS, GiteaHost

        settings.check_options(kind, OPTIONS)
        return GiteaHost.from_settings(
            kind,
            sources=settings.sources,
            protected=settings.protected,
            token_env=settings.token_env or KINDS[kind],
            **settings.options,
        )

    return build


@hookimpl
def fabpromote_register_git_hosts(register: Register) -> None:
    """Register ``gitea`` and ``forgejo``; ``factory(settings)`` takes the ``hosts:`` options in the README."""
    for kind in KINDS:
        register(kind, _factory(kind))


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-gitea")
    raise AttributeError(f"module 'fabpromote_gitea' has no attribute {name!r}")
