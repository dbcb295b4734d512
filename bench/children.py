"""A command run as a child process, timed, with its own resource usage (``os.wait4``)."""

from __future__ import annotations

import os
import resource
import subprocess
import time
from collections.abc import Mapping, Sequence

import attrs


@attrs.frozen
class Finished:
    """A child that ran: its wall time, exit status, stderr and resource usage (CPU, max RSS)."""

    seconds: float
    returncode: int
    stderr: str
    usage: resource.struct_rusage

    @property
    def cpu(self) -> float:
        """The CPU seconds the child and its own children used (microseconds, where ``os.times`` has 10 ms ticks)."""
        return self.usage.ru_utime + self.usage.ru_stime


def run_child(command: Sequence[str], env: Mapping[str, str]) -> Finished:
    """Run ``command`` with stdout discarded; its wall time and, from ``wait4``, its own usage only."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.stderr.close()
    # wait4: this child's own usage, not that of every child so far (as getrusage(RUSAGE_CHILDREN) gives).
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(seconds, process.returncode, stderr.decode(errors="replace").strip(), usage)
