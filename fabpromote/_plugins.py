"""The plugin manager, the backend registries and the facade core calls.

Plugins are found through entry points in group ``fabpromote``. Set
``FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD=1`` to load none of them (only the
built-ins), and ``FABPROMOTE_BLOCK_PLUGINS=name,name`` to skip some.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy

from fabpromote import _builtins, hookspecs
from fabpromote._entry_points import entry_points
from fabpromote.exceptions import DuplicateBackendError, FabpromoteError, PluginError, UnknownBackendError

__all__ = ["ENV_BLOCK", "ENV_DISABLE_AUTOLOAD", "Plugins", "Registry", "make_plugin_manager"]

ENV_DISABLE_AUTOLOAD = "FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "FABPROMOTE_BLOCK_PLUGINS"
BUILTIN = "fabpromote.builtins"

#: Which first-party distribution provides a backend, for "not installed" hints.
_PROVIDERS = {
    ("generator", "helm"): "fabpromote-helm",
    ("engine", "fabrikate"): "fabpromote-fabrikate",
    ("Git host", "local"): "fabpromote-local",
    ("Git host", "github"): "fabpromote-github",
    ("Git host", "gitlab"): "fabpromote-gitlab",
}


def make_plugin_manager(*, autoload: bool | None = None, plugins: Iterable[object] = ()) -> pluggy.PluginManager:
    """Build a plugin manager with the built-ins, entry points and ``plugins``.

    Args:
        autoload: Load entry points of group ``fabpromote``; by default, unless
            ``FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty value.
        plugins: Extra plugin objects to register (tests, embedding).
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in filter(None, (n.strip() for n in os.environ.get(ENV_BLOCK, "").split(","))):
        manager.set_blocked(name)
    manager.register(_builtins, BUILTIN)
    if autoload is None:
        autoload = not os.environ.get(ENV_DISABLE_AUTOLOAD)
    if autoload:
        _load_entry_points(manager)
    for plugin in plugins:
        manager.register(plugin)
    manager.check_pending()
    return manager


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    """Register the plugins of entry point group ``fabpromote``, as pluggy's ``load_setuptools_entrypoints``.

    Blocked names, and names already registered (a distribution installed
    twice), are skipped.
    """
    for entry in entry_points(hookspecs.PROJECT):
        if manager.is_blocked(entry.name) or manager.get_plugin(entry.name) is not None:
            continue
        try:
            plugin = entry.load()
        except Exception as exc:  # a broken plugin is the environment's fault: say which, and how to skip it
            raise PluginError(
                f"plugin {entry.name!r} ({entry.distribution}) cannot be loaded: {type(exc).__name__}: {exc}; "
                f"reinstall it, or skip it with {ENV_BLOCK}={entry.name}"
            ) from exc
        manager.register(plugin, name=entry.name)


@attrs.define
class Registry:
    """Backends of one kind, by name, each with the plugin that registered it."""

    kind: str
    _factories: dict[str, Callable[..., Any]] = attrs.Factory(dict)
    _owners: dict[str, str] = attrs.Factory(dict)

    def register(self, name: str, factory: Callable[..., Any], *, owner: str) -> None:
        """Add a backend; a name registered twice is an error naming both plugins."""
        if name in self._factories:
            raise DuplicateBackendError(
                f"{self.kind} {name!r} is registered by both {self._owners[name]!r} and {owner!r}"
            )
        self._factories[name] = factory
        self._owners[name] = owner

    def factory(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``, wrapped so that its failures name the plugin.

        Raises:
            UnknownBackendError: Nothing is registered as ``name``.
        """
        try:
            factory = self._factories[name]
        except KeyError:
            provider = _PROVIDERS.get((self.kind, name))
            hint = f"install the {provider} plugin (pip install {provider})" if provider else ""
            raise UnknownBackendError(self.kind, name, list(self._factories), hint) from None
        return functools.partial(self._build, name, factory)

    def _build(self, name: str, factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a factory: its own FabpromoteError passes, anything else is a PluginError naming the plugin."""
        try:
            return factory(*args, **kwargs)
        except FabpromoteError:
            raise
        except Exception as exc:
            raise PluginError(
                f"{self.kind} {name!r} of plugin {self._owners[name]!r} failed to start: {type(exc).__name__}: {exc}"
            ) from exc

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._factories)

    def owner(self, name: str) -> str:
        """The plugin that registered ``name``."""
        return self._owners[name]


@attrs.define
class Plugins:
    """The one typed facade through which core reaches plugins.

    Generators are built once per facade and shared (they must be thread-safe).
    """

    manager: pluggy.PluginManager
    generators: Registry = attrs.Factory(lambda: Registry("generator"))
    engines: Registry = attrs.Factory(lambda: Registry("engine"))
    git_hosts: Registry = attrs.Factory(lambda: Registry("Git host"))
    _instances: dict[str, Any] = attrs.field(init=False, factory=dict)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    @classmethod
    def load(cls, *, autoload: bool | None = None, plugins: Iterable[object] = ()) -> Plugins:
        """Build the plugin manager and fill the registries."""
        facade = cls(make_plugin_manager(autoload=autoload, plugins=plugins))
        facade._collect("fabpromote_register_generators", facade.generators)
        facade._collect("fabpromote_register_engines", facade.engines)
        facade._collect("fabpromote_register_git_hosts", facade.git_hosts)
        return facade

    def _collect(self, hook_name: str, registry: Registry) -> None:
        # Each implementation gets its own callback, so duplicates name both owners.
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            owner = impl.plugin_name

            def register(name: str, factory: Callable[..., Any], owner: str = owner) -> None:
                registry.register(name, factory, owner=owner)

            impl.function(register=register)

    def generator(self, name: str) -> Any:
        """The generator for components of type ``name`` (one shared instance)."""
        with self._lock:
            if name not in self._instances:
                self._instances[name] = self.generators.factory(name)()
            return self._instances[name]

    def engine(self, name: str) -> Any:
        """A new engine named ``name``, bound to this facade."""
        return self.engines.factory(name)(self)

    def detect_git_host(self, url: str) -> str:
        """The Git host backend that handles ``url`` (``local`` when no plugin claims it)."""
        return self.manager.hook.fabpromote_detect_git_host(url=url) or "local"

    def after_generate(self, **kwargs: Any) -> None:
        """Notify plugins of a finished generate."""
        self.manager.hook.fabpromote_after_generate(**kwargs)

    def describe(self) -> list[dict[str, Any]]:
        """Every registered plugin: name, distribution, version, hooks and backends."""
        from importlib.metadata import distribution  # slow to import: only this listing needs it

        providers: dict[str, str] = {}
        for entry in entry_points(hookspecs.PROJECT):
            providers.setdefault(entry.name, entry.distribution)  # the first is the one registered
        rows = []
        for name, plugin in self.manager.list_name_plugin():
            if plugin is None:
                continue
            dist = distribution(providers[name]) if name in providers else None
            hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
            backends = [
                f"{registry.kind} {backend}"
                for registry in (self.generators, self.engines, self.git_hosts)
                for backend in registry.names()
                if registry.owner(backend) == name
            ]
            rows.append(
                {
                    "name": name,
                    "distribution": dist.metadata["Name"] if dist else "fabpromote",
                    "version": dist.version if dist else _core_version(),
                    "hooks": hooks,
                    "backends": backends,
                }
            )
        return rows


def _core_version() -> str:
    from fabpromote import __version__

    return __version__
