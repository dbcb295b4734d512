"""What the tests share besides fixtures: the test token, the repository, a host factory, the fake as shared tests see it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fabpromote_gitea import GiteaHost
from fake_gitea import FakeGitea

from fabpromote.testing.hosted import HostedFake

#: A token shaped like Gitea's (40 hex digits), so that a leak is easy to find in logs and messages.
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0deadbeef"
TOKEN_ENV = "FABPROMOTE_TEST_GITEA_TOKEN"
OWNER, NAME = "octo", "app"


def make_host(gitea: FakeGitea, tmp_path: Path, **settings: Any) -> GiteaHost:
    """A host on the fake; ``settings`` as a cluster file gives them."""
    return hosted(gitea).make_host(functools.partial(GiteaHost.from_settings, "gitea"), tmp_path, settings)


def hosted(gitea: FakeGitea, kind: str = "gitea") -> HostedFake:
    """The fake as the shared tests see it (as a ``kind`` host): empty repositories of owner octo, its API base."""

    def create(name: str) -> str:
        gitea.create_repo("octo", name, empty=True)
        return gitea.repo_url("octo", name)

    return HostedFake(kind, TOKEN_ENV, create, {"api_url": gitea.api_url})
