"""fabpromote-gitlab: the ``gitlab`` Git host, for gitlab.com and self-managed GitLab.

This module is the plugin's entry point (group ``fabpromote``, name ``gitlab``),
so it stays cheap to import: the host, requests and dulwich are imported only
when a GitLab repository is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote.typing import HostSettings
    from fabpromote_gitlab._host import GitLabHost
    from fabpromote_gitlab._statuses import CommitStatus

__all__ = ["CommitStatus", "GitLabHost", "__version__", "fabpromote_detect_git_host", "fabpromote_register_git_hosts"]

#: Hosts detected as GitLab without configuration; self-managed servers are named in the cluster file's ``hosts``.
DETECTED_HOSTS = frozenset({"gitlab.com"})

_LAZY = {"GitLabHost": "fabpromote_gitlab._host", "CommitStatus": "fabpromote_gitlab._statuses"}


def _gitlab(settings: HostSettings) -> GitLabHost:
    from fabpromote_gitlab._host import OPTIONS, GitLabHost

    settings.check_options("gitlab", OPTIONS)
    core = {"sources": settings.sources, "protected": settings.protected}
    token = {"token_env": settings.token_env} if settings.token_env else {}  # else GitLab's default, GITLAB_TOKEN
    return GitLabHost.from_settings(**core, **token, **settings.options)


@hookimpl
def fabpromote_register_git_hosts(register: Register) -> None:
    """Register the ``gitlab`` host; its factory takes the settings listed in the README."""
    register("gitlab", _gitlab)


@hookimpl
def fabpromote_detect_git_host(url: str) -> str | None:
    """``gitlab`` for repositories on gitlab.com (HTTPS, SSH or scp-like URLs)."""
    return "gitlab" if _hostname(url) in DETECTED_HOSTS else None


def _hostname(url: str) -> str:
    text = url.strip()
    if "://" in text:
        try:
            return (urlsplit(text).hostname or "").lower()
        except ValueError:
            return ""
    # scp-like: [user@]host:path
    head, colon, _ = text.partition(":")
    if not colon or "/" in head:
        return ""
    return head.rpartition("@")[2].lower()


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-gitlab")
    raise AttributeError(f"module 'fabpromote_gitlab' has no attribute {name!r}")
