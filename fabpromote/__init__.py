"""fabpromote: GitOps environment promotion built on Fabrikate HLDs."""

from __future__ import annotations

from typing import Any

from fabpromote._engine import RenderOptions, RenderRequest
from fabpromote._fetch import Fetcher, LockEntry
from fabpromote._generate import generate, output_directory
from fabpromote._hld import Component, ComponentConfig, Hooks, load_component, load_config, load_environments
from fabpromote._install import install
from fabpromote._manifests import Manifests
from fabpromote._merge import merge_component_config, merge_values
from fabpromote._plugins import Plugins, make_plugin_manager
from fabpromote.exceptions import FabpromoteError
from fabpromote.hookspecs import hookimpl, hookspec

__all__ = [
    "Component",
    "ComponentConfig",
    "FabpromoteError",
    "Fetcher",
    "Hooks",
    "LockEntry",
    "Manifests",
    "Plugins",
    "RenderOptions",
    "RenderRequest",
    "__version__",
    "generate",
    "hookimpl",
    "hookspec",
    "install",
    "load_component",
    "load_config",
    "load_environments",
    "make_plugin_manager",
    "merge_component_config",
    "merge_values",
    "output_directory",
]


def __getattr__(name: str) -> Any:
    # Read lazily: importlib.metadata is slow to import and rarely needed.
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote")
    raise AttributeError(f"module 'fabpromote' has no attribute {name!r}")
