"""MkDocs hook: render ``reference/cli.md`` from the argparse parser at build time.

Every subcommand's ``--help`` text comes from ``fabpromote._cli.parser.build_parser()``,
so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

PAGE = "reference/cli.md"
#: The width help is wrapped to, whatever the terminal (argparse reads COLUMNS).
WIDTH = "100"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render() -> str:
    """The Markdown page: the top-level help, then one section per command."""
    from fabpromote._cli.parser import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parser = build_parser()
        lines = [
            "# CLI reference (generated)",
            "",
            "Generated from `fabpromote._cli.parser.build_parser()` when the site is built: each section is "
            "the command's `--help`. The [CLI guide](../cli.md) explains what the commands do.",
            "",
            "## `fabpromote`",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
            "",
        ]
        for name, sub in _subparsers(parser).items():
            lines += [f"## `fabpromote {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(lines)


def on_files(files: Any, config: Any) -> Any:
    """Add the generated page to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=render()))
    return files
