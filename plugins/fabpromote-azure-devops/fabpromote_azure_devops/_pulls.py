"""Pull requests on Azure Repos: find or open one, and complete it at the expected source commit.

Completing is asynchronous on Azure DevOps: ``PATCH pullrequests/{id}`` with
``status: completed`` is answered with the pull request as it was (still
``active``, its completion queued), and the merge lands a moment later. So
the host polls the pull request until it is ``completed`` (merged), or its
``mergeStatus`` says why it cannot be (conflicts, a policy, a failure), for
at most ``completion_wait`` seconds.

The request names ``lastMergeSourceCommit``: Azure completes the pull
request only if the source branch is still at that commit (the
compare-and-swap of a merge).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fabpromote.git import ChangeRequest, MergeResult
from fabpromote_azure_devops._client import AzureClient, error_message
from fabpromote_azure_devops._errors import AzureDevOpsError
from fabpromote_azure_devops._urls import RepoRef

__all__ = ["MERGE_STRATEGIES", "TITLE_LENGTH", "blocking_policies", "change_of", "complete", "find_or_open", "get"]

#: Azure's merge strategies (``GitPullRequestMergeStrategy``).
MERGE_STRATEGIES = ("noFastForward", "squash", "rebase", "rebaseMerge")
#: Azure refuses longer pull request titles.
TITLE_LENGTH = 400
#: mergeStatus values that say the merge cannot be made.
FAILED = ("conflicts", "rejectedByPolicy", "failure")
POLL_INTERVAL = 1.0


def repo_path(ref: RepoRef, *parts: str) -> str:
    """``/PROJECT/_apis/git/repositories/REPO/part/...``; ``parts`` are quoted already."""
    base = f"/{quote(ref.project, safe='')}/_apis/git/repositories/{quote(ref.name, safe='')}"
    return "/".join([base, *parts])


def get(client: AzureClient, ref: RepoRef, number: int) -> dict[str, Any]:
    """The pull request ``number`` (``GitPullRequest``)."""
    data: dict[str, Any] = client.get(repo_path(ref, "pullrequests", str(number)))
    return data


def find_or_open(client: AzureClient, ref: RepoRef, *, base: str, head: str, title: str, body: str) -> dict[str, Any]:
    """The active pull request of ``head`` into ``base``, opened when there is none."""
    found = _find(client, ref, base=base, head=head)
    if found is not None:
        return found
    response = client.request(
        "POST",
        repo_path(ref, "pullrequests"),
        json={
            "sourceRefName": f"refs/heads/{head}",
            "targetRefName": f"refs/heads/{base}",
            "title": title[:TITLE_LENGTH],
            "description": body,
        },
        expect=(201, 409),
    )
    if response.status_code == 201:
        created: dict[str, Any] = response.json()
        return created
    # TF401179: another run opened it since we looked.
    found = _find(client, ref, base=base, head=head)
    if found is None:
        raise AzureDevOpsError(
            client.redact(
                f"{ref.full_name}: cannot open a pull request of {head} into {base}: {error_message(response)}"
            ),
            status=409,
        )
    return found


def _find(client: AzureClient, ref: RepoRef, *, base: str, head: str) -> dict[str, Any] | None:
    params = {
        "searchCriteria.sourceRefName": f"refs/heads/{head}",
        "searchCriteria.targetRefName": f"refs/heads/{base}",
        "searchCriteria.status": "active",
        "$top": 1,
    }
    items = client.request("GET", repo_path(ref, "pullrequests"), params=params).json().get("value") or []
    return dict(items[0]) if items else None


def change_of(ref: RepoRef, pull: Mapping[str, Any], *, head_sha: str) -> ChangeRequest:
    """The core's record of ``pull``; ``head_sha`` where the source branch is now."""
    status = str(pull.get("mergeStatus") or "")
    mergeable = True if status == "succeeded" else False if status in FAILED else None
    number = int(pull["pullRequestId"])
    return ChangeRequest(
        base=str(pull["targetRefName"]).removeprefix("refs/heads/"),
        head=str(pull["sourceRefName"]).removeprefix("refs/heads/"),
        head_sha=head_sha,
        number=number,
        url=f"{ref.git_url}/pullrequest/{number}",
        mergeable=mergeable,
    )


def blocking_policies(client: AzureClient, ref: RepoRef, pull: Mapping[str, Any]) -> list[str]:
    """The blocking policies of ``pull`` not yet approved, as ``name (status)``."""
    project = pull.get("repository", {}).get("project", {}).get("id") or ref.project
    artifact = f"vstfs:///CodeReview/CodeReviewId/{project}/{pull['pullRequestId']}"
    path = f"/{quote(ref.project, safe='')}/_apis/policy/evaluations"
    waiting = []
    for record in client.values(path, params={"artifactId": artifact}):
        configuration = record.get("configuration") or {}
        if not configuration.get("isBlocking") or record.get("status") in ("approved", "notApplicable"):
            continue
        kind = (configuration.get("type") or {}).get("displayName") or "a policy"
        settings = configuration.get("settings") or {}
        if settings.get("statusName"):
            genre = settings.get("statusGenre")
            kind = f"{kind} {genre}/{settings['statusName']}" if genre else f"{kind} {settings['statusName']}"
        waiting.append(f"{kind} ({record.get('status')})")
    return waiting


def complete(
    client: AzureClient,
    ref: RepoRef,
    pull: Mapping[str, Any],
    *,
    expected_head_sha: str,
    message: str,
    strategy: str,
    wait: float,
) -> MergeResult:
    """Complete ``pull`` at ``expected_head_sha`` and wait for the merge.

    Returns:
        The merge's result; ``not-mergeable`` with Azure's message when it
        refused to complete (the caller tells a source branch that moved,
        Azure's refusal of a stale ``lastMergeSourceCommit``, from the rest).
    """
    number = int(pull["pullRequestId"])
    response = client.request(
        "PATCH",
        repo_path(ref, "pullrequests", str(number)),
        json={
            "status": "completed",
            "lastMergeSourceCommit": {"commitId": expected_head_sha},
            "completionOptions": {
                "mergeStrategy": strategy,
                "mergeCommitMessage": message,
                "deleteSourceBranch": False,
                "transitionWorkItems": False,
            },
        },
        expect=(200, 400, 409),
    )
    if response.status_code != 200:
        reason = error_message(response)
        return MergeResult(status="not-mergeable", message=client.redact(f"pull request #{number}: {reason}"))
    return _await(client, ref, response.json(), expected_head_sha=expected_head_sha, wait=wait)


def _await(
    client: AzureClient, ref: RepoRef, pull: Mapping[str, Any], *, expected_head_sha: str, wait: float
) -> MergeResult:
    number = int(pull["pullRequestId"])
    deadline = client.clock.monotonic() + wait
    while True:
        result = outcome(client, pull, expected_head_sha=expected_head_sha)
        if result is not None:
            return result
        if client.clock.monotonic() >= deadline:
            raise AzureDevOpsError(
                f"{ref.full_name}: pull request #{number} was queued for completion but is still "
                f"{pull.get('status')} (merge status {pull.get('mergeStatus')}) after {wait:g} s; "
                "it may still complete: look at it before trying again"
            )
        client.clock.sleep(POLL_INTERVAL)
        pull = get(client, ref, number)


def outcome(client: AzureClient, pull: Mapping[str, Any], *, expected_head_sha: str) -> MergeResult | None:
    """What ``pull`` says of its completion: merged, not mergeable, or None while it is under way."""
    number = pull["pullRequestId"]
    status = pull.get("status")
    if status == "completed":
        sha = str((pull.get("lastMergeCommit") or {}).get("commitId") or "")
        return MergeResult(status="merged", sha=sha, fast_forward=sha == expected_head_sha)
    if status == "abandoned":
        return MergeResult(status="not-mergeable", message=f"pull request #{number} was abandoned")
    if pull.get("mergeStatus") in FAILED:
        reason = pull.get("mergeFailureMessage") or f"merge status {pull['mergeStatus']}"
        return MergeResult(status="not-mergeable", message=client.redact(f"pull request #{number}: {reason}"))
    return None
