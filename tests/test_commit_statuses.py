"""Commit statuses of the local host: a git notes ref that stateless CI jobs share through the remote.

The contract (set, read, latest per context, unknown commit) runs for every
host in its ``GitHostContract`` suite; here is what only the notes ref does:
processes with their own caches see each other's statuses over git:// and
smart HTTP, racing writers all land, and git itself reads the notes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from fabpromote import Cluster, host_for
from fabpromote.cli import main
from fabpromote.exceptions import CommitStatusError
from fabpromote.git import CommitStatus, LocalHost, Sources
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer

NOTES = "refs/notes/fabpromote/statuses"


@pytest.fixture(name="served", scope="module")
def _served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A bare repository with one commit on master, served by git daemon and smart HTTP (pushes allowed)."""
    root = tmp_path_factory.mktemp("statuses")
    bare, work = root / "served" / "manifests.git", root / "work"
    git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
    git("clone", "-q", str(bare), str(work))
    (work / "app.yaml").write_text("kind: ConfigMap\n")
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "publish", cwd=work)
    git("push", "-q", "origin", "HEAD:refs/heads/master", cwd=work)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path_factory.mktemp("server-home")))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        with GitDaemon(root / "served") as daemon, SmartHTTPServer(root / "served") as http:
            yield bare, {"git": daemon.url + "manifests.git", "http": http.url + "manifests.git"}


@pytest.fixture(name="commit")
def _commit(served: tuple[Path, dict[str, str]]) -> str:
    """A new commit on master, so each test starts with a commit that has no status."""
    bare, _ = served
    tree = git("--git-dir", str(bare), "rev-parse", "master^{tree}")
    parent = git("--git-dir", str(bare), "rev-parse", "master")
    sha = git("--git-dir", str(bare), "commit-tree", tree, "-p", parent, "-m", "another publish")
    git("--git-dir", str(bare), "update-ref", "refs/heads/master", sha, parent)
    return sha


_CHILD = textwrap.dedent(
    """
    import json, sys
    from fabpromote.git import CommitStatus, LocalHost, Sources
    action, cache, url, sha = sys.argv[1:5]
    host = LocalHost(sources=Sources(cache))
    if action == "set":
        host.set_commit_status(url, sha, CommitStatus(context=sys.argv[5], state=sys.argv[6]))
    print(json.dumps([s.to_json() for s in host.commit_statuses(url, sha)]))
    """
)


def _child(tmp_path: Path, action: str, url: str, sha: str, *args: str) -> list[dict[str, object]]:
    """Run a fabpromote process with its own new cache (a fresh CI job); its statuses of ``sha``."""
    cache = tmp_path / f"cache-{action}-{len(list(tmp_path.iterdir()))}"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, action, str(cache), url, sha, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: list[dict[str, object]] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("transport", ["git", "http"])
def test_statuses_cross_processes_with_their_own_caches(
    served: tuple[Path, dict[str, str]], commit: str, transport: str, tmp_path: Path
) -> None:
    """One job posts, the next (new process, empty cache) reads it; the notes live on the remote."""
    url = served[1][transport]
    _child(tmp_path, "set", url, commit, "kustomization/podinfo/1a2b3c4d", "pending")
    _child(tmp_path, "set", url, commit, "e2e", "failure")
    _child(tmp_path, "set", url, commit, "kustomization/podinfo/1a2b3c4d", "success")
    seen = _child(tmp_path, "get", url, commit)
    assert [(s["context"], s["state"]) for s in seen] == [
        ("e2e", "failure"),
        ("kustomization/podinfo/1a2b3c4d", "success"),
    ]


def test_git_reads_the_notes(served: tuple[Path, dict[str, str]], commit: str, tmp_path: Path) -> None:
    """The ref is an ordinary notes ref: a mirror clone carries it and ``git notes show`` prints every status."""
    bare, urls = served
    host = LocalHost(sources=Sources(tmp_path / "cache"))
    host.set_commit_status(
        urls["http"], commit, CommitStatus(context="e2e", state="pending", target_url="https://ci/1")
    )
    host.set_commit_status(urls["http"], commit, CommitStatus(context="e2e", state="success", description="ok"))
    git("clone", "-q", "--mirror", str(bare), str(tmp_path / "mirror.git"))
    shown = git("--git-dir", str(tmp_path / "mirror.git"), "notes", "--ref=fabpromote/statuses", "show", commit)
    lines = [json.loads(line) for line in shown.splitlines()]
    assert [(line["context"], line["state"], line["target_url"]) for line in lines] == [
        ("e2e", "pending", "https://ci/1"),
        ("e2e", "success", ""),
    ]
    assert datetime.fromisoformat(lines[1]["updated_at"]).tzinfo is not None


def test_racing_writers_all_land(served: tuple[Path, dict[str, str]], commit: str, tmp_path: Path) -> None:
    """Jobs posting at once on one commit: compare-and-swap on the notes ref, the losers retry; none is lost."""
    url = served[1]["git"]
    contexts = [f"check-{number}" for number in range(6)]
    barrier = threading.Barrier(len(contexts))
    errors: list[BaseException] = []

    def post(context: str) -> None:
        host = LocalHost(sources=Sources(tmp_path / context))
        barrier.wait()
        try:
            host.set_commit_status(url, commit, CommitStatus(context=context, state="success"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(context,)) for context in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = LocalHost(sources=Sources(tmp_path / "reader")).commit_statuses(url, commit)
    assert [status.context for status in found] == contexts
    assert int(git("--git-dir", str(served[0]), "rev-list", "--count", NOTES)) >= len(contexts)


def test_a_hand_written_line_is_skipped(
    served: tuple[Path, dict[str, str]], commit: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A line someone appended with ``git notes`` that is no status is skipped with a warning, the rest read."""
    bare, urls = served
    host = LocalHost(sources=Sources(tmp_path / "cache"))
    host.set_commit_status(urls["git"], commit, CommitStatus(context="e2e", state="success"))
    git("--git-dir", str(bare), "notes", "--ref=fabpromote/statuses", "append", "-m", "LGTM", commit)
    assert [(s.context, s.state) for s in host.commit_statuses(urls["git"], commit)] == [("e2e", "success")]
    assert "is not a status" in caplog.text
    host.set_commit_status(urls["git"], commit, CommitStatus(context="lint", state="failure"))
    assert [s.context for s in host.commit_statuses(urls["git"], commit)] == ["e2e", "lint"]


def test_a_status_is_checked_when_made() -> None:
    """An unknown state, an empty or multi-line context, a naive time: CommitStatusError naming it."""
    with pytest.raises(CommitStatusError, match="one of pending, success, failure, error, not 'failed'"):
        CommitStatus(context="e2e", state="failed")
    for context in ("", "a\nb"):
        with pytest.raises(CommitStatusError, match="context"):
            CommitStatus(context=context, state="success")
    with pytest.raises(CommitStatusError, match="timezone-aware"):
        CommitStatus(context="e2e", state="success", updated_at=datetime(2024, 5, 1, 10, 0))
    berlin = datetime.fromisoformat("2024-05-01T12:00:00+02:00")
    assert CommitStatus(context="e2e", state="success", updated_at=berlin).updated_at == datetime(
        2024, 5, 1, 10, 0, tzinfo=timezone.utc
    )


def test_abbreviated_sha_is_refused(served: tuple[Path, dict[str, str]], commit: str, tmp_path: Path) -> None:
    """Statuses are on a full commit SHA (an abbreviation may name another commit later)."""
    host = LocalHost(sources=Sources(tmp_path / "cache"))
    with pytest.raises(CommitStatusError, match="full 40-hex"):
        host.set_commit_status(served[1]["git"], commit[:12], CommitStatus(context="e2e", state="success"))


# report-status on a served cluster


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> tuple[LocalFleet, Path]:
    """A local cluster (git daemon URLs would do as well; plain paths keep it quick) with dev published twice."""
    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    config = fleet.config(base)
    assert main(["materialize", "dev", "--publish", "--config", str(config)]) == 0
    fleet.push_app("dev", "v2")
    assert main(["materialize", "dev", "--publish", "--config", str(config)]) == 0
    return fleet, config


def test_report_status_on_the_manifests_head(
    fleet: tuple[LocalFleet, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """By default on the head of the environment's manifests branch; the gates' reader sees it."""
    local, config = fleet
    head = local.branch("dev")
    assert head is not None
    argv = ["report-status", "dev", "e2e", "success", "--description", "42 passed", "--url", "https://ci/7"]
    assert main([*argv, "--json", "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["outcome"], out["sha"], out["branch"], out["context"], out["state"]) == (
        "done",
        head,
        "dev",
        "e2e",
        "success",
    )
    cluster = Cluster.from_file(config)
    (status,) = host_for(cluster, cluster.manifests.url).commit_statuses(cluster.manifests.url, head)
    assert (status.context, status.state, status.description, status.target_url) == (
        "e2e",
        "success",
        "42 passed",
        "https://ci/7",
    )


def test_report_status_on_an_earlier_publish(
    fleet: tuple[LocalFleet, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """--sha (abbreviated too) names an earlier manifests commit of the branch."""
    local, config = fleet
    earlier = local.history("manifests", "dev")[1]
    assert (
        main(
            ["report-status", "dev", "kustomization/app/1a2b", "failure", "--sha", earlier[:9], "--config", str(config)]
        )
        == 0
    )
    assert (
        capsys.readouterr().out
        == f"kustomization/app/1a2b: failure on {earlier[:12]} ({local.served}/manifests.git branch dev)\n"
    )
    assert "kustomization/app/1a2b" in local.manifests("notes", "--ref=fabpromote/statuses", "show", earlier)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["dev", "e2e", "passed"], "state is one of pending, success, failure, error, not 'passed'"),
        (["qa", "e2e", "success"], "qa"),
        (["stage", "e2e", "success"], "has no branch 'stage'"),
        (["dev", "e2e", "success", "--sha", "zz"], "'zz' is not a commit SHA"),
        (["dev", "e2e", "success", "--url", "ci/7"], "--url must be an http(s) URL"),
        (["dev", "e2e", "success", "--sha", "0" * 40], "0" * 40 + " not found"),
    ],
)
def test_report_status_refuses(
    fleet: tuple[LocalFleet, Path], capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    """A bad state, an unknown environment, one never published, a bad SHA or URL: one line, nothing written."""
    local, config = fleet
    assert main(["report-status", *argv, "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert error in err
    assert len(err.strip().splitlines()) == 1
    assert local.branch(NOTES) is None


def test_report_status_refuses_a_commit_off_the_branch(
    fleet: tuple[LocalFleet, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A commit of the manifests repository that dev never carried (another environment's) is refused."""
    local, config = fleet
    assert main(["materialize", "stage", "--publish", "--config", str(config)]) == 0
    stage = local.branch("stage")
    assert stage is not None
    assert stage not in local.history("manifests", "dev")
    assert main(["report-status", "dev", "e2e", "success", "--sha", stage, "--config", str(config)]) == 1
    assert f"{stage[:12]} is not in the history of" in capsys.readouterr().err
    assert local.branch(NOTES) is None
