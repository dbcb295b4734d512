"""`fabpromote promote` on GitLab: a merge request left open exits 3 (pending), also when it conflicts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote.git import GitOps
from fabpromote.testing.hosted import cat_cluster, conflicting_change_stays_pending, open_change_stays_pending

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab


@pytest.fixture(name="setup")
def _setup(gitlab: FakeGitLab, token: str, tmp_path: Path) -> tuple[str, GitOps, str]:
    """cat and the cluster HLD on the fake; returns the cluster file, the git writer and cat's URL."""
    del token  # sets GITLAB_TOKEN
    ops = gitlab.git_ops()
    hosts = {"127.0.0.1": {"type": "gitlab", "api_url": gitlab.api_url, "token_env": "GITLAB_TOKEN"}}
    config, cat = cat_cluster(tmp_path, gitlab.story_repos(ops), hosts)
    return config, ops, cat


def test_open_merge_request_is_pending(setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Without --merge the merge request is opened and left: exit 3, outcome pending."""
    open_change_stays_pending(*setup, capsys)


def test_conflicting_merge_request_is_pending(
    setup: tuple[str, GitOps, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--merge of a merge request that conflicts: not merged, left open to resolve: exit 3, not 0."""
    conflicting_change_stays_pending(*setup, capsys)
