"""The seed's promotion story and the gated story end to end on the fake Gitea (pull requests merged at
the expected head, statuses through Gitea's status API)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_gitea import FakeGitea
from gitea_testing import hosted

from fabpromote import Plugins
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture
def create(gitea: FakeGitea) -> CreateRepo:
    """Makes the story's repositories on the fake Gitea, pushing each branch through git."""
    return hosted(gitea).story_repos()


def _hosts(gitea: FakeGitea, kind: str = "gitea") -> dict[str, dict[str, str]]:
    return hosted(gitea, kind).hosts(backoff="0.01")


def test_seed_story(gitea: FakeGitea, create: CreateRepo, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    run_seed_story(tmp_path, create, hosts=_hosts(gitea))
    assert any(path.endswith("/merge") for method, path, _ in gitea.requests if method == "POST")


def test_gated_story(gitea: FakeGitea, create: CreateRepo, tmp_path: Path) -> None:
    """Gates refuse in turn, statuses through Gitea's status API, an override's reason kept, advance."""
    run_gated_story(tmp_path, create, hosts=_hosts(gitea, "forgejo"))
    used = {(method, path.split("/")[-1]) for method, path, _ in gitea.requests if "status" in path}
    assert ("GET", "status") in used, used  # the gates read them
    assert any(method == "POST" and part.isalnum() for method, part in used), used  # report_status set them
