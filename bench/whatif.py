"""What the suggested fixes would save: ``python bench/whatif.py [FIX ...]``.

Each fix is a monkeypatch of a private function, applied only inside this
process, approximating the change suggested to the core owner; it is
measured against the unpatched code on the same case, runs interleaved
(A, B, A, B, ...) so that background load weighs on both alike; the CPU
time (this process and its children) is printed beside the wall time, as
it suffers less from other processes. Private
names change as the core evolves: a fix whose target is gone prints
``skipped`` instead of failing.

Fixes:

* ``skip-fetch``: :meth:`Fetcher.git_trees` asks :meth:`Sources.fetch_many`
  only for commits whose snapshot is not in the cache yet (warm materialize);
* ``peel``: ``_peeled_local_tags`` opens the repository only when the
  remote has tags (listing a local path opens it once, not twice);
* ``config-dir``: :func:`load_environments` skips the four ``is_file``
  calls when the component has no ``config/`` folder;
* ``snapshot-parallel``: :meth:`Fetcher.git_trees` exports the snapshots of
  one parent's components in parallel instead of one after another (cold);
* ``helm-gogc``: ``helm template`` runs with ``GOGC=off`` (a short-lived
  process: Go's collector only costs CPU there), cold renders;
* ``jobs-per-core``: :class:`Sources` talks to as many remotes at once as
  there are cores, not four per core (warm, local paths and ``git daemon``).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 - the bench folder is not a package

FIXES = ("skip-fetch", "peel", "config-dir", "snapshot-parallel", "helm-gogc", "jobs-per-core", "jobs-per-core-daemon")


@contextlib.contextmanager
def _skip_fetch() -> Iterator[None]:
    from fabpromote._sources import ROOT_ENTRY, Sources

    original = Sources.fetch_many

    def fetch_many(self: Sources, wanted: dict[str, list[str]]) -> None:
        root = self._cache_dir / "snapshots"
        missing = {url: [sha for sha in shas if not (root / sha / ROOT_ENTRY).is_dir()] for url, shas in wanted.items()}
        original(self, {url: shas for url, shas in missing.items() if shas})

    with mock.patch.object(Sources, "fetch_many", fetch_many):
        yield


@contextlib.contextmanager
def _peel() -> Iterator[None]:
    from fabpromote import _sources

    original = _sources._peeled_local_tags

    def peeled(path: str, refs: dict[str, str]) -> dict[str, str]:
        if not any(name.startswith("refs/tags/") for name in refs):
            return {}
        return original(path, refs)

    with mock.patch.object(_sources, "_peeled_local_tags", peeled):
        yield


@contextlib.contextmanager
def _config_dir() -> Iterator[None]:
    from fabpromote import _hld
    from fabpromote._hld import ComponentConfig

    original = _hld.load_environments

    def load_environments(directory: Any, environments: tuple[str, ...], *, fix_disabled: bool = False) -> Any:
        if not os.path.isdir(os.path.join(directory, "config")):
            return ComponentConfig()
        return original(directory, environments, fix_disabled=fix_disabled)

    with mock.patch.object(_hld, "load_environments", load_environments):
        from fabpromote import _engine

        with mock.patch.object(_engine, "load_environments", load_environments):
            yield


@contextlib.contextmanager
def _snapshot_parallel() -> Iterator[None]:
    from concurrent.futures import ThreadPoolExecutor

    from fabpromote._fetch import Fetcher, LockEntry

    def git_trees(self: Fetcher, wanted: list[tuple[str, str, str]]) -> list[Path]:
        # Fetcher.git_trees as it is, but the export loop runs in a pool.
        if not wanted:
            return []
        unpinned = [(url, ref) for _, url, ref in wanted if self.pinned("git", url, ref) is None]
        resolved = self.sources.resolve_many(unpinned) if unpinned else {}
        shas = [self.pinned("git", url, ref) or resolved[(url, ref)] for _, url, ref in wanted]
        missing: dict[str, list[str]] = {}
        for (_, url, _), sha in zip(wanted, shas, strict=True):
            missing.setdefault(url, []).append(sha)
        self.sources.fetch_many(missing)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            trees = list(pool.map(self.sources.snapshot, [url for _, url, _ in wanted], shas))
        for (component, url, ref), sha in zip(wanted, shas, strict=True):
            self.record(LockEntry(component=component, url=url, ref=ref, sha=sha))
        return trees

    with mock.patch.object(Fetcher, "git_trees", git_trees):
        yield


@contextlib.contextmanager
def _helm_gogc() -> Iterator[None]:
    with mock.patch.dict(os.environ, {"GOGC": "off"}):
        yield


@contextlib.contextmanager
def _jobs_per_core() -> Iterator[None]:
    from fabpromote._sources import Sources

    original = Sources._parallel

    def parallel(self: Sources, items: Any, work: Any) -> Any:
        self._jobs = os.cpu_count() or 1  # the converter ran at construction: set the result
        return original(self, items, work)

    with mock.patch.object(Sources, "_parallel", parallel):
        yield


PATCHES: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "skip-fetch": _skip_fetch,
    "peel": _peel,
    "config-dir": _config_dir,
    "snapshot-parallel": _snapshot_parallel,
    "helm-gogc": _helm_gogc,
    "jobs-per-core": _jobs_per_core,
    "jobs-per-core-daemon": _jobs_per_core,
}


def _cases(bench: run.Bench) -> dict[str, Callable[[], tuple[str, Callable[[], object], int]]]:
    """Per fix, what sets its case up (untimed) and returns (case name, the call to time, rounds)."""
    from fabpromote import generate, output_directory

    def warm(kind: str, n: int, flavor: str) -> tuple[str, Callable[[], object], int]:
        files = bench.cluster(kind, n, flavor)
        cache = bench.warm_cache(kind, n, flavor)
        return f"warm materialize, {n} {kind} apps ({flavor})", lambda: bench.materialize_once(files, cache), ROUNDS

    def cold(kind: str, n: int, flavor: str, rounds: int) -> tuple[str, Callable[[], object], int]:
        files = bench.cluster(kind, n, flavor)
        return (
            f"cold materialize, {n} {kind} apps ({flavor})",
            lambda: bench.materialize_once(files, bench.fresh("cache-whatif-cold")),
            rounds,
        )

    def generating(kind: str, n: int) -> tuple[str, Callable[[], object], int]:
        hld = bench.local_hld(kind, n)
        cache = bench.fresh("cache-whatif")

        def call() -> None:
            with run._cache_dir(cache):
                run._forget_process_state()
                generate(hld, [run.ENV]).write(output_directory(hld, [run.ENV]))

        call()
        return f"warm generate + write in-process, {n} {kind} apps", call, ROUNDS

    cases: dict[str, Callable[[], tuple[str, Callable[[], object], int]]] = {
        "skip-fetch": lambda: warm("static", 1000, "paths"),
        "peel": lambda: warm("static", 1000, "paths"),
        "config-dir": lambda: generating("static", 1000),
        "snapshot-parallel": lambda: cold("static", 100, "paths", 5),
        "helm-gogc": lambda: cold("helm", 100, "paths", 3),
        "jobs-per-core": lambda: warm("static", 1000, "paths"),
        "jobs-per-core-daemon": lambda: warm("static", 1000, "daemon"),
    }
    return cases


ROUNDS = 7


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its reaped children: less sensitive to load."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _change(what: str, runs: dict[bool, list[float]]) -> str:
    before, after = statistics.median(runs[False]), statistics.median(runs[True])
    saved = before - after
    return f"{what} median {before:.3f} s -> {after:.3f} s (saves {saved:.3f} s, {saved / before:.0%})"


def main() -> int:
    chosen = sys.argv[1:] or list(FIXES)
    unknown = set(chosen) - set(FIXES)
    if unknown:
        print(f"unknown fixes: {', '.join(sorted(unknown))} (known: {', '.join(FIXES)})", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="fabpromote-whatif-"))
    try:
        run._isolate(tmp)
        import fabpromote_helm._generator  # noqa: F401

        import fabpromote._materialize  # noqa: F401 - imports are not measured

        bench = run.Bench(tmp=tmp, repeat=1, quick=False, only=set())
        with bench._stack:
            cases = _cases(bench)
            for fix in chosen:
                name, call, rounds = cases[fix]()
                wall: dict[bool, list[float]] = {False: [], True: []}
                cpu: dict[bool, list[float]] = {False: [], True: []}
                try:
                    for _ in range(rounds):
                        for patched in (False, True):
                            with PATCHES[fix]() if patched else contextlib.nullcontext():
                                cpu_started, started = _cpu(), time.perf_counter()
                                call()
                                wall[patched].append(time.perf_counter() - started)
                                cpu[patched].append(_cpu() - cpu_started)
                except (AttributeError, ImportError) as exc:
                    print(f"{fix:<14} skipped: {exc}")
                    continue
                print(f"{fix:<14} {name}: {_change('wall', wall)}; {_change('CPU', cpu)}", flush=True)
    finally:
        run._rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
