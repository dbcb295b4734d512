"""Azure Repos URLs: which organization (collection), project and repository a URL names.

Accepted forms::

    https://dev.azure.com/ORG/PROJECT/_git/REPO          (also https://ORG@dev.azure.com/...)
    https://ORG.visualstudio.com/PROJECT/_git/REPO       (the older host name; DefaultCollection/ allowed)
    git@ssh.dev.azure.com:v3/ORG/PROJECT/REPO            ssh://git@ssh.dev.azure.com/v3/ORG/PROJECT/REPO
    ORG@vs-ssh.visualstudio.com:v3/ORG/PROJECT/REPO
    https://SERVER/COLLECTION/PROJECT/_git/REPO          (Azure DevOps Server; COLLECTION may be tfs/Name)
    http://127.0.0.1:PORT/ORG/PROJECT/_git/REPO          (test servers)

``ORG/_git/REPO`` (no project) names the repository of the project named like it,
as Azure does. Names are kept unquoted (``My Project``); URLs quote them.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, unquote, urlsplit

import attrs

from fabpromote.git import redact
from fabpromote_azure_devops._errors import AzureDevOpsSettingsError

__all__ = ["CLOUD_HOSTS", "RepoRef", "is_azure_url", "parse_repo"]

#: The host names of Azure DevOps Services (the cloud): dev.azure.com and the SSH hosts.
CLOUD_HOSTS = frozenset({"dev.azure.com", "ssh.dev.azure.com", "vs-ssh.visualstudio.com"})
_LEGACY = re.compile(r"^(?P<org>[A-Za-z0-9][A-Za-z0-9-]*)\.visualstudio\.com$")
_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/\s][^\s]*)$")


@attrs.frozen
class RepoRef:
    """One repository of Azure Repos.

    Attributes:
        host: The web host, lowercased, with ``:port`` when the URL gave one.
        collection: The path of the organization or collection on ``host``
            (``myorg`` on dev.azure.com, ``tfs/DefaultCollection`` on a server,
            ``""`` on ``ORG.visualstudio.com``).
        project: The project's name.
        name: The repository's name.
        scheme: ``https``, or ``http`` for a test server on the loopback interface.
    """

    host: str
    collection: str
    project: str
    name: str
    scheme: str = "https"

    @property
    def collection_url(self) -> str:
        """The organization's (collection's) URL: the API base ``api_url`` defaults to."""
        path = "/".join(quote(part, safe="") for part in self.collection.split("/") if part)
        return f"{self.scheme}://{self.host}" + (f"/{path}" if path else "")

    @property
    def git_url(self) -> str:
        """The HTTPS clone URL, the one a personal access token authenticates."""
        return f"{self.collection_url}/{quote(self.project, safe='')}/_git/{quote(self.name, safe='')}"

    @property
    def full_name(self) -> str:
        """``project/repository``, as errors name it."""
        return f"{self.project}/{self.name}"

    @property
    def hostname(self) -> str:
        """The host name without the port."""
        name, _, port = self.host.rpartition(":")
        return name if name and port.isdigit() else self.host


def parse_repo(url: str) -> RepoRef:
    """The repository ``url`` names.

    Raises:
        AzureDevOpsSettingsError: ``url`` is not the URL of an Azure Repos repository.
    """
    text = url.strip()
    if "://" not in text:
        match = _SCP.match(text)
        if not match:
            raise _not_azure(url)
        return _ssh(url, match.group("host").lower(), match.group("path"))
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme in ("ssh", "git+ssh", "ssh+git"):
        return _ssh(url, host, parts.path)
    if parts.scheme not in ("https", "http") or not host:
        raise _not_azure(url)
    if parts.scheme == "http" and not _is_loopback(host):
        # Plain HTTP would send the token in clear text over a network.
        raise AzureDevOpsSettingsError(f"{redact(url)}: Azure Repos are reached over https (http only on 127.0.0.1)")
    try:
        port = parts.port
    except ValueError:
        raise _not_azure(url) from None
    web = f"{host}:{port}" if port is not None else host
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if "_git" not in segments:
        raise _not_azure(url)
    at = segments.index("_git")
    if at + 2 != len(segments):
        raise _not_azure(url)
    name, before = segments[-1], segments[:at]
    if _LEGACY.match(host):
        # ORG.visualstudio.com[/DefaultCollection]/PROJECT/_git/REPO: the organization is in the host.
        before = before[1:] if before[:1] == ["DefaultCollection"] else before
        if len(before) > 1:
            raise _not_azure(url)
        return _ref(url, web, "", before[0] if before else name, name, parts.scheme)
    if not before:
        raise _not_azure(url)
    if len(before) == 1:  # ORG/_git/REPO: the project named like the repository.
        return _ref(url, web, before[0], name, name, parts.scheme)
    return _ref(url, web, "/".join(before[:-1]), before[-1], name, parts.scheme)


def _ssh(url: str, host: str, path: str) -> RepoRef:
    """``v3/ORG/PROJECT/REPO`` on Azure's SSH hosts, as the HTTPS repository it is."""
    segments = [unquote(segment) for segment in path.strip("/").split("/") if segment]
    if len(segments) != 4 or segments[0] != "v3":
        raise _not_azure(url)
    _, org, project, name = segments
    if host == "ssh.dev.azure.com":
        return _ref(url, "dev.azure.com", org, project, name, "https")
    if host == "vs-ssh.visualstudio.com":
        return _ref(url, f"{org.lower()}.visualstudio.com", "", project, name, "https")
    # An Azure DevOps Server's SSH URL does not say where its web (API) side is.
    raise _not_azure(url)


def _ref(url: str, host: str, collection: str, project: str, name: str, scheme: str) -> RepoRef:
    if not project.strip() or not name.strip() or any(part in (".", "..") for part in (project, name)):
        raise _not_azure(url)
    return RepoRef(host=host, collection=collection, project=project, name=name, scheme=scheme)


def is_azure_url(url: str) -> bool:
    """Whether ``url`` names a repository of Azure DevOps Services (dev.azure.com, ORG.visualstudio.com)."""
    try:
        repo = parse_repo(url)
    except AzureDevOpsSettingsError:
        return False
    return repo.hostname == "dev.azure.com" or bool(_LEGACY.match(repo.hostname))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _not_azure(url: str) -> AzureDevOpsSettingsError:
    return AzureDevOpsSettingsError(
        f"{redact(url)} is not an Azure Repos URL "
        "(expected https://dev.azure.com/ORG/PROJECT/_git/REPO or git@ssh.dev.azure.com:v3/ORG/PROJECT/REPO)"
    )
