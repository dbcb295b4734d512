"""What the tests share besides fixtures: the test token, the repository, a host factory."""

from __future__ import annotations

from pathlib import Path

from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.git import Sources
from fabpromote.testing.hosted import HostedFake, host_from_settings

#: A token that looks like a real one (52 characters), so that a leak is easy to find in logs and messages.
TOKEN = "fakepat7q2xw4ne5ktestsonlyf6r3mz8vb9cy0ud1hj2lk3p4s5"
TOKEN_ENV = "FABPROMOTE_TEST_AZURE_PAT"
PROJECT, NAME = "Fab Project", "app"
PROTECTED = {"stage": ("promote", "rollback"), "prod": ("promote", "rollback")}
FILES = {
    "README.md": "# app\n",
    "hld/component.yaml": "name: app\nsubcomponents: []\n",
    "hld/config/common.yaml": "config:\n  image: app:1.0.0\n",
}


def make_host(azure: FakeAzureDevOps, tmp_path: Path, **settings: object) -> AzureDevOpsHost:
    """A host on the fake; ``settings`` as a cluster file gives them (``clock`` too, not a cluster setting)."""
    defaults: dict[str, object] = {
        "sources": Sources(cache_dir=tmp_path / "cache"),
        "protected": PROTECTED,
        "token_env": TOKEN_ENV,
        "backoff": "0.01",
        "timeout": "10",
    }
    return host_from_settings(AzureDevOpsHost.from_settings, defaults, settings)


def hosted(azure: FakeAzureDevOps, project: str = "Ops") -> HostedFake:
    """The fake as the shared tests see it: empty repositories of ``project``, the API base from their URLs."""

    def create(name: str) -> str:
        azure.state.create_repo(project, name)
        return azure.repo_url(project, name)

    return HostedFake("azure-devops", TOKEN_ENV, create)
