"""The ``fabpromote`` command: argument parsing and printing only.

Every command is a call into the library. A :class:`FabpromoteError` is shown
as one line on stderr with exit status 1; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["build_parser", "main"]

PROG = "fabpromote"


def _generate(args: argparse.Namespace) -> int:
    from fabpromote._generate import generate, output_directory

    target = output_directory(args.path, args.environments)
    manifests = generate(
        args.path,
        args.environments,
        allow_hooks=args.allow_hooks,
        engine=args.engine,
        fix_disabled=args.fix_disabled,
    )
    manifests.write(target)
    print(f"wrote {len(manifests)} files to {target} (sha256 {manifests.digest[:12]})", file=sys.stderr)
    return 0


def _install(args: argparse.Namespace) -> int:
    from fabpromote._install import install

    installed = install(args.path, allow_hooks=args.allow_hooks)
    for path in installed:
        print(f"installed {path}", file=sys.stderr)
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from fabpromote._plugins import Plugins

    rows = Plugins.load().describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']} ({row['distribution']} {row['version']})")
        for backend in row["backends"]:
            print(f"  provides {backend}")
        print(f"  hooks: {', '.join(row['hooks'])}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (also used to document the CLI)."""
    parser = argparse.ArgumentParser(prog=PROG, description="GitOps environment promotion built on Fabrikate HLDs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser(
        "generate",
        help="render an HLD like `fab generate`",
        description="Render the HLD in --path into <path>/generated/<ENVs joined by '-'> "
        "(generated/common without ENV), replacing that folder in one step.",
    )
    gen.add_argument("environments", nargs="*", metavar="ENV", help="environments, highest priority first")
    gen.add_argument("--path", default=".", metavar="DIR", help="directory of the root component (default: .)")
    gen.add_argument("--allow-hooks", action="store_true", help="run the shell commands of component hooks")
    gen.add_argument("--engine", default="native", help="rendering engine (default: native)")
    gen.add_argument(
        "--fix-disabled",
        action="store_true",
        help="a higher config that mentions a subcomponent without `disabled` keeps a lower `disabled: true`",
    )
    gen.set_defaults(handler=_generate)

    inst = commands.add_parser(
        "install",
        help="fetch remote components and charts like `fab install`",
        description="Fill components/ and helm_repos/ of the HLD in --path where `fab install` puts them, "
        "fetching through fabpromote's cache. Nothing changes unless every fetch succeeds.",
    )
    inst.add_argument("--path", default=".", metavar="DIR", help="directory of the root component (default: .)")
    inst.add_argument("--allow-hooks", action="store_true", help="run before-install/after-install hooks")
    inst.set_defaults(handler=_install)

    plug = commands.add_parser("plugins", help="list installed plugins and what they provide")
    plug.add_argument("--json", action="store_true", help="print JSON")
    plug.set_defaults(handler=_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    from fabpromote.exceptions import FabpromoteError

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"{PROG}: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        return int(handler(args))
    except FabpromoteError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
