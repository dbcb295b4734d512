"""Concurrency: processes materializing, publishing and promoting the same cluster at once.

Four processes start together (after their imports, at a barrier file) and
each publishes the ``dev`` environment, then promotes the app from ``dev``
to ``stage`` with ``publish_after`` on the local host. With separate and
with one shared cache: every process succeeds or ends with a clear
FabpromoteError, no reported commit is lost, the repositories pass
``git fsck --strict`` and every cache passes ``fabpromote cache check``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fabpromote._cachecheck import check_cache
from fabpromote._cluster import Cluster
from fabpromote._materialize import materialize
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, git

PROCESSES = 4


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache-test"))


def _served_fleet(root: Path, *, many: int) -> tuple[LocalFleet, Path]:
    """The fleet by plain paths, its cluster HLD written, and its cluster file."""
    fleet = LocalFleet(root, many=many)
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    return fleet, fleet.config(base)


WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    from fabpromote._cluster import Cluster
    from fabpromote._materialize import materialize
    from fabpromote._publish import publish
    from fabpromote._workflow import promote
    from fabpromote.exceptions import FabpromoteError

    config, barrier = sys.argv[1], Path(sys.argv[2])
    while not barrier.exists():
        time.sleep(0.005)
    report = {}
    cluster = Cluster.from_file(config)
    try:
        report["dev"] = publish(materialize(cluster, "dev"), cluster).commit
    except FabpromoteError as exc:
        report["dev_error"] = [type(exc).__name__, str(exc)]
    try:
        result = promote(cluster, "app", source="dev", target="stage", publish_after=True)
        report["merge"] = [result.merge.status, result.merge.sha] if result.merge else None
        report["stage"] = result.publish.commit if result.publish else None
    except FabpromoteError as exc:
        report["promote_error"] = [type(exc).__name__, str(exc)]
    print(json.dumps(report))
    """
)

#: What losers of a race may end with.
ACCEPTABLE = {"StaleBranchError", "NothingToPromoteError", "PublishError"}


@pytest.mark.parametrize("shared", [False, True], ids=["separate-caches", "shared-cache"])
def test_publish_and_promote_at_once(tmp_path: Path, shared: bool) -> None:
    """Four processes publish dev and promote dev -> stage at once: one of each lands, nothing is lost."""
    fleet, config = _served_fleet(tmp_path / "fleet", many=40)
    app_dev = fleet.push_app("dev", "v2")
    barrier = tmp_path / "go"
    caches = [tmp_path / ("cache" if shared else f"cache-{n}") for n in range(PROCESSES)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(config), str(barrier)],
            env={**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for cache in caches
    ]
    time.sleep(0.5)  # let them import
    started = time.monotonic()
    barrier.touch()
    outputs = [process.communicate(timeout=60) for process in processes]
    elapsed = time.monotonic() - started
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    reports = [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]
    print(f"shared={shared}: {elapsed:.2f}s", *reports, sep="\n")

    for report in reports:
        for key in ("dev_error", "promote_error"):
            if key in report:
                assert report[key][0] in ACCEPTABLE, report[key]
                assert report[key][1]  # a message for people
    # dev: one commit, every reported one in the history, the tree of the app's v2.
    dev_history = fleet.history("manifests", "dev")
    dev_commits = {report["dev"] for report in reports if report.get("dev")}
    assert dev_commits <= set(dev_history)
    assert len(dev_history) == 1
    assert len(dev_commits) == 1
    # promote: the app merged into stage exactly once; its publish landed.
    # A loser that compared before the winner merged finds nothing left to merge ("up-to-date").
    merges = [report["merge"] for report in reports if report.get("merge") and report["merge"][0] != "up-to-date"]
    assert [status for status, _ in merges] == ["merged"]
    stage_app = fleet.history("app", "stage")
    assert merges[0][1] == stage_app[0]
    assert app_dev in stage_app
    stage_commits = {report["stage"] for report in reports if report.get("stage")}
    assert len(stage_commits) == 1
    assert stage_commits <= set(fleet.history("manifests", "stage"))
    cluster = Cluster.from_file(config)
    expected = materialize(cluster, "stage").manifests
    assert b"version: v2" in expected["app/app.yaml"]
    shown = git("--git-dir", str(fleet.served / "manifests.git"), "show", "stage:app/app.yaml")
    assert "version: v2" in shown
    fleet.fsck()
    for cache in set(caches):
        assert check_cache(cache) == []
        assert check_cache(cache, debris_age=0) == []


def test_many_publishers_of_different_versions_share_one_cache(tmp_path: Path) -> None:
    """Processes publishing while the app moves, sharing one cache: every reported commit is in the history."""
    fleet, config = _served_fleet(tmp_path / "fleet", many=10)
    barrier = tmp_path / "go"
    cache = tmp_path / "cache"
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from fabpromote._cluster import Cluster
        from fabpromote._materialize import materialize
        from fabpromote._publish import publish
        while not Path(sys.argv[2]).exists():
            time.sleep(0.005)
        cluster = Cluster.from_file(sys.argv[1])
        for _ in range(3):
            print(publish(materialize(cluster, "dev"), cluster).commit, flush=True)
        """
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(config), str(barrier)],
            env={**os.environ, "FABPROMOTE_CACHE_DIR": str(cache)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    time.sleep(0.5)
    barrier.touch()
    for version in ("v2", "v3", "v4"):
        fleet.push_app("dev", version)
        time.sleep(0.1)
    outputs = [process.communicate(timeout=60) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    reported = {line for stdout, _ in outputs for line in stdout.split() if line != "None"}
    history = fleet.history("manifests", "dev")
    assert reported <= set(history)
    assert len(history) == len(reported)
    fleet.fsck()
    assert check_cache(cache) == []
    assert check_cache(cache, debris_age=0) == []
