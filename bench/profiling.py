"""Profile one benchmark case: ``python bench/profiling.py CASE [--n N] [--flavor paths|daemon]``.

Cases (the slow ones of ``bench/run.py``):

* ``generate-static``: ``fabpromote generate prod`` + write, N static apps (default 1000);
* ``generate-mixed-warm`` / ``generate-mixed-cold``: the same, N apps with a
  static folder and a helm chart (default 100), render cache warm / empty;
* ``materialize-warm-static`` / ``materialize-warm-helm``: warm materialize
  (nothing changed) of N apps;
* ``materialize-cold-static`` / ``materialize-cold-helm``: cold materialize of N apps.

Runs in-process after the imports, with the same isolation as ``run.py``
(temporary HOME and cache). Uses pyinstrument when installed (``--cprofile``
forces cProfile), prints the profile and the wall time of the profiled run.
Both sample the main thread only: ``--serial`` makes the engine render (and
the sources fetch) in the main thread, so that their cost shows.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 - the bench folder is not a package

CASES = (
    "generate-static",
    "generate-mixed-warm",
    "generate-mixed-cold",
    "materialize-warm-static",
    "materialize-warm-helm",
    "materialize-cold-static",
    "materialize-cold-helm",
)


def _case(bench: run.Bench, case: str, n: int, flavor: str) -> Callable[[], object]:
    """Set the case up (untimed) and return the call to profile."""
    from fabpromote import generate, output_directory

    if case.startswith("generate"):
        kind = "static" if case == "generate-static" else "mixed"
        hld = bench.local_hld(kind, n)
        cache = bench.fresh("cache-profile")

        def call() -> object:
            with run._cache_dir(cache):
                generate(hld, [run.ENV]).write(output_directory(hld, [run.ENV]))
            return None

        if case != "generate-mixed-cold":
            call()  # warm the render cache
        return call
    kind = "helm" if case.endswith("helm") else "static"
    files = bench.cluster(kind, n, flavor)
    if case.startswith("materialize-warm"):
        cache = bench.warm_cache(kind, n, flavor)
    else:
        cache = bench.fresh("cache-profile-cold")
    return lambda: bench.materialize_once(files, cache)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--n", type=int, default=None, help="number of apps (default 1000 static, else 100)")
    parser.add_argument("--flavor", choices=("paths", "daemon"), default="paths")
    parser.add_argument("--cprofile", action="store_true", help="use cProfile even when pyinstrument is installed")
    parser.add_argument("--limit", type=int, default=40, help="cProfile: how many functions to print")
    parser.add_argument(
        "--serial",
        action="store_true",
        help="pretend one CPU (os.cpu_count() == 1): renders and fetches run in the main thread, so the "
        "profilers see them (they sample the main thread only)",
    )
    args = parser.parse_args()
    n = args.n or (1000 if args.case.endswith("static") else 100)

    tmp = Path(tempfile.mkdtemp(prefix="fabpromote-profile-"))
    try:
        run._isolate(tmp)
        from fabpromote import materialize  # noqa: F401 - imports are not profiled

        bench = run.Bench(tmp=tmp, repeat=1, quick=False, only=set())
        with bench._stack:
            call = _case(bench, args.case, n, args.flavor)
            if args.serial:
                bench._stack.enter_context(mock.patch("os.cpu_count", return_value=1))
            try:
                from pyinstrument import Profiler
            except ImportError:
                Profiler = None
            if Profiler is not None and not args.cprofile:
                profiler = Profiler(interval=0.0005)
                started = time.perf_counter()
                profiler.start()
                call()
                profiler.stop()
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            else:
                profile = cProfile.Profile()
                started = time.perf_counter()
                profile.runcall(call)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(args.limit)
                pstats.Stats(profile).sort_stats("tottime").print_stats(args.limit)
            print(f"{args.case}, {n} apps ({args.flavor}): {time.perf_counter() - started:.3f} s (profiled)")
    finally:
        run._rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
