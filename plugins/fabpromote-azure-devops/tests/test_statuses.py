"""Commit statuses on Azure DevOps: contexts as genre/name, Azure's six states as fabpromote's four."""

from __future__ import annotations

from datetime import timezone

import pytest
import requests
from azure_testing import NAME, TOKEN
from fabpromote_azure_devops import AzureDevOpsHost, AzureDevOpsSettingsError
from fake_azure import FakeAzureDevOps

from fabpromote.git import CommitStatus


def _post(azure: FakeAzureDevOps, sha: str, body: dict[str, object]) -> None:
    """A status another service posts (a pipeline, Flux), checked by the fake like the host's."""
    url = f"{azure.org_url}/Fab%20Project/_apis/git/repositories/{NAME}/commits/{sha}/statuses"
    answer = requests.post(url, params={"api-version": "7.1"}, json=body, auth=("", TOKEN), timeout=10)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("azure_state", "state"),
    [
        ("succeeded", "success"),
        ("failed", "failure"),
        ("pending", "pending"),
        ("notSet", "pending"),
        ("error", "error"),
        ("notApplicable", "error"),
    ],
)
def test_azure_states_read_as_ours(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, azure_state: str, state: str
) -> None:
    """Every state Azure has reads as one of the four; notApplicable is never a success."""
    sha = host.read_branch(url, "dev")
    assert sha is not None
    _post(azure, sha, {"state": azure_state, "context": {"genre": "pipelines", "name": "e2e"}, "description": "d"})
    (found,) = host.commit_statuses(url, sha)
    assert (found.context, found.state, found.description) == ("pipelines/e2e", state, "d")
    assert found.updated_at is not None
    assert found.updated_at.tzinfo == timezone.utc


def test_written_states_and_contexts(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """Ours are written as Azure's, the context split at its last slash, the latest per context read back."""
    sha = host.read_branch(url, "dev")
    assert sha is not None
    for context, state in (("e2e", "pending"), ("kustomization/apps/1a2b", "failure"), ("e2e", "success")):
        host.set_commit_status(url, sha, CommitStatus(context=context, state=state, description="x"))
    posted = [(r.body["context"], r.body["state"]) for r in azure.requests if r.method == "POST"]
    assert posted == [
        ({"name": "e2e"}, "pending"),
        ({"genre": "kustomization/apps", "name": "1a2b"}, "failed"),
        ({"name": "e2e"}, "succeeded"),
    ]
    assert [(s.context, s.state) for s in host.commit_statuses(url, sha)] == [
        ("e2e", "success"),
        ("kustomization/apps/1a2b", "failure"),
    ]
    (read,) = [r for r in azure.requests if r.method == "GET" and r.path.endswith("/statuses")]
    assert read.query == {"latestOnly": "true", "api-version": "7.1"}


def test_a_status_needs_a_full_sha(host: AzureDevOpsHost, url: str) -> None:
    """Azure keeps statuses of commits, named by their full SHA: an abbreviation is refused before any request."""
    with pytest.raises(AzureDevOpsSettingsError, match="full 40-hex"):
        host.set_commit_status(url, "abc1234", CommitStatus(context="e2e", state="success"))
