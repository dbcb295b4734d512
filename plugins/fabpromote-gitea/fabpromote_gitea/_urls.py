"""Gitea repository URLs: the web base, owner and repository a URL names, and where its API is.

Accepted forms (Gitea may live below a path, ``https://HOST/git/OWNER/REPO``)::

    https://HOST[/PREFIX]/OWNER/REPO[.git]    http://127.0.0.1:PORT/OWNER/REPO.git (test servers)
    git@HOST:OWNER/REPO.git                   ssh://git@HOST[:PORT]/OWNER/REPO.git

For SSH URLs the API is assumed at ``https://HOST/api/v1``; set ``api_url``
when the web server is elsewhere.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import attrs

from fabpromote.git import redact
from fabpromote_gitea._errors import GiteaSettingsError

__all__ = ["RepoRef", "parse_repo"]

_SCP = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/\s][^\s]*)$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@attrs.frozen
class RepoRef:
    """One repository on a Gitea or Forgejo server.

    Attributes:
        web: The server's web root, without a trailing slash
            (``https://git.example.com`` or ``https://example.com/gitea``).
        owner: The user or organization.
        name: The repository name, without ``.git``.
    """

    web: str
    owner: str
    name: str

    @property
    def full_name(self) -> str:
        """``owner/name``, as Gitea writes it."""
        return f"{self.owner}/{self.name}"

    @property
    def api_url(self) -> str:
        """Where the REST API is by default: ``<web root>/api/v1``."""
        return f"{self.web}/api/v1"


def parse_repo(url: str) -> RepoRef:
    """The repository ``url`` names.

    Raises:
        GiteaSettingsError: ``url`` names no repository (or sends a token over plain HTTP).
    """
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("https", "http", "ssh", "git+ssh", "ssh+git"):
            raise _not_gitea(url)
        host = (parts.hostname or "").lower()
        if parts.scheme == "http" and not _is_loopback(host):
            raise GiteaSettingsError(
                f"{redact(url)}: Gitea repositories are reached over https (http only on 127.0.0.1)"
            )
        if parts.scheme in ("https", "http"):
            netloc = parts.netloc.rpartition("@")[2].lower()
            web, path = f"{parts.scheme}://{netloc}", parts.path
        else:
            web, path = f"https://{host}", parts.path
    elif match := _SCP.match(text):
        web, path = f"https://{match.group('host').lower()}", match.group("path")
    else:
        raise _not_gitea(url)
    segments = [segment for segment in path.strip("/").split("/") if segment]
    if len(segments) < 2:
        raise _not_gitea(url)
    *prefix, owner, name = segments
    name = name.removesuffix(".git")
    if not _NAME.match(owner) or not _NAME.match(name) or name in (".", ".."):
        raise _not_gitea(url)
    if prefix and "://" in text and urlsplit(text).scheme in ("https", "http"):
        web = "/".join([web, *prefix])
    return RepoRef(web=web, owner=owner, name=name)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _not_gitea(url: str) -> GiteaSettingsError:
    return GiteaSettingsError(f"{redact(url)} is not the URL of a repository (https://HOST/OWNER/REPO)")
