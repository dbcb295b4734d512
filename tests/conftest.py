"""Shared fixtures: HLD trees written into tmp_path, and an isolated environment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fabpromote.testing.gitrepos import GIT_ENV
from fabpromote.testing.plugin import HldTree

WriteTree = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real home, cache and git configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(home / "cache"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(name="write_tree")
def _write_tree(tmp_path: Path) -> WriteTree:
    """Write ``{relative path: text}`` under tmp_path/hld and return that folder (text is dedented).

    The same writer as the ``hld_tree`` fixture that fabpromote.testing gives users.
    """
    return HldTree(tmp_path)
