"""The plugin as fabpromote loads it: listed, claiming Azure's URLs, built from a cluster file's hosts: entry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from azure_testing import TOKEN_ENV
from fabpromote_azure_devops import AzureDevOpsHost, AzureDevOpsSettingsError, parse_repo
from fake_azure import FakeAzureDevOps

from fabpromote import Cluster, Plugins, host_for
from fabpromote.cli import main
from fabpromote.exceptions import HostSettingsError
from fabpromote.typing import GitHost, HostSettings, ProtectingHost

PLUGIN = Path(__file__).parents[1]
#: An import of a private core module (written so that this file does not match itself).
PRIVATE = re.compile("fabpromote" + r"\._")


def test_fabpromote_plugins_lists_it() -> None:
    """`fabpromote plugins` (the installed command) shows the plugin and its Git host."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "fabpromote"), "plugins"], capture_output=True, text=True, check=True
    )
    assert "azure-devops (fabpromote-azure-devops 0.1.0)\n  provides Git host azure-devops\n" in done.stdout


@pytest.mark.parametrize(
    "url",
    [
        "https://dev.azure.com/contoso/Fab%20Project/_git/app",
        "https://contoso@dev.azure.com/contoso/ops/_git/manifests",
        "https://contoso.visualstudio.com/ops/_git/manifests",
        "git@ssh.dev.azure.com:v3/contoso/ops/manifests",
    ],
)
def test_claims_azure_urls(url: str) -> None:
    """Azure DevOps Services' URLs are azure-devops without a hosts: entry; others are left to other plugins."""
    plugins = Plugins.load()
    assert plugins.detect_git_host(url) == "azure-devops"
    assert plugins.detect_git_host("https://github.com/octo/app.git") != "azure-devops"
    assert plugins.detect_git_host("https://tfs.example.com/tfs/DefaultCollection/ops/_git/app") == "local"


@pytest.mark.parametrize(
    ("url", "git_url", "api"),
    [
        (
            "git@ssh.dev.azure.com:v3/contoso/Fab%20Project/app",
            "https://dev.azure.com/contoso/Fab%20Project/_git/app",
            "https://dev.azure.com/contoso",
        ),
        (
            "contoso@vs-ssh.visualstudio.com:v3/contoso/ops/app",
            "https://contoso.visualstudio.com/ops/_git/app",
            "https://contoso.visualstudio.com",
        ),
        (
            "https://contoso.visualstudio.com/DefaultCollection/ops/_git/app",
            "https://contoso.visualstudio.com/ops/_git/app",
            "https://contoso.visualstudio.com",
        ),
        (
            "https://tfs.example.com/tfs/DefaultCollection/ops/_git/app",
            "https://tfs.example.com/tfs/DefaultCollection/ops/_git/app",
            "https://tfs.example.com/tfs/DefaultCollection",
        ),
        (
            "https://dev.azure.com/contoso/_git/ops",
            "https://dev.azure.com/contoso/ops/_git/ops",
            "https://dev.azure.com/contoso",
        ),
    ],
)
def test_repository_urls(url: str, git_url: str, api: str) -> None:
    """Every form names one repository: its HTTPS clone URL, and the organization's URL the API is under."""
    repo = parse_repo(url)
    assert (repo.git_url, repo.collection_url) == (git_url, api)


@pytest.mark.parametrize(
    "url",
    ["https://dev.azure.com/contoso/ops/app", "http://dev.azure.com/contoso/ops/_git/app", "git@github.com:o/r.git"],
)
def test_other_urls_are_refused(url: str) -> None:
    """Not Azure Repos, or plain HTTP off the loopback interface: one line naming the URL."""
    with pytest.raises(AzureDevOpsSettingsError, match="Azure"):
        parse_repo(url)


def test_built_from_a_cluster_file(azure: FakeAzureDevOps, tmp_path: Path) -> None:
    """A hosts: entry picks the host and its options; the host follows GitHost and ProtectingHost."""
    url = azure.repo_url("Fab Project", "app")
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {url}\nmanifests: {url}\nenvironments: [dev, prod]\nhosts:\n"
        f"  '127.0.0.1':\n    type: azure-devops\n    token_env: {TOKEN_ENV}\n    api_url: {azure.org_url}\n"
        "    merge_strategy: squash\n    required_reviews: '2'\n"
    )
    host = host_for(Cluster.from_file(config), url)
    assert isinstance(host, AzureDevOpsHost)
    assert isinstance(host, GitHost)
    assert isinstance(host, ProtectingHost)
    assert (host.merge_strategy, host.policy.required_reviews, host.token_env) == ("squash", 2, TOKEN_ENV)
    moved = azure.state.commit("Fab Project", "app", "dev", {"b": "b\n"}, "b")
    assert host.read_branch(url, "dev") == moved


def test_unknown_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt option or a bad value: one line naming the field, nothing done."""
    with pytest.raises(HostSettingsError, match=r"hosts\.dev\.azure\.com\.merge_stategy"):
        Plugins.load().git_host(
            "azure-devops", HostSettings(options={"merge_stategy": "squash"}, field="hosts.dev.azure.com")
        )
    with pytest.raises(
        AzureDevOpsSettingsError, match="merge_strategy must be one of noFastForward, squash, rebase, rebaseMerge"
    ):
        Plugins.load().git_host("azure-devops", HostSettings(options={"merge_strategy": "octopus"}))
    config = tmp_path / "fabpromote.yaml"
    url = "https://dev.azure.com/contoso/ops/_git/app"
    config.write_text(
        f"name: c\nhld: {url}\nmanifests: {url}\nenvironments: [dev]\n"
        "hosts:\n  dev.azure.com:\n    type: azure-devops\n    completion_wait: soon\n"
    )
    assert main(["report-status", "dev", "e2e", "success", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert "completion_wait must be a number, not 'soon'" in err
    assert len(err.splitlines()) == 1


def test_imports_only_public_core_modules() -> None:
    """Neither the plugin nor its tests import a private module of fabpromote."""
    offenders = [
        f"{path.relative_to(PLUGIN)}: {line.strip()}"
        for path in PLUGIN.rglob("*.py")
        for line in path.read_text().splitlines()
        if PRIVATE.search(line)
    ]
    assert offenders == []
