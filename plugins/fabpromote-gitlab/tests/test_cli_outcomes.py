"""`fabpromote promote` on GitLab: a merge request left open exits 3 (pending), also when it conflicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from fabpromote.cli import main
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import app_files

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab

ENVS = ("dev", "stage", "prod")


@pytest.fixture(name="setup")
def _setup(gitlab: FakeGitLab, token: str, tmp_path: Path) -> tuple[str, GitOps, str]:
    """cat and the cluster HLD on the fake; returns the cluster file, the git writer and cat's URL."""
    del token  # sets GITLAB_TOKEN
    host = urlsplit(gitlab.git_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: "GITLAB_TOKEN"}, usernames={host: "oauth2"})))

    def create(name: str, branches: dict[str, dict[str, bytes]]) -> str:
        first = next(iter(branches), "master")
        url = gitlab.create_project(
            f"group/{name}", dict(branches.get(first, {"README.md": b"x\n"})), branches=(first,)
        )
        for branch, files in branches.items():
            if branch != first:
                ops.commit_files(url, branch, files, f"{name} {branch}", expected=None, start=first)
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
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {hld}\nmanifests: {manifests}\nenvironments: [dev, stage, prod]\nhosts:\n"
        f"  '127.0.0.1':\n    type: gitlab\n    api_url: {gitlab.api_url!r}\n    token_env: GITLAB_TOKEN\n"
    )
    return str(config), ops, cat


def _publish(capsys: pytest.CaptureFixture[str], config: str, env: str) -> None:
    """What CI does after a change on ``env``: publish it (the published gate of the next environment needs it)."""
    assert main(["materialize", env, "--publish", "--config", config]) == 0
    capsys.readouterr()


def _set_tag(ops: GitOps, url: str, branch: str, tag: str) -> None:
    files = {"hld/config/common.yaml": app_files("cat", tag)["hld/config/common.yaml"]}
    ops.commit_files(url, branch, files, f"{tag} on {branch}", expected=ops.branch_sha(url, branch))


def _promote(capsys: pytest.CaptureFixture[str], config: str, *extra: str) -> tuple[int, dict[str, object]]:
    status = main(
        ["promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config, "--json", *extra]
    )
    return status, json.loads(capsys.readouterr().out)


def test_open_merge_request_is_pending(setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --merge the merge request is opened and left: exit 3, outcome pending."""
    config, ops, cat = setup
    _set_tag(ops, cat, "dev", "v9.0.0")
    _publish(capsys, config, "dev")
    stage = ops.branch_sha(cat, "stage")
    status, data = _promote(capsys, config)
    assert (status, data["outcome"], data["merge"]) == (3, "pending", None)
    assert ops.branch_sha(cat, "stage") == stage
    status, data = _promote(capsys, config, "--merge")
    assert (status, data["outcome"]) == (0, "done")
    assert ops.branch_sha(cat, "stage") != stage


def test_conflicting_merge_request_is_pending(
    setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--merge of a merge request that conflicts: not merged, left open to resolve: exit 3, not 0."""
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
