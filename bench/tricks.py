"""Group ``tricks``: each speed trick in fabpromote's code against the plain code it replaces.

A trick earns its place when the operation it speeds up, timed in the same
run with the trick and with the plain code monkeypatched in its place, is at
least :data:`GAIN` faster with it. Each case below names a trick; the trick's
code carries a comment naming the case. The two variants run in turns
(trick, plain, plain, trick, ...) so that a drift of the machine's load
falls on both. The gain is judged on wall time (best undisturbed runs), or
on CPU time when the machine is too busy for enough undisturbed runs (see
:func:`_compare`); both are printed.

In-process cases patch this process. CLI cases run ``fabpromote`` through
this file (``python bench/tricks.py CASE trick|plain ARGS...``), which
patches the child before the command starts; both variants go through it,
so its cost is on both sides.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run import Bench, Result, Run

ENV = "prod"
#: What a trick must gain over the plain code: less is within this machine's noise.
GAIN = 0.05


# The plain code each trick replaces


def _users_variables(original: Callable[[], dict[str, str]], names: tuple[str, ...]) -> Callable[[], dict[str, str]]:
    """``original``'s environment for helm, with ``names`` left as the user has them (set or not)."""

    def template_env() -> dict[str, str]:
        env = original()
        for name in names:
            if name in os.environ:
                env[name] = os.environ[name]
            else:
                env.pop(name, None)
        return env

    return template_env


def _plain_entry_points(group: str) -> list[Any]:
    """``importlib.metadata.entry_points(group=...)``, as the hand-written reader's EntryPoint."""
    from importlib.metadata import entry_points

    from fabpromote._plugins.entry_points import EntryPoint, _normalize

    return [
        EntryPoint(name=entry.name, value=entry.value, distribution=_normalize(entry.dist.name if entry.dist else ""))
        for entry in entry_points(group=group)
    ]


def _no_parse_cache(_cache: Any, _root: Any) -> contextlib.AbstractContextManager[None]:
    """No parse cache: the HLD readers parse every file (what ``parsed=None`` means)."""
    return contextlib.nullcontext(None)


def _dulwich_init_mirror(mirror: Path) -> None:
    """The mirror made by dulwich's ``Repo.init_bare`` in a staging folder, renamed in place."""
    from dulwich.repo import Repo

    staging = Path(tempfile.mkdtemp(prefix=f".{mirror.name}.", dir=mirror.parent))
    try:
        Repo.init_bare(os.fspath(staging)).close()
        os.rename(staging, mirror)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _ask_helm_every_run(binary: str, state: Any) -> str:
    """``helm version --short``, asked once per run (kept in memory only)."""
    from fabpromote_helm import _helm

    info = Path(binary).stat()
    key = (binary, info.st_size, info.st_mtime_ns)
    with state.lock:
        version = state.versions.get(key)
    if version is None:
        version = _helm._ask_version(binary)
        _helm._check_supported(binary, version)
        with state.lock:
            state.versions[key] = version
    return version  # type: ignore[no-any-return]


def _never_answered(_argv: list[str]) -> None:
    """No stamp consulted: every ``generate`` renders (and finds nothing to write)."""


def _never_patched(*_args: object) -> None:
    """No component rewritten from the stamp: a ``generate`` after an edit renders."""


def _never_plain(_data: bytes) -> None:
    """No plain reader: every component file goes through go-yaml's rules (and PyYAML is imported)."""


def _collected_at_exit() -> None:
    """The interpreter's teardown collects every object the command made, as Python does by default."""


#: case -> (module, attribute, the plain replacement made from the original).
PLAIN: dict[str, tuple[str, str, Callable[[Any], Any]]] = {
    "helm_locale": ("fabpromote_helm._helm", "_template_env", lambda env: _users_variables(env, ("LC_ALL",))),
    "helm_go_runtime": (
        "fabpromote_helm._helm",
        "_template_env",
        lambda env: _users_variables(env, ("GOGC", "GOMEMLIMIT", "GOMAXPROCS")),
    ),
    "helm_version_file": ("fabpromote_helm._helm", "helm_version", lambda _: _ask_helm_every_run),
    "entry_points": ("fabpromote._plugins.manager", "entry_points", lambda _: _plain_entry_points),
    "parse_cache": ("fabpromote._hld.parsed", "remembered", lambda _: _no_parse_cache),
    "bare_repos": ("fabpromote._sources.mirrors", "_init_mirror", lambda _: _dulwich_init_mirror),
    "generate_stamp": ("fabpromote._cli.unchanged", "answer", lambda _: _never_answered),
    "generate_patch": ("fabpromote._cli.patching", "patch", lambda _: _never_patched),
    "plain_components": ("fabpromote._hld.plain", "component", lambda _: _never_plain),
    "exit_freeze": ("fabpromote._cli.console", "_spare_the_exit", lambda _: _collected_at_exit),
}


@contextlib.contextmanager
def plain(case: str) -> Iterator[None]:
    """The plain code in place of the trick of ``case`` for the block."""
    module_name, attribute, replacement = PLAIN[case]
    module = importlib.import_module(module_name)
    original = getattr(module, attribute)
    setattr(module, attribute, replacement(original))
    try:
        yield
    finally:
        setattr(module, attribute, original)


def _variant(case: str, side: str) -> contextlib.AbstractContextManager[None]:
    importlib.import_module(PLAIN[case][0])  # imported on both sides, patched on one
    return plain(case) if side == "plain" else contextlib.nullcontext()


# Comparing the two


def _compare(
    bench: Bench,
    result: type[Result],
    name: str,
    label: str,
    measure: Callable[[str], tuple[float, float]],
) -> None:
    """Time ``measure("trick")`` and ``measure("plain")`` in turns; report both and the gain.

    ``measure(side)`` returns the operation's wall time and CPU time.

    The gain is judged on wall time (the best undisturbed runs, as every
    target of run.py) when each side had ``bench.repeat`` undisturbed runs.
    On a machine too busy for that, it is judged on the CPU time the
    operation used (median of each side), which other processes barely
    move, and the note says so.
    """
    import statistics

    runs: dict[str, list[Run]] = {"trick": [], "plain": []}
    rounds = 0
    while rounds < 3 * bench.repeat and min(_clean(done) for done in runs.values()) < bench.repeat:
        for side in ("trick", "plain") if rounds % 2 == 0 else ("plain", "trick"):
            runs[side].append(bench.timed(lambda side=side: measure(side)))
        rounds += 1
    trick = bench.add(result.timed("tricks", f"{name}: {label}: with the trick", runs["trick"]))
    base = bench.add(result.timed("tricks", f"  {name}: with the plain code", runs["plain"]))
    assert trick.value is not None
    assert base.value is not None
    wall = 1 - trick.value / base.value
    cpu = {side: statistics.median(run.payload for run in done) for side, done in runs.items()}
    cpu_gain = 1 - cpu["trick"] / cpu["plain"]
    quiet = min(_clean(done) for done in runs.values()) >= bench.repeat
    gain, judged = (wall, "wall time") if quiet else (cpu_gain, "CPU time")
    note = (
        f"wall time (best runs) {100 * wall:.1f} %, CPU time (median) {100 * cpu_gain:.1f} % "
        f"({cpu['trick']:.3f} s against {cpu['plain']:.3f} s)"
    )
    if not quiet:
        note += "; too few undisturbed runs: judged on CPU time"
    bench.add(
        result(
            "tricks",
            f"  {name}: the trick saves ({judged})",
            round(100 * gain, 1),
            "%",
            target=f">= {100 * GAIN:g} %",
            status="MET" if gain >= GAIN else "NOT MET",
            note=note,
            details={"trick_s": trick.value, "plain_s": base.value, "cpu_s": cpu, "judged_on": judged},
        )
    )


def _clean(runs: list[Run]) -> int:
    return sum(run.clean for run in runs)


@contextlib.contextmanager
def _cache_dir(path: Path) -> Iterator[None]:
    old = os.environ.get("FABPROMOTE_CACHE_DIR")
    os.environ["FABPROMOTE_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("FABPROMOTE_CACHE_DIR", None)
        else:
            os.environ["FABPROMOTE_CACHE_DIR"] = old


def _cli(case: str, side: str, hld: Path, cache: Path, *options: str) -> tuple[float, float]:
    """``fabpromote generate prod --path HLD OPTIONS`` in a child process with the trick or the plain code.

    Returns its wall time and the CPU time of the child and its own
    children (``os.wait4``: microseconds, where ``os.times`` counts 10 ms ticks).
    """
    from children import run_child  # bench/children.py (the bench's folder is on sys.path)

    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)}
    command = [sys.executable, str(Path(__file__).resolve()), case, side, "generate", ENV, "--path", str(hld), *options]
    child = run_child(command, env)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {child.stderr}")
    return child.seconds, child.cpu


@contextlib.contextmanager
def _cpu_meter() -> Iterator[list[float]]:
    """The CPU time of this process (all threads) and its children reaped during the block, in the list yielded."""
    spent: list[float] = []

    def now() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    before = now()
    yield spent
    spent.append(now() - before)


def _local_hld(bench: Bench, label: str, n: int, kind: str) -> Path:
    """A local HLD of ``n`` apps of ``kind`` of this group's own, its files over two seconds old.

    Files changed in the last two seconds are never kept by the parse cache
    (see fabpromote._hld.parsed), which would make the first warm runs cold.
    """
    import synth

    hld = synth.build_local_hld(bench.fresh(f"tricks-{label}") / "hld", n, kind)
    time.sleep(2.1)
    return hld


# The cases: one per trick, named in a comment at the trick


def helm_locale(bench: Bench, result: type[Result]) -> None:
    """``LC_ALL`` for ``helm template`` (fabpromote_helm/_helm.py): a cold generate of helm apps."""
    _helm_cold(bench, result, "helm_locale")


def helm_go_runtime(bench: Bench, result: type[Result]) -> None:
    """GOGC / GOMEMLIMIT / GOMAXPROCS for ``helm template``: a cold generate of helm apps."""
    _helm_cold(bench, result, "helm_go_runtime")


def _helm_cold(bench: Bench, result: type[Result], case: str) -> None:
    """Every component rendered by ``helm template``: a cold cache, in this process."""
    from fabpromote import generate

    n = bench.medium
    hld = bench.local_hld("helm", n)

    def measure(side: str) -> tuple[float, float]:
        with _cache_dir(bench.fresh("cache-tricks-helm")), _variant(case, side):
            gc.collect()
            started = time.perf_counter()
            with _cpu_meter() as cpu:
                generate(hld, [ENV])
            return time.perf_counter() - started, cpu[0]

    _compare(bench, result, case, f"generate in-process, cold, {n} helm apps", measure)


def helm_version_file(bench: Bench, result: type[Result]) -> None:
    """helm's version kept in the cache (fabpromote_helm/_helm.py): a warm CLI generate of helm apps."""
    _edited_cli(bench, result, "helm_version_file", bench.medium, "helm")


def entry_points(bench: Bench, result: type[Result]) -> None:
    """The hand-written entry-point reader (fabpromote/_plugins/entry_points.py): CLI start-up of a small HLD."""
    _edited_cli(bench, result, "entry_points", bench.small, "static")


def parse_cache(bench: Bench, result: type[Result]) -> None:
    """The parse cache (fabpromote/_hld/parsed.py): a warm CLI generate of helm apps, nothing changed, no stamp.

    The run a user makes again and again when the generate stamp cannot answer it
    (an HLD with remote components, or a plugin generator that names no inputs; here
    forced with ``--engine native``): the render cache answers helm, and the parse
    cache spares parsing every config file (YAML maps that go through go-yaml's rules)
    and importing PyYAML. With one app's config edited, that file needs PyYAML anyway
    and the cache saved 0.9 % (2026-12-05 04:45 UTC); static apps' component files are
    read without PyYAML (fabpromote/_hld/plain.py) and cost little to read again.
    """
    _warm_cli(bench, result, "parse_cache", bench.medium, "helm")


#: Options that make ``generate`` render rather than answer from its stamp, as it must for an HLD a
#: stamp cannot answer (remote components, a plugin generator that names no inputs).
_NO_STAMP = ("--engine", "native")


def _warm_cli(bench: Bench, result: type[Result], case: str, n: int, kind: str) -> None:
    """``fabpromote generate`` of ``n`` apps of ``kind``, warm, nothing changed, rendered (not answered by a stamp)."""
    hld = _local_hld(bench, case, n, kind)
    cache = bench.fresh(f"cache-tricks-{case}")
    _cli(case, "trick", hld, cache, *_NO_STAMP)  # fills the caches: the runs below are warm
    _compare(
        bench,
        result,
        case,
        f"CLI generate, warm, {n} {kind} apps, nothing changed, no stamp",
        lambda side: _cli(case, side, hld, cache, *_NO_STAMP),
    )


#: kind -> (the file of an app edited, the text replaced, what replaces it with the edit's number).
#: A static app's component file, not a manifest: an edited manifest alone is rewritten from the
#: generate stamp (the generate_patch case) without the render these tricks speed up.
_EDITS = {
    "static": ("component.yaml", "type: static", "type: static  # edit {}"),
    "helm": ("config/prod.yaml", "replicas: 3", "replicas: {}"),
}


def _edited_cli(bench: Bench, result: type[Result], case: str, n: int, kind: str) -> None:
    """``fabpromote generate`` of ``n`` apps of ``kind``, warm, one app edited before each run.

    An edit, as in a user's edit-and-generate loop: with nothing changed at
    all, a run could skip the work these tricks speed up.
    """
    hld = _local_hld(bench, case, n, kind)
    cache = bench.fresh(f"cache-tricks-{case}")
    _cli(case, "trick", hld, cache)  # fills the cache (and the parse cache): the runs below are warm
    name, old, new = _EDITS[kind]
    edited = min((hld / "apps").iterdir()) / name
    original = edited.read_text()
    edits = iter(range(10, 10_000))

    def measure(side: str) -> tuple[float, float]:
        edited.write_text(original.replace(old, new.format(next(edits))))  # untimed
        return _cli(case, side, hld, cache)

    _compare(bench, result, case, f"CLI generate, warm, 1 of {n} {kind} apps edited", measure)


def bare_repos(bench: Bench, result: type[Result]) -> None:
    """Hand-made bare mirrors (fabpromote/_sources/mirrors.py): a cold materialize of git remotes."""
    n = bench.medium
    files = bench.cluster("static", n, "daemon")

    def measure(side: str) -> tuple[float, float]:
        cache = bench.fresh("cache-tricks-mirrors")
        with _variant("bare_repos", side), _cpu_meter() as cpu:
            seconds = bench.materialize_once(files, cache)[0]
        return seconds, cpu[0]

    label = f"materialize cold, {n} static apps from git daemon"
    _compare(bench, result, "bare_repos", label, measure)


def generate_stamp(bench: Bench, result: type[Result]) -> None:
    """The stamp of a generate with nothing to do (fabpromote/_cli/unchanged.py): a warm CLI generate."""
    n = bench.large
    hld = _local_hld(bench, "generate_stamp", n, "static")
    cache = bench.fresh("cache-tricks-generate_stamp")
    for _ in range(2):  # the first run writes the output, the second finds nothing to write and stamps
        _cli("generate_stamp", "trick", hld, cache)

    def measure(side: str) -> tuple[float, float]:
        return _cli("generate_stamp", side, hld, cache)

    _compare(bench, result, "generate_stamp", f"CLI generate, warm, nothing changed, {n} static apps", measure)


def generate_patch(bench: Bench, result: type[Result]) -> None:
    """One static app's files rewritten from the stamp (fabpromote/_cli/patching.py): an edited CLI generate."""
    import synth

    n = bench.large
    hld = _local_hld(bench, "generate_patch", n, "static")
    cache = bench.fresh("cache-tricks-generate_patch")
    for _ in range(2):  # the first run writes the output, the second finds it there and stamps
        _cli("generate_patch", "trick", hld, cache)
    versions = iter(range(1, 1000))

    def measure(side: str) -> tuple[float, float]:
        synth.edit_local_app(hld, synth.app_name(n // 2), "static", next(versions))  # untimed
        return _cli("generate_patch", side, hld, cache)

    _compare(bench, result, "generate_patch", f"CLI generate, one app's manifest edited, {n} static apps", measure)


def plain_components(bench: Bench, result: type[Result]) -> None:
    """Plain component files read without PyYAML (fabpromote/_hld/plain.py): a cold CLI generate."""
    n = bench.large
    hld = _local_hld(bench, "plain_components", n, "static")

    def measure(side: str) -> tuple[float, float]:
        if (hld / "generated").exists():  # untimed: a cold run finds no output (and a new cache would refuse it)
            os.rename(hld / "generated", bench.fresh("tricks-set-aside") / "generated")
        return _cli("plain_components", side, hld, bench.fresh("cache-tricks-plain_components"))

    _compare(bench, result, "plain_components", f"CLI generate, cold, {n} static apps", measure)


def exit_freeze(bench: Bench, result: type[Result]) -> None:
    """No collections in the interpreter's teardown (fabpromote/_cli/console.py): a warm CLI generate of helm apps.

    The teardown costs about 10 ms whatever the command did (it frees the modules'
    objects, not the run's data: the same at 1000 and 10,000 apps), so it weighs most
    on a short command that imports everything: a warm generate of helm apps. On a
    cold generate of 1000 static apps it saved 4.7 % (2026-12-05 04:45 UTC).
    """
    _warm_cli(bench, result, "exit_freeze", bench.medium, "helm")


CASES: tuple[Callable[[Bench, type[Result]], None], ...] = (
    helm_locale,
    helm_go_runtime,
    helm_version_file,
    entry_points,
    parse_cache,
    bare_repos,
    generate_stamp,
    generate_patch,
    plain_components,
    exit_freeze,
)


def run(bench: Bench, result: type[Result]) -> None:
    """Every case, reported through ``bench`` with lines of class ``result`` (run.py's Result)."""
    for case in CASES:
        case(bench, result)


def _child(argv: list[str]) -> int:
    """``tricks.py CASE trick|plain ARGS...``: ``fabpromote ARGS...`` with the trick or the plain code."""
    case, side, *args = argv
    with _variant(case, side):
        from fabpromote._cli.console import main  # what the console script runs

        sys.argv = [sys.argv[0], *args]
        return main()


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
