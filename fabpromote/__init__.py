"""fabpromote: GitOps environment promotion built on Fabrikate HLDs.

The names below are the public API. The HLD layer is imported at once; the
cluster, git and workflow layers on first use, so that the command line
starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fabpromote._cache import Cache
from fabpromote._engine import RenderOptions, RenderRequest
from fabpromote._fetch import Fetcher, LockEntry
from fabpromote._generate import generate, output_directory
from fabpromote._hld import Component, ComponentConfig, Hooks, load_component, load_config, load_environments
from fabpromote._manifests import Manifests
from fabpromote._merge import merge_component_config, merge_values
from fabpromote._parsed import ParsedFiles
from fabpromote._plugins import PluginInfo, Plugins, Registry, make_plugin_manager
from fabpromote.exceptions import FabpromoteError
from fabpromote.hookspecs import hookimpl, hookspec

if TYPE_CHECKING:
    from fabpromote._cluster import Cluster, Environment, Fleet, Pipeline, Repo, Settings
    from fabpromote._credentials import Credentials
    from fabpromote._flux import flux_manifests
    from fabpromote._githost import ChangeRequest, Comparison, MergeResult
    from fabpromote._hosts import host_for
    from fabpromote._install import install
    from fabpromote._materialize import Materialization, materialize
    from fabpromote._outcome import Outcome
    from fabpromote._publish import PublishResult, publish
    from fabpromote._sources import Sources
    from fabpromote._validate import Unchecked, ValidationReport, validate
    from fabpromote._workflow import (
        HistoryEntry,
        Preview,
        PromoteResult,
        StatusRow,
        guard,
        history,
        preview,
        promote,
        protect,
        rollback,
        set_image,
        status,
    )

#: Public names imported on first use: name -> module.
_LAZY = {
    "Cluster": "fabpromote._cluster",
    "Environment": "fabpromote._cluster",
    "Fleet": "fabpromote._cluster",
    "Pipeline": "fabpromote._cluster",
    "Repo": "fabpromote._cluster",
    "Settings": "fabpromote._cluster",
    "ChangeRequest": "fabpromote._githost",
    "Comparison": "fabpromote._githost",
    "MergeResult": "fabpromote._githost",
    "install": "fabpromote._install",
    "Materialization": "fabpromote._materialize",
    "materialize": "fabpromote._materialize",
    "Outcome": "fabpromote._outcome",
    "PublishResult": "fabpromote._publish",
    "publish": "fabpromote._publish",
    "Sources": "fabpromote._sources",
    "flux_manifests": "fabpromote._flux",
    "host_for": "fabpromote._hosts",
    "Credentials": "fabpromote._credentials",
    "Unchecked": "fabpromote._validate",
    "ValidationReport": "fabpromote._validate",
    "validate": "fabpromote._validate",
    "HistoryEntry": "fabpromote._workflow",
    "Preview": "fabpromote._workflow",
    "PromoteResult": "fabpromote._workflow",
    "StatusRow": "fabpromote._workflow",
    "guard": "fabpromote._workflow",
    "history": "fabpromote._workflow",
    "preview": "fabpromote._workflow",
    "promote": "fabpromote._workflow",
    "protect": "fabpromote._workflow",
    "rollback": "fabpromote._workflow",
    "set_image": "fabpromote._workflow",
    "status": "fabpromote._workflow",
}

__all__ = [
    "Cache",
    "ChangeRequest",
    "Cluster",
    "Comparison",
    "Component",
    "ComponentConfig",
    "Credentials",
    "Environment",
    "FabpromoteError",
    "Fetcher",
    "Fleet",
    "HistoryEntry",
    "Hooks",
    "LockEntry",
    "Manifests",
    "Materialization",
    "MergeResult",
    "Outcome",
    "ParsedFiles",
    "Pipeline",
    "PluginInfo",
    "Plugins",
    "Preview",
    "PromoteResult",
    "PublishResult",
    "Registry",
    "RenderOptions",
    "RenderRequest",
    "Repo",
    "Settings",
    "Sources",
    "StatusRow",
    "Unchecked",
    "ValidationReport",
    "__version__",
    "flux_manifests",
    "generate",
    "guard",
    "history",
    "hookimpl",
    "hookspec",
    "host_for",
    "install",
    "load_component",
    "load_config",
    "load_environments",
    "make_plugin_manager",
    "materialize",
    "merge_component_config",
    "merge_values",
    "output_directory",
    "preview",
    "promote",
    "protect",
    "publish",
    "rollback",
    "set_image",
    "status",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    # Read lazily: importlib.metadata is slow to import and rarely needed.
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote")
    raise AttributeError(f"module 'fabpromote' has no attribute {name!r}")
