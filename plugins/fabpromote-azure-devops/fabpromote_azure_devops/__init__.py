"""fabpromote plugin: the ``azure-devops`` Git host, for Azure Repos (Azure DevOps Services and Server).

Pull requests (completed at the expected source commit), commit statuses and
branch policies go through Azure DevOps' REST API; git content goes through
git over HTTPS with the same personal access token. It claims dev.azure.com
and ``ORG.visualstudio.com`` URLs in :func:`fabpromote_detect_git_host`; a
cluster file names an Azure DevOps Server (``hosts: {HOST: {type: azure-devops}}``).

This module is the entry point (group ``fabpromote``, name ``azure-devops``),
so it stays cheap to import: requests and the host are imported when a host is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fabpromote.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from fabpromote.typing import HostSettings
    from fabpromote_azure_devops._client import AzureClient
    from fabpromote_azure_devops._errors import (
        AzureDevOpsAuthenticationError,
        AzureDevOpsError,
        AzureDevOpsNotFoundError,
        AzureDevOpsRateLimitError,
        AzureDevOpsSettingsError,
    )
    from fabpromote_azure_devops._host import AzureDevOpsHost
    from fabpromote_azure_devops._policies import ProtectionPolicy
    from fabpromote_azure_devops._urls import RepoRef, parse_repo

__all__ = [
    "AzureClient",
    "AzureDevOpsAuthenticationError",
    "AzureDevOpsError",
    "AzureDevOpsHost",
    "AzureDevOpsNotFoundError",
    "AzureDevOpsRateLimitError",
    "AzureDevOpsSettingsError",
    "ProtectionPolicy",
    "RepoRef",
    "__version__",
    "fabpromote_detect_git_host",
    "fabpromote_register_git_hosts",
    "parse_repo",
]

_LAZY = {
    "AzureClient": "fabpromote_azure_devops._client",
    "AzureDevOpsAuthenticationError": "fabpromote_azure_devops._errors",
    "AzureDevOpsError": "fabpromote_azure_devops._errors",
    "AzureDevOpsNotFoundError": "fabpromote_azure_devops._errors",
    "AzureDevOpsRateLimitError": "fabpromote_azure_devops._errors",
    "AzureDevOpsSettingsError": "fabpromote_azure_devops._errors",
    "AzureDevOpsHost": "fabpromote_azure_devops._host",
    "ProtectionPolicy": "fabpromote_azure_devops._policies",
    "RepoRef": "fabpromote_azure_devops._urls",
    "parse_repo": "fabpromote_azure_devops._urls",
}


def _azure_devops(settings: HostSettings) -> AzureDevOpsHost:
    from fabpromote_azure_devops._host import OPTIONS, AzureDevOpsHost

    settings.check_options("azure-devops", OPTIONS)
    core = {"sources": settings.sources, "protected": settings.protected}
    token = {"token_env": settings.token_env} if settings.token_env else {}  # else AZURE_DEVOPS_EXT_PAT
    return AzureDevOpsHost.from_settings(**core, **token, **settings.options)


@hookimpl
def fabpromote_register_git_hosts(register: Register) -> None:
    """Register the ``azure-devops`` host; ``factory(settings)`` takes the ``hosts:`` options in the README."""
    register("azure-devops", _azure_devops)


@hookimpl
def fabpromote_detect_git_host(url: str) -> str | None:
    """``azure-devops`` for dev.azure.com and ORG.visualstudio.com repositories (servers: the cluster file)."""
    from fabpromote_azure_devops._urls import is_azure_url

    return "azure-devops" if is_azure_url(url) else None


def __getattr__(name: str) -> Any:
    # Imported on first use: the entry-point module must stay cheap to import.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "__version__":
        from importlib.metadata import version

        return version("fabpromote-azure-devops")
    raise AttributeError(f"module 'fabpromote_azure_devops' has no attribute {name!r}")
