"""Branch policies: what fabpromote wants of a branch that only promotions may change, as Azure policies.

Azure DevOps protects a branch with *policy configurations* scoped to a
repository and a ref. Any enabled, blocking policy on a branch makes Azure
refuse direct pushes to it (TF402455): it then changes only through pull
requests. What the policy here maps to:

- ``required_reviews`` -> the "Minimum number of reviewers" policy
  (``minimumApproverCount``; the author's own vote does not count);
- ``contexts`` (``fabpromote/guard``) -> one "Status" policy each (genre and
  name split as commit statuses are, reset when the source branch changes).
  Azure's status policy reads the statuses posted to the *pull request*, so
  the CI job that runs ``fabpromote guard`` posts its result there.

A branch matches when its policies are at least as strict: more reviewers,
other statuses, build or comment policies a team added are kept, never
reported, never removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from fabpromote_azure_devops._statuses import split_context

__all__ = ["GUARD_CONTEXT", "MINIMUM_REVIEWERS", "STATUS", "ProtectionPolicy", "applies_to"]

#: The status context of ``fabpromote guard``.
GUARD_CONTEXT = "fabpromote/guard"
#: Azure's policy type ids (the same in every organization).
MINIMUM_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
STATUS = "cbdc66da-9728-4af8-aada-9a5a32e4a226"


def _contexts(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    return tuple(dict.fromkeys(context.strip() for context in value if context.strip()))


def applies_to(config: Mapping[str, Any], repository_id: str, ref: str) -> bool:
    """Whether policy ``config`` binds ``ref`` of the repository: enabled, blocking, and scoped to it."""
    if config.get("isDeleted") or not config.get("isEnabled") or not config.get("isBlocking"):
        return False
    return any(_in_scope(scope, repository_id, ref) for scope in (config.get("settings") or {}).get("scope") or ())


def _in_scope(scope: Mapping[str, Any], repository_id: str, ref: str) -> bool:
    repo = scope.get("repositoryId")
    if repo is not None and str(repo).lower() != repository_id.lower():
        return False
    name = scope.get("refName")
    if name is None:  # every branch of the repository
        return True
    if str(scope.get("matchKind") or "exact").lower() == "prefix":
        return ref.startswith(str(name))
    return ref == str(name)


def _exact(config: Mapping[str, Any], repository_id: str, ref: str) -> bool:
    """Whether ``config`` is scoped to exactly this repository and ref (one fabpromote may edit)."""
    scopes = (config.get("settings") or {}).get("scope") or ()
    return not config.get("isDeleted") and any(
        str(scope.get("repositoryId") or "").lower() == repository_id.lower()
        and scope.get("refName") == ref
        and str(scope.get("matchKind") or "exact").lower() == "exact"
        for scope in scopes
    )


@attrs.frozen(kw_only=True)
class ProtectionPolicy:
    """The policies fabpromote wants on a branch that only promotions may change.

    Attributes:
        contexts: Statuses (``genre/name``) that must have succeeded on the pull request.
        required_reviews: Approvals needed (the "Minimum number of reviewers"; 0: no such policy).
    """

    contexts: tuple[str, ...] = attrs.field(default=(GUARD_CONTEXT,), converter=_contexts)
    required_reviews: int = attrs.field(default=1, validator=attrs.validators.ge(0))

    def differences(self, configs: Iterable[Mapping[str, Any]], repository_id: str, branch: str) -> list[str]:
        """How the policies binding ``branch`` fall short of this one."""
        ref = f"refs/heads/{branch}"
        binding = [config for config in configs if applies_to(config, repository_id, ref)]
        found: list[str] = []
        if self.required_reviews:
            counts = [int(c["settings"].get("minimumApproverCount") or 0) for c in _of(binding, MINIMUM_REVIEWERS)]
            if not counts:
                found.append(f"no minimum reviewers policy (want {self.required_reviews} approving)")
            elif max(counts) < self.required_reviews:
                found.append(f"{max(counts)} approving reviewer(s) required (want {self.required_reviews})")
        statuses = {_status_key(c["settings"]) for c in _of(binding, STATUS)}
        missing = [context for context in self.contexts if split_context(context) not in statuses]
        if missing:
            found.append(f"status {', '.join(missing)} not required")
        return found

    def changes(
        self, configs: Iterable[Mapping[str, Any]], repository_id: str, branch: str
    ) -> list[tuple[int | None, dict[str, Any]]]:
        """The policy configurations to write for ``branch``: ``(id to PUT, or None to POST, body)``.

        A policy of this exact scope is raised (enabled, blocking, at least
        as strict); a missing one is created.
        """
        ref = f"refs/heads/{branch}"
        own = [config for config in configs if _exact(config, repository_id, ref)]
        scope = [{"repositoryId": repository_id, "refName": ref, "matchKind": "Exact"}]
        writes: list[tuple[int | None, dict[str, Any]]] = []
        if self.required_reviews:
            settings = {
                "minimumApproverCount": self.required_reviews,
                "creatorVoteCounts": False,
                "allowDownvotes": False,
                "resetOnSourcePush": False,
                "scope": scope,
            }
            writes += _raise_or_add(_of(own, MINIMUM_REVIEWERS), MINIMUM_REVIEWERS, settings, _more_reviews)
        for context in self.contexts:
            genre, name = split_context(context)
            settings = {"statusGenre": genre, "statusName": name, "invalidateOnSourceUpdate": True, "scope": scope}
            mine = [c for c in _of(own, STATUS) if _status_key(c["settings"]) == (genre, name)]
            writes += _raise_or_add(mine, STATUS, settings, lambda current, wanted: {**wanted, **current})
        return writes


def _of(configs: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [config for config in configs if str((config.get("type") or {}).get("id") or "").lower() == kind]


def _status_key(settings: Mapping[str, Any]) -> tuple[str, str]:
    return str(settings.get("statusGenre") or ""), str(settings.get("statusName") or "")


def _more_reviews(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    count = max(int(current.get("minimumApproverCount") or 0), int(wanted["minimumApproverCount"]))
    return {**wanted, **current, "minimumApproverCount": count}


def _raise_or_add(
    existing: list[Mapping[str, Any]], kind: str, wanted: dict[str, Any], merge: Any
) -> list[tuple[int | None, dict[str, Any]]]:
    """PUT the first existing policy made enabled, blocking and at least ``wanted``; else POST a new one."""
    if not existing:
        return [(None, {"isEnabled": True, "isBlocking": True, "type": {"id": kind}, "settings": wanted})]
    current = existing[0]
    settings = merge(current.get("settings") or {}, wanted)
    if current.get("isEnabled") and current.get("isBlocking") and settings == current.get("settings"):
        return []  # already as wanted
    body = {"isEnabled": True, "isBlocking": True, "type": {"id": kind}, "settings": settings}
    return [(int(current["id"]), body)]
