"""Pull requests on the fake Azure DevOps: reused, completed at the expected commit, asynchronously, by each strategy."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_testing import NAME, PROJECT, make_host
from fabpromote_azure_devops import AzureDevOpsHost
from fake_azure import FakeAzureDevOps

from fabpromote.exceptions import ProtectedBranchError, StaleBranchError
from fabpromote.testing.clock import FakeClock


def _push(azure: FakeAzureDevOps, branch: str, files: dict[str, str], message: str) -> str:
    """Someone else's commit on ``branch``, made on the server."""
    return azure.state.commit(PROJECT, NAME, branch, files, message)


def test_open_change_reuses_the_active_pull_request(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """The second open_change finds the first one's pull request: one POST, the same number and web URL."""
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    first = host.open_change(url, base="stage", head="dev", title="Promote dev to stage", body="**why**")
    again = host.open_change(url, base="stage", head="dev", title="Promote dev to stage", body="**why**")
    assert (first.number, first.head_sha, first.mergeable) == (again.number, head, True)
    assert first.url == f"{url}/pullrequest/{first.number}"
    assert [r.method for r in azure.requests if r.path.endswith("/pullrequests")].count("POST") == 1
    (pull,) = azure.state.pulls
    assert (pull.title, pull.description, pull.source, pull.target) == (
        "Promote dev to stage",
        "**why**",
        "refs/heads/dev",
        "refs/heads/stage",
    )


def test_completion_waits_for_the_asynchronous_merge(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str, clock: FakeClock
) -> None:
    """PATCH status=completed names lastMergeSourceCommit; Azure answers "active" and the host polls until it is merged."""
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    stage = azure.state.repos[(PROJECT.lower(), NAME)]
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    result = host.merge(url, change, expected_head_sha=head, message="Promote dev to stage")
    assert (result.status, result.fast_forward) == ("merged", False)
    assert host.read_branch(url, "stage") == result.sha
    from fake_azure_git import git

    assert git(stage.path, "rev-list", "--parents", "-n", "1", str(result.sha)).split()[1:][1] == head
    assert git(stage.path, "log", "-1", "--format=%B", str(result.sha)) == "Promote dev to stage"
    (patch,) = [r for r in azure.requests if r.method == "PATCH"]
    assert patch.body["status"] == "completed"
    assert patch.body["lastMergeSourceCommit"] == {"commitId": head}
    assert patch.body["completionOptions"]["mergeStrategy"] == "noFastForward"
    assert patch.query["api-version"] == "7.1"
    assert clock.sleeps == [1.0]  # the PATCH's answer was the pull request before the merge


@pytest.mark.parametrize(("strategy", "parents"), [("squash", 1), ("rebase", 1), ("rebaseMerge", 2)])
def test_merge_strategies(azure: FakeAzureDevOps, tmp_path: Path, url: str, strategy: str, parents: int) -> None:
    """merge_strategy picks Azure's: squash and rebase leave one parent, rebaseMerge a merge of the rebased commits."""
    host = make_host(azure, tmp_path, merge_strategy=strategy.upper(), clock=FakeClock())
    _push(azure, "stage", {"hotfix.txt": "h\n"}, "hotfix")
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    result = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert result.status == "merged"
    info = host.log(url, "stage", limit=1)[0]
    assert len(info.parents) == parents
    assert host.read_file(url, "stage", "a.txt") == b"a\n"
    assert host.read_file(url, "stage", "hotfix.txt") == b"h\n"


def test_azure_refuses_a_source_that_moved_during_the_merge(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str
) -> None:
    """dev moves between the host's check and the PATCH: Azure refuses lastMergeSourceCommit, the host says stale."""
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    stage = host.read_branch(url, "stage")
    late: list[str] = []

    def move_dev(method: str, path: str) -> None:
        if method == "PATCH" and not late:
            late.append(_push(azure, "dev", {"late.txt": "l\n"}, "late"))

    azure.before = move_dev
    with pytest.raises(StaleBranchError) as caught:
        host.merge(url, change, expected_head_sha=head, message="Promote")
    assert (caught.value.expected, caught.value.actual) == (head, late[0])
    assert host.read_branch(url, "stage") == stage
    assert [r.status for r in azure.requests if r.method == "PATCH"] == [409]


def test_merge_checks_the_branch_policy_first(azure: FakeAzureDevOps, tmp_path: Path, url: str) -> None:
    """A target that does not accept promotions: ProtectedBranchError, nothing asked of Azure."""
    host = make_host(azure, tmp_path, protected={"stage": ("publish",)})
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    asked = len(azure.requests)
    with pytest.raises(ProtectedBranchError):
        host.merge(url, change, expected_head_sha=head, message="Promote")
    assert len(azure.requests) == asked


def test_a_completed_pull_request_is_merged_once(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """merge again after it went through (a retried command): the same result, no second PATCH."""
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    first = host.merge(url, change, expected_head_sha=head, message="Promote")
    again = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert (again.status, again.sha) == ("merged", first.sha)
    assert len([r for r in azure.requests if r.method == "PATCH"]) == 1


def test_rollback_is_a_pull_request(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """revert_to pushes fabpromote/rollback-<branch>-<sha> with the target's tree and opens its pull request."""
    good = host.read_branch(url, "stage")
    assert good is not None
    bad = _push(azure, "stage", {"README.md": "broken\n"}, "bad")
    change = host.revert_to(url, "stage", good, expected=bad, message="Roll back stage")
    assert change is not None
    assert change.head == f"fabpromote/rollback-stage-{good[:12]}"
    assert host.read_file(url, change.head, "README.md") == b"# app\n"
    assert host.log(url, change.head, limit=1)[0].parents == (bad,)
    assert host.revert_to(url, "stage", good, expected=bad, message="Roll back stage") == change
    assert host.revert_to(url, "stage", bad, expected=bad, message="Roll back") is None


def test_a_rollback_branch_of_an_earlier_head_is_made_again(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str
) -> None:
    """The branch moved since an earlier rollback attempt: its rollback branch is deleted (compare-and-swap) and rebuilt."""
    good = host.read_branch(url, "stage")
    assert good is not None
    first_bad = _push(azure, "stage", {"README.md": "broken\n"}, "bad")
    first = host.revert_to(url, "stage", good, expected=first_bad, message="Roll back stage")
    assert first is not None
    second_bad = _push(azure, "stage", {"other.txt": "o\n"}, "more")
    second = host.revert_to(url, "stage", good, expected=second_bad, message="Roll back stage")
    assert second is not None
    assert (second.head, second.number) == (first.head, first.number)  # the same pull request, its source rebuilt
    assert host.log(url, second.head, limit=1)[0].parents == (second_bad,)
    assert host.read_file(url, second.head, "other.txt") is None
    (deleted,) = [r for r in azure.requests if r.path.endswith("/refs")]
    assert deleted.body == [
        {"name": f"refs/heads/{first.head}", "oldObjectId": first.head_sha, "newObjectId": "0" * 40}
    ]


def test_an_abandoned_pull_request_is_not_mergeable(azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str) -> None:
    """Someone abandoned it in the web UI: not-mergeable, saying so; nothing is completed."""
    head = _push(azure, "dev", {"a.txt": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    azure.state.pull(change.number).status = "abandoned"
    result = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert (result.status, result.message) == ("not-mergeable", f"pull request #{change.number} was abandoned")
    assert not [r for r in azure.requests if r.method == "PATCH"]


def test_a_conflict_is_not_mergeable_with_azures_reason(
    azure: FakeAzureDevOps, host: AzureDevOpsHost, url: str
) -> None:
    """mergeStatus conflicts: open_change says not mergeable, merge answers with Azure's message and sends no PATCH."""
    _push(azure, "stage", {"README.md": "stage\n"}, "stage")
    head = _push(azure, "dev", {"README.md": "dev\n"}, "dev")
    change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
    assert change.mergeable is False
    result = host.merge(url, change, expected_head_sha=head, message="Promote")
    assert result.status == "not-mergeable"
    assert result.message == f"pull request #{change.number}: The merge of the source into the target has conflicts."
    assert not [r for r in azure.requests if r.method == "PATCH"]
