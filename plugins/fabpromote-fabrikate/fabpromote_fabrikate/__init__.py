"""fabpromote plugin: the ``fabrikate`` engine (runs the real ``fab``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote import Plugins
    from fabpromote_fabrikate._engine import FabrikateEngine


@hookimpl
def fabpromote_register_engines(register: Register) -> None:
    def fabrikate(plugins: Plugins) -> FabrikateEngine:  # noqa: ARG001 - fab needs no other plugin
        from fabpromote_fabrikate._engine import FabrikateEngine

        return FabrikateEngine()

    register("fabrikate", fabrikate)
