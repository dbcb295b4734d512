"""The ``fabpromote`` command line as a function (public).

:func:`main` is what the ``fabpromote`` console script runs: give it the
arguments (without the program name) and it returns the exit code, printing
to ``sys.stdout`` and ``sys.stderr`` as the command does. Plugin tests use it
to run commands in the test's process (``capsys`` sees the output).
"""

from __future__ import annotations

from fabpromote._cli.app import main

__all__ = ["main"]
