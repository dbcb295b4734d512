"""fabpromote-helm: the ``helm`` generator, which runs ``helm template`` as Fabrikate does.

This module is the plugin's entry point (group ``fabpromote``, name ``helm``),
so it stays cheap to import: the generator itself lives in private modules
that are imported only when a helm component is rendered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote_helm._errors import ChartNotFoundError, ChartRepositoryError, ChartVersionNotFoundError
    from fabpromote_helm._generator import HelmGenerator
    from fabpromote_helm._settings import HelmSettings
    from fabpromote_helm._stats import RenderStats, reset_stats, stats

__all__ = [
    "ChartNotFoundError",
    "ChartRepositoryError",
    "ChartVersionNotFoundError",
    "HelmGenerator",
    "HelmSettings",
    "RenderStats",
    "__version__",
    "fabpromote_register_generators",
    "reset_stats",
    "stats",
]

_LAZY = {
    "ChartNotFoundError": "fabpromote_helm._errors",
    "ChartRepositoryError": "fabpromote_helm._errors",
    "ChartVersionNotFoundError": "fabpromote_helm._errors",
    "HelmGenerator": "fabpromote_helm._generator",
    "HelmSettings": "fabpromote_helm._settings",
    "RenderStats": "fabpromote_helm._stats",
    "reset_stats": "fabpromote_helm._stats",
    "stats": "fabpromote_helm._stats",
}


def _helm_generator() -> HelmGenerator:
    from fabpromote_helm._generator import HelmGenerator

    return HelmGenerator.from_env()


@hookimpl
def fabpromote_register_generators(register: Register) -> None:
    """Register the ``helm`` generator (settings come from the environment)."""
    register("helm", _helm_generator)


def __getattr__(name: str) -> Any:
    # Read lazily: the generator modules, the counters and importlib.metadata are not needed to load the plugin.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-helm")
    raise AttributeError(f"module 'fabpromote_helm' has no attribute {name!r}")
