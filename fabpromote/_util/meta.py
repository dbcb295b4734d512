"""The version of the installed fabpromote distribution."""

from __future__ import annotations

__all__ = ["core_version"]


def core_version() -> str:
    """The installed version of ``fabpromote`` (as ``fabpromote.__version__`` gives it)."""
    # Read when asked: importlib.metadata is slow to import and rarely needed.
    from importlib.metadata import version

    return version("fabpromote")
