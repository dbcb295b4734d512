"""The errors of fetching charts, beside fabpromote's :class:`~fabpromote.exceptions.GeneratorError`.

Each message is one line naming the component, the chart and the
repository (credentials redacted); the CLI shows it as is.
"""

from __future__ import annotations

from fabpromote.exceptions import GeneratorError

__all__ = ["ChartNotFoundError", "ChartRepositoryError", "ChartVersionNotFoundError"]


class ChartRepositoryError(GeneratorError):
    """A chart repository cannot be reached, or does not answer as one.

    Attributes:
        url: The repository, with credentials redacted.
    """

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class ChartNotFoundError(GeneratorError, LookupError):
    """A chart is not where its component says: no such folder, or not in its repository."""


class ChartVersionNotFoundError(ChartNotFoundError):
    """A chart repository has the chart, but not at the version asked for.

    Attributes:
        versions: The versions the repository has, newest first.
    """

    def __init__(self, message: str, *, versions: tuple[str, ...]) -> None:
        self.versions = versions
        super().__init__(message)
