"""The documentation keeps up with the code."""

from __future__ import annotations

from pathlib import Path

from fabpromote import hookspecs

DOCS = Path(__file__).parent.parent / "docs"


def test_every_hook_is_documented() -> None:
    """Each hook in hookspecs has a section in docs/plugins.md."""
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("fabpromote_")]
    assert hooks
    assert [hook for hook in hooks if f"### `{hook}(" not in text] == []


def test_every_command_is_documented() -> None:
    """Each CLI command has a section in docs/cli.md."""
    from fabpromote._cli import build_parser

    text = (DOCS / "cli.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert [name for name in commands if f"## `fabpromote {name}" not in text] == []
