"""The plugin manager, the backend registries and the facade core calls.

Plugins are found through entry points in group ``fabpromote``. Set
``FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD=1`` to load none of them (only the
built-ins), and ``FABPROMOTE_BLOCK_PLUGINS=name,name`` to skip some.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

import attrs
import pluggy

from fabpromote import hookspecs
from fabpromote._engine import builtins as _builtins
from fabpromote._plugins.entry_points import EntryPoint, entry_points
from fabpromote._util import reads as _reads
from fabpromote._util.meta import core_version
from fabpromote.exceptions import DuplicateBackendError, FabpromoteError, PluginError, UnknownBackendError

if TYPE_CHECKING:
    from fabpromote._cluster.materialize import Materialization
    from fabpromote._cluster.models import Cluster
    from fabpromote._cluster.publish import PublishResult
    from fabpromote._engine.manifests import Manifests
    from fabpromote._workflow.promote import PromoteResult
    from fabpromote.typing import Engine, Generator, GitHost, HostSettings

__all__ = ["ENV_BLOCK", "ENV_DISABLE_AUTOLOAD", "PluginInfo", "Plugins", "Registry", "make_plugin_manager"]

ENV_DISABLE_AUTOLOAD = "FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "FABPROMOTE_BLOCK_PLUGINS"
BUILTIN = "fabpromote.builtins"

log = logging.getLogger("fabpromote.plugins")

#: Distributions whose backends moved into the core (normalized name -> what moved).
#: Their entry points are skipped, never imported: still installed next to this
#: core, the old copy would register its backend a second time (a
#: DuplicateBackendError on every command) or, against this core, fail to load.
MERGED_INTO_CORE = {"fabpromote_local": "Git host 'local'"}

#: A factory's arguments and what it builds.
P = ParamSpec("P")
T = TypeVar("T")

#: Which first-party distribution provides a backend, for "not installed" hints.
_PROVIDERS = {
    ("generator", "helm"): "fabpromote-helm",
    ("engine", "fabrikate"): "fabpromote-fabrikate",
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

    Blocked names, names already registered (a distribution installed
    twice) and the distributions merged into the core are skipped.
    """
    for entry in entry_points(hookspecs.PROJECT):
        if manager.is_blocked(entry.name) or manager.get_plugin(entry.name) is not None:
            continue
        if _merged_into_core(entry):
            continue
        try:
            plugin = entry.load()
        except Exception as exc:  # a broken plugin is the environment's fault: say which, and how to skip it
            raise PluginError(
                f"plugin {entry.name!r} ({entry.distribution}) cannot be loaded: {type(exc).__name__}: {exc}; "
                f"reinstall it, or skip it with {ENV_BLOCK}={entry.name}"
            ) from exc
        manager.register(plugin, name=entry.name)


def _merged_into_core(entry: EntryPoint) -> bool:
    """Whether ``entry`` comes from a distribution the core absorbed; if so, say how to remove it."""
    moved = MERGED_INTO_CORE.get(entry.distribution)
    if moved is None:
        return False
    dist = entry.distribution.replace("_", "-")
    log.warning(
        "plugin %r (%s) is not loaded: its %s is part of fabpromote now; uninstall it: pip uninstall %s",
        entry.name,
        dist,
        moved,
        dist,
    )
    return True


@attrs.define
class Registry(Generic[P, T]):
    """Backends of one kind, by name, each with the plugin that registered it.

    ``Registry[[HostSettings], GitHost]`` holds factories taking a
    :class:`~fabpromote.typing.HostSettings` and returning a Git host.
    """

    kind: str
    _factories: dict[str, Callable[P, T]] = attrs.field(init=False, factory=dict)
    _owners: dict[str, str] = attrs.field(init=False, factory=dict)

    def register(self, name: str, factory: Callable[P, T], *, owner: str) -> None:
        """Add a backend; a name registered twice is an error naming both plugins."""
        if name in self._factories:
            raise DuplicateBackendError(
                f"{self.kind} {name!r} is registered by both {self._owners[name]!r} and {owner!r}"
            )
        self._factories[name] = factory
        self._owners[name] = owner

    def factory(self, name: str) -> Callable[P, T]:
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

        def build(*args: P.args, **kwargs: P.kwargs) -> T:
            # Its own FabpromoteError passes; anything else is a PluginError naming the plugin.
            try:
                return factory(*args, **kwargs)
            except FabpromoteError:
                raise
            except Exception as exc:
                owner = self._owners[name]
                raise PluginError(
                    f"{self.kind} {name!r} of plugin {owner!r} failed to start: {type(exc).__name__}: {exc}"
                ) from exc

        return build

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._factories)

    def owner(self, name: str) -> str:
        """The plugin that registered ``name``."""
        return self._owners[name]

    def described(self, owner: str) -> list[str]:
        """``"<kind> <name>"`` of each backend ``owner`` registered, sorted by name."""
        return [f"{self.kind} {name}" for name in self.names() if self._owners[name] == owner]


@attrs.frozen
class PluginInfo:
    """One registered plugin, as ``fabpromote plugins`` lists it.

    Attributes:
        name: The name it is registered under (its entry point's name).
        distribution: The distribution that installed it (``fabpromote`` for the built-ins).
        version: That distribution's version.
        hooks: The hooks it implements, sorted.
        backends: What it registered (``Git host local``, ``generator helm``...).
    """

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    backends: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The object of ``fabpromote plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "backends": list(self.backends),
        }


@attrs.define
class Plugins:
    """The one typed facade through which core reaches plugins.

    Every hook is called through pluggy's own call loop (``manager.hook``), so
    hook wrappers (``hookwrapper=True``, ``wrapper=True``) and pluggy's tracing
    (``manager.trace.root.setwriter``, ``manager.enable_tracing()``) see every
    call. Generators are built once per facade and shared (they must be
    thread-safe).
    """

    manager: pluggy.PluginManager
    generators: Registry[[], Generator] = attrs.Factory(lambda: Registry("generator"))
    engines: Registry[[Plugins], Engine] = attrs.Factory(lambda: Registry("engine"))
    git_hosts: Registry[[HostSettings], GitHost] = attrs.Factory(lambda: Registry("Git host"))
    _instances: dict[str, Generator] = attrs.field(init=False, factory=dict)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    @classmethod
    def load(cls, *, autoload: bool | None = None, plugins: Iterable[object] = ()) -> Plugins:
        """Build the plugin manager (see :func:`make_plugin_manager`) and fill the registries."""
        return cls.from_manager(make_plugin_manager(autoload=autoload, plugins=plugins))

    @classmethod
    def from_manager(cls, manager: pluggy.PluginManager) -> Plugins:
        """The facade of a plugin manager built by :func:`make_plugin_manager`: its registries filled.

        Use it to set pluggy up before the registration hooks are called,
        e.g. ``manager.enable_tracing()``.
        """
        facade = cls(manager)
        facade._collect("fabpromote_register_generators", facade.generators)
        facade._collect("fabpromote_register_engines", facade.engines)
        facade._collect("fabpromote_register_git_hosts", facade.git_hosts)
        return facade

    def _collect(self, hook_name: str, registry: Registry[P, T]) -> None:
        """Call ``hook_name`` once per implementing plugin, through pluggy's call loop.

        One call per plugin, each with a ``register`` callback of its own, so
        a duplicate name is an error naming both owners. Each call is made by
        a subset of the hook that leaves out the other implementations but
        keeps every wrapper: wrappers and tracing see each registration.
        """
        impls = getattr(self.manager.hook, hook_name).get_hookimpls()
        contributors = [impl for impl in impls if not (impl.hookwrapper or impl.wrapper)]
        for impl in contributors:
            others = [other.plugin for other in contributors if other is not impl]
            caller = self.manager.subset_hook_caller(hook_name, remove_plugins=others)

            def register(name: str, factory: Callable[P, T], owner: str = impl.plugin_name) -> None:
                registry.register(name, factory, owner=owner)

            caller(register=register)

    def generator(self, name: str) -> Generator:
        """The generator for components of type ``name`` (one shared instance)."""
        with self._lock:
            if name not in self._instances:
                self._instances[name] = self.generators.factory(name)()
            return self._instances[name]

    def engine(self, name: str) -> Engine:
        """A new engine named ``name``, bound to this facade."""
        return self.engines.factory(name)(self)

    def git_host(self, name: str, settings: HostSettings) -> GitHost:
        """A new Git host backend named ``name``, built from ``settings``."""
        return self.git_hosts.factory(name)(settings)

    def detect_git_host(self, url: str) -> str:
        """The Git host backend that handles ``url`` (``local`` when no plugin claims it)."""
        answer: str | None = self.manager.hook.fabpromote_detect_git_host(url=url)
        return answer or "local"

    def after_generate(self, *, path: str, environments: tuple[str, ...], manifests: Manifests) -> None:
        """Notify plugins of a finished :func:`fabpromote.generate`."""
        if self.manager.hook.fabpromote_after_generate.get_hookimpls():
            _reads.spoil("a plugin's fabpromote_after_generate")
        self._notify("fabpromote_after_generate", path=path, environments=environments, manifests=manifests)

    def after_materialize(self, cluster: Cluster, materialization: Materialization) -> None:
        """Notify plugins of a finished :func:`fabpromote.materialize`."""
        self._notify("fabpromote_after_materialize", cluster=cluster, materialization=materialization)

    def after_publish(self, cluster: Cluster, result: PublishResult) -> None:
        """Notify plugins of a finished :func:`fabpromote.publish` (a commit made or not)."""
        self._notify("fabpromote_after_publish", cluster=cluster, result=result)

    def after_promote(self, cluster: Cluster, result: PromoteResult) -> None:
        """Notify plugins of a finished :func:`fabpromote.promote` (not a dry run)."""
        self._notify("fabpromote_after_promote", cluster=cluster, result=result)

    def _notify(self, hook_name: str, **payload: object) -> None:
        """Call a notification hook; a plugin's crash is a PluginError that says the work was done."""
        try:
            getattr(self.manager.hook, hook_name)(**payload)
        except FabpromoteError:
            raise
        except Exception as exc:
            # The work this notifies of is done: say so, or a caller would redo a publish or a merge.
            raise PluginError(
                f"a plugin's {hook_name} failed after the work was done: {type(exc).__name__}: {exc}"
            ) from exc

    def describe(self) -> list[PluginInfo]:
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
            rows.append(
                PluginInfo(
                    name=name,
                    distribution=dist.metadata["Name"] if dist else "fabpromote",
                    version=dist.version if dist else core_version(),
                    hooks=tuple(sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])),
                    backends=(
                        *self.generators.described(name),
                        *self.engines.described(name),
                        *self.git_hosts.described(name),
                    ),
                )
            )
        return rows
