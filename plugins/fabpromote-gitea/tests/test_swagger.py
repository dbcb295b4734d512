"""The fake's answers and the host's requests are checked against Gitea's swagger description, and the check can fail."""

from __future__ import annotations

from typing import Any

import gitea_swagger
import pytest
from fabpromote_gitea import GiteaHost
from fake_gitea import FakeGitea
from gitea_testing import NAME, OWNER

from fabpromote.git import CommitStatus


def test_operations_come_from_the_client(swagger: gitea_swagger.Swagger) -> None:
    """The operations the host uses are read out of the generated client, with their models."""
    merge = swagger.operation("POST", "/repos/o/r/pulls/7/merge")
    assert merge is not None
    assert (merge.name, merge.body) == ("repo_merge_pull_request", "MergePullRequestOption")
    assert {"200", "405", "409"} <= set(merge.answers)
    status = swagger.operation("GET", "/repos/o/r/commits/abc/status")
    assert status is not None
    assert status.answers["200"] == "CombinedStatus"
    assert swagger.operation("DELETE", "/repos/o/r/branches/fabpromote/rollback-prod-1") is not None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"number": "1"}, "number"),  # a string where Gitea sends an integer
        ({"state": "merged"}, "state"),  # not one of Gitea's states (open, closed)
        ({"number": 1, "mergeable_state": "clean"}, "mergeable_state: not a field of PullRequest"),  # GitHub's field
        ({"number": 1, "head": {"ref": "dev", "sha": "a" * 40, "repo": {"name": "app", "stars": 1}}}, "stars"),
    ],
)
def test_wrong_answers_are_caught(swagger: gitea_swagger.Swagger, answer: dict[str, Any], problem: str) -> None:
    """Wrong types, values outside an enum and unknown fields (at any depth) are violations."""
    problems = swagger.check_answer("GET", "/repos/o/r/pulls/1", 200, answer)
    assert problems
    assert problem in " ".join(problems)


def test_undocumented_status_is_caught(swagger: gitea_swagger.Swagger) -> None:
    """An answer status the operation does not document is a violation."""
    assert swagger.check_answer("POST", "/repos/o/r/pulls/1/merge", 200, None) == []
    assert swagger.check_answer("POST", "/repos/o/r/pulls/1/merge", 422, {"message": "x"})


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", "/repos/o/r/statuses/" + "a" * 40, {"state": "green", "context": "e2e"}, "state"),
        ("POST", "/repos/o/r/pulls/1/merge", {"head_commit_id": "a" * 40}, "do"),  # the merge style is required
        ("POST", "/repos/o/r/pulls", {"base": "prod", "head": "stage", "title": "t", "draft": True}, "draft"),
        ("PUT", "/repos/o/r/pulls/1/merge", {"Do": "merge"}, "no such operation"),  # GitHub's method
    ],
)
def test_wrong_requests_are_caught(
    swagger: gitea_swagger.Swagger, method: str, path: str, body: dict[str, Any], problem: str
) -> None:
    """Requests with bad values, missing required fields, unknown fields or to no operation are violations."""
    problems = swagger.check_request(method, path, body)
    assert problems
    assert problem in " ".join(problems)


def test_older_spellings_are_checked_under_their_new_names(swagger: gitea_swagger.Swagger) -> None:
    """``Do`` and ``MergeTitleField`` (older Gitea and Forgejo) are waived as spellings, not as values."""
    good = {"Do": "merge", "MergeTitleField": "t", "merge_title_field": "t", "head_commit_id": "a" * 40}
    assert swagger.check_request("POST", "/repos/o/r/pulls/1/merge", good) == []
    assert swagger.check_request("POST", "/repos/o/r/pulls/1/merge", {**good, "Do": "explode"})


def test_a_wrong_answer_of_the_fake_fails_the_test(
    gitea: FakeGitea, host: GiteaHost, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake that answers outside the description records violations (the fixture then fails the test)."""
    sha = gitea.branch_sha(OWNER, NAME, "master")
    assert sha is not None
    host.set_commit_status(url, sha, CommitStatus(context="e2e", state="success"))
    assert gitea.violations == []
    original = FakeGitea.create_status

    def github_shaped(self: FakeGitea, *args: Any, **kwargs: Any) -> Any:
        status, body, headers = original(self, *args, **kwargs)
        body["state"] = body.pop("status")  # GitHub's name for it; Gitea answers "status"
        return status, body, headers

    monkeypatch.setattr(FakeGitea, "create_status", github_shaped)
    host.set_commit_status(url, sha, CommitStatus(context="e2e", state="failure"))
    assert gitea.violations == ["repo_create_status 201: CommitStatus.state: not a field of CommitStatus"]
    gitea.violations.clear()  # seen: the fixture checks the rest
