"""The Git host contract, run against the azure-devops host on the fake Azure DevOps."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_testing import make_host
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.hosted import served_repo


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
        return served_repo(repo.path, azure.repo_url("Contract", "contract"), tmp_path)
