"""The seed's promotion story and the gated story end to end on the fake GitHub (pull requests merged at the
expected head, statuses through the status API)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_github import FakeGitHub
from github_testing import hosted

from fabpromote import Plugins
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture
def create(github: FakeGitHub) -> CreateRepo:
    """Makes the story's repositories on the fake GitHub, pushing each branch through git."""
    return hosted(github).story_repos()


def _hosts(github: FakeGitHub) -> dict[str, dict[str, str]]:
    return hosted(github).hosts(backoff="0.01")


def test_seed_story(github: FakeGitHub, create: CreateRepo, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    run_seed_story(tmp_path, create, hosts=_hosts(github))


def test_gated_story(github: FakeGitHub, create: CreateRepo, tmp_path: Path) -> None:
    """Gates refuse in turn, statuses through GitHub's status API, an override's reason kept, advance."""
    run_gated_story(tmp_path, create, hosts=_hosts(github))
    used = {(r.method, r.path.split("/")[-2]) for r in github.requests if "/statuses/" in r.path or "/status" in r.path}
    assert ("POST", "statuses") in used, used  # report_status
    assert any(method == "GET" for method, _ in used), used  # the gates read them
