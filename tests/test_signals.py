"""SIGTERM and SIGINT under ``fabpromote._util.signals``: cleanup runs, steps finish, the exit is bounded.

The commands themselves are stopped in ``test_faults.py``; here small scripts
check each rule of the mechanism in a process of their own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

from fabpromote._util import signals as _signals

PRELUDE = """
import os, signal, sys, threading, time
from fabpromote._util import signals as _signals

def main():
{body}

try:
    with _signals.handled():
        main()
except _signals.Interrupted as exc:
    sys.exit(_signals.report(exc))
"""


def run(body: str, timeout: float = 30) -> tuple[subprocess.CompletedProcess[str], float]:
    script = PRELUDE.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - started


class TestMechanism:
    def test_cleanup_runs(self) -> None:
        """The signal is raised where the main thread waits; finally blocks run; 143 and one line."""
        done, _ = run(
            """
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
            finally:
                print("cleaned up")
            """
        )
        assert (done.returncode, done.stdout, done.stderr) == (
            143,
            "cleaned up\n",
            "fabpromote: interrupted (SIGTERM)\n",
        )

    def test_deferred_step_finishes(self) -> None:
        """A signal during a deferred step is raised right after it, not inside it."""
        done, _ = run(
            """
            with _signals.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
                print("step done")
            print("after the step")
            """
        )
        assert (done.returncode, done.stdout) == (130, "step done\n")
        assert done.stderr == "fabpromote: interrupted (SIGINT)\n"

    def test_second_signal_does_not_cut_cleanup(self) -> None:
        """Signals that come while cleaning up are ignored: the cleanup finishes."""
        done, _ = run(
            """
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(30)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
                print("cleaned up")
            """
        )
        assert (done.returncode, done.stdout) == (143, "cleaned up\n")

    def test_stuck_thread_abandoned_after_grace(self) -> None:
        """A thread that never ends does not keep the process: it exits when the grace period ends."""
        done, elapsed = run(
            """
            _signals.GRACE_SECONDS = 1.0
            threading.Thread(target=threading.Event().wait).start()  # not a daemon: Python would wait forever
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)
            """
        )
        assert done.returncode == 143
        assert elapsed < 10
        first, second = done.stderr.splitlines()
        assert first == "fabpromote: interrupted (SIGTERM)"
        assert second.startswith("fabpromote: warning: work still running 1 s after the signal was abandoned")

    def test_children_stopped(self) -> None:
        """A child process that a worker thread waits on is stopped, so the worker returns."""
        done, elapsed = run(
            """
            import subprocess
            def work():
                done = subprocess.run(["sleep", "60"])
                print("child ended with", done.returncode, flush=True)
            worker = threading.Thread(target=work)
            worker.start()
            time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGTERM)
            worker.join()
            """
        )
        assert done.returncode == 143
        assert done.stdout == "child ended with -15\n"
        assert elapsed < 10


class TestInProcess:
    def test_handlers_restored(self) -> None:
        """handled() sets handlers for the block only."""
        before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        with _signals.handled():
            assert signal.getsignal(signal.SIGTERM) is not before[0]
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before

    def test_nothing_outside_the_main_thread(self) -> None:
        """In another thread, handled() and deferred() change nothing (Python allows handlers in the main thread only)."""
        before = signal.getsignal(signal.SIGTERM)
        seen = []

        def other() -> None:
            with _signals.handled(), _signals.deferred():
                seen.append(signal.getsignal(signal.SIGTERM))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert seen == [before]
