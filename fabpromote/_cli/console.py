"""The ``fabpromote`` console script: a ``generate`` with nothing to do answered at once, else the CLI.

Imports nothing but :mod:`fabpromote._cli.unchanged` before it knows that the
command must run (see there).
"""

from __future__ import annotations

import sys

from fabpromote._cli import unchanged

__all__ = ["main"]


def main() -> int:
    """Run ``fabpromote`` with ``sys.argv``; returns the exit status."""
    line = unchanged.answer(sys.argv[1:])
    if line is not None:
        print(line, file=sys.stderr)
        return 0
    from fabpromote._cli.app import main as run

    return run()
