"""The Git host contract, run against the Gitea host on the fake Gitea."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabpromote_gitea import GiteaHost
from fake_gitea import FakeGitea
from gitea_testing import make_host

from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.hosted import served_repo


class TestGiteaContract(GitHostContract):
    """Every Git host operation, through pull requests on the fake Gitea."""

    @pytest.fixture(name="host")
    def _host(self, gitea: FakeGitea, tmp_path: Path) -> GiteaHost:
        return make_host(gitea, tmp_path, protected={})

    @pytest.fixture(name="repo")
    def _repo(self, gitea: FakeGitea, tmp_path: Path) -> ServedRepo:
        gitea.create_repo("octo", "contract", {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"})
        return served_repo(gitea.base_dir / "octo" / "contract.git", gitea.repo_url("octo", "contract"), tmp_path)
