"""The seed's promotion story and the gated story end to end on the fake GitLab (merge requests merged at the
expected head, statuses through the status API)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote import Plugins
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture
def create(gitlab: FakeGitLab, token: str) -> CreateRepo:
    """Makes the story's repositories on the fake GitLab, pushing each further branch through git."""
    del token  # sets GITLAB_TOKEN
    return gitlab.story_repos(gitlab.git_ops())


def _hosts(gitlab: FakeGitLab) -> dict[str, dict[str, str]]:
    return {"127.0.0.1": {"type": "gitlab", "api_url": gitlab.api_url, "token_env": "GITLAB_TOKEN"}}


def test_seed_story(gitlab: FakeGitLab, create: CreateRepo, tmp_path: Path) -> None:
    """set-image, publish, promote through a merge request, guard, rollback through a merge request."""
    run_seed_story(tmp_path, create, hosts=_hosts(gitlab))


def test_gated_story(gitlab: FakeGitLab, create: CreateRepo, tmp_path: Path) -> None:
    """Gates refuse in turn, statuses through GitLab's status API, an override's reason kept, advance."""
    run_gated_story(tmp_path, create, hosts=_hosts(gitlab))
    assert gitlab.api_requests("POST", "/statuses/"), "report_status went through GitLab's status API"
    assert gitlab.api_requests("GET", "/statuses"), "the gates read GitLab's statuses"
