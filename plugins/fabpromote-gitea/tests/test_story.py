"""The seed's promotion story end to end on the fake Gitea (pull requests merged at the expected head)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_gitea import FakeGitea
from gitea_testing import TOKEN_ENV

from fabpromote import Plugins
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def test_seed_story(gitea: FakeGitea, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    host = urlsplit(gitea.web_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: TOKEN_ENV})))

    def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
        gitea.create_repo("octo", name, empty=True)
        url = gitea.repo_url("octo", name)
        first = next(iter(branches), None)
        for branch, files in branches.items():
            start = None if branch == first else first
            ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=start)
        return url

    settings = {"type": "gitea", "api_url": gitea.api_url, "token_env": TOKEN_ENV, "backoff": "0.01"}
    run_seed_story(tmp_path, create, hosts={"127.0.0.1": settings})
