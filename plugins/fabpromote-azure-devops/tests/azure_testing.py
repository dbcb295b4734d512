"""What the tests share besides fixtures: the test token, the repository, a host factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.testing.hosted import HostedFake

#: A token that looks like a real one (52 characters), so that a leak is easy to find in logs and messages.
TOKEN = "fakepat7q2xw4ne5ktestsonlyf6r3mz8vb9cy0ud1hj2lk3p4s5"
TOKEN_ENV = "FABPROMOTE_TEST_AZURE_PAT"
PROJECT, NAME = "Fab Project", "app"


def make_host(azure: FakeAzureDevOps, tmp_path: Path, **settings: Any) -> AzureDevOpsHost:
    """A host on the fake; ``settings`` as a cluster file gives them (``clock`` too, not a cluster setting)."""
    return hosted(azure).make_host(AzureDevOpsHost.from_settings, tmp_path, settings)


def hosted(azure: FakeAzureDevOps, project: str = "Ops") -> HostedFake:
    """The fake as the shared tests see it: empty repositories of ``project``, the API base from their URLs."""

    def create(name: str) -> str:
        azure.state.create_repo(project, name)
        return azure.repo_url(project, name)

    return HostedFake("azure-devops", TOKEN_ENV, create)
