"""GitLab projects named by repository URLs, and the API addresses derived from them.

A project is addressed in the REST API by its URL-encoded full path
(``group%2Fsub%2Fproject``), which works at any depth of subgroups::

    Project.parse("git@gitlab.com:group/sub/app.git").id   # 'group%2Fsub%2Fapp'
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit

import attrs

from fabpromote.exceptions import GitHostError
from fabpromote.git import redact

__all__ = ["DEFAULT_API_URL", "Project", "quoted"]

DEFAULT_API_URL = "https://gitlab.com/api/v4"
HOST = "gitlab"

# scp-like syntax, as git reads it: [user@]host:path, with no "/" before the ":".
_SCP = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?!//)(?P<path>.+)$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def quoted(value: str) -> str:
    """``value`` as one path segment of an API URL: every ``/`` (and more) percent-encoded."""
    return quote(value, safe="")


@attrs.frozen
class Project:
    """A GitLab project, as one repository URL names it.

    Attributes:
        path: The full path, ``group/sub/project``.
        host: Where the project lives: ``gitlab.com``, or ``host:port``.
        git_url: The URL git content goes through (HTTPS, with the token).
        shown: The URL as given, redacted, for messages.
    """

    path: str
    host: str
    git_url: str
    shown: str

    @property
    def id(self) -> str:
        """The project's id in API paths: its URL-encoded full path."""
        return quoted(self.path)

    def default_api_url(self) -> str:
        """The API of the server the project lives on: ``https://HOST[:PORT]/api/v4``."""
        return f"https://{self.host}/api/v4"

    @classmethod
    def parse(cls, url: str) -> Project:
        """The project named by ``url``.

        Accepted: ``https://HOST[:PORT]/GROUP[/SUB...]/PROJECT[.git]`` (``http`` too),
        ``ssh://[git@]HOST[:PORT]/GROUP/PROJECT.git`` and ``git@HOST:GROUP/PROJECT.git``.
        Web URLs of a page of the project (``.../PROJECT/-/tree/main``) name the project.

        Raises:
            GitHostError: ``url`` names no GitLab project.
        """
        shown = redact(url)
        text = url.strip()
        parts = urlsplit(text)
        if parts.scheme in ("http", "https"):
            host = _netloc(parts.hostname, _port(parts, shown))
            path = _project_path(parts.path, shown)
            # Content goes where the URL says, user info included: Credentials honours it.
            git_url = text.split("#", 1)[0].split("?", 1)[0]
            git_url = git_url.rstrip("/")
            if not git_url.endswith(".git"):
                git_url = git_url.removesuffix(parts.path.rstrip("/")) + f"/{path}.git"
            return cls(path=path, host=host, git_url=git_url, shown=shown)
        if parts.scheme in ("ssh", "git+ssh", "ssh+git"):
            hostname, raw_path = parts.hostname, parts.path
        elif "://" not in text:
            match = _SCP.match(text)
            if match is None:
                raise _not_a_project(shown)
            hostname, raw_path = match["host"], match["path"]
        else:
            raise _not_a_project(shown)
        if not hostname:
            raise _not_a_project(shown)
        path = _project_path(raw_path, shown)
        host = hostname.lower()
        # SSH keys are not tokens: content goes over HTTPS to the same host.
        return cls(path=path, host=host, git_url=f"https://{host}/{path}.git", shown=shown)


def _port(parts: SplitResult, shown: str) -> int | None:
    try:
        return parts.port
    except ValueError:
        raise _not_a_project(shown) from None


def _netloc(hostname: str | None, port: int | None) -> str:
    if not hostname:
        return ""
    return f"{hostname.lower()}:{port}" if port else hostname.lower()


def _project_path(raw: str, shown: str) -> str:
    path = raw.strip("/")
    path = path.split("/-/", 1)[0].removesuffix("/-")
    path = path.removesuffix(".git").strip("/")
    segments = path.split("/")
    if len(segments) < 2 or not all(_SEGMENT.match(segment) for segment in segments):
        raise _not_a_project(shown)
    return path


def _not_a_project(shown: str) -> GitHostError:
    return GitHostError(
        f"{shown} does not name a GitLab project "
        "(expected https://HOST/GROUP/PROJECT, with subgroups if any, or git@HOST:GROUP/PROJECT.git)",
        host=HOST,
    )
