"""GitHub repository URLs: which host, owner and repository a URL names.

Accepted forms (``HOST`` is ``github.com`` or a GitHub Enterprise Server)::

    https://HOST/OWNER/REPO            https://HOST/OWNER/REPO.git
    git@HOST:OWNER/REPO.git            ssh://git@HOST[:PORT]/OWNER/REPO.git
    HOST/OWNER/REPO                    http://127.0.0.1:PORT/OWNER/REPO.git (test servers)
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import attrs

from fabpromote.git import redact
from fabpromote_github._errors import GitHubSettingsError

__all__ = ["DEFAULT_API_URL", "GITHUB_HOSTS", "RepoRef", "default_api_url", "is_github_url", "parse_repo"]

DEFAULT_API_URL = "https://api.github.com"
#: Host names that are github.com itself.
GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})

_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/\s][^\s]*)$")
_BARE = re.compile(r"^(?P<host>[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?)/(?P<path>[^\s]+)$")
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@attrs.frozen
class RepoRef:
    """One repository on a GitHub instance.

    Attributes:
        host: The web host, lowercased, with ``:port`` when the URL gave one
            (only for ``http(s)`` URLs: an SSH port is not the web port).
        owner: The user or organization.
        name: The repository name, without ``.git``.
        scheme: ``https``, or ``http`` for a test server on the loopback interface.
    """

    host: str
    owner: str
    name: str
    scheme: str = "https"

    @property
    def full_name(self) -> str:
        """``owner/name``, as GitHub writes it."""
        return f"{self.owner}/{self.name}"

    @property
    def git_url(self) -> str:
        """The HTTPS clone URL, the one a token authenticates."""
        return f"{self.scheme}://{self.host}/{self.owner}/{self.name}.git"

    @property
    def hostname(self) -> str:
        """The host name without the port."""
        name, _, port = self.host.rpartition(":")
        return name.strip("[]") if name and port.isdigit() else self.host.strip("[]")


def parse_repo(url: str) -> RepoRef:
    """The repository ``url`` names.

    Raises:
        GitHubSettingsError: ``url`` is not the URL of a repository on a GitHub host.
    """
    text = url.strip()
    scheme = "https"
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("https", "http", "ssh", "git", "git+ssh", "ssh+git"):
            raise _not_github(url)
        host = (parts.hostname or "").lower()
        if ":" in host:
            host = f"[{host}]"  # IPv6
        try:
            port = parts.port
        except ValueError:
            raise _not_github(url) from None
        if parts.scheme in ("https", "http"):
            scheme = parts.scheme
            if scheme == "http" and not _is_loopback(host):
                # Plain HTTP would send the token in clear text over a network.
                raise GitHubSettingsError(
                    f"{redact(url)}: GitHub repositories are reached over https (http only on 127.0.0.1)"
                )
            if port is not None:
                host = f"{host}:{port}"
        path = parts.path
    elif (match := _SCP.match(text)) or (match := _BARE.match(text)):
        host, path = match.group("host").lower(), match.group("path")
    else:
        raise _not_github(url)
    segments = [segment for segment in path.strip("/").split("/") if segment]
    if not host or len(segments) != 2:
        raise _not_github(url)
    owner, name = segments[0], segments[1].removesuffix(".git")
    if not _OWNER.match(owner) or not _NAME.match(name) or name in (".", ".."):
        raise _not_github(url)
    return RepoRef(host=host, owner=owner, name=name, scheme=scheme)


def is_github_url(url: str) -> bool:
    """Whether ``url`` names a repository on github.com itself."""
    try:
        repo = parse_repo(url)
    except GitHubSettingsError:
        return False
    return repo.hostname in GITHUB_HOSTS


def default_api_url(repo: RepoRef) -> str:
    """Where the REST API of ``repo``'s host is, when the settings name no ``api_url``.

    ``api.github.com`` for github.com, ``api.<tenant>.ghe.com`` for GitHub
    Enterprise Cloud with data residency, ``https://HOST/api/v3`` for a
    GitHub Enterprise Server.
    """
    if repo.hostname in GITHUB_HOSTS:
        return DEFAULT_API_URL
    if repo.hostname.endswith(".ghe.com"):
        return f"https://api.{repo.hostname}"
    return f"{repo.scheme}://{repo.host}/api/v3"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _not_github(url: str) -> GitHubSettingsError:
    return GitHubSettingsError(
        f"{redact(url)} is not a GitHub repository URL (expected https://HOST/OWNER/REPO or git@HOST:OWNER/REPO.git)"
    )
