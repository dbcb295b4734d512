"""The seed's promotion story end to end on the fake Azure DevOps (pull requests completed at the expected commit)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure_testing import TOKEN_ENV
from fake_azure import FakeAzureDevOps

from fabpromote import Plugins
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH (scripts/install-helm.sh) and the fabpromote-helm plugin",
)


def test_seed_story(azure: FakeAzureDevOps, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    host = urlsplit(azure.org_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: TOKEN_ENV})))

    def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
        azure.state.create_repo("Story", name)
        url = azure.repo_url("Story", name)
        first = next(iter(branches), None)
        for branch, files in branches.items():
            start = None if branch == first else first
            ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=start)
        return url

    settings = {"type": "azure-devops", "token_env": TOKEN_ENV, "backoff": "0.01"}
    run_seed_story(tmp_path, create, hosts={"127.0.0.1": settings})
    pulls = azure.state.pulls
    assert {(p.source, p.target, p.status) for p in pulls} >= {("refs/heads/dev", "refs/heads/stage", "completed")}
    assert any(p.source.startswith("refs/heads/fabpromote/rollback-stage-") and p.status == "completed" for p in pulls)
