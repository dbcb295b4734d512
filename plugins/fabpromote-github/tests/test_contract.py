"""The Git host contract, run against the GitHub host on the fake GitHub."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabpromote_github import GitHubHost
from fake_github import FakeGitHub
from github_testing import make_host

from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.hosted import served_repo


class TestGitHubContract(GitHostContract):
    """Every Git host operation, through pull requests on the fake GitHub."""

    @pytest.fixture(name="host")
    def _host(self, github: FakeGitHub, tmp_path: Path) -> GitHubHost:
        return make_host(github, tmp_path, protected={})

    @pytest.fixture(name="repo")
    def _repo(self, github: FakeGitHub, tmp_path: Path) -> ServedRepo:
        github.create_repo("octo", "contract", {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"})
        return served_repo(github.base_dir / "octo" / "contract.git", github.repo_url("octo", "contract"), tmp_path)
