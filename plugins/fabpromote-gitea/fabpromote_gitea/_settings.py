"""The settings of the gitea host, as a cluster file's ``hosts:`` entry gives them (strings), converted and checked.

Named converters (mypy's attrs plugin takes no bound method) over :data:`fabpromote_gitea._client.CHECKS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fabpromote.git import BranchPolicy
from fabpromote_gitea._client import CHECKS
from fabpromote_gitea._errors import GiteaSettingsError

__all__ = [
    "MERGE_METHODS",
    "OPTIONS",
    "backoff",
    "branch_policy",
    "max_retries",
    "max_wait",
    "merge_method",
    "optional_api_url",
    "timeout",
]

#: Gitea's merge styles that make or keep commits (``manually-merged`` only records a merge).
MERGE_METHODS = ("merge", "rebase", "rebase-merge", "squash", "fast-forward-only")
#: The options a cluster file's ``hosts:`` entry may give a gitea host.
OPTIONS = (
    "api_url",
    "merge_method",
    "timeout",
    "max_retries",
    "backoff",
    "max_wait",
    "required_contexts",
    "required_approvals",
    "strict",
)


def branch_policy(value: Mapping[str, Iterable[str]] | None) -> BranchPolicy:
    return CHECKS.branch_policy(value)


def optional_api_url(value: Any) -> str | None:
    return CHECKS.optional_api_url(value)


def timeout(value: Any) -> float:
    return CHECKS.number("timeout", value, float)


def max_retries(value: Any) -> int:
    return CHECKS.number("max_retries", value, int)


def backoff(value: Any) -> float:
    return CHECKS.number("backoff", value, float)


def max_wait(value: Any) -> float:
    return CHECKS.number("max_wait", value, float)


def merge_method(value: Any) -> str:
    method = str(value or "merge").strip().lower()
    if method not in MERGE_METHODS:
        raise GiteaSettingsError(f"merge_method must be one of {', '.join(MERGE_METHODS)}, not {value!r}")
    return method
