"""`fabpromote promote` on GitHub: a pull request left open exits 3 (pending), also when it conflicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_github import FakeGitHub
from github_testing import hosted

from fabpromote.cli import main
from fabpromote.git import GitOps
from fabpromote.testing.hosted import (
    CAT_ENVIRONMENTS,
    cat_cluster,
    conflicting_change_stays_pending,
    open_change_stays_pending,
    promote_cat,
    publish,
    set_cat_tag,
)


@pytest.fixture(name="setup")
def _setup(github: FakeGitHub, tmp_path: Path) -> tuple[str, GitOps, str]:
    """cat and the cluster HLD on the fake; returns the cluster file, the git writer and cat's URL."""
    fake = hosted(github)
    config, cat = cat_cluster(tmp_path, fake.story_repos(), fake.hosts(backoff="0.01"))
    return config, fake.ops(cat), cat


def test_open_pull_request_is_pending(setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --merge the pull request is opened and left: exit 3, outcome pending, its URL given."""
    change = open_change_stays_pending(*setup, capsys)["change"]
    assert isinstance(change, dict)
    assert change["number"]


def test_conflicting_pull_request_is_pending(
    setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--merge of a pull request that conflicts: not merged, left open to resolve: exit 3, not 0."""
    conflicting_change_stays_pending(*setup, capsys)


def test_protect_reports_each_repository_before_a_failure(
    setup: tuple[str, GitOps, str], github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """protect changes repository after repository: when one fails, those changed before are printed."""
    config, ops, _ = setup
    hld = github.repo_url("octo", "cluster-hld")
    gone = github.repo_url("octo", "gone")
    for env in CAT_ENVIRONMENTS:
        files = {
            "component.yaml": (
                f"name: c\nsubcomponents:\n- name: gone\n  source: {gone}\n  method: git\n  branch: {env}\n"
            ).encode()
        }
        ops.commit_files(hld, env, files, "point at a missing repo", expected=ops.branch_sha(hld, env))
    assert main(["protect", "--config", config]) == 1
    out, err = capsys.readouterr()
    assert "cluster-hld" in out
    assert err.startswith("fabpromote: error: ")
    assert "cluster-hld" not in err


def test_rollback_through_pull_request_is_pending(
    setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """rollback on GitHub opens a pull request: not rolled back yet, so exit 3 and it says so."""
    config, ops, cat = setup
    set_cat_tag(ops, cat, "dev", "v9.0.0")
    publish(config, "dev", capsys)
    assert promote_cat(config, capsys, "--merge")[0] == 0
    stage = ops.branch_sha(cat, "stage")
    assert main(["rollback", "cat-application", "stage", "--steps", "1", "--config", config]) == 3
    assert "rolled back cat-application in stage through a change request, not merged yet: " in capsys.readouterr().out
    assert ops.branch_sha(cat, "stage") == stage
