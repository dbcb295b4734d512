"""fabpromote plugin: the ``local`` Git host, for any repository git can reach.

Paths, ``file://``, ``git://`` and smart ``http(s)://`` remotes: reads, commits
and merges are done locally with dulwich and pushed with compare-and-swap.
It answers :func:`fabpromote_detect_git_host` last, for every URL, so it is the
fallback for URLs no other host plugin claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote.typing import HostSettings
    from fabpromote_local._host import LocalHost

__all__ = ["LocalHost"]


def _local(settings: HostSettings) -> LocalHost:
    # Nothing but the token variable is configurable: any other option of a hosts: entry is a slip.
    settings.check_options("local", ())
    from fabpromote_local._host import LocalHost

    return LocalHost(sources=settings.sources, protected=settings.protected, token_env=settings.token_env)


@hookimpl
def fabpromote_register_git_hosts(register: Register) -> None:
    register("local", _local)


@hookimpl(trylast=True)
def fabpromote_detect_git_host(url: str) -> str | None:  # noqa: ARG001 - the fallback takes every URL
    return "local"


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name == "LocalHost":
        from fabpromote_local._host import LocalHost

        return LocalHost
    raise AttributeError(f"module 'fabpromote_local' has no attribute {name!r}")
