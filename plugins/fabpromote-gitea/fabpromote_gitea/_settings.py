"""The settings of the gitea host, as a cluster file's ``hosts:`` entry gives them (strings), converted and checked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fabpromote.exceptions import BranchPolicyError
from fabpromote.git import BranchPolicy, Sources
from fabpromote_gitea._client import api_url, number
from fabpromote_gitea._errors import GiteaSettingsError

__all__ = [
    "MERGE_METHODS",
    "OPTIONS",
    "backoff",
    "boolean",
    "branch_policy",
    "max_retries",
    "max_wait",
    "merge_method",
    "optional_api_url",
    "sources",
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
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def branch_policy(value: Mapping[str, Iterable[str]] | None) -> BranchPolicy:
    try:
        return BranchPolicy(value)
    except BranchPolicyError as exc:
        raise GiteaSettingsError(str(exc)) from None


def sources(value: Sources | None) -> Sources:
    return value if value is not None else Sources()


def optional_api_url(value: Any) -> str | None:
    return api_url(value) if value else None


def timeout(value: Any) -> float:
    return float(number("timeout", value, float))


def max_retries(value: Any) -> int:
    return int(number("max_retries", value, int))


def backoff(value: Any) -> float:
    return float(number("backoff", value, float))


def max_wait(value: Any) -> float:
    return float(number("max_wait", value, float))


def merge_method(value: Any) -> str:
    method = str(value or "merge").strip().lower()
    if method not in MERGE_METHODS:
        raise GiteaSettingsError(f"merge_method must be one of {', '.join(MERGE_METHODS)}, not {value!r}")
    return method


def boolean(name: str, value: Any) -> bool:
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in _TRUE | _FALSE:
        return value if isinstance(value, bool) else text in _TRUE
    raise GiteaSettingsError(f"{name} must be true or false, not {value!r}")
