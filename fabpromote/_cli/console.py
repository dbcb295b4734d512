"""The ``fabpromote`` console script: a ``generate`` with nothing to do answered at once, else the CLI.

Imports nothing but :mod:`fabpromote._cli.unchanged` before it knows that the
command must run (see there).
"""

from __future__ import annotations

import gc
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

    status = run()
    _spare_the_exit()
    return status


# Earns its place: bench/tricks.py::exit_freeze
def _spare_the_exit() -> None:
    """Leave every object to the process's end, not to the collections of the interpreter's teardown.

    Those collections walk all the objects a command made (and the modules
    it imported) to free them one by one: 10 ms of a 190 ms cold generate
    of 1000 apps, where the system takes the whole memory back at once.
    Exit handlers still run, and what is freed when its last reference goes
    still is: only objects in reference cycles are left, as Python allows
    at exit (``__del__`` is not promised for objects alive then).
    """
    gc.freeze()
