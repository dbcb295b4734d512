"""The benchmarks' report of issue 20's targets (bench/run.py, bench/targets.py).

The figures themselves are never judged here (the machine is shared): these
tests check what each figure is compared with, that the verdicts follow the
ratios, that the edited case really edits, and that the curve's section of
docs/performance.md is the one rewritten. Fabrikate's ``fab`` is not
installable here, so the run with ``fab`` on PATH uses a stand-in script that
writes an output folder as ``fab generate`` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabpromote.testing.unavailable import unavailable

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import targets  # noqa: E402 - bench/ is not a package


def test_quoted_fab_figures_stand_in_only_for_the_apps_the_issue_quotes() -> None:
    warm = targets.fab_for("static", 1000, "warm", None)
    assert warm.seconds == 0.46
    assert "quoted by issue 20, fab not on PATH" in warm.how
    assert targets.fab_for("static", 1000, "cold", None).seconds == 0.21
    assert targets.fab_for("static", 10000, "cold", None).seconds == 2.1
    assert targets.fab_for("static", 100, "cold", None).seconds is None  # a --quick N
    assert targets.fab_for("helm", 100, "cold", None).seconds is None


def test_the_edited_case_is_compared_with_fabs_warm_run() -> None:
    quoted = targets.fab_for("static", 1000, "edited", None)
    assert quoted.seconds == 0.46
    assert "its edited run is its warm run" in quoted.how
    measured = targets.fab_for("static", 1000, "edited", 0.5)
    assert (measured.seconds, measured.measured) == (0.5, True)
    assert "measured in this run" in measured.how


def test_a_lower_bound_stands_in_only_when_there_is_no_figure() -> None:
    bound = targets.fab_for("helm", 100, "cold", None, lower_bound=2.0)
    assert (bound.seconds, bound.measured) == (2.0, False)
    assert "a lower bound" in bound.how
    assert targets.fab_for("helm", 100, "cold", 3.0, lower_bound=2.0).seconds == 3.0
    assert targets.fab_for("static", 1000, "cold", None, lower_bound=2.0).seconds == 0.21
    assert targets.versus_fab(0.4, bound, targets.HELM_COLD_RATIO)[1] == "MET"
    assert targets.versus_fab(0.6, bound, targets.HELM_COLD_RATIO)[1] == "NOT MET"


def test_verdicts_follow_the_ratio_to_fab() -> None:
    fab = targets.Fab(0.46, "fab 0.46 s quoted")
    target, status, note = targets.versus_fab(0.04, fab, targets.WARM_RATIO)
    assert (target, status) == ("<= 0.1x fab (0.046 s)", "MET")
    assert note.startswith("0.09x fab; fab 0.46 s quoted")
    assert targets.versus_fab(0.05, fab, targets.WARM_RATIO)[1] == "NOT MET"
    assert targets.versus_fab(0.05, fab, None)[:2] == ("-", "info")


def test_a_target_without_a_fab_figure_is_skipped_saying_why() -> None:
    fab = targets.fab_for("helm", 100, "warm", None)
    target, status, note = targets.versus_fab(0.2, fab, targets.HELM_WARM_RATIO)
    assert (target, status) == ("<= 0.05x fab", targets.FAB_SKIPPED)
    assert "quotes no fab figure" in note


def test_linearity_limit_scales_with_the_sizes() -> None:
    assert targets.linear_limit(1000, 10000) == 11
    assert targets.linear_limit(100, 1000) == 11
    assert targets.linear_limit(1000, 3000) == pytest.approx(3.3)


def test_the_curves_section_replaces_only_its_own(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nbefore\n\n{targets.DOC_START}\nold table\n{targets.DOC_END}\n\nafter\n")
    curve = targets.Curve(
        sizes=(1000, 3000, 10000),
        cold=(0.5, 1.4, 4.8),
        warm=(0.3, 0.8, 2.9),
        fab={"cold": [(1000, 0.21, False), (10000, 2.1, False)], "warm": [(1000, 0.46, False)]},
    )
    judged = [("peak memory, 10000 static apps", "57 MB", "3%", "<= 300 MB", "MET")]
    section = targets.section(curve, "performance-curve.svg", when="today", machine="2 CPUs", judged=judged)
    targets.write_section(doc, section)
    text = doc.read_text()
    assert text.startswith("# Performance\n\nbefore\n\n")
    assert text.endswith(f"{targets.DOC_END}\n\nafter\n")
    assert "old table" not in text
    assert "| 1,000 | 0.50 s | 0.30 s | 0.21 s (quoted) | 0.46 s (quoted) |" in text
    assert "| 3,000 | 1.40 s | 0.80 s | - | - |" in text
    assert "cold 9.6x, warm 9.7x (target <= 11x)" in text
    assert "| peak memory, 10000 static apps | 57 MB | 3% | <= 300 MB | MET |" in text


def test_the_docs_have_the_curves_section() -> None:
    text = (BENCH.parent / "docs" / "performance.md").read_text()
    assert text.count(targets.DOC_START) == text.count(targets.DOC_END) == 1
    assert "(performance-curve.svg)" in text.split(targets.DOC_START)[1]


def test_a_section_without_its_markers_is_an_error(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n")
    with pytest.raises(ValueError, match="no section between"):
        targets.write_section(doc, "x")
    assert doc.read_text() == "# Performance\n"


FAKE_FAB = """#!/bin/sh
# A stand-in for Fabrikate's fab: `install` does nothing, `generate ENV` writes generated/ENV.
case "$1" in
  install) exit 0 ;;
  generate) mkdir -p "generated/$2" && printf 'kind: ConfigMap\\n' > "generated/$2/all.yaml" ;;
  *) echo "fab: unknown command $1" >&2; exit 2 ;;
esac
"""


def _helm() -> str:
    found = shutil.which("helm")
    if found is None:
        unavailable("helm is not on PATH: put $(bash scripts/install-helm.sh) on PATH")
    return found


def test_generate_group_compares_with_fab_measured_in_the_same_run(tmp_path: Path) -> None:
    helm = _helm()
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "fab").write_text(FAKE_FAB)
    (tools / "fab").chmod(0o755)
    results = tmp_path / "results.json"
    env = {**os.environ, "PATH": os.pathsep.join([str(tools), str(Path(helm).parent), os.environ["PATH"]])}
    command = [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "generate", "--repeat", "1"]
    done = subprocess.run(
        [*command, "--json", str(results), "--dir", str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = {line["name"]: line for line in json.loads(results.read_text())["results"]}

    static = "fabpromote generate prod (CLI), 100 static apps, "
    for case, limit in (
        ("cold (empty cache, no output folder)", targets.COLD_RATIO),
        ("warm (output kept, nothing changed)", targets.WARM_RATIO),
        ("one app's manifest edited (output kept)", targets.EDITED_RATIO),
    ):
        line = lines[static + case]
        assert line["status"] in ("MET", "NOT MET")
        assert line["target"].startswith(f"<= {limit:g}x fab (")
        assert "measured in this run" in line["note"]
        assert line["details"]["fab_measured"] is True
        assert (line["value"] / line["details"]["fab_s"] <= limit) == (line["status"] == "MET")
    assert lines["  fab generate prod, 100 static apps, cold"]["value"] > 0
    assert lines["  fab generate prod, 100 static apps, warm"]["value"] > 0
    warm = lines[static + "warm (output kept, nothing changed)"]["details"]["output"]
    edited = lines[static + "one app's manifest edited (output kept)"]["details"]["output"]
    assert warm.startswith("unchanged: ")
    assert edited.startswith("wrote ")
    assert edited.split("(sha256 ")[1] != warm.split("(sha256 ")[1]
    binary = lines["fabpromote generate prod (CLI), 20 helm apps, cold (empty cache, no output folder)"]
    assert (binary["target"], binary["status"]) == ("-", "info")
    assert "measured in this run" in binary["note"]
    assert "the helm binary backend" in binary["note"]
    sdk = lines["fabpromote generate prod (CLI), 20 helm-sdk apps, cold (empty cache, no output folder)"]
    assert sdk["target"].startswith(f"<= {targets.HELM_COLD_RATIO:g}x fab (")
    assert "measured in this run" in sdk["note"]
    assert "the in-process backend" in sdk["note"]
    assert (sdk["value"] / sdk["details"]["fab_s"] <= targets.HELM_COLD_RATIO) == (sdk["status"] == "MET")
    assert all(rss > 0 for rss in binary["details"]["max_rss_mb"] + sdk["details"]["max_rss_mb"])
