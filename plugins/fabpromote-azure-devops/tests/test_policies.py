"""Branch policies: `protect` sets Azure's minimum reviewers and status policies; the fake honours them."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from azure_testing import NAME, PROJECT, TOKEN, make_host
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.exceptions import PushRejectedError

POLICY_PATH = "/contoso/Fab Project/_apis/policy/configurations"


def _post_pull_status(azure: FakeAzureDevOps, number: int, genre: str, name: str, state: str) -> None:
    """What the CI job running ``fabpromote guard`` does: a status on the pull request (checked by the fake)."""
    url = f"{azure.org_url}/Fab%20Project/_apis/git/repositories/{NAME}/pullrequests/{number}/statuses"
    body = {"state": state, "description": "fabpromote guard", "context": {"genre": genre, "name": name}}
    answer = requests.post(url, params={"api-version": "7.1"}, json=body, auth=("", TOKEN), timeout=10)
    assert answer.status_code == 200, answer.text


def test_protect_reports_then_creates_the_policies(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """check_only reports each missing policy and writes nothing; then they are created, and all is well."""
    expected = [
        "Fab Project/app prod: no minimum reviewers policy (want 1 approving)",
        "Fab Project/app prod: status fabpromote/guard not required",
        "Fab Project/app stage: no minimum reviewers policy (want 1 approving)",
        "Fab Project/app stage: status fabpromote/guard not required",
    ]
    assert host.protect(url, check_only=True) == expected
    assert azure.state.policies == {}
    assert host.protect(url) == expected
    repository_id = azure.state.repos[(PROJECT.lower(), NAME)].id
    created = sorted(
        (c["settings"]["scope"][0]["refName"], c["type"]["id"], c["isBlocking"], c["isEnabled"])
        for c in azure.state.policies.values()
    )
    assert [(ref, kind[:8]) for ref, kind, *_ in created] == [
        ("refs/heads/prod", "cbdc66da"),
        ("refs/heads/prod", "fa4e907d"),
        ("refs/heads/stage", "cbdc66da"),
        ("refs/heads/stage", "fa4e907d"),
    ]
    assert all(blocking and enabled for *_, blocking, enabled in created)
    assert {c["settings"]["scope"][0]["repositoryId"] for c in azure.state.policies.values()} == {repository_id}
    assert host.protect(url, check_only=True) == []
    assert [r.method for r in azure.requests if r.path == POLICY_PATH].count("POST") == 4


def test_protect_raises_a_weaker_policy_and_keeps_the_rest(azure: FakeAzureDevOps, tmp_path: Path, url: str) -> None:
    """A disabled reviewers policy asking for fewer approvals is raised (PUT), its other settings kept."""
    host = make_host(azure, tmp_path, required_reviews="2", required_statuses="")
    repository_id = azure.state.repos[(PROJECT.lower(), NAME)].id
    scope = [{"repositoryId": repository_id, "refName": "refs/heads/prod", "matchKind": "Exact"}]
    weak = {"minimumApproverCount": 1, "creatorVoteCounts": True, "resetOnSourcePush": True, "scope": scope}
    azure.state.create_policy(
        query={},
        body={
            "isEnabled": False,
            "isBlocking": True,
            "type": {"id": "fa4e907d-c16b-4a4c-9dfa-4906e5d171dd"},
            "settings": weak,
        },
        org="contoso",
        project=PROJECT,
    )
    assert host.protect(url, ["prod"]) == ["Fab Project/app prod: no minimum reviewers policy (want 2 approving)"]
    (config,) = azure.state.policies.values()
    assert (
        config["isEnabled"],
        config["settings"]["minimumApproverCount"],
        config["settings"]["creatorVoteCounts"],
    ) == (
        True,
        2,
        True,
    )
    assert config["revision"] == 2
    assert [r.method for r in azure.requests if r.path.startswith(POLICY_PATH)] == ["GET", "PUT"]


def test_policies_refuse_pushes_and_hold_the_pull_request(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, tmp_path: Path
) -> None:
    """With policies on prod: a push is refused (TF402455); the merge waits for a review and the guard's status."""
    host.protect(url)
    prod = host.read_branch(url, "prod")
    unprotected = make_host(azure, tmp_path, protected={})
    with pytest.raises(PushRejectedError, match="TF402455"):
        unprotected.commit_files(url, "prod", {"x.txt": b"x\n"}, "direct", expected=prod, purpose="publish")
    head = azure.state.commit(PROJECT, NAME, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="prod", head="dev", title="Promote dev to prod", body="")
    result = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert result.status == "not-mergeable"
    assert result.message == (
        f"pull request #{change.number}: policies not met: Minimum number of reviewers (queued), "
        "Status fabpromote/guard (queued)"
    )
    azure.state.approve(change.number)
    _post_pull_status(azure, change.number, "fabpromote", "guard", "failed")
    blocked = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert blocked.message.endswith("policies not met: Status fabpromote/guard (rejected)")
    _post_pull_status(azure, change.number, "fabpromote", "guard", "succeeded")
    merged = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert merged.status == "merged"
    assert host.read_branch(url, "prod") == merged.sha
    assert not [r for r in azure.requests if r.method == "PATCH" and r.status != 200]


def test_protect_reads_every_page_of_policies(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """Azure pages policy lists with x-ms-continuationtoken: a policy on the last page counts."""
    host.protect(url, ["stage", "prod"])
    azure.state.policy_page = 3
    assert host.protect(url, ["stage", "prod"], check_only=True) == []
    tokens = [r.query.get("continuationToken") for r in azure.requests if r.path == POLICY_PATH and r.method == "GET"]
    assert tokens[-2:] == [None, "3"]
