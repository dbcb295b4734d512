"""Helpers for testing HLDs and fabpromote plugins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["assert_engines_agree"]


def assert_engines_agree(
    path: str | Path,
    environments: Sequence[str] = (),
    *,
    engines: tuple[str, str] = ("native", "fabrikate"),
    allow_hooks: bool = False,
) -> None:
    """Assert that two engines render the HLD at ``path`` to identical manifests.

    Raises:
        AssertionError: With a unified diff of what differs.
    """
    from fabpromote import generate
    from fabpromote._plugins import Plugins

    plugins = Plugins.load()
    first, second = (
        generate(path, tuple(environments), engine=engine, allow_hooks=allow_hooks, plugins=plugins)
        for engine in engines
    )
    if first != second:
        raise AssertionError(f"engines {engines[0]} and {engines[1]} disagree on {path}:\n{first.diff(second)}")
