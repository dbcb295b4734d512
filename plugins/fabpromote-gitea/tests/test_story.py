"""The seed's promotion story and the gated story end to end on the fake Gitea (pull requests merged at
the expected head, statuses through Gitea's status API)."""

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
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture
def create(gitea: FakeGitea) -> CreateRepo:
    """Makes the story's repositories on the fake Gitea, pushing each branch through git."""
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

    return create


def _hosts(gitea: FakeGitea, kind: str = "gitea") -> dict[str, dict[str, str]]:
    return {"127.0.0.1": {"type": kind, "api_url": gitea.api_url, "token_env": TOKEN_ENV, "backoff": "0.01"}}


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
