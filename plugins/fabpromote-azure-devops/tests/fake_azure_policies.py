"""Branch policies of the fake Azure DevOps: their configurations, their evaluations on a pull request.

A policy binds the refs of its ``scope``; an enabled, blocking one makes the
branch refuse pushes (the ``fake-policy-refs`` list the pre-receive hook
reads) and holds a pull request's completion until it is approved: the
minimum reviewers by votes of 5 or more, a status policy by the latest
status of its genre and name posted to the pull request (since the source
branch last moved, when ``invalidateOnSourceUpdate``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fake_azure_common import ApiError, listing, now
from fake_azure_git import rev

if TYPE_CHECKING:
    from fake_azure_state import Pull

__all__ = ["MINIMUM_REVIEWERS", "POLICY_NAMES", "STATUS", "Policies"]

MINIMUM_REVIEWERS = "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"
STATUS = "cbdc66da-9728-4af8-aada-9a5a32e4a226"
POLICY_NAMES = {MINIMUM_REVIEWERS: "Minimum number of reviewers", STATUS: "Status"}


class Policies:
    """The policy handlers of :class:`fake_azure_state.State` (a mixin: the state holds ``policies``)."""

    # Branch policies

    #: Policies per page of a list; past it, Azure gives the next page's ``x-ms-continuationtoken``.
    policy_page = 100

    def list_policies(self, *, query: Any, body: Any, org: str, project: str) -> tuple[int, Any, dict[str, str]]:
        kind = query.get("policyType")
        items = [
            p for p in self.policies.values() if p["project"] == project and (kind is None or p["type"]["id"] == kind)
        ]
        start = int(query.get("continuationToken") or 0)
        end = start + min(int(query.get("$top") or self.policy_page), self.policy_page)
        more = {"x-ms-continuationtoken": str(end)} if end < len(items) else {}
        return 200, listing([self._policy_json(p) for p in items[start:end]]), more

    def create_policy(self, *, query: Any, body: Any, org: str, project: str) -> tuple[int, Any]:
        config_id = next(self._ids)
        self.policies[config_id] = {"project": project, "id": config_id, "revision": 1, "createdDate": now()}
        return 200, self._store_policy(config_id, body)

    def update_policy(self, *, query: Any, body: Any, org: str, project: str, config: str) -> tuple[int, Any]:
        if int(config) not in self.policies:
            raise ApiError(
                404,
                f"The policy configuration {config} does not exist.",
                "PolicyConfigurationNotFoundException",
            )
        self.policies[int(config)]["revision"] += 1
        return 200, self._store_policy(int(config), body)

    def _store_policy(self, config_id: int, body: dict[str, Any]) -> dict[str, Any]:
        kind = str((body.get("type") or {}).get("id") or "")
        if kind not in POLICY_NAMES:
            raise ApiError(400, f"The fake knows no policy type {kind!r}.")
        self.policies[config_id].update(
            isEnabled=bool(body.get("isEnabled")),
            isBlocking=bool(body.get("isBlocking")),
            type={"id": kind},
            settings=dict(body.get("settings") or {}),
        )
        self._write_policy_refs()
        return self._policy_json(self.policies[config_id])

    def list_evaluations(self, *, query: Any, body: Any, org: str, project: str) -> tuple[int, Any]:
        artifact = query.get("artifactId", "")
        pull = next((p for p in self.pulls if artifact.endswith(f"/{p.id}") and p.repo.project_id in artifact), None)
        if pull is None:
            raise ApiError(400, f"The requested artifact {artifact!r} is not a pull request.")
        return 200, listing([self._evaluation_json(pull, config, state) for config, state in self._evaluate(pull)])

    def _evaluate(self, pull: Pull) -> list[tuple[dict[str, Any], str]]:
        """Each enabled policy binding the pull request's target, and its evaluation's status."""
        found = []
        for config in self.policies.values():
            if not config["isEnabled"] or not _binds(config, pull.repo.id, pull.target):
                continue
            settings = config["settings"]
            if config["type"]["id"] == MINIMUM_REVIEWERS:
                approvals = sum(1 for vote in pull.votes.values() if vote >= 5)
                found.append(
                    (config, "approved" if approvals >= int(settings.get("minimumApproverCount") or 0) else "queued")
                )
            else:
                found.append((config, self._status_policy(pull, settings)))
        return found

    def _status_policy(self, pull: Pull, settings: dict[str, Any]) -> str:
        head = rev(pull.repo.path, pull.source)
        key = (settings.get("statusGenre") or "", settings.get("statusName") or "")
        posted = [
            s
            for s in pull.statuses
            if (s["context"].get("genre") or "", s["context"]["name"]) == key
            and (not settings.get("invalidateOnSourceUpdate") or s["_source"] == head)
        ]
        state = posted[-1]["state"] if posted else "pending"
        return {"succeeded": "approved", "failed": "rejected", "error": "rejected"}.get(state, "queued")

    def _blocking(self, pull: Pull) -> list[str]:
        return [c["type"]["id"] for c, state in self._evaluate(pull) if c["isBlocking"] and state != "approved"]

    def _write_policy_refs(self) -> None:
        for repo in self.repos.values():
            refs = sorted(
                {
                    scope["refName"]
                    for c in self.policies.values()
                    if c["isEnabled"] and c["isBlocking"]
                    for scope in c["settings"].get("scope") or ()
                    if scope.get("repositoryId") in (None, repo.id) and scope.get("refName")
                }
            )
            (repo.path / "fake-policy-refs").write_text("".join(f"{ref}\n" for ref in refs))

    def _policy_json(self, config: dict[str, Any]) -> dict[str, Any]:
        kind = config["type"]["id"]
        url = f"{self.web()}/{config['project']}/_apis/policy/configurations/{config['id']}"
        return {
            "createdBy": self._identity(),
            "createdDate": config["createdDate"],
            "isEnabled": config["isEnabled"],
            "isBlocking": config["isBlocking"],
            "isDeleted": False,
            "settings": config["settings"],
            "isEnterpriseManaged": False,
            "_links": {"self": {"href": url}, "policyType": {"href": f"{self.web()}/_apis/policy/types/{kind}"}},
            "revision": config["revision"],
            "id": config["id"],
            "url": url,
            "type": {"id": kind, "url": f"{self.web()}/_apis/policy/types/{kind}", "displayName": POLICY_NAMES[kind]},
        }

    def _evaluation_json(self, pull: Pull, config: dict[str, Any], state: str) -> dict[str, Any]:
        return {
            "configuration": self._policy_json(config),
            "artifactId": f"vstfs:///CodeReview/CodeReviewId/{pull.repo.project_id}/{pull.id}",
            "evaluationId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pull.id}/{config['id']}")),
            "startedDate": pull.created,
            "status": state,
            **({"completedDate": now()} if state in ("approved", "rejected") else {}),
        }


def _binds(config: dict[str, Any], repository_id: str, ref: str) -> bool:
    for scope in config["settings"].get("scope") or ():
        if scope.get("repositoryId") not in (None, repository_id):
            continue
        name = scope.get("refName")
        if name is None or (
            name == ref if str(scope.get("matchKind", "exact")).lower() == "exact" else ref.startswith(name)
        ):
            return True
    return False
