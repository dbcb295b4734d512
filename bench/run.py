"""fabpromote's benchmarks, and the targets of the performance issue they must show.

Run ``python bench/run.py`` (or ``nox -s bench``) with helm on PATH. Every
line printed names the measure, the figure, the target, and MET / NOT MET
(``info`` lines have no target; ``skipped`` ones say why). The results also
go to ``bench/results.json``.

How things are measured:

* ``materialize`` runs in this process: imports are done before timing
  starts, so import cost is excluded. Each run reads the cluster file, loads
  the plugins and makes a new :class:`~fabpromote.Sources`, whose
  new cache object holds the run's memos (helm version, chart digests), so a
  run costs what it would in a fresh process, minus the imports.
* ``fabpromote generate`` runs as a CLI subprocess: its wall time includes
  the interpreter's start-up and every import.
* Cold: an empty cache directory (``FABPROMOTE_CACHE_DIR``). Warm: the cache
  the last cold run left, nothing changed. Every figure is the best of
  ``--repeat`` runs (3 by default), with the median beside it; targets are
  judged on the best run.
* The targets are for an idle 2-core machine. Every run measures how much of
  the CPUs *other* processes used meanwhile (``/proc/stat`` minus this
  process, its children and the ``git daemon`` it started); a run disturbed
  beyond 15 % is repeated (a bounded number of times) and only undisturbed
  runs count when there are enough. The ``busy`` column shows that share for
  the run reported.
* Everything (repos, caches, ``HOME``) lives in one temporary folder, made
  where fabpromote keeps its cache by default (``$XDG_CACHE_HOME``, else
  ``~/.cache``; ``--dir`` elsewhere). Nothing else of the real home is read
  or written. Nothing is deleted before the end: on ext4 without a journal,
  creating files is up to 20 times slower for minutes after many were
  deleted, so a run would pay for the cleanup of the one before. The first
  line printed says how long creating a file took at the start.

Options: ``--quick`` (small N, fewer runs: a smoke run whose verdicts are
not the issue's), ``--only NAME`` (repeatable: generate, materialize,
baseline, publish, changed, memory, linearity, fab, tricks), ``--repeat N``,
``--wait-idle SECONDS``, ``--json PATH``, ``--dir PATH`` (where to make the
temporary folder), ``--keep`` (keep it).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synth  # noqa: E402 - the bench folder is not a package

GROUPS = ("generate", "materialize", "baseline", "publish", "changed", "memory", "linearity", "fab", "tricks")
ENV = "prod"
FAB_SKIPPED = "skipped: fab not on PATH"

# The targets (2-core machine).
WARM_100 = 0.5
WARM_1000_STATIC = 3.0
COLD_HELM_SPEEDUP = 2.0
GENERATE_1000_STATIC = 0.75
GENERATE_100_MIXED_COLD = 3.2
GENERATE_100_MIXED_WARM = 0.32
PEAK_RSS_MB = 300.0
LINEAR_RATIO = 1.5  # the cost per app from 100 to 1000 apps, over that from 10 to 100
# Other processes using more than this share of the CPUs during a run disturb it.
BUSY_THRESHOLD = 0.15
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# CPU use by other processes


def _proc_stat() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs since boot; None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _process_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/<pid>/stat from field 3 on) of every process."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        yield int(name), text[text.rfind(")") + 2 :].split()


def _session_ticks(session: int) -> int:
    """CPU ticks of every process of ``session``, with its reaped children."""
    # Fields 6 (session) and 14-17 (utime, stime, cutime, cstime), counted from 3.
    return sum(
        sum(int(value) for value in fields[11:15]) for _, fields in _process_stats() if int(fields[3]) == session
    )


def _cpu_note(cold: dict[str, float], baseline: dict[str, float]) -> str:
    """Where the CPU of the best cold run went, against the baseline's helm processes."""
    return (
        f"CPU: fabpromote {cold['python']:.2f} s, helm {cold['children']:.2f} s, git daemon {cold['daemon']:.2f} s, "
        f"{sum(cold.values()) / (os.cpu_count() or 1):.2f} s of wall time at best on {os.cpu_count()} CPUs; "
        f"the baseline's helm {baseline['children']:.2f} s"
    )


def _session_of(marker: str) -> int | None:
    """The session of the process whose command line holds ``marker``."""
    for pid, fields in _process_stats():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if marker.encode() in cmdline.read():
                    return int(fields[3])
        except OSError:
            continue
    return None


def _cpu_busy(sample: float = 0.5) -> float | None:
    """The share of all CPUs busy over ``sample`` seconds (this process idles meanwhile); None off Linux."""
    first = _proc_stat()
    time.sleep(sample)
    second = _proc_stat()
    if first is None or second is None or second[1] == first[1]:
        return None
    return (second[0] - first[0]) / (second[1] - first[1])


def _wait_until_idle(limit: float, *, threshold: float = BUSY_THRESHOLD) -> float | None:
    """Wait up to ``limit`` seconds for other processes to leave the CPUs alone; the last busy share."""
    deadline = time.monotonic() + limit
    busy = _cpu_busy()
    while busy is not None and busy > threshold and time.monotonic() < deadline:
        busy = _cpu_busy(2.0)
    return busy


@attrs.frozen
class Run:
    """One timed run.

    Attributes:
        seconds: Its time.
        others: The share of all CPUs that other processes used meanwhile (None: unknown).
        payload: What the measure returned besides the time.
    """

    seconds: float
    others: float | None = None
    payload: Any = None
    #: CPU seconds it used: ``python`` (this process), ``children`` (helm...), ``daemon`` (git daemon).
    cpu: dict[str, float] = attrs.Factory(dict)

    @property
    def clean(self) -> bool:
        return self.others is None or self.others <= BUSY_THRESHOLD


# The report


@attrs.define
class Result:
    """One line of the report."""

    group: str
    name: str
    value: float | None
    unit: str
    target: str = "-"
    status: str = "info"
    runs: list[float] = attrs.Factory(list)
    others: float | None = None
    details: dict[str, Any] = attrs.Factory(dict)
    note: str = ""

    @classmethod
    def timed(cls, group: str, name: str, runs: list[Run], **kwargs: Any) -> Result:
        """The best of the undisturbed ``runs`` (of all, when none is), with their median."""
        counted = [run for run in runs if run.clean] or runs
        best = min(counted, key=lambda run: run.seconds)
        details = {"all_runs": [{"seconds": run.seconds, "others_busy": run.others, "cpu": run.cpu} for run in runs]}
        details["cpu"] = best.cpu
        details.update(kwargs.pop("details", {}))
        return cls(
            group=group,
            name=name,
            value=best.seconds,
            unit="s",
            runs=[run.seconds for run in counted],
            others=best.others,
            details=details,
            **kwargs,
        )

    def judge(self, limit: float) -> Result:
        """Set the target ``<= limit`` seconds and the verdict."""
        assert self.value is not None
        self.target = f"<= {limit:g} s"
        self.status = _verdict(self.value <= limit)
        return self

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if len(self.runs) > 1 else None

    def figure(self) -> str:
        if self.value is None:
            return "-"
        text = _fmt(self.value, self.unit)
        if self.median is not None:
            text += f" (median {_fmt(self.median, self.unit)}, {len(self.runs)} runs)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "median": self.median,
            "runs": self.runs,
            "target": self.target,
            "status": self.status,
            "others_busy": self.others,
            "details": self.details,
            "note": self.note,
        }


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms/app":
        return f"{value:.3f} ms/app"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:g} {unit}"


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _line(result: Result) -> str:
    note = f"  [{result.note}]" if result.note else ""
    busy = "" if result.others is None else f"{result.others:.0%}"
    return f"{result.name:<92} {result.figure():<38} {busy:>5} {result.target:<24} {result.status}{note}"


def _table(results: list[Result]) -> str:
    header = f"{'measure':<92} {'figure (best)':<38} {'busy':>5} {'target':<24} status"
    return "\n".join([header, "-" * len(header), *(_line(result) for result in results)])


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Helpers


@contextlib.contextmanager
def _git_daemon(base: Path) -> Iterator[str]:
    """``git daemon`` serving ``base``, listening and forking itself: ``git://127.0.0.1:PORT/``.

    Not the test suite's ``GitDaemon``, which spawns a ``git daemon --inetd``
    from Python per connection to be safe among parallel test workers: that
    costs the server time the figures would count. The bench runs alone, so
    a port looked up and then handed to the daemon is safe here.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}", "--listen=127.0.0.1"]
    command += [f"--port={port}", "--enable=receive-pack", str(base)]
    daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"git daemon did not start on port {port}")
            time.sleep(0.02)
        yield f"git://127.0.0.1:{port}/"
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)  # its per-connection children too
        daemon.wait()


@contextlib.contextmanager
def _cache_dir(path: Path) -> Iterator[Path]:
    """Point ``FABPROMOTE_CACHE_DIR`` at ``path`` for the block."""
    old = os.environ.get("FABPROMOTE_CACHE_DIR")
    os.environ["FABPROMOTE_CACHE_DIR"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("FABPROMOTE_CACHE_DIR", None)
        else:
            os.environ["FABPROMOTE_CACHE_DIR"] = old


def _rmtree(path: Path) -> None:
    """Remove ``path``, whose snapshots are read-only folders."""
    if not path.exists():
        return
    for directory, _, _ in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _helm_stats() -> dict[str, int]:
    try:
        import fabpromote_helm
    except ImportError:
        return {}
    return attrs.asdict(fabpromote_helm.stats())


def _reset_helm_stats() -> None:
    with contextlib.suppress(ImportError):
        import fabpromote_helm

        fabpromote_helm.reset_stats()


def _fabpromote_command() -> list[str]:
    """The ``fabpromote`` console script of this interpreter (else ``python -m fabpromote``)."""
    script = Path(sys.executable).parent / "fabpromote"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fabpromote"]


def _fit(xs: tuple[int, ...], ys: list[float]) -> tuple[float, float]:
    """Least-squares line ``y = slope * x + intercept``."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


@attrs.define
class Materialized:
    """What one in-process materialize did."""

    files: int
    sources: dict[str, int]
    helm: dict[str, int]
    result: Any


@attrs.define
class Bench:
    """The benchmark run: its temporary folder, fleets, caches and results."""

    tmp: Path
    repeat: int
    quick: bool
    only: set[str]
    wait_idle: float = 0.0
    results: list[Result] = attrs.Factory(list)
    busy: dict[str, float | None] = attrs.Factory(dict)
    _fleets: dict[tuple[str, int], list[str]] = attrs.Factory(dict)
    _clusters: dict[tuple[str, int, str], synth.ClusterFiles] = attrs.Factory(dict)
    _warm: dict[tuple[str, int, str], Path] = attrs.Factory(dict)
    _done: dict[tuple[Any, ...], Any] = attrs.Factory(dict)
    _versions: dict[tuple[str, int], int] = attrs.Factory(dict)
    #: The cache that last wrote each local HLD's generated/ (see output_for).
    _output_caches: dict[Path, Path] = attrs.Factory(dict)
    _daemon: str | None = None
    _daemon_session: int | None = None
    _stack: contextlib.ExitStack = attrs.Factory(contextlib.ExitStack)
    _counter: int = 0

    # Sizes and run counts

    @property
    def small(self) -> int:
        return 5 if self.quick else 10

    @property
    def medium(self) -> int:
        return 20 if self.quick else 100

    @property
    def large(self) -> int:
        return 100 if self.quick else 1000

    def cold_runs(self, n: int) -> int:
        """Cold runs cost a full fetch and render: fewer of them for the largest N."""
        return 1 if self.quick or n >= 1000 else self.repeat

    # Reporting

    def add(self, result: Result) -> Result:
        self.results.append(result)
        print(_line(result), flush=True)
        return result

    def wanted(self, group: str) -> bool:
        return not self.only or group in self.only

    # Timing

    def timed(self, measure: Callable[[], tuple[float, Any]]) -> Run:
        """Run ``measure`` (which returns its own time and a payload) and meter the others' CPU use."""
        before, cpu = _proc_stat(), self._cpu()
        seconds, payload = measure()
        after, cpu_after = _proc_stat(), self._cpu()
        others = None
        if before is not None and after is not None and after[1] > before[1]:
            ours = (sum(cpu_after.values()) - sum(cpu.values())) * _TICKS
            used = (after[0] - before[0]) - ours
            others = min(1.0, max(0.0, used / (after[1] - before[1])))
        spent = {name: round(cpu_after[name] - cpu[name], 3) for name in cpu}
        return Run(seconds=seconds, others=others, payload=payload, cpu=spent)

    def _cpu(self) -> dict[str, float]:
        """CPU seconds so far of this process, its reaped children and the git daemon's session."""
        times = os.times()
        daemon = _session_ticks(self._daemon_session) / _TICKS if self._daemon_session is not None else 0.0
        return {
            "python": times.user + times.system,
            "children": times.children_user + times.children_system,
            "daemon": daemon,
        }

    def runs(self, measure: Callable[[], tuple[float, Any]], want: int, *, retries: int | None = None) -> list[Run]:
        """``want`` undisturbed runs of ``measure``, with at most ``retries`` (default ``2 * want``) more."""
        limit = want + (2 * want if retries is None else retries)
        done: list[Run] = []
        while len(done) < limit and sum(run.clean for run in done) < want:
            done.append(self.timed(measure))
        return done

    # Setup (never timed)

    def fresh(self, label: str) -> Path:
        self._counter += 1
        path = self.tmp / "work" / f"{self._counter:03d}-{label}"
        path.mkdir(parents=True)
        return path

    def fleet(self, kind: str, n: int) -> list[str]:
        """The app repos ``git/<kind>-<n>/<app>.git``, built once."""
        key = (kind, n)
        if key not in self._fleets:
            started = time.perf_counter()
            self._fleets[key] = synth.build_app_repos(self.tmp / "git" / f"{kind}-{n}", n, kind)
            _log(f"setup: {n} {kind} app repos in {time.perf_counter() - started:.1f} s")
        return self._fleets[key]

    def daemon_url(self) -> str:
        if self._daemon is None:
            (self.tmp / "git").mkdir(exist_ok=True)
            self._daemon = str(self._stack.enter_context(_git_daemon(self.tmp / "git")))
            # Its CPU is ours: found by its port among the processes.
            self._daemon_session = _session_of(f"--port={urlsplit(self._daemon).port}\0")
        return self._daemon

    def cluster(self, kind: str, n: int, flavor: str) -> synth.ClusterFiles:
        """A cluster of ``n`` apps of ``kind``, its sources plain paths or ``git://`` (``flavor``)."""
        key = (kind, n, flavor)
        if key not in self._clusters:
            apps = self.fleet(kind, n)
            base_url = f"{self.daemon_url()}{kind}-{n}/" if flavor == "daemon" else None
            self._clusters[key] = synth.build_cluster(
                self.tmp / "git" / f"{kind}-{n}", apps, name=f"{kind}-{n}-{flavor}", base_url=base_url
            )
        return self._clusters[key]

    def local_hld(self, kind: str, n: int) -> Path:
        key = ("hld", kind, n)
        if key not in self._done:
            self._done[key] = synth.build_local_hld(self.tmp / "hld" / f"{kind}-{n}", n, kind)
        return self._done[key]  # type: ignore[no-any-return]

    # Measures

    def materialize_once(self, files: synth.ClusterFiles, cache: Path) -> tuple[float, Materialized]:
        from fabpromote import Cluster, Sources, materialize

        with _cache_dir(cache):
            _reset_helm_stats()
            gc.collect()
            started = time.perf_counter()
            sources = Sources()
            cluster = Cluster.from_file(files.config)
            result = materialize(cluster, ENV, sources=sources)
            seconds = time.perf_counter() - started
        stats = {k: v for k, v in attrs.asdict(sources.stats).items() if not k.startswith("_")}
        return seconds, Materialized(files=len(result.manifests), sources=stats, helm=_helm_stats(), result=result)

    def cold(self, kind: str, n: int, flavor: str, *, report: bool = True) -> Result:
        """Cold materialize (an empty cache each run); leaves the warm cache behind."""
        key = ("cold", kind, n, flavor)
        if key in self._done:
            return self._done[key]  # type: ignore[no-any-return]
        files = self.cluster(kind, n, flavor)
        caches: list[Path] = []

        def measure() -> tuple[float, Materialized]:
            caches.append(self.fresh(f"cache-{kind}-{n}-{flavor}"))
            return self.materialize_once(files, caches[-1])

        want = self.cold_runs(n) if report else 1
        runs = self.runs(measure, want, retries=(want if n < 1000 else 1) if report else 0)
        self._warm[(kind, n, flavor)] = caches[-1]
        best: Materialized = min(runs, key=lambda run: run.seconds).payload
        result = Result.timed(
            "materialize",
            f"materialize cold, {n} {kind} apps ({flavor})",
            runs,
            details={"files": best.files, "sources": best.sources, "helm": best.helm},
        )
        self._done[key] = result
        if report:
            self.add(result)
        return result

    def warm_cache(self, kind: str, n: int, flavor: str) -> Path:
        if (kind, n, flavor) not in self._warm:
            self.cold(kind, n, flavor, report=False)
        return self._warm[(kind, n, flavor)]

    def warm(self, kind: str, n: int, flavor: str, target: float | None = None) -> Result:
        """Warm materialize, nothing changed."""
        key = ("warm", kind, n, flavor)
        if key in self._done:
            return self._done[key]  # type: ignore[no-any-return]
        files = self.cluster(kind, n, flavor)
        cache = self.warm_cache(kind, n, flavor)
        runs = self.runs(lambda: self.materialize_once(files, cache), self.repeat)
        best: Materialized = min(runs, key=lambda run: run.seconds).payload
        result = Result.timed(
            "materialize",
            f"materialize warm (nothing changed), {n} {kind} apps ({flavor})",
            runs,
            details={"files": best.files, "sources": best.sources, "helm": best.helm},
        )
        if target is not None:
            result.judge(target)
        self._done[key] = result
        self.add(result)
        return result

    def output_for(self, hld: Path, cache: Path) -> None:
        """Before ``generate`` with ``cache``: set ``hld``'s generated/ aside when another cache wrote it.

        fabpromote replaces generated/ only when its cache recorded writing it
        (docs/security.md, "Output folders"); a new cache knows nothing of it,
        as on a fresh CI runner, which has no generated/ either. The folder is
        renamed, not deleted (see the README on deleting files).
        """
        if self._output_caches.get(hld, cache) != cache and (hld / "generated").exists():
            os.rename(hld / "generated", self.fresh("set-aside") / "generated")
        self._output_caches[hld] = cache

    def cli_generate(self, hld: Path, cache: Path) -> tuple[float, str]:
        """``fabpromote generate prod --path HLD`` as a subprocess: (wall time, what it printed)."""
        self.output_for(hld, cache)
        env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)}
        started = time.perf_counter()
        done = subprocess.run(
            [*_fabpromote_command(), "generate", ENV, "--path", str(hld)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        seconds = time.perf_counter() - started
        message = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0:
            raise RuntimeError(f"fabpromote generate failed on {hld}: {message}")
        return seconds, message

    def generate_static(self, n: int) -> Result:
        key = ("generate-static", n)
        if key in self._done:
            return self._done[key]  # type: ignore[no-any-return]
        hld = self.local_hld("static", n)
        cache = self.fresh("cache-generate-static")
        runs = self.runs(lambda: self.cli_generate(hld, cache), self.repeat)
        result = Result.timed(
            "generate",
            f"fabpromote generate prod (CLI), {n} static apps x 3 documents",
            runs,
            details={"output": runs[-1].payload},
        )
        if n == self.large:
            result.judge(GENERATE_1000_STATIC)
        self._done[key] = result
        self.add(result)
        return result

    def inproc_generate(self, n: int) -> Result:
        """What the CLI's ``generate`` does, in this process: no start-up, no imports."""
        key = ("inproc-generate-static", n)
        if key in self._done:
            return self._done[key]  # type: ignore[no-any-return]
        from fabpromote import generate, output_directory

        hld = self.local_hld("static", n)
        cache = self.fresh("cache-inproc-generate")

        def measure() -> tuple[float, None]:
            self.output_for(hld, cache)
            with _cache_dir(cache):
                gc.collect()
                started = time.perf_counter()
                generate(hld, [ENV]).write(output_directory(hld, [ENV]))
                return time.perf_counter() - started, None

        result = Result.timed(
            "linearity",
            f"  generate prod + write, in-process (imports excluded), {n} static apps",
            self.runs(measure, max(self.repeat, 5)),
        )
        self._done[key] = result
        self.add(result)
        return result

    # Groups

    def run_generate(self) -> None:
        for n in (self.small, self.medium, self.large):
            self.generate_static(n)
        n = self.medium
        hld = self.local_hld("mixed", n)
        caches: list[Path] = []

        def cold() -> tuple[float, str]:
            caches.append(self.fresh("cache-generate-mixed"))
            return self.cli_generate(hld, caches[-1])

        want = self.cold_runs(n)
        runs = self.runs(cold, want, retries=want)
        self.add(
            Result.timed(
                "generate",
                f"fabpromote generate prod (CLI) cold, {n} apps (static folder + helm chart)",
                runs,
                details={"output": runs[-1].payload},
            ).judge(GENERATE_100_MIXED_COLD)
        )
        self.add(
            Result.timed(
                "generate",
                f"fabpromote generate prod (CLI) warm (nothing changed), {n} apps (static + helm)",
                self.runs(lambda: self.cli_generate(hld, caches[-1]), self.repeat),
            ).judge(GENERATE_100_MIXED_WARM)
        )

        def command(*args: str) -> Callable[[], tuple[float, None]]:
            def measure() -> tuple[float, None]:
                started = time.perf_counter()
                subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
                return time.perf_counter() - started, None

            return measure

        bare = Result.timed(
            "generate", "  interpreter start-up: python -c pass", self.runs(command(sys.executable, "-c", "pass"), 3)
        )
        self.add(bare)
        self.add(
            Result.timed(
                "generate",
                "  interpreter start-up and CLI imports: fabpromote --help",
                self.runs(command(*_fabpromote_command(), "--help"), 3),
            )
        )

    def run_materialize(self) -> None:
        small, medium, large = self.small, self.medium, self.large
        for n in (small, medium, large):
            self.cold("static", n, "paths")
            self.warm("static", n, "paths", WARM_100 if n == medium else WARM_1000_STATIC if n == large else None)
        for n in (medium, large):
            self.cold("static", n, "daemon")
            self.warm("static", n, "daemon", WARM_100 if n == medium else WARM_1000_STATIC)
        for flavor in ("paths", "daemon"):
            self.cold("helm", medium, flavor)
            self.warm("helm", medium, flavor, WARM_100)
        self.cold("mixed", medium, "paths")
        self.warm("mixed", medium, "paths", WARM_100)

    def run_baseline(self) -> None:
        """Cold materialize of N helm apps vs one ``helm template`` per component, one after another."""
        import yaml

        n = self.medium
        helm = shutil.which("helm")
        if helm is None:
            self.add(Result("baseline", "helm baseline", None, "s", status="skipped: helm not on PATH"))
            return
        root = self.fresh("baseline")
        jobs = []
        for app in self.fleet("helm", n):
            files = synth.app_files("helm", app, prefix="")
            synth.write_files(root / app, {k: v for k, v in files.items() if k.startswith("chart/")})
            common = yaml.safe_load(files["config/common.yaml"])
            prod = yaml.safe_load(files["config/prod.yaml"])
            values = {**common["config"], "replicas": prod["config"]["replicas"]}
            values["env"] = {**common["config"]["env"], **prod["config"]["env"]}
            (root / app / "values.yaml").write_text(yaml.safe_dump(values))
            chart, values_file = str(root / app / "chart"), str(root / app / "values.yaml")
            jobs.append([helm, "template", app, chart, "--values", values_file, "--namespace", common["namespace"]])

        def measure() -> tuple[float, None]:
            started = time.perf_counter()
            for job in jobs:
                subprocess.run(
                    job, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True
                )
            return time.perf_counter() - started, None

        want = self.cold_runs(n)
        base = self.add(
            Result.timed(
                "baseline",
                f"baseline: {n} x `helm template`, one process per component, one after another",
                self.runs(measure, want, retries=want),
            )
        )
        assert base.value is not None
        for flavor in ("paths", "daemon"):
            cold = self.cold("helm", n, flavor)
            assert cold.value is not None
            speedup = base.value / cold.value
            self.add(
                Result(
                    "baseline",
                    f"cold materialize {n} helm apps ({flavor}): speed-up over the baseline",
                    speedup,
                    "x",
                    target=f">= {COLD_HELM_SPEEDUP:g}x",
                    status=_verdict(speedup >= COLD_HELM_SPEEDUP),
                    details={"baseline_s": base.value, "cold_s": cold.value},
                    note=_cpu_note(cold.details["cpu"], base.details["cpu"]),
                )
            )

    def run_publish(self) -> None:
        for kind, n, flavor in (
            ("static", self.medium, "paths"),
            ("helm", self.medium, "daemon"),
            ("static", self.large, "paths"),
        ):
            self.publish(kind, n, flavor)

    def publish(self, kind: str, n: int, flavor: str) -> None:
        from fabpromote import Cluster, publish
        from fabpromote.exceptions import FabpromoteError

        files = self.cluster(kind, n, flavor)
        cache = self.warm_cache(kind, n, flavor)
        name = f"publish with nothing changed, {n} {kind} apps ({flavor})"
        _, done = self.materialize_once(files, cache)
        with _cache_dir(cache):
            try:
                started = time.perf_counter()
                first = publish(done.result, Cluster.from_file(files.config))
                first_seconds = time.perf_counter() - started
            except FabpromoteError as exc:
                self.add(Result("publish", name, None, "s", status=f"skipped: {exc}"))
                return

            def measure() -> tuple[float, str | None]:
                gc.collect()
                started = time.perf_counter()
                again = publish(done.result, Cluster.from_file(files.config))
                return time.perf_counter() - started, again.commit

            runs = self.runs(measure, self.repeat)
        commits = [run.payload for run in runs]
        self.add(
            Result.timed(
                "publish",
                name,
                runs,
                note=f"first publish (creates the branch): {first_seconds:.3f} s; "
                f"commits made by the repeats: {sum(c is not None for c in commits)}",
                details={"first_publish_s": first_seconds, "first_commit": first.commit, "commits": commits},
            )
        )

    def run_changed(self) -> None:
        for kind in ("helm", "static"):
            for flavor in ("paths", "daemon"):
                self.changed(kind, self.medium, flavor)

    def changed(self, kind: str, n: int, flavor: str) -> None:
        """One app changed among ``n``: only it is fetched and rendered again."""
        files = self.cluster(kind, n, flavor)
        cache = self.warm_cache(kind, n, flavor)
        app = files.apps[0]

        def measure() -> tuple[float, Materialized]:
            version = self._versions.get((kind, n), 0) + 1
            self._versions[(kind, n)] = version
            synth.change_app(self.tmp / "git" / f"{kind}-{n}", app, kind, version)  # untimed
            return self.materialize_once(files, cache)

        runs = self.runs(measure, self.repeat)
        done: list[Materialized] = [run.payload for run in runs]
        where = f"{n} {kind} apps ({flavor})"
        self.add(
            Result.timed(
                "changed",
                f"materialize, one app changed among {where}",
                runs,
                details={"sources": [d.sources for d in done], "helm": [d.helm for d in done]},
            )
        )
        # A git fetch, or for a local repository (read in place, never mirrored) the export of its tree.
        self.add(
            Result(
                "changed",
                f"  git trees fetched (Sources.stats.snapshots_created), one app changed among {where}",
                max(d.sources["snapshots_created"] for d in done),
                "count",
                target="== 1 in every run",
                status=_verdict(all(d.sources["snapshots_created"] == 1 for d in done)),
                note="git fetches: "
                + ", ".join(str(d.sources["fetches"]) for d in done)
                + "; ref listings: "
                + ", ".join(str(d.sources["ls_remote_calls"]) for d in done),
            )
        )
        if kind in ("helm", "mixed"):
            self.add(
                Result(
                    "changed",
                    f"  helm template calls (fabpromote_helm.stats), one app changed among {where}",
                    max(d.helm.get("helm_calls", 0) for d in done),
                    "count",
                    target="== 1 in every run",
                    status=_verdict(all(d.helm.get("helm_calls") == 1 for d in done)),
                    note="render cache hits: " + ", ".join(str(d.helm.get("cache_hits")) for d in done),
                )
            )

    def run_memory(self) -> None:
        n = self.large
        files = self.cluster("static", n, "paths")
        cache = self.fresh("cache-memory")
        peaks = []
        for label in ("cold", "warm"):
            run = self.timed(lambda: _child_materialize(files.config, cache))
            rss, inner = run.payload
            peaks.append(rss)
            self.add(
                Result(
                    "memory",
                    f"  materialize in a subprocess, {label}, {n} static apps (paths): wall time incl. imports",
                    run.seconds,
                    "s",
                    others=run.others,
                    note=f"materialize itself {inner:.3f} s; max RSS {rss:.0f} MB",
                    details={"max_rss_mb": rss, "materialize_s": inner},
                )
            )
        self.add(
            Result(
                "memory",
                f"peak memory (max RSS of the materialize process), {n} static apps",
                max(peaks),
                "MB",
                target=f"<= {PEAK_RSS_MB:g} MB",
                status=_verdict(max(peaks) <= PEAK_RSS_MB),
            )
        )

    def run_linearity(self) -> None:
        sizes = (self.small, self.medium, self.large)
        series = {
            "fabpromote generate in-process, static apps": [self.inproc_generate(n).value for n in sizes],
            "fabpromote generate (CLI), static apps": [self.generate_static(n).value for n in sizes],
            "materialize warm, static apps (paths)": [self.warm("static", n, "paths").value for n in sizes],
            "materialize cold, static apps (paths)": [self.cold("static", n, "paths").value for n in sizes],
        }
        for name, values in series.items():
            ys = [float(value) for value in values if value is not None]
            low = (ys[1] - ys[0]) / (sizes[1] - sizes[0])
            high = (ys[2] - ys[1]) / (sizes[2] - sizes[1])
            slope, intercept = _fit(sizes, ys)
            ratio = high / low if low > 0 else float("inf")
            # The CLI series carries the interpreter's start-up noise: shown, judged on the in-process one.
            judged = "(CLI)" not in name
            self.add(
                Result(
                    "linearity",
                    f"slope of {name} (least squares over N={sizes[0]}/{sizes[1]}/{sizes[2]})",
                    slope * 1000,
                    "ms/app",
                    target=f"cost/app {sizes[1]}->{sizes[2]} <= {LINEAR_RATIO:g}x {sizes[0]}->{sizes[1]}"
                    if judged
                    else "-",
                    status=_verdict(ratio <= LINEAR_RATIO) if judged else "info",
                    note=f"{sizes[0]}->{sizes[1]}: {low * 1000:.3f} ms/app, {sizes[1]}->{sizes[2]}: "
                    f"{high * 1000:.3f} ms/app (ratio {ratio:.2f}); fixed cost {intercept:.3f} s",
                    details={
                        "sizes": sizes,
                        "seconds": ys,
                        "slope_low": low,
                        "slope_high": high,
                        "intercept": intercept,
                    },
                )
            )

    def run_fab(self) -> None:
        fab = shutil.which("fab")
        lines = [
            f"native engine vs fabrikate engine, generate {self.large} static apps",
            f"native engine vs fabrikate engine, generate {self.medium} apps (static + helm)",
            f"fabpromote generate vs fab generate (CLI), {self.medium} apps (static + helm)",
            f"cold materialize {self.medium} helm apps vs `fab install && fab generate`",
        ]
        if fab is None:
            for name in lines:
                self.add(Result("fab", name, None, "s", status=FAB_SKIPPED))
            return
        self._fab_engines(self.local_hld("static", self.large), lines[0])
        hld = self.local_hld("mixed", self.medium)
        self._fab_engines(hld, lines[1])
        self._fab_cli(fab, hld, lines[2])
        self._fab_materialize(fab, lines[3])

    def _fab_engines(self, hld: Path, name: str) -> None:
        from fabpromote import Plugins, generate

        best: dict[str, float] = {}
        outputs = {}
        with _cache_dir(self.fresh("cache-engines")):
            for engine in ("native", "fabrikate"):

                def measure(engine: str = engine) -> tuple[float, Any]:
                    started = time.perf_counter()
                    manifests = generate(hld, [ENV], engine=engine, plugins=Plugins.load())
                    return time.perf_counter() - started, manifests

                runs = self.runs(measure, self.repeat)
                best[engine] = min(run.seconds for run in runs)
                outputs[engine] = runs[-1].payload
        self.add(
            Result(
                "fab",
                name,
                best["native"],
                "s",
                target="<= fabrikate engine",
                status=_verdict(best["native"] <= best["fabrikate"]),
                note=f"fabrikate engine {best['fabrikate']:.3f} s; "
                f"same bytes: {outputs['native'] == outputs['fabrikate']}",
                details=best,
            )
        )

    def _fab_cli(self, fab: str, hld: Path, name: str) -> None:
        copy = self.fresh("fab-cli") / "hld"
        shutil.copytree(hld, copy, ignore=shutil.ignore_patterns("generated"))
        subprocess.run([fab, "install"], cwd=copy, check=True, capture_output=True)

        def fab_generate() -> tuple[float, None]:
            started = time.perf_counter()
            subprocess.run([fab, "generate", ENV], cwd=copy, check=True, capture_output=True)
            return time.perf_counter() - started, None

        fab_runs = self.runs(fab_generate, self.repeat)
        cold = self.runs(lambda: self.cli_generate(hld, self.fresh("cache-fab-cli-cold")), self.cold_runs(100))
        best_fab = min(run.seconds for run in fab_runs)
        result = Result.timed("fab", name, cold, target="<= fab generate", note=f"fab generate {best_fab:.3f} s")
        assert result.value is not None
        result.status = _verdict(result.value <= best_fab)
        self.add(result)

    def _fab_materialize(self, fab: str, name: str) -> None:
        files = self.cluster("helm", self.medium, "paths")
        cold = self.cold("helm", self.medium, "paths")

        def measure() -> tuple[float, None]:
            work = self.fresh("fab-materialize")
            subprocess.run(["git", "clone", "-q", "-b", ENV, files.hld, str(work / "hld")], check=True)
            started = time.perf_counter()
            subprocess.run([fab, "install"], cwd=work / "hld", check=True, capture_output=True)
            subprocess.run([fab, "generate", ENV], cwd=work / "hld", check=True, capture_output=True)
            return time.perf_counter() - started, None

        runs = self.runs(measure, self.cold_runs(self.medium))
        best_fab = min(run.seconds for run in runs)
        assert cold.value is not None
        self.add(
            Result(
                "fab",
                name,
                cold.value,
                "s",
                target="<= fab install && fab generate",
                status=_verdict(cold.value <= best_fab),
                note=f"fab install && fab generate: {best_fab:.3f} s",
                details={"fab": [run.seconds for run in runs]},
            )
        )

    def run_tricks(self) -> None:
        import tricks  # bench/tricks.py: each speed trick against the plain code

        tricks.run(self, Result)

    def run(self) -> None:
        with self._stack:
            for group in GROUPS:
                if not self.wanted(group):
                    continue
                busy = _wait_until_idle(self.wait_idle)
                self.busy[group] = busy
                shown = "unknown" if busy is None else f"{busy:.0%}"
                _log(f"== {group} (CPUs busy before it: {shown})")
                getattr(self, f"run_{group}")()


def _child_materialize(config: Path, cache: Path) -> tuple[float, tuple[float, float]]:
    """Materialize in a child process: (wall time, (max RSS in MB, materialize time))."""
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child-materialize", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    # wait4: this child's own usage (with its reaped children), not that of every child so far.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the materialize child failed (exit {process.returncode})")
    inner = json.loads(output)
    # ru_maxrss is in KiB on Linux.
    return wall, (max(usage.ru_maxrss, inner["maxrss_kb"]) / 1024, inner["seconds"])


def _child(config: str) -> int:
    """``--child-materialize``: one materialize, then its time and max RSS as JSON."""
    from fabpromote import Cluster, materialize

    started = time.perf_counter()
    result = materialize(Cluster.from_file(config), ENV)
    seconds = time.perf_counter() - started
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "files": len(result.manifests), "maxrss_kb": maxrss}))
    return 0


def _file_create_us(folder: Path, count: int = 200) -> float:
    """Microseconds to create (and write 1 KB to) a file in ``folder``: a probe of the file system's state.

    On ext4 without a journal, as here, creating files gets up to 20 times
    slower for a few minutes after many were deleted; the files are kept.
    """
    folder.mkdir()
    started = time.perf_counter()
    for index in range(count):
        (folder / f"f{index}").write_bytes(b"x" * 1024)
    return (time.perf_counter() - started) / count * 1e6


def _machine(tmp: Path) -> dict[str, Any]:
    helm = shutil.which("helm")
    helm_version = None
    if helm:
        done = subprocess.run([helm, "version", "--short"], capture_output=True, text=True, check=False)
        helm_version = done.stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "helm": helm_version,
        "fab": shutil.which("fab"),
        "file_create_us": round(_file_create_us(tmp / "probe"), 1),
    }


def _isolate(tmp: Path) -> None:
    """Keep everything inside ``tmp``: home, caches; git ignores the user's configuration."""
    from fabpromote.testing.gitrepos import GIT_ENV

    home = tmp / "home"
    home.mkdir()
    os.environ["HOME"] = str(home)
    os.environ["FABPROMOTE_CACHE_DIR"] = str(tmp / "cache-default")
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "FABPROMOTE_CONFIG"):
        os.environ.pop(name, None)
    os.environ.update(GIT_ENV)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small N and fewer runs: a smoke run")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help=f"one of {', '.join(GROUPS)}")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measure (default 3, quick 2)")
    parser.add_argument("--json", default=str(HERE / "results.json"), metavar="PATH", help="where to write results")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--dir",
        default=os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
        metavar="PATH",
        help="where to make the temporary folder (default: the user's cache folder, as fabpromote's cache)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each group, wait up to this long for other processes to leave the CPUs idle",
    )
    parser.add_argument("--child-materialize", metavar="CONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_materialize:
        return _child(args.child_materialize)
    only = {name for value in args.only for name in value.split(",") if name}
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(f"unknown --only {', '.join(sorted(unknown))} (known: {', '.join(GROUPS)})")
    repeat = args.repeat or (2 if args.quick else 3)
    if shutil.which("helm") is None:
        _log("warning: helm is not on PATH; helm measures will fail (nox -s bench puts it there)")

    Path(args.dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="fabpromote-bench-", dir=args.dir))
    started = time.perf_counter()
    bench = Bench(tmp=tmp, repeat=repeat, quick=args.quick, only=only, wait_idle=args.wait_idle)
    try:
        _isolate(tmp)
        # Imports first: in-process measures exclude them.
        from fabpromote import materialize, publish  # noqa: F401 - with the modules they use

        with contextlib.suppress(ImportError):
            import fabpromote_helm._generator  # noqa: F401

        machine = _machine(tmp)
        _log(
            f"fabpromote benchmarks in {tmp} ({machine['cpus']} CPUs, helm {machine['helm']}, "
            f"a file created in {machine['file_create_us']:.0f} us)"
        )
        bench.run()
    finally:
        if args.keep:
            _log(f"kept {tmp}")
        else:
            _rmtree(tmp)
    elapsed = time.perf_counter() - started
    print()
    print(_table(bench.results))
    met = sum(result.status == "MET" for result in bench.results)
    missed = sum(result.status == "NOT MET" for result in bench.results)
    smoke = "; --quick smoke run: not the issue's N" if args.quick else ""
    print(f"\ntargets: {met} MET, {missed} NOT MET ({elapsed:.0f} s in all{smoke})")
    disturbed = [result.name.strip() for result in bench.results if result.others and result.others > BUSY_THRESHOLD]
    if disturbed:
        print(
            f"warning: other processes used over {BUSY_THRESHOLD:.0%} of the CPUs during the best run of "
            f"{len(disturbed)} measure(s) even after retries (busy column): those figures are pessimistic"
        )
    Path(args.json).write_text(
        json.dumps(
            {
                "machine": machine,
                "quick": args.quick,
                "repeat": repeat,
                "method": {
                    "materialize": "in-process, imports excluded; per-process helm memos forgotten before each run",
                    "generate": "CLI subprocess wall time, interpreter start-up included",
                    "figure": "best of the undisturbed runs (median also given); targets judged on the best",
                    "others_busy": "share of all CPUs used by other processes during the run",
                },
                "cpu_busy_before_group": bench.busy,
                "results": [result.to_json() for result in bench.results],
                "elapsed_s": elapsed,
            },
            indent=2,
        )
        + "\n"
    )
    _log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
