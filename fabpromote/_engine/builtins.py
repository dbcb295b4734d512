"""The plugin that ships with the core: static generator, native engine and the ``local`` Git host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabpromote.hookspecs import RegisterEngines, RegisterGenerators, RegisterGitHosts, hookimpl

if TYPE_CHECKING:
    from fabpromote._plugins.manager import Plugins
    from fabpromote._sources.localhost import LocalHost
    from fabpromote.typing import HostSettings


@hookimpl
def fabpromote_register_generators(register: RegisterGenerators) -> None:
    from fabpromote._engine.static import ComponentGenerator, StaticGenerator

    register("component", ComponentGenerator)
    register("static", StaticGenerator)


@hookimpl
def fabpromote_register_engines(register: RegisterEngines) -> None:
    from fabpromote._engine.walk import NativeEngine

    def native(plugins: Plugins) -> NativeEngine:
        return NativeEngine(plugins)

    register("native", native)


@hookimpl
def fabpromote_register_git_hosts(register: RegisterGitHosts) -> None:
    def local(settings: HostSettings) -> LocalHost:
        # Nothing but the token variable is configurable: any other option of a hosts: entry is a slip.
        settings.check_options("local", ())
        # Imported when a host is built, not when plugins load: commands that reach no remote skip dulwich.
        from fabpromote._sources.localhost import LocalHost

        return LocalHost(sources=settings.sources, protected=settings.protected, token_env=settings.token_env)

    register("local", local)
