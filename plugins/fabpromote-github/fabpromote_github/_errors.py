"""The errors of the GitHub host: every one a :class:`~fabpromote.exceptions.GitHostError`.

Messages never hold a token: they are built from redacted text only (see
:func:`fabpromote.git.redact`).
"""

from __future__ import annotations

from fabpromote.exceptions import GitHostError

__all__ = [
    "GitHubAuthenticationError",
    "GitHubError",
    "GitHubNotFoundError",
    "GitHubRateLimitError",
    "GitHubSettingsError",
    "RepositoryNotFoundError",
]

HOST = "github"


class GitHubError(GitHostError):
    """GitHub refused or failed a request (``host`` is always ``github``)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, host=HOST, status=status)


class GitHubAuthenticationError(GitHubError, PermissionError):
    """GitHub did not accept the token (HTTP 401), or there was none.

    Attributes:
        variable: The environment variable the token is read from.
    """

    def __init__(self, message: str, *, status: int | None = None, variable: str) -> None:
        self.variable = variable
        super().__init__(message, status=status)


class GitHubNotFoundError(GitHubError, LookupError):
    """Something asked for does not exist: a branch, a commit, a pull request."""


class RepositoryNotFoundError(GitHubNotFoundError):
    """The repository does not exist, or the token cannot see it (GitHub answers 404 to both)."""


class GitHubRateLimitError(GitHubError):
    """A rate limit would make us wait longer than allowed (``max_wait``), or kept refusing."""


class GitHubSettingsError(GitHubError, ValueError):
    """A setting of the ``github`` host is unknown or has a bad value."""
