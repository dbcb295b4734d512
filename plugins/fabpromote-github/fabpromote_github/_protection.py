"""Branch protection: what fabpromote wants of an environment branch, and how far GitHub's differs.

A branch matches the policy when it is protected at least as strictly: extra
required checks, more required reviews or other rules a team added are kept,
never reported as drift, and never removed when the protection is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["GUARD_CONTEXT", "ProtectionPolicy"]

#: The commit status context of ``fabpromote guard``.
GUARD_CONTEXT = "fabpromote/guard"

#: Protection rules GitHub answers as ``{"enabled": bool}`` and takes back as booleans.
_TOGGLES = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)


def _contexts(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(dict.fromkeys(context.strip() for context in value if context.strip()))


@attrs.frozen(kw_only=True)
class ProtectionPolicy:
    """The protection fabpromote wants on a branch that only promotions may change.

    Attributes:
        contexts: Commit status contexts that must succeed before merging.
        strict: Require the head branch to be up to date with the base.
        required_reviews: Approving reviews needed to merge (0: none).
        enforce_admins: Apply the rules to administrators too.
    """

    contexts: tuple[str, ...] = attrs.field(default=(GUARD_CONTEXT,), converter=_contexts)
    strict: bool = False
    required_reviews: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    enforce_admins: bool = True

    def differences(self, current: Mapping[str, Any] | None) -> list[str]:
        """How ``current`` (GitHub's answer to GET protection; None: unprotected) falls short."""
        if current is None:
            return ["not protected"]
        found: list[str] = []
        checks = current.get("required_status_checks")
        present = set(_current_contexts(checks))
        missing = [context for context in self.contexts if context not in present]
        if missing:
            found.append(f"status checks {', '.join(missing)} not required")
        if self.strict and not (checks or {}).get("strict"):
            found.append("branches need not be up to date before merging")
        reviews = current.get("required_pull_request_reviews")
        if self.required_reviews:
            count = int((reviews or {}).get("required_approving_review_count") or 0) if reviews is not None else None
            if count is None:
                found.append(f"pull request reviews not required (want {self.required_reviews} approving)")
            elif count < self.required_reviews:
                found.append(
                    f"{count} approving review{'' if count == 1 else 's'} required (want {self.required_reviews})"
                )
        if self.enforce_admins and not _enabled(current.get("enforce_admins")):
            found.append("administrators are exempt (enforce_admins is off)")
        return found

    def payload(self, current: Mapping[str, Any] | None) -> dict[str, Any]:
        """The body of PUT protection: ``current`` kept, made at least as strict as the policy."""
        current = current or {}
        checks_now = current.get("required_status_checks")
        checks = _current_checks(checks_now)
        known = {check["context"] for check in checks}
        checks += [{"context": context} for context in self.contexts if context not in known]
        strict = bool((checks_now or {}).get("strict")) or self.strict
        reviews_now = current.get("required_pull_request_reviews")
        body: dict[str, Any] = {
            "required_status_checks": {"strict": strict, "checks": checks} if checks or strict else None,
            "enforce_admins": self.enforce_admins or _enabled(current.get("enforce_admins")),
            "required_pull_request_reviews": _reviews(reviews_now, self.required_reviews),
            "restrictions": _actors(current.get("restrictions")),
        }
        for key in _TOGGLES:
            if isinstance(current.get(key), Mapping):
                body[key] = _enabled(current[key])
        return body


def _enabled(value: Any) -> bool:
    return bool(value.get("enabled")) if isinstance(value, Mapping) else bool(value)


def _current_checks(checks: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not checks:
        return []
    found: dict[str, dict[str, Any]] = {}
    for check in checks.get("checks") or ():
        entry: dict[str, Any] = {"context": check["context"]}
        if check.get("app_id") is not None:
            entry["app_id"] = check["app_id"]
        found.setdefault(check["context"], entry)
    for context in checks.get("contexts") or ():
        found.setdefault(context, {"context": context})
    return list(found.values())


def _current_contexts(checks: Mapping[str, Any] | None) -> list[str]:
    return [check["context"] for check in _current_checks(checks)]


def _reviews(current: Mapping[str, Any] | None, wanted: int) -> dict[str, Any] | None:
    if current is None and not wanted:
        return None
    current = current or {}
    reviews: dict[str, Any] = {
        "dismiss_stale_reviews": bool(current.get("dismiss_stale_reviews")),
        "require_code_owner_reviews": bool(current.get("require_code_owner_reviews")),
        "required_approving_review_count": max(int(current.get("required_approving_review_count") or 0), wanted),
        "require_last_push_approval": bool(current.get("require_last_push_approval")),
    }
    for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
        actors = _actors(current.get(key))
        if actors is not None:
            reviews[key] = actors
    return reviews


def _actors(value: Mapping[str, Any] | None) -> dict[str, list[str]] | None:
    """GET's users/teams/apps objects as PUT's lists of logins and slugs."""
    if not value:
        return None
    return {
        "users": [user["login"] for user in value.get("users") or ()],
        "teams": [team["slug"] for team in value.get("teams") or ()],
        "apps": [app["slug"] for app in value.get("apps") or ()],
    }
