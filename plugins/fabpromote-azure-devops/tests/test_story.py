"""The seed's promotion story end to end on the fake Azure DevOps (pull requests completed at the expected commit)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from azure_testing import TOKEN_ENV, hosted
from fake_azure import FakeAzureDevOps

from fabpromote import Plugins
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH (scripts/install-helm.sh) and the fabpromote-helm plugin",
)


@pytest.fixture
def create(azure: FakeAzureDevOps) -> CreateRepo:
    """Makes the story's repositories on the fake Azure DevOps (project Story), pushing each branch through git."""
    return hosted(azure, "Story").story_repos()


HOSTS = {"127.0.0.1": {"type": "azure-devops", "token_env": TOKEN_ENV, "backoff": "0.01"}}


def test_seed_story(azure: FakeAzureDevOps, create: CreateRepo, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    run_seed_story(tmp_path, create, hosts=HOSTS)
    pulls = azure.state.pulls
    assert {(p.source, p.target, p.status) for p in pulls} >= {("refs/heads/dev", "refs/heads/stage", "completed")}
    assert any(p.source.startswith("refs/heads/fabpromote/rollback-stage-") and p.status == "completed" for p in pulls)


def test_gated_story(azure: FakeAzureDevOps, create: CreateRepo, tmp_path: Path) -> None:
    """Gates refuse in turn, statuses through Azure's commit statuses API, an override's reason kept, advance."""
    run_gated_story(tmp_path, create, hosts=HOSTS)
    used = {r.method for r in azure.requests if r.path.endswith("/statuses")}
    assert used == {"GET", "POST"}, used  # report_status posts them, the gates read them
