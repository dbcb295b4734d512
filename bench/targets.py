"""Issue 20's targets: figures against fab's, the curve's picture and its table in docs/performance.md.

``run.py`` measures; this module says what a figure is compared with and
how (a ratio to fab's time for the same HLD, measured in the same run when
``fab`` is on PATH, else the figure issue 20 quotes), draws the curve
(matplotlib, installed by ``nox -s bench`` only) and writes its section of
docs/performance.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import attrs

FAB_SKIPPED = "skipped: fab not on PATH"

# Issue 20's targets (an idle 2-core machine). The ratios are to fab's time for the same HLD.
WARM_RATIO = 0.1  # 1000 static apps, output folder kept, nothing changed
EDITED_RATIO = 0.2  # the same with one app's manifest edited before each run
COLD_RATIO = 1.0  # 1000 static apps, empty cache, no output folder
HELM_COLD_RATIO = 0.25  # 100 helm apps (issue item 5: an in-process helm backend)
HELM_WARM_RATIO = 0.05
#: Time at 10k apps over time at 1k (10 times the apps).
LINEAR_RATIO = 11.0
PEAK_RSS_MB = 300.0

#: fab's figures quoted by issue 20 (fab 1.0.0-alpha1, helm v3.18.0, a quiet 2-core machine):
#: (kind, apps, case) -> seconds. It quotes none for helm apps.
QUOTED_FAB = {
    ("static", 1000, "warm"): 0.46,
    ("static", 1000, "cold"): 0.21,
    ("static", 10000, "cold"): 2.1,
}

#: Marks the section of docs/performance.md that ``nox -s bench`` writes.
DOC_START = "<!-- bench:curve (written by nox -s bench: bench/targets.py) -->"
DOC_END = "<!-- /bench:curve -->"


@attrs.frozen
class Fab:
    """fab's time for one case: measured in this run, quoted by the issue, or unknown.

    Attributes:
        seconds: Its time; None when fab is not on PATH and the issue quotes none.
        how: Where the figure comes from, for the report's note.
        measured: Whether this run measured it (else it was quoted, or is unknown).
    """

    seconds: float | None
    how: str
    measured: bool = False


def fab_for(kind: str, apps: int, case: str, measured: float | None, *, lower_bound: float | None = None) -> Fab:
    """fab's figure for ``case`` ("cold", "warm" or "edited") of ``apps`` apps of ``kind``.

    fab rewrites everything on every run, so its run after an edit is its
    warm run: the edited case is compared with fab's warm figure. Without a
    measured or quoted figure, ``lower_bound`` stands for it: a time fab
    cannot beat (a ratio to it is at least the ratio to fab's own time, so a
    target met against it is met).
    """
    same = "; fab rewrites every file on each run, so its edited run is its warm run" if case == "edited" else ""
    fab_case = "warm" if case == "edited" else case
    if measured is not None:
        return Fab(measured, f"fab {measured:.3f} s measured in this run{same}", measured=True)
    quoted = QUOTED_FAB.get((kind, apps, fab_case))
    if quoted is not None:
        return Fab(quoted, f"fab {quoted:g} s quoted by issue 20, fab not on PATH{same}")
    if lower_bound is not None:
        return Fab(
            lower_bound,
            f"fab not on PATH and no figure quoted: fab's time taken as {lower_bound:.3f} s, a lower bound of it "
            "(the CPU of its helm template processes, the baseline's, over the CPUs; fab renders the same "
            "way warm as cold)",
        )
    return Fab(None, f"issue 20 quotes no fab figure for {apps} {kind} apps {fab_case}")


def versus_fab(seconds: float, fab: Fab, limit: float | None) -> tuple[str, str, str]:
    """(target, status, note) of ``seconds`` against ``fab`` with the target ``<= limit`` times fab.

    No limit: an ``info`` line that still shows the ratio. A limit but no fab
    figure: the line is skipped, saying so.
    """
    if fab.seconds is None:
        target = "-" if limit is None else f"<= {limit:g}x fab"
        return target, "info" if limit is None else FAB_SKIPPED, fab.how
    ratio = seconds / fab.seconds
    note = f"{ratio:.2f}x fab; {fab.how}"
    if limit is None:
        return "-", "info", note
    return f"<= {limit:g}x fab ({limit * fab.seconds:.3f} s)", verdict(ratio <= limit), note


def linear_limit(small: int, large: int) -> float:
    """The largest allowed time ratio from ``small`` to ``large`` apps: 11 for 10 times the apps."""
    return LINEAR_RATIO * (large / small) / 10


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


# The picture and its section of docs/performance.md


@attrs.frozen
class Curve:
    """Times of ``fabpromote generate`` of static apps against the number of apps.

    Attributes:
        sizes: The numbers of apps.
        cold: Best time of each size, cold (empty cache, no output folder).
        warm: Best time of each size, warm (output kept, nothing changed).
        fab: fab's known figures: case ("cold"/"warm") -> [(apps, seconds, measured)].
    """

    sizes: tuple[int, ...]
    cold: tuple[float, ...]
    warm: tuple[float, ...]
    fab: dict[str, list[tuple[int, float, bool]]]


def draw(curve: Curve, path: Path) -> Path:
    """Draw ``curve`` to ``path`` (SVG or PNG by its suffix) with matplotlib; raises ImportError without it."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    # Same figures, same file: no random ids or date in the SVG.
    matplotlib.rcParams["svg.hashsalt"] = "fabpromote-bench"
    figure, axes = pyplot.subplots(figsize=(7, 4.2))
    axes.plot(curve.sizes, curve.cold, "o-", color="tab:blue", label="fabpromote cold (empty cache, no output)")
    axes.plot(curve.sizes, curve.warm, "s-", color="tab:green", label="fabpromote warm (output kept, nothing changed)")
    styles = {"cold": ("^", "tab:blue"), "warm": ("v", "tab:green")}
    for case, points in curve.fab.items():
        if points:
            marker, color = styles[case]
            how = "measured" if all(measured for _, _, measured in points) else "quoted by issue 20"
            xs, ys = [x for x, _, _ in points], [y for _, y, _ in points]
            axes.plot(xs, ys, marker, color=color, markerfacecolor="none", markersize=9, label=f"fab {case} ({how})")
    axes.set_xlabel("static apps (3 manifests each)")
    axes.set_ylabel("wall time of generate prod (s)")
    axes.set_xticks(curve.sizes)
    axes.set_xlim(0, curve.sizes[-1] * 1.05)
    axes.set_ylim(0, None)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
    pyplot.close(figure)
    return path


def section(curve: Curve, picture: str, *, when: str, machine: str, judged: Sequence[Sequence[str]] = ()) -> str:
    """The Markdown of the curve's section: the picture, a short table of this run's figures and the command.

    ``judged``: (measure, figure, CPUs busy with other processes, target,
    status) of each target the same run judged, listed below the curve.
    """
    fab = {
        case: {apps: (seconds, measured) for apps, seconds, measured in points} for case, points in curve.fab.items()
    }

    def fab_cell(case: str, apps: int) -> str:
        if apps not in fab.get(case, {}):
            return "-"
        seconds, measured = fab[case][apps]
        return f"{seconds:.2f} s" + ("" if measured else " (quoted)")

    rows = [
        f"| {apps:,} | {cold:.2f} s | {warm:.2f} s | {fab_cell('cold', apps)} | {fab_cell('warm', apps)} |"
        for apps, cold, warm in zip(curve.sizes, curve.cold, curve.warm, strict=True)
    ]
    limit = linear_limit(curve.sizes[0], curve.sizes[-1])
    quoted = any(not measured for points in curve.fab.values() for _, _, measured in points)
    ratios = ", ".join(
        f"{name} {times[-1] / times[0]:.1f}x" for name, times in (("cold", curve.cold), ("warm", curve.warm))
    )
    return "\n".join(
        [
            DOC_START,
            f"![generate prod: time against static apps, cold and warm]({picture})",
            "",
            f"`fabpromote generate prod` of N static apps (CLI, wall time, best of the runs), {when}, {machine}:",
            "",
            "| apps | cold | warm | fab cold | fab warm |",
            "|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Time at {curve.sizes[-1]:,} apps over time at {curve.sizes[0]:,}: {ratios} (target <= {limit:g}x). "
            + ('"quoted": fab\'s figure as issue 20 gives it (fab was not on PATH). ' if quoted else "")
            + "Made by `nox -s bench` (this section and the picture alone: `nox -s bench -- --only linearity`).",
            *(["", _JUDGED, "", *_table(judged)] if judged else []),
            DOC_END,
        ]
    )


_JUDGED = (
    "Issue 20's targets in the same run (others' CPU use: the share of the CPUs other processes took "
    "during the best run; the targets are for an idle machine):"
)


def _table(judged: Sequence[Sequence[str]]) -> list[str]:
    rows = ["| measure | figure | others' CPU use | target | status |", "|---|---|---:|---|---|"]
    return rows + ["| " + " | ".join(cells) + " |" for cells in judged]


def write_section(doc: Path, text: str) -> None:
    """Replace the curve's section of ``doc`` (between its markers) with ``text``."""
    old = doc.read_text()
    pattern = re.compile(re.escape(DOC_START) + r".*?" + re.escape(DOC_END), re.DOTALL)
    if not pattern.search(old):
        raise ValueError(f"{doc}: no section between {DOC_START!r} and {DOC_END!r} to replace")
    doc.write_text(pattern.sub(lambda _: text, old, count=1))
