"""fabpromote: GitOps environment promotion built on Fabrikate HLDs.

The names below are the public API, each imported on first use: the command
line starts with nothing of the library imported (a ``generate`` with nothing
to do never imports it, see :mod:`fabpromote._cli.unchanged`).
"""

from __future__ import annotations

import importlib

# Not typing's: importing typing would cost the command line's start-up more than all it does when
# a generate has nothing to do. Type checkers take any TYPE_CHECKING for theirs.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from fabpromote._cluster.flux import flux_manifests
    from fabpromote._cluster.gates import Gates, Window
    from fabpromote._cluster.generate import generate, output_directory
    from fabpromote._cluster.hosts import host_for
    from fabpromote._cluster.install import install
    from fabpromote._cluster.materialize import Materialization, materialize
    from fabpromote._cluster.models import Cluster, Environment, Fleet, Pipeline, Repo, Settings
    from fabpromote._cluster.plan import PlanEntry, PlanResult, plan
    from fabpromote._cluster.publish import PublishResult, publish
    from fabpromote._engine.manifests import Manifests
    from fabpromote._engine.validate import Unchecked, ValidationReport, validate
    from fabpromote._engine.walk import RenderOptions, RenderRequest
    from fabpromote._hld.loading import load_component, load_config, load_environments
    from fabpromote._hld.merge import merge_component_config, merge_values
    from fabpromote._hld.model import Component, ComponentConfig, Hooks
    from fabpromote._hld.parsed import ParsedFiles
    from fabpromote._plugins.manager import PluginInfo, Plugins, Registry, make_plugin_manager
    from fabpromote._sources.cache import Cache
    from fabpromote._sources.fetch import Fetcher, LockEntry
    from fabpromote._sources.githost import ChangeRequest, CommitStatus, Comparison, MergeResult
    from fabpromote._sources.sources import Sources
    from fabpromote._util.credentials import Credentials
    from fabpromote._util.outcome import Outcome
    from fabpromote._workflow.advance import AdvanceStep, advance
    from fabpromote._workflow.gates import GateResult, evaluate_gates
    from fabpromote._workflow.history import HistoryEntry, history
    from fabpromote._workflow.promote import PromoteResult, guard, promote, protect
    from fabpromote._workflow.rollback import rollback
    from fabpromote._workflow.set_image import set_image
    from fabpromote._workflow.status import Preview, StatusRow, preview, status
    from fabpromote._workflow.statuses import StatusReport, report_status
    from fabpromote.exceptions import FabpromoteError
    from fabpromote.hookspecs import hookimpl, hookspec

#: The public names: name -> the module that defines it.
_LAZY = {
    "generate": "fabpromote._cluster.generate",
    "output_directory": "fabpromote._cluster.generate",
    "Manifests": "fabpromote._engine.manifests",
    "RenderOptions": "fabpromote._engine.walk",
    "RenderRequest": "fabpromote._engine.walk",
    "load_component": "fabpromote._hld.loading",
    "load_config": "fabpromote._hld.loading",
    "load_environments": "fabpromote._hld.loading",
    "merge_component_config": "fabpromote._hld.merge",
    "merge_values": "fabpromote._hld.merge",
    "Component": "fabpromote._hld.model",
    "ComponentConfig": "fabpromote._hld.model",
    "Hooks": "fabpromote._hld.model",
    "ParsedFiles": "fabpromote._hld.parsed",
    "PluginInfo": "fabpromote._plugins.manager",
    "Plugins": "fabpromote._plugins.manager",
    "Registry": "fabpromote._plugins.manager",
    "make_plugin_manager": "fabpromote._plugins.manager",
    "Cache": "fabpromote._sources.cache",
    "Fetcher": "fabpromote._sources.fetch",
    "LockEntry": "fabpromote._sources.fetch",
    "FabpromoteError": "fabpromote.exceptions",
    "hookimpl": "fabpromote.hookspecs",
    "hookspec": "fabpromote.hookspecs",
    "Cluster": "fabpromote._cluster.models",
    "Environment": "fabpromote._cluster.models",
    "Fleet": "fabpromote._cluster.models",
    "Pipeline": "fabpromote._cluster.models",
    "Repo": "fabpromote._cluster.models",
    "Settings": "fabpromote._cluster.models",
    "ChangeRequest": "fabpromote._sources.githost",
    "CommitStatus": "fabpromote._sources.githost",
    "Comparison": "fabpromote._sources.githost",
    "MergeResult": "fabpromote._sources.githost",
    "install": "fabpromote._cluster.install",
    "Materialization": "fabpromote._cluster.materialize",
    "materialize": "fabpromote._cluster.materialize",
    "Outcome": "fabpromote._util.outcome",
    "PlanEntry": "fabpromote._cluster.plan",
    "PlanResult": "fabpromote._cluster.plan",
    "plan": "fabpromote._cluster.plan",
    "PublishResult": "fabpromote._cluster.publish",
    "publish": "fabpromote._cluster.publish",
    "Sources": "fabpromote._sources.sources",
    "flux_manifests": "fabpromote._cluster.flux",
    "host_for": "fabpromote._cluster.hosts",
    "Credentials": "fabpromote._util.credentials",
    "Unchecked": "fabpromote._engine.validate",
    "ValidationReport": "fabpromote._engine.validate",
    "validate": "fabpromote._engine.validate",
    "HistoryEntry": "fabpromote._workflow.history",
    "Preview": "fabpromote._workflow.status",
    "PromoteResult": "fabpromote._workflow.promote",
    "StatusRow": "fabpromote._workflow.status",
    "guard": "fabpromote._workflow.promote",
    "history": "fabpromote._workflow.history",
    "preview": "fabpromote._workflow.status",
    "promote": "fabpromote._workflow.promote",
    "protect": "fabpromote._workflow.promote",
    "rollback": "fabpromote._workflow.rollback",
    "set_image": "fabpromote._workflow.set_image",
    "status": "fabpromote._workflow.status",
    "Gates": "fabpromote._cluster.gates",
    "Window": "fabpromote._cluster.gates",
    "GateResult": "fabpromote._workflow.gates",
    "evaluate_gates": "fabpromote._workflow.gates",
    "AdvanceStep": "fabpromote._workflow.advance",
    "advance": "fabpromote._workflow.advance",
    "StatusReport": "fabpromote._workflow.statuses",
    "report_status": "fabpromote._workflow.statuses",
}

__all__ = [
    "AdvanceStep",
    "Cache",
    "ChangeRequest",
    "Cluster",
    "CommitStatus",
    "Comparison",
    "Component",
    "ComponentConfig",
    "Credentials",
    "Environment",
    "FabpromoteError",
    "Fetcher",
    "Fleet",
    "GateResult",
    "Gates",
    "HistoryEntry",
    "Hooks",
    "LockEntry",
    "Manifests",
    "Materialization",
    "MergeResult",
    "Outcome",
    "ParsedFiles",
    "Pipeline",
    "PlanEntry",
    "PlanResult",
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
    "StatusReport",
    "StatusRow",
    "Unchecked",
    "ValidationReport",
    "Window",
    "__version__",
    "advance",
    "evaluate_gates",
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
    "plan",
    "preview",
    "promote",
    "protect",
    "publish",
    "report_status",
    "rollback",
    "set_image",
    "status",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from fabpromote._util.meta import core_version

        return core_version()
    raise AttributeError(f"module 'fabpromote' has no attribute {name!r}")
