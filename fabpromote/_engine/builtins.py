"""The plugin that ships with the core: static generator and native engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabpromote.hookspecs import RegisterEngines, RegisterGenerators, hookimpl

if TYPE_CHECKING:
    from fabpromote._plugins.manager import Plugins


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
