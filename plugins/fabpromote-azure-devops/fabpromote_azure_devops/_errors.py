"""The errors of the Azure DevOps host: every one a :class:`~fabpromote.exceptions.GitHostError`.

Messages never hold a token: they are built from redacted text only (see
:func:`fabpromote.git.redact`).
"""

from __future__ import annotations

from fabpromote.exceptions import GitHostError

__all__ = [
    "AzureDevOpsAuthenticationError",
    "AzureDevOpsError",
    "AzureDevOpsNotFoundError",
    "AzureDevOpsRateLimitError",
    "AzureDevOpsSettingsError",
]

HOST = "azure-devops"


class AzureDevOpsError(GitHostError):
    """Azure DevOps refused or failed a request (``host`` is always ``azure-devops``)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, host=HOST, status=status)


class AzureDevOpsAuthenticationError(AzureDevOpsError, PermissionError):
    """Azure DevOps did not accept the personal access token (HTTP 401, or 203 to its sign-in page).

    Attributes:
        variable: The environment variable the token is read from.
    """

    def __init__(self, message: str, *, status: int | None = None, variable: str) -> None:
        self.variable = variable
        super().__init__(message, status=status)


class AzureDevOpsNotFoundError(AzureDevOpsError, LookupError):
    """Something asked for does not exist: a repository, a commit, a pull request."""


class AzureDevOpsRateLimitError(AzureDevOpsError):
    """Azure DevOps throttled the requests for longer than allowed (``max_wait``)."""


class AzureDevOpsSettingsError(AzureDevOpsError, ValueError):
    """A setting of the ``azure-devops`` host is unknown or has a bad value, or a URL is not Azure Repos'."""
