"""The ``fabpromote`` command: argument parsing and printing only.

Every command is a call into the library and returns the :class:`Outcome` of
what it did; :data:`EXIT_STATUS` turns that into the exit status, the table of
``docs/cli.md``. A :class:`FabpromoteError` (bad input, a refusal) and an
``OSError`` (a broken environment: a folder that cannot be written) are one
line on stderr with status 1; a usage error status 2, as argparse's own.
Anything else is a bug and keeps its traceback. SIGTERM and SIGINT end a
command through its cleanup code (see :mod:`fabpromote._util.signals`), with status
143 or 130; a reader that goes away (``| head``) ends it quietly with 141.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from fabpromote._cli.common import PROG, UsageError
from fabpromote._cli.parser import build_parser, subparsers
from fabpromote._util.credentials import redact
from fabpromote._util.outcome import Outcome

__all__ = ["BROKEN_PIPE", "EXIT_STATUS", "USAGE", "main"]

#: The exit status of each outcome (docs/cli.md has the whole table).
EXIT_STATUS = {Outcome.DONE: 0, Outcome.NOTHING_TO_DO: 0, Outcome.FAILED: 1, Outcome.PENDING: 3}
#: A command line the command cannot run: argparse's status, also for the checks commands make themselves.
USAGE = 2
#: The reader of stdout went away: what a shell shows for a process SIGPIPE ended (128 + 13).
BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (see :data:`EXIT_STATUS`).

    Usage errors exit with status 2 (``SystemExit``, as argparse does).
    SIGTERM and SIGINT end the command through its cleanup (staging folders
    and temporary files removed) with status 143 or 130 and one line; a
    closed stdout (``fabpromote history dev | head -1``) ends it quietly
    with 141.
    """
    from fabpromote._util import signals as _signals

    try:
        # Caught outside the handled block: a signal may also come while an error is printed.
        try:
            with _signals.handled(PROG), _redacted_output():
                args = _parse(argv)
                _setup_logging(args.verbose)
                status = _run(args)
                sys.stdout.flush()  # a reader gone shows here at the latest, while it can be handled
                return status
        except KeyboardInterrupt as exc:
            # Not an Interrupted: Ctrl-C where no handler could be set (main() run outside the main thread).
            return _signals.report(
                exc if isinstance(exc, _signals.Interrupted) else _signals.Interrupted(signal.SIGINT)
            )
    except BrokenPipeError:
        return _reader_gone()


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an option the command does not know is reported with the command's usage."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = {sub.prog.split()[-1]: sub for sub in subparsers(parser)}
        commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


class _Redacted:
    """A text stream whose every write is redacted: nothing the CLI prints shows a credential."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _redacted_output() -> Iterator[None]:
    """stdout and stderr redacted while a command runs: its output, its errors, its log lines."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacted(sys.stdout), _Redacted(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """``fabpromote: LEVEL: message`` on whatever ``sys.stderr`` is now, redacted; fabpromote's records only.

    Libraries' records (urllib3's ``Retrying (...)`` warnings, which repeat a
    server's bytes) are not shown: every failure is reported once, as one
    line naming the remote, by the error it ends in.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
        self.addFilter(logging.Filter("fabpromote"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        del value  # always the stderr of the moment (tests swap it)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _LogHandler)]:
        root.removeHandler(handler)
    # On the root logger, so that libraries' records find a handler (this one,
    # which drops them) instead of logging's last resort, which prints warnings.
    root.addHandler(_LogHandler())
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def _reader_gone() -> int:
    """The reader of stdout went away: what is left to print is nobody's; say nothing more."""
    try:
        # Else the interpreter's last flush of stdout at exit complains with a traceback-like message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is no real file (tests capture it): nothing flushes it at exit
    return BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    from fabpromote.exceptions import FabpromoteError, NothingToPromoteError

    handler: Callable[[argparse.Namespace], Outcome] = args.handler
    try:
        outcome = handler(args)
    except UsageError as exc:
        args.parser.error(str(exc))  # exits with USAGE, like argparse's own errors
    except NothingToPromoteError as exc:
        outcome = _unfinished(args, Outcome.NOTHING_TO_DO, str(exc))
    except FabpromoteError as exc:
        outcome = _unfinished(args, Outcome.FAILED, f"error: {exc}")
    except BrokenPipeError:
        raise
    except OSError as exc:
        outcome = _unfinished(args, Outcome.FAILED, f"error: {_os_error(exc)}")
    return EXIT_STATUS[outcome]


def _unfinished(args: argparse.Namespace, outcome: Outcome, message: str) -> Outcome:
    """A command that raised: one line on stderr, and with ``--json`` the outcome on stdout."""
    if getattr(args, "json", False):
        key = "error" if outcome is Outcome.FAILED else "message"
        print(json.dumps({"outcome": outcome.value, key: message.removeprefix("error: ")}, indent=2))
    print(f"{PROG}: {message}", file=sys.stderr)
    return outcome


def _os_error(exc: OSError) -> str:
    """``<path>: <why>`` for what the system refused (a folder that cannot be written, a full disk)."""
    why = exc.strerror or str(exc)
    paths = [str(path) for path in (exc.filename, exc.filename2) if path is not None]
    if not paths and not _working_folder_exists():
        paths = ["the working folder (removed since the shell entered it)"]  # getcwd's error names nothing
    return f"{' -> '.join(paths)}: {why}" if paths else why


def _working_folder_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True
