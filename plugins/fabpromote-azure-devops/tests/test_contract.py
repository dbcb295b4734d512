"""The Git host contract, run against the azure-devops host on the fake Azure DevOps."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_testing import make_host
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.gitrepos import git


class TestAzureDevOpsContract(GitHostContract):
    """Every Git host operation, through pull requests completed on the fake Azure DevOps."""

    @pytest.fixture(name="host")
    def _host(self, azure: FakeAzureDevOps, tmp_path: Path) -> AzureDevOpsHost:
        return make_host(azure, tmp_path, protected={})

    @pytest.fixture(name="repo")
    def _repo(self, azure: FakeAzureDevOps, tmp_path: Path) -> ServedRepo:
        repo = azure.state.create_repo(
            "Contract", "contract", {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"}
        )
        work = tmp_path / "contract-work"
        git("clone", "-q", str(repo.path), str(work))
        return ServedRepo(repo.path, work, azure.repo_url("Contract", "contract"))
