"""Branch protection: what fabpromote wants of an environment branch, and how far Gitea's rule differs.

Gitea keeps one protection rule per branch (``/repos/{owner}/{repo}/branch_protections``).
A branch matches the policy when its rule is at least as strict: extra
required checks, more approvals or other settings a team added are kept,
never reported as drift, and never removed when the rule is fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["GUARD_CONTEXT", "ProtectionPolicy"]

#: The commit status context of ``fabpromote guard``.
GUARD_CONTEXT = "fabpromote/guard"


def _contexts(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(dict.fromkeys(context.strip() for context in value if context.strip()))


@attrs.frozen(kw_only=True)
class ProtectionPolicy:
    """The protection fabpromote wants on a branch that only promotions may change.

    Attributes:
        contexts: Commit status contexts that must succeed before merging.
        required_approvals: Approving reviews needed to merge (0: none).
        strict: Refuse merging a pull request whose head is behind its base
            (Gitea's ``block_on_outdated_branch``).
    """

    contexts: tuple[str, ...] = attrs.field(default=(GUARD_CONTEXT,), converter=_contexts)
    required_approvals: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    strict: bool = False

    def differences(self, current: Mapping[str, Any] | None) -> list[str]:
        """How ``current`` (Gitea's rule of the branch; None: none) falls short."""
        if current is None:
            return ["not protected"]
        found: list[str] = []
        if current.get("enable_push") and not current.get("enable_push_whitelist"):
            found.append("anyone with write access may push to it directly")
        present = set(current.get("status_check_contexts") or ()) if current.get("enable_status_check") else set()
        missing = [context for context in self.contexts if context not in present]
        if missing:
            found.append(f"status checks {', '.join(missing)} not required")
        approvals = int(current.get("required_approvals") or 0)
        if approvals < self.required_approvals:
            found.append(
                f"{approvals} approval{'' if approvals == 1 else 's'} required (want {self.required_approvals})"
            )
        if self.strict and not current.get("block_on_outdated_branch"):
            found.append("outdated pull requests may be merged (block_on_outdated_branch is off)")
        return found

    def payload(self, current: Mapping[str, Any] | None) -> dict[str, Any]:
        """The fields to create or edit the rule with: ``current`` kept, made at least as strict.

        Direct pushes stay allowed only to the users, teams or deploy keys
        ``current`` lists already: promotions land by merging pull requests,
        which Gitea lets anyone with write access do.
        """
        current = current or {}
        contexts = list(current.get("status_check_contexts") or ()) if current.get("enable_status_check") else []
        contexts += [context for context in self.contexts if context not in contexts]
        body: dict[str, Any] = {
            "enable_push": bool(current.get("enable_push_whitelist")),
            "enable_status_check": bool(contexts),
            "status_check_contexts": contexts,
            "required_approvals": max(int(current.get("required_approvals") or 0), self.required_approvals),
            "block_on_outdated_branch": self.strict or bool(current.get("block_on_outdated_branch")),
        }
        return body
