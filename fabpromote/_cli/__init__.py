"""The command line: argument parsing and printing only; every command is a library call.

Owns the ``fabpromote`` command (``app``), ``fabpromote demo`` (``demo``) and
``fabpromote cache check`` (``cachecheck``).

May import: everything.
"""

from fabpromote._cli.app import main

__all__ = ["main"]
