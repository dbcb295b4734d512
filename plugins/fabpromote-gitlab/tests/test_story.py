"""The seed's promotion story end to end on the fake GitLab (merge requests merged at the expected head)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from fabpromote import Plugins
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import run_seed_story

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def test_seed_story(gitlab: FakeGitLab, token: str, tmp_path: Path) -> None:
    """set-image, publish, promote through a merge request, guard, rollback through a merge request."""
    host = urlsplit(gitlab.git_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: "GITLAB_TOKEN"}, usernames={host: "oauth2"})))

    def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
        first = next(iter(branches), "master")
        url = gitlab.create_project(
            f"group/{name}", dict(branches.get(first, {"README.md": b"x\n"})), branches=(first,)
        )
        for branch, files in branches.items():
            if branch != first:
                ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=first)
        return url

    settings = {"type": "gitlab", "api_url": gitlab.api_url, "token_env": "GITLAB_TOKEN"}
    run_seed_story(tmp_path, create, hosts={"127.0.0.1": settings})
