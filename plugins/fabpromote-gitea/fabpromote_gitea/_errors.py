"""The errors of the Gitea host: every one a :class:`~fabpromote.exceptions.GitHostError`.

Messages never hold a token: they are built from redacted text only (see
:func:`fabpromote.git.redact`).
"""

from __future__ import annotations

from fabpromote.exceptions import GitHostError

__all__ = [
    "GiteaAuthenticationError",
    "GiteaError",
    "GiteaNotFoundError",
    "GiteaSettingsError",
    "RepositoryNotFoundError",
]


class GiteaError(GitHostError):
    """Gitea (or Forgejo) refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None, host: str = "gitea") -> None:
        super().__init__(message, host=host, status=status)


class GiteaAuthenticationError(GiteaError, PermissionError):
    """The token was refused (HTTP 401), or there was none.

    Attributes:
        variable: The environment variable the token is read from.
    """

    def __init__(self, message: str, *, status: int | None = None, variable: str, host: str = "gitea") -> None:
        self.variable = variable
        super().__init__(message, status=status, host=host)


class GiteaNotFoundError(GiteaError, LookupError):
    """Something asked for does not exist: a branch, a commit, a pull request."""


class RepositoryNotFoundError(GiteaNotFoundError):
    """The repository does not exist, or the token cannot see it (Gitea answers 404 to both)."""


class GiteaSettingsError(GiteaError, ValueError):
    """A setting of the ``gitea`` host is unknown or has a bad value."""
