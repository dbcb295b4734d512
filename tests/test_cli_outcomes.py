"""Exit codes and ``--json`` outcomes that tell the truth, and multi-step commands that report every step.

Everything runs against the demo (local bare repositories, the real helm)
through the CLI entry point.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import attrs
import pytest

from fabpromote import ChangeRequest, Cluster, MergeResult, Outcome, Plugins, PromoteResult
from fabpromote._cli.app import EXIT_STATUS
from fabpromote._cli.parser import build_parser
from fabpromote.cli import main
from fabpromote.testing.gitrepos import git

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


@pytest.fixture(name="config")
def _config(tmp_path: Path) -> str:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    return str(tmp_path / "demo" / "fabpromote.yaml")


def repos(config: str) -> Path:
    return Path(config).parent / "repos"


def commit_tag(config: str, branch: str, tag: str) -> str:
    """Commit an image tag on ``branch`` of the cat repo behind fabpromote's back (as a person would)."""
    bare = repos(config) / "cat.git"
    work = bare.parent / f"work-{branch}-{tag}"
    git("clone", "-q", "--branch", branch, str(bare), str(work))
    path = work / "hld" / "config" / "common.yaml"
    path.write_text(re.sub(r"tag: .*", f"tag: {tag}", path.read_text()))
    git("commit", "-qam", f"{tag} on {branch}", cwd=work)
    git("push", "-q", "origin", branch, cwd=work)
    shutil.rmtree(work)
    return tip(config, "cat.git", branch)


def publish_dev(config: str) -> None:
    """What CI does after a commit on dev: publish it (the published gate of stage needs that)."""
    assert main(["materialize", "dev", "--publish", "--config", config]) == 0


def without_published_gate(config: str) -> None:
    """Stage without the published gate: a test that takes the manifests repository away before
    promoting (to make the publish after the merge fail) must not need it to allow the merge."""
    path = Path(config)
    text = path.read_text().replace(
        "environments: [dev, stage, prod]", "environments: [dev, {name: stage, gates: {published: false}}, prod]"
    )
    assert text != path.read_text()
    path.write_text(text)


def tip(config: str, repo: str, branch: str) -> str:
    return git("--git-dir", str(repos(config) / repo), "rev-parse", f"refs/heads/{branch}")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


class TestExitTable:
    def test_documented_table_is_the_code(self) -> None:
        """docs/cli.md's exit status table lists exactly the outcomes and statuses the CLI uses."""
        text = DOCS.read_text()
        rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|", text, flags=re.M))
        for outcome, status in EXIT_STATUS.items():
            assert str(status) in rows, f"exit status {status} is not documented"
            assert f"`{outcome.value}`" in rows[str(status)], f"{outcome.value} not documented under {status}"
        assert {"2", "130", "141", "143"} <= set(rows)

    def test_promote_model(self) -> None:
        """The result says what happened: pending while a change request waits, failed where nothing stays open."""
        base = PromoteResult(
            app="cat", source="dev", target="stage", repo="r", head="dev", base="stage", head_sha="a" * 40, pending=1
        )
        hosted = ChangeRequest(base="stage", head="dev", head_sha="a" * 40, number=7, url="https://x/pull/7")
        direct = ChangeRequest(base="stage", head="dev", head_sha="a" * 40)
        refused = MergeResult(status="not-mergeable", message="conflicts in x")
        merged = MergeResult(status="merged", sha="b" * 40)
        cases = {
            (hosted, None, ""): Outcome.PENDING,
            (hosted, refused, ""): Outcome.PENDING,
            (direct, refused, ""): Outcome.FAILED,
            (direct, merged, ""): Outcome.DONE,
            (direct, merged, "boom"): Outcome.FAILED,
            (hosted, MergeResult(status="up-to-date"), ""): Outcome.NOTHING_TO_DO,
        }
        for (change, merge, error), expected in cases.items():
            result = attrs.evolve(base, change=change, merge=merge, publish_error=error)
            assert result.outcome is expected, (change, merge, error)
            assert result.to_json()["outcome"] == expected.value


class TestPromote:
    def test_local_conflict_fails(self, config: str, capsys: pytest.CaptureFixture[str]) -> None:
        """A promotion that ends in a merge conflict on the local host exits 1, says why, changes nothing."""
        commit_tag(config, "dev", "v9.0.0")
        publish_dev(config)
        stage = commit_tag(config, "stage", "v8.0.0")
        status, out, err = run(
            capsys, "promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config
        )
        assert status == 1
        assert "not-mergeable: conflicts in hld/config/common.yaml" in out
        assert err.endswith("\n")
        assert "fabpromote: error: dev cannot be merged into stage: conflicts in hld/config/common.yaml" in err
        assert tip(config, "cat.git", "stage") == stage
        status, out, _ = run(
            capsys, "promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config, "--json"
        )
        assert status == 1
        data = json.loads(out)
        assert (data["outcome"], data["merge"]["status"]) == ("failed", "not-mergeable")

    def test_done_and_nothing_to_do(self, config: str, capsys: pytest.CaptureFixture[str]) -> None:
        """A merge exits 0 (done, "1 commit"); promoting again exits 0 too: nothing to do, in --json as well."""
        head = commit_tag(config, "dev", "v9.0.0")
        publish_dev(config)
        argv = ("promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config)
        status, out, _ = run(capsys, *argv)
        assert status == 0
        assert "(1 commit, head" in out
        assert tip(config, "cat.git", "stage") == head
        status, out, err = run(capsys, *argv, "--json")
        assert status == 0
        assert json.loads(out) == {
            "outcome": "nothing-to-do",
            "message": "nothing to promote: stage already has every commit of dev (cat-application)",
        }
        assert err == "fabpromote: nothing to promote: stage already has every commit of dev (cat-application)\n"

    def test_publish_failure_after_merge(self, config: str, capsys: pytest.CaptureFixture[str]) -> None:
        """promote --publish: the merge SHA, why publishing failed and the one command that retries it; exit 1."""
        head = commit_tag(config, "dev", "v9.0.0")
        without_published_gate(config)
        manifests = repos(config) / "manifests.git"
        aside = manifests.with_name("aside.git")
        manifests.rename(aside)
        argv = ("promote", "cat-application", "--from", "dev", "--to", "stage", "--publish", "--config", config)
        status, out, err = run(capsys, *argv)
        assert status == 1
        assert f"merged at {head} (fast-forward)" in out
        lines = err.splitlines()
        assert err.endswith("\n")
        assert lines[0].startswith(f"fabpromote: error: dev was merged into stage at {head}, but publishing stage ")
        assert "manifests.git" in lines[0]
        assert lines[1] == (
            "fabpromote: retry the publish with: "
            + shlex.join(["fabpromote", "materialize", "stage", "--publish", "--config", config])
        )
        assert tip(config, "cat.git", "stage") == head
        aside.rename(manifests)
        retry = shlex.split(lines[1].split(": ", 2)[2])
        status, out, _ = run(capsys, *retry[1:])
        assert status == 0
        assert "branch stage: committed" in out
        text = git("--git-dir", str(manifests), "show", "stage:cat-application/cat-application.yaml")
        assert "ghcr.io/example/cat:v9.0.0" in text

    def test_publish_failure_json(self, config: str, capsys: pytest.CaptureFixture[str]) -> None:
        """--json carries every step: the merge, no publish, the publish error; outcome failed."""
        head = commit_tag(config, "dev", "v9.0.0")
        without_published_gate(config)
        (repos(config) / "manifests.git").rename(repos(config) / "aside.git")
        status, out, _ = run(
            capsys, "promote", "cat-application", "--from", "dev", "--to", "stage", "--publish", "--json",
            "--config", config,
        )  # fmt: skip
        assert status == 1
        data = json.loads(out)
        assert data["outcome"] == "failed"
        assert (data["merge"]["status"], data["merge"]["sha"], data["publish"]) == ("merged", head, None)
        assert "manifests.git" in data["publish_error"]


class TestMaterialize:
    def test_out_written_then_publish_fails(
        self, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--out DIR --publish: which of the two writes happened, why the other failed, how to retry; exit 1."""
        (repos(config) / "manifests.git").rename(repos(config) / "aside.git")
        out_dir = tmp_path / "out"
        status, out, err = run(capsys, "materialize", "dev", "--config", config, "--out", str(out_dir), "--publish")
        assert status == 1
        assert f"wrote {out_dir}" in out
        assert (out_dir / "cat-application" / "cat-application.yaml").is_file()
        lines = err.splitlines()
        assert lines[0].startswith(f"fabpromote: error: wrote {out_dir}, but publishing failed: ")
        assert lines[1].endswith(shlex.join(["fabpromote", "materialize", "dev", "--publish", "--config", config]))
        status, out, _ = run(
            capsys, "materialize", "dev", "--config", config, "--out", str(tmp_path / "o2"), "--publish", "--json"
        )
        assert status == 1
        data = json.loads(out)
        assert (data["outcome"], data["out"], data["publish"]) == ("failed", str(tmp_path / "o2"), None)
        assert "manifests.git" in data["publish_error"]

    def test_unchanged_publish_is_nothing_to_do(self, config: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Publishing what the branch holds already: exit 0, outcome nothing-to-do; "3 files" counted right."""
        status, out, _ = run(capsys, "materialize", "dev", "--config", config, "--publish", "--json")
        assert status == 0
        assert json.loads(out)["outcome"] == "nothing-to-do"
        status, out, _ = run(capsys, "materialize", "dev", "--config", config)
        assert status == 0
        assert re.search(r"demo/dev: 3 files, sha256", out)


class TestUsage:
    @pytest.mark.parametrize(
        "argv",
        [
            ["rollback", "dev", "--manifests"],
            ["rollback", "dev", "--manifests", "--to", "abc1234", "--steps", "1"],
            ["rollback", "cat-application", "dev", "--manifests", "--to", "abc1234"],
            ["rollback", "cat-application", "dev"],
            ["rollback", "cat-application", "dev", "--to", "abc1234", "--steps", "1"],
            ["rollback", "cat-application", "dev", "--steps", "0"],
            ["rollback", "cat-application", "dev", "--steps", "-2"],
            ["history", "dev", "--limit", "0"],
            ["history", "dev", "--limit", "-1"],
            ["history", "dev", "--limit", "x"],
        ],
    )
    def test_usage_errors_exit_2(self, config: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """Command lines a command cannot run exit 2 with its usage, like argparse's own errors; nothing runs."""
        before = tip(config, "manifests.git", "dev")
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--config", config])
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"usage: fabpromote {argv[0]}")
        assert err.endswith("\n")
        assert tip(config, "manifests.git", "dev") == before


def _json_commands() -> set[str]:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    return {name for name, sub in commands.items() if any("--json" in action.option_strings for action in sub._actions)}


def test_every_json_command_has_an_outcome(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every command with --json prints the outcome field, on success and on failure."""
    ok = {
        "materialize": ["materialize", "dev"],
        "status": ["status"],
        "history": ["history", "dev"],
        "plugins": ["plugins"],
        "promote": ["promote", "cat-application", "--from", "dev", "--to", "stage", "--dry-run"],
        "report-status": ["report-status", "dev", "e2e", "success"],
        "advance": ["advance", "--dry-run"],
    }
    # plan --json is the CI matrix itself (GitHub reads any other key as a dimension): checked below.
    assert set(ok) == _json_commands() - {"plan"}, "a command with --json is missing here"
    for name, argv in ok.items():
        extra = [] if name == "plugins" else ["--config", config]
        status, out, _ = run(capsys, *argv, *extra, "--json")
        assert status == 0, name
        assert json.loads(out)["outcome"] in ("done", "nothing-to-do"), name
    status, out, err = run(capsys, "history", "nope", "--config", config, "--json")
    assert status == 1
    data = json.loads(out)
    assert data["outcome"] == "failed"
    assert err == f"fabpromote: error: {data['error']}\n"


def test_plan_json_is_the_matrix_and_fails_like_the_others(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """plan --json: only `include` on success (the exit status is the outcome); the outcome object on failure."""
    hld = Cluster.from_file(config).hld.url
    status, out, _ = run(capsys, "plan", "--changed", f"{hld}@dev", "--config", config, "--json")
    assert status == 0
    assert list(json.loads(out)) == ["include"]
    status, out, err = run(capsys, "plan", "--changed", f"{hld}@refs/tags/v1", "--config", config, "--json")
    assert status == 1
    data = json.loads(out)
    assert data["outcome"] == "failed"
    assert err == f"fabpromote: error: {data['error']}\n"


def test_counts_agree_with_their_noun(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A branch with one commit "has only 1 commit"."""
    status, _, err = run(capsys, "rollback", "cat-application", "stage", "--steps", "5", "--config", config)
    assert status == 1
    assert "stage has only 1 commit; cannot go back 5" in err
