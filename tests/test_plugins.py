"""The plugin manager, the registries and `fabpromote plugins`."""

from __future__ import annotations

import pytest

from fabpromote import Plugins, hookimpl, make_plugin_manager
from fabpromote._plugins.manager import ENV_BLOCK, ENV_DISABLE_AUTOLOAD
from fabpromote.exceptions import DuplicateBackendError, UnknownBackendError


class Extra:
    """A plugin registering one generator and one engine."""

    @hookimpl
    def fabpromote_register_generators(self, register) -> None:
        register("extra", lambda: "extra-generator")

    @hookimpl
    def fabpromote_register_engines(self, register) -> None:
        register("extra-engine", lambda plugins: ("engine", plugins))


class StaticAgain:
    """A plugin that claims a name the core already uses."""

    @hookimpl
    def fabpromote_register_generators(self, register) -> None:
        register("static", object)


class TestRegistries:
    def test_builtins(self) -> None:
        """The core registers the static and component generators, the native engine and the local Git host."""
        plugins = Plugins.load(autoload=False)
        assert plugins.generators.names() == ["component", "static"]
        assert plugins.engines.names() == ["native"]
        assert plugins.git_hosts.names() == ["local"]

    def test_plugin_backends(self) -> None:
        """A plugin's backends are found by name; generators are built once."""
        plugins = Plugins.load(autoload=False, plugins=[Extra()])
        assert plugins.generator("extra") == "extra-generator"
        assert plugins.engine("extra-engine") == ("engine", plugins)

    def test_duplicate_name(self) -> None:
        """Two plugins registering one name is an error naming both."""
        with pytest.raises(DuplicateBackendError, match=r"'static' is registered by both 'fabpromote\.builtins' and"):
            Plugins.load(autoload=False, plugins=[StaticAgain()])

    def test_unknown_lists_installed(self) -> None:
        """An unknown name lists the installed ones."""
        with pytest.raises(UnknownBackendError, match=r"installed: native"):
            Plugins.load(autoload=False).engine("nope")

    def test_git_host_fallback(self) -> None:
        """URLs no plugin claims go to the local Git host."""
        assert Plugins.load(autoload=False).detect_git_host("/srv/repo.git") == "local"


class TestManager:
    def test_autoload_switch(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FABPROMOTE_DISABLE_PLUGIN_AUTOLOAD keeps entry-point plugins out."""
        monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
        names = [name for name, _ in make_plugin_manager().list_name_plugin()]
        assert names == ["fabpromote.builtins"]

    def test_block(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FABPROMOTE_BLOCK_PLUGINS blocks plugins by name."""
        monkeypatch.setenv(ENV_BLOCK, "fabpromote.builtins")
        manager = make_plugin_manager(autoload=False)
        assert manager.is_blocked("fabpromote.builtins")

    def test_describe(self) -> None:
        """describe lists each plugin with its distribution, version, hooks and backends."""
        (row,) = Plugins.load(autoload=False).describe()
        assert row.name == "fabpromote.builtins"
        assert row.distribution == "fabpromote"
        assert "generator static" in row.backends
        assert "fabpromote_register_generators" in row.hooks
