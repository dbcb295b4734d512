"""The seed's promotion story and the gated story end to end on the fake GitHub (pull requests merged at the
expected head, statuses through the status API)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_github import FakeGitHub
from github_testing import TOKEN_ENV

from fabpromote import Plugins
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.gatedstory import run_gated_story
from fabpromote.testing.story import CreateRepo, run_seed_story

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the story renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture
def create(github: FakeGitHub) -> CreateRepo:
    """Makes the story's repositories on the fake GitHub, pushing each branch through git."""
    host = urlsplit(github.web_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: TOKEN_ENV})))

    def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
        github.create_repo("octo", name, empty=True)
        url = github.repo_url("octo", name)
        first = next(iter(branches), None)
        for branch, files in branches.items():
            start = None if branch == first else first
            ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=start)
        return url

    return create


def _hosts(github: FakeGitHub) -> dict[str, dict[str, str]]:
    return {"127.0.0.1": {"type": "github", "api_url": github.api_url, "token_env": TOKEN_ENV, "backoff": "0.01"}}


def test_seed_story(github: FakeGitHub, create: CreateRepo, tmp_path: Path) -> None:
    """set-image, publish, promote through a pull request, guard, rollback through a pull request."""
    run_seed_story(tmp_path, create, hosts=_hosts(github))


def test_gated_story(github: FakeGitHub, create: CreateRepo, tmp_path: Path) -> None:
    """Gates refuse in turn, statuses through GitHub's status API, an override's reason kept, advance."""
    run_gated_story(tmp_path, create, hosts=_hosts(github))
    used = {(r.method, r.path.split("/")[-2]) for r in github.requests if "/statuses/" in r.path or "/status" in r.path}
    assert ("POST", "statuses") in used, used  # report_status
    assert any(method == "GET" for method, _ in used), used  # the gates read them
