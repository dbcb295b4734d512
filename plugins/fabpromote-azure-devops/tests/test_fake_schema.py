"""The fake's checks against the azure-devops SDK's models can fail: a wrong answer and a wrong request are caught."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from azure_schema import ENUMS, model, operation, violations
from azure_testing import NAME, TOKEN
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import ROUTES, FakeAzureDevOps

from fabpromote.git import CommitStatus


def test_every_route_is_an_operation_of_the_sdk() -> None:
    """Each route's verb is its SDK operation's; every model and enum checked is one of the SDK's."""
    for verb, _, _, name in ROUTES:
        sdk = operation(name)
        assert sdk.method == verb, name
        for found in (sdk.body, sdk.response):
            if found:
                assert model(found.strip("[]"))._attribute_map
    assert operation("update_pull_request") == ("PATCH", frozenset(), "GitPullRequest", "GitPullRequest")
    assert "latestOnly" in operation("get_statuses").query
    for name, field in ENUMS:
        assert field in {entry["key"] for entry in model(name)._attribute_map.values()}, (name, field)


def test_an_unknown_query_parameter_is_caught(azure: FakeAzureDevOps, url: str) -> None:
    """searchCriteria.sourceBranch is no parameter of get_pull_requests: recorded (Azure would ignore it)."""
    api = f"{azure.org_url}/Fab%20Project/_apis/git/repositories/{NAME}/pullrequests"
    params = {"api-version": "7.1", "searchCriteria.sourceBranch": "refs/heads/dev"}
    assert requests.get(api, params=params, auth=("", TOKEN), timeout=10).status_code == 200
    found, azure.violations = azure.violations, []
    assert found == [
        "GET /contoso/Fab Project/_apis/git/repositories/app/pullrequests request: "
        "get_pull_requests has no query parameter 'searchCriteria.sourceBranch'"
    ]


def test_a_wrong_response_is_caught(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """A status answered with a field GitStatus lacks, a number as a string and an unknown state: three violations."""

    def wrong(method: str, path: str, body: Any) -> Any:
        if method == "POST" and path.endswith("/statuses"):
            return {**body, "sha": "abc", "id": str(body["id"]), "state": "green"}
        return body

    azure.tamper = wrong
    sha = host.read_branch(url, "dev")
    assert sha is not None
    host.set_commit_status(url, sha, CommitStatus(context="e2e", state="success"))
    found, azure.violations = azure.violations, []  # caught: the fixture would fail the test on them
    assert [line.split(" response")[1] for line in found] == [
        ".sha: GitStatus has no field 'sha'",
        ".id: expected int, got str '1'",
        ".state: 'green' is not one of GitStatus.state's values "
        "(error, failed, notApplicable, notSet, pending, succeeded)",
    ]


def test_a_wrong_request_is_refused(azure: FakeAzureDevOps, url: str) -> None:
    """A pull request body with a field GitPullRequest lacks, and a title that is not a string: 400, recorded."""
    api = f"{azure.org_url}/Fab%20Project/_apis/git/repositories/{NAME}/pullrequests"
    body = {"sourceRefName": "refs/heads/dev", "targetRefName": "refs/heads/stage", "title": 7, "head": "dev"}
    answer = requests.post(api, params={"api-version": "7.1"}, json=body, auth=("", TOKEN), timeout=10)
    assert answer.status_code == 400
    assert answer.json()["typeKey"] == "InvalidArgumentValueException"
    found, azure.violations = azure.violations, []
    assert [line.split(" request")[1] for line in found] == [
        ".head: GitPullRequest has no field 'head'",
        ".title: expected str, got int 7",
    ]
    assert azure.state.pulls == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"_links": {"self": "u"}}, "$._links.self: expected {'href': str}, got 'u'"),
        ({"creationDate": "yesterday"}, "$.creationDate: expected iso-8601, got str 'yesterday'"),
        ({"reviewers": {"vote": 10}}, "$.reviewers: expected a list of IdentityRefWithVote, got dict"),
        ({"reviewers": [{"vote": True}]}, "$.reviewers[0].vote: expected int, got bool True"),
    ],
)
def test_the_checker_reads_the_models(value: dict[str, Any], problem: str) -> None:
    """Links, dates, lists and nested models of GitPullRequest, as the SDK types them."""
    assert violations("GitPullRequest", value) == [problem]
