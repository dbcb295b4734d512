"""The hooks through which plugins extend fabpromote.

A plugin is a module (or object) with functions marked ``@fabpromote.hookimpl``,
named after the hooks below, and listed as an entry point in group
``fabpromote``. Backends are contributed through a ``register(name, factory)``
callback; configuration then picks them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from fabpromote._manifests import Manifests

PROJECT = "fabpromote"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[str, Callable[..., Any]], None]


@hookspec
def fabpromote_register_generators(register: Register) -> None:
    """Contribute generators, which turn one component into manifest bytes.

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``name`` is the component
            ``type`` the generator renders and ``factory()`` returns an object
            following :class:`fabpromote.typing.Generator`.
    """


@hookspec
def fabpromote_register_engines(register: Register) -> None:
    """Contribute engines, which turn a whole HLD tree into manifests.

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``factory(plugins)``, given
            the :class:`fabpromote.Plugins` facade, returns an object
            following :class:`fabpromote.typing.Engine`.
    """


@hookspec
def fabpromote_register_git_hosts(register: Register) -> None:
    """Contribute Git host backends (local git, GitHub, GitLab, ...).

    Called once, when the plugin manager is built.

    Args:
        register: ``register(name, factory)``; ``factory(**settings)`` returns
            an object following :class:`fabpromote.typing.GitHost`. The
            settings are ``protected``, ``sources``, ``token_env`` (when
            configured) and the repository's ``hosts:`` entry; see
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
