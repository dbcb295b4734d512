"""`fabpromote promote` on GitHub: a pull request left open exits 3 (pending), also when it conflicts."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_github import FakeGitHub
from github_testing import TOKEN_ENV

from fabpromote.cli import main
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import app_files

ENVS = ("dev", "stage", "prod")


def _setup(github: FakeGitHub, root: Path) -> tuple[str, GitOps, str]:
    """cat and the cluster HLD on the fake; returns the cluster file, the git writer and cat's URL."""
    ops = GitOps(Sources(credentials=Credentials({urlsplit(github.web_url).netloc: TOKEN_ENV})))

    def create(name: str, branches: dict[str, dict[str, bytes]]) -> str:
        github.create_repo("octo", name, empty=True)
        url = github.repo_url("octo", name)
        first = next(iter(branches), None)
        for branch, files in branches.items():
            ops.commit_files(
                url, branch, files, f"{name} {branch}", expected=None, start=None if branch == first else first
            )
        return url

    cat = create("cat", {branch: app_files("cat", "v1.0.0") for branch in ("master", *ENVS)})
    hld = create(
        "cluster-hld",
        {
            env: {
                "component.yaml": (
                    f"name: c\nsubcomponents:\n- name: cat-application\n  source: {cat}\n"
                    f"  method: git\n  branch: {env}\n  path: hld\n"
                ).encode()
            }
            for env in ENVS
        },
    )
    manifests = create("manifests", {})
    config = root / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {hld}\nmanifests: {manifests}\nenvironments: [dev, stage, prod]\nhosts:\n"
        f"  '127.0.0.1':\n    type: github\n    api_url: {github.api_url!r}\n    token_env: {TOKEN_ENV}\n"
        "    backoff: '0.01'\n"
    )
    return str(config), ops, cat


def _publish(capsys: pytest.CaptureFixture[str], config: str, env: str) -> None:
    """What CI does after a change on ``env``: publish it (the published gate of the next environment needs it)."""
    assert main(["materialize", env, "--publish", "--config", config]) == 0
    capsys.readouterr()


def _set_tag(ops: GitOps, url: str, branch: str, tag: str) -> None:
    head = ops.branch_sha(url, branch)
    files = {"hld/config/common.yaml": app_files("cat", tag)["hld/config/common.yaml"]}
    ops.commit_files(url, branch, files, f"{tag} on {branch}", expected=head)


@pytest.fixture(name="setup")
def _fixture(github: FakeGitHub, tmp_path: Path) -> tuple[str, GitOps, str]:
    return _setup(github, tmp_path)


def _promote(capsys: pytest.CaptureFixture[str], config: str, *extra: str) -> tuple[int, dict[str, object]]:
    status = main(
        ["promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config, "--json", *extra]
    )
    return status, json.loads(capsys.readouterr().out)


def test_open_pull_request_is_pending(setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --merge the pull request is opened and left: exit 3, outcome pending, its URL given."""
    config, ops, cat = setup
    _set_tag(ops, cat, "dev", "v9.0.0")
    _publish(capsys, config, "dev")
    stage = ops.branch_sha(cat, "stage")
    status, data = _promote(capsys, config)
    assert (status, data["outcome"], data["merge"]) == (3, "pending", None)
    change = data["change"]
    assert isinstance(change, dict)
    assert change["number"]
    assert ops.branch_sha(cat, "stage") == stage
    status, data = _promote(capsys, config, "--merge")
    assert (status, data["outcome"]) == (0, "done")
    assert ops.branch_sha(cat, "stage") != stage


def test_conflicting_pull_request_is_pending(
    setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--merge of a pull request that conflicts: not merged, left open to resolve: exit 3, not 0."""
    config, ops, cat = setup
    _set_tag(ops, cat, "dev", "v9.0.0")
    _publish(capsys, config, "dev")
    _set_tag(ops, cat, "stage", "v8.0.0")
    stage = ops.branch_sha(cat, "stage")
    status, data = _promote(capsys, config, "--merge")
    merge = data["merge"]
    assert isinstance(merge, dict)
    assert (status, data["outcome"], merge["status"]) == (3, "pending", "not-mergeable")
    assert ops.branch_sha(cat, "stage") == stage


def test_protect_reports_each_repository_before_a_failure(
    setup: tuple[str, GitOps, str], github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    """protect changes repository after repository: when one fails, those changed before are printed."""
    config, ops, _ = setup
    hld = github.repo_url("octo", "cluster-hld")
    gone = github.repo_url("octo", "gone")
    for env in ENVS:
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
    _set_tag(ops, cat, "dev", "v9.0.0")
    _publish(capsys, config, "dev")
    assert _promote(capsys, config, "--merge")[0] == 0
    stage = ops.branch_sha(cat, "stage")
    assert main(["rollback", "cat-application", "stage", "--steps", "1", "--config", config]) == 3
    assert "rolled back cat-application in stage through a change request, not merged yet: " in capsys.readouterr().out
    assert ops.branch_sha(cat, "stage") == stage
