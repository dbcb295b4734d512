"""The hooks through which plugins extend fabpromote.

A plugin is a module (or object) with functions marked ``@fabpromote.hookimpl``,
named after the hooks below, and listed as an entry point in group
``fabpromote``. Backends are contributed through a ``register(name, factory)``
callback; configuration then picks them by name.

Core calls every hook through pluggy's call loop, so a plugin may also wrap
any of them (``@hookimpl(wrapper=True)``) and pluggy's tracing sees them all.
The ``fabpromote_after_*`` hooks are notifications: they return nothing and
are called once per finished operation; a plugin that raises from one turns
the command's result into a ``PluginError`` saying the work was done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

# The factories' Protocols only for annotations: importing them (and the Git
# types they name) would add 6 ms to the start-up of every command.
if TYPE_CHECKING:
    from fabpromote._cluster.materialize import Materialization
    from fabpromote._cluster.models import Cluster
    from fabpromote._cluster.publish import PublishResult
    from fabpromote._engine.manifests import Manifests
    from fabpromote._workflow.promote import PromoteResult
    from fabpromote.typing import EngineFactory, GeneratorFactory, GitHostFactory

__all__ = [
    "PROJECT",
    "Register",
    "RegisterEngines",
    "RegisterGenerators",
    "RegisterGitHosts",
    "hookimpl",
    "hookspec",
]

PROJECT = "fabpromote"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: The callback of :func:`fabpromote_register_generators`.
RegisterGenerators = Callable[[str, "GeneratorFactory"], None]
#: The callback of :func:`fabpromote_register_engines`.
RegisterEngines = Callable[[str, "EngineFactory"], None]
#: The callback of :func:`fabpromote_register_git_hosts`.
RegisterGitHosts = Callable[[str, "GitHostFactory"], None]
#: Any of the three (one annotation for a plugin registering several kinds).
Register = Callable[[str, "GeneratorFactory | EngineFactory | GitHostFactory"], None]


@hookspec
def fabpromote_register_generators(register: RegisterGenerators) -> None:
    """Contribute generators, which turn one component into manifest bytes.

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``name`` is the component
            ``type`` the generator renders and ``factory()`` returns an object
            following :class:`fabpromote.typing.Generator`.
    """


@hookspec
def fabpromote_register_engines(register: RegisterEngines) -> None:
    """Contribute engines, which turn a whole HLD tree into manifests.

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``factory(plugins)``, given
            the :class:`fabpromote.Plugins` facade, returns an object
            following :class:`fabpromote.typing.Engine`.
    """


@hookspec
def fabpromote_register_git_hosts(register: RegisterGitHosts) -> None:
    """Contribute Git host backends (local git, GitHub, GitLab, ...).

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``factory(settings)`` is
            given one :class:`fabpromote.typing.HostSettings` (``protected``,
            ``sources``, ``token_env`` and ``options``, the other keys of the
            repository's ``hosts:`` entry) and returns an object following
            :class:`fabpromote.typing.GitHost`. It refuses options it does not
            know with ``settings.check_options(name, known)``; see
            docs/plugins.md.
    """


@hookspec(firstresult=True)
def fabpromote_detect_git_host(url: str) -> str | None:
    """Name the Git host backend that handles ``url``.

    Called for every repository whose configuration names no host. The first
    non-None answer wins; the built-in ``local`` answer comes last.

    Args:
        url: The repository URL or path, as written in the configuration.

    Returns:
        A registered Git host name, or None to let other plugins answer.
    """


@hookspec
def fabpromote_after_generate(path: str, environments: tuple[str, ...], manifests: Manifests) -> None:
    """Observe a finished render of a local HLD tree.

    Called by :func:`fabpromote.generate` after every successful render.

    Args:
        path: The HLD directory that was rendered.
        environments: The environments, highest priority first.
        manifests: The result.
    """


@hookspec
def fabpromote_after_materialize(cluster: Cluster, materialization: Materialization) -> None:
    """Observe a finished materialization of one environment of a cluster.

    Called by :func:`fabpromote.materialize` once per call that returns,
    after the render (and the check of a given lock): also for the renders
    made inside :func:`fabpromote.preview` and for a publish that renders
    the branch heads again. Not called when it raises.

    Args:
        cluster: The cluster.
        materialization: The result, as returned (``environment``,
            ``manifests``, ``lock``, ``engine``, ``pinned``).
    """


@hookspec
def fabpromote_after_publish(cluster: Cluster, result: PublishResult) -> None:
    """Observe a finished publish to an environment's manifests branch.

    Called by :func:`fabpromote.publish` once per call that returns, whether
    or not it made a commit: ``result.commit`` is the new commit, or None
    when the branch already held that tree (``result.newer`` then names a
    newer publish found there). Not called when the publish raises (nothing
    was written). Observers that only care about changes test
    ``result.commit``.

    Args:
        cluster: The cluster.
        result: The result, as returned (``repo``, ``branch``, ``commit``,
            ``previous``, ``attempts``, ``materialization``, ``newer``).
    """


@hookspec
def fabpromote_after_promote(cluster: Cluster, result: PromoteResult) -> None:
    """Observe a finished promotion of an app from one environment into the next.

    Called by :func:`fabpromote.promote` once per call that returns, except
    a dry run (nothing was done): after the merge, or after a change request
    was opened or reused, and after the publish of the target when one was
    asked for (so ``fabpromote_after_publish`` comes first). Read
    ``result.outcome``: merged, pending (a change request waits), failed (a
    merge refused, or ``result.publish_error``). Not called when it raises.

    Args:
        cluster: The cluster.
        result: The result, as returned (``app``, ``source``, ``target``,
            ``change``, ``merge``, ``publish``, ``outcome``...).
    """
