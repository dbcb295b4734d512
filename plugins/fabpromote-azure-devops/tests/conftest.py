"""Fixtures: the fake Azure DevOps (REST API and git over smart HTTP on one port), and an isolated home."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote.testing.clock import FakeClock
from fabpromote.testing.hosted import APP_REPO_FILES, isolate

sys.path.insert(0, str(Path(__file__).parent))

from azure_testing import NAME, PROJECT, TOKEN, TOKEN_ENV, make_host
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

HERE = Path(__file__).parent
MISSING_SDK = "the azure-devops SDK is missing: run scripts/bootstrap.sh (it installs the test extra)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The fake is checked against the azure-devops SDK's models: without it, fail in CI, skip elsewhere."""
    if importlib.util.find_spec("azure.devops") is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(MISSING_SDK)
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.skip(reason=MISSING_SDK))


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Home, cache and git configuration in tmp_path; the test token set; no proxy."""
    isolate(monkeypatch, tmp_path, token_env=TOKEN_ENV, token=TOKEN, host_variable="AZURE_DEVOPS_EXT_PAT")


@pytest.fixture(name="azure")
def _azure(tmp_path: Path) -> Iterator[FakeAzureDevOps]:
    """The fake Azure DevOps with repository "Fab Project"/app: master, dev, stage and prod at one commit.

    The test fails when any request or response broke the SDK's models.
    """
    with FakeAzureDevOps(tmp_path / "azure", token=TOKEN) as fake:
        fake.state.create_repo(PROJECT, NAME, APP_REPO_FILES, branches=("dev", "stage", "prod"))
        yield fake
        assert fake.violations == [], "\n".join(fake.violations)


@pytest.fixture(name="url")
def _url(azure: FakeAzureDevOps) -> str:
    """The clone URL of "Fab Project"/app."""
    return azure.repo_url(PROJECT, NAME)


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    """The clock retries and completion polls wait on: they move it, nothing sleeps."""
    return FakeClock()


@pytest.fixture(name="host")
def _host(azure: FakeAzureDevOps, tmp_path: Path, clock: FakeClock) -> AzureDevOpsHost:
    """The azure-devops host on the fake (its API base from the repository URLs), waiting on ``clock``."""
    return make_host(azure, tmp_path, clock=clock)
