"""The settings of an azure-devops host: the options a cluster file's ``hosts:`` entry may give, checked.

Each converter takes a value as a cluster file writes it (a string) or as
Python code passes it, and refuses a bad one in one line naming the setting
(:data:`fabpromote_azure_devops._client.CHECKS`; named functions, as mypy's attrs
plugin takes no bound method as a converter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fabpromote.git import BranchPolicy
from fabpromote_azure_devops._client import CHECKS
from fabpromote_azure_devops._errors import AzureDevOpsSettingsError
from fabpromote_azure_devops._pulls import MERGE_STRATEGIES

__all__ = [
    "DEFAULT_COMPLETION_WAIT",
    "OPTIONS",
    "SETTINGS",
    "to_backoff",
    "to_completion_wait",
    "to_count",
    "to_max_wait",
    "to_optional_api_url",
    "to_protection",
    "to_strategy",
    "to_timeout",
]

#: The options a cluster file's ``hosts:`` entry may give an azure-devops host.
OPTIONS = (
    "api_url",
    "merge_strategy",
    "completion_wait",
    "timeout",
    "max_retries",
    "backoff",
    "max_wait",
    "required_statuses",
    "required_reviews",
)
SETTINGS = ("sources", "protected", "token_env", *OPTIONS)
DEFAULT_COMPLETION_WAIT = 60.0


def to_protection(value: Mapping[str, Iterable[str]] | None) -> BranchPolicy:
    return CHECKS.branch_policy(value)


def to_strategy(value: str) -> str:
    found = {name.lower(): name for name in MERGE_STRATEGIES}.get(str(value or "noFastForward").strip().lower())
    if found is None:
        raise AzureDevOpsSettingsError(f"merge_strategy must be one of {', '.join(MERGE_STRATEGIES)}, not {value!r}")
    return found


def to_optional_api_url(value: str | None) -> str | None:
    return CHECKS.optional_api_url(value)


def to_completion_wait(value: Any) -> float:
    return CHECKS.number("completion_wait", value, float)


def to_timeout(value: Any) -> float:
    return CHECKS.number("timeout", value, float)


def to_backoff(value: Any) -> float:
    return CHECKS.number("backoff", value, float)


def to_max_wait(value: Any) -> float:
    return CHECKS.number("max_wait", value, float)


def to_count(value: Any) -> int:
    return CHECKS.number("max_retries", value, int)
