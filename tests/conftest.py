"""Shared fixtures: HLD trees written into tmp_path, and an isolated environment."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

WriteTree = Callable[[dict[str, str | bytes]], Path]


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real home and cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(home / "cache"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


@pytest.fixture(name="write_tree")
def _write_tree(tmp_path: Path) -> WriteTree:
    """Write ``{relative path: text}`` under tmp_path/hld and return that folder.

    Text is dedented, so files can be written inline in tests.
    """

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "hld"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"))
        return root

    return write
