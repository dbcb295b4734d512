"""The fake itself answers as GitHub's REST API documents: shapes, errors, pagination, auth."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import requests
from fake_github import FakeGitHub
from github_testing import NAME, OWNER, TOKEN


def _api(github: FakeGitHub, method: str, path: str, *, scheme: str = "Bearer", **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"{scheme} {TOKEN}"} if scheme else {}
    return requests.request(method, f"{github.api_url}{path}", headers=headers, timeout=10, **kwargs)


class TestFakeGitHub:
    def test_authentication(self, github: FakeGitHub) -> None:
        """No token is 401 "Requires authentication"; both Bearer and token schemes work."""
        missing = _api(github, "GET", f"/repos/{OWNER}/{NAME}", scheme="")
        assert missing.status_code == 401
        assert missing.json()["message"] == "Requires authentication"
        assert missing.json()["documentation_url"].startswith("https://docs.github.com/")
        assert _api(github, "GET", f"/repos/{OWNER}/{NAME}", scheme="token").status_code == 200
        assert _api(github, "GET", f"/repos/{OWNER}/{NAME}").json()["full_name"] == "octo/app"

    def test_error_bodies(self, github: FakeGitHub) -> None:
        """Errors carry message, documentation_url and status; validation errors list ``errors``."""
        missing = _api(github, "GET", f"/repos/{OWNER}/nope/branches/dev")
        assert (missing.status_code, missing.json()["message"], missing.json()["status"]) == (404, "Not Found", "404")
        branch = _api(github, "GET", f"/repos/{OWNER}/{NAME}/branches/nope")
        assert branch.json()["message"] == "Branch not found"
        invalid = _api(
            github, "POST", f"/repos/{OWNER}/{NAME}/pulls", json={"title": "t", "head": "nope", "base": "dev"}
        )
        assert invalid.status_code == 422
        assert invalid.json()["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]

    def test_rate_limit_headers(self, github: FakeGitHub) -> None:
        """Every answer tells the primary rate limit."""
        first = _api(github, "GET", f"/repos/{OWNER}/{NAME}")
        second = _api(github, "GET", f"/repos/{OWNER}/{NAME}")
        assert first.headers["X-RateLimit-Limit"] == "5000"
        assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1
        assert int(first.headers["X-RateLimit-Reset"]) > 0

    def test_pagination_links(self, github: FakeGitHub) -> None:
        """Lists are cut by per_page and page, with next/last and prev/first links."""
        for number in range(2):
            github.commit(OWNER, NAME, "dev", {"n": f"{number}\n"}, f"c{number}")
        first = _api(github, "GET", f"/repos/{OWNER}/{NAME}/commits", params={"sha": "dev", "per_page": 1})
        assert [commit["commit"]["message"] for commit in first.json()] == ["c1"]
        assert set(first.links) == {"next", "last"}
        assert "page=2" in first.links["next"]["url"]
        assert "per_page=1" in first.links["next"]["url"]
        last = requests.get(first.links["last"]["url"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        assert [commit["commit"]["message"] for commit in last.json()] == ["initial"]
        assert set(last.links) == {"prev", "first"}

    def test_merge_answers(self, github: FakeGitHub) -> None:
        """Merging answers 409 for a moved head, 405 for a conflict, 200 with the SHA when merged."""
        github.commit(OWNER, NAME, "dev", {"f": "dev\n"}, "dev")
        pull = _api(github, "POST", f"/repos/{OWNER}/{NAME}/pulls", json={"title": "t", "head": "dev", "base": "stage"})
        assert pull.status_code == 201
        number = pull.json()["number"]
        stale = _api(github, "PUT", f"/repos/{OWNER}/{NAME}/pulls/{number}/merge", json={"sha": "0" * 40})
        assert (stale.status_code, stale.json()["message"]) == (
            409,
            "Head branch was modified. Review and try the merge again.",
        )
        github.commit(OWNER, NAME, "stage", {"f": "stage\n"}, "stage")
        conflict = _api(github, "PUT", f"/repos/{OWNER}/{NAME}/pulls/{number}/merge", json={})
        assert (conflict.status_code, conflict.json()["message"]) == (405, "Pull Request is not mergeable")
        assert _api(github, "GET", f"/repos/{OWNER}/{NAME}/pulls/{number}").json()["mergeable_state"] == "dirty"

    def test_git_needs_the_token(self, github: FakeGitHub) -> None:
        """The repositories are served over smart HTTP to the same token only."""
        url = github.repo_url(OWNER, NAME)
        anonymous = subprocess.run(
            ["git", "-c", "credential.helper=", "ls-remote", url],
            capture_output=True,
            text=True,
            check=False,
            env={"GIT_TERMINAL_PROMPT": "0", "PATH": "/usr/bin:/bin:/usr/local/bin"},
        )
        assert anonymous.returncode != 0
        authenticated = url.replace("http://", f"http://x-access-token:{TOKEN}@")
        listed = subprocess.run(["git", "ls-remote", authenticated], capture_output=True, text=True, check=True)
        assert "refs/heads/prod" in listed.stdout

    @pytest.mark.parametrize("path", ["/rate_limit", f"/repos/{OWNER}/{NAME}/pulls?state=all"])
    def test_unpaginated_and_paginated_lists(self, github: FakeGitHub, path: str) -> None:
        """Other endpoints answer JSON too."""
        assert _api(github, "GET", path).status_code == 200


class TestFakeStatuses:
    def test_statuses_are_validated_and_kept(self, github: FakeGitHub) -> None:
        """An unknown state is GitHub's 422 validation error, a SHA of no commit 422 "No commit found";
        the combined status gives the latest per context with GitHub's fields."""
        sha = _api(github, "GET", f"/repos/{OWNER}/{NAME}/branches/dev").json()["commit"]["sha"]
        bad = _api(github, "POST", f"/repos/{OWNER}/{NAME}/statuses/{sha}", json={"state": "passed", "context": "e2e"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "state"
        # The state is outside what the description allows: the fake reports its own request.
        (violation,) = github.take_violations()
        assert (violation.part, violation.pointer) == ("request body", "/state")
        unknown = _api(github, "POST", f"/repos/{OWNER}/{NAME}/statuses/{'e' * 40}", json={"state": "success"})
        assert (unknown.status_code, unknown.json()["message"]) == (422, f"No commit found for SHA: {'e' * 40}")
        for state in ("pending", "success"):
            made = _api(
                github, "POST", f"/repos/{OWNER}/{NAME}/statuses/{sha}", json={"state": state, "context": "e2e"}
            )
            assert made.status_code == 201
        combined = _api(github, "GET", f"/repos/{OWNER}/{NAME}/commits/{sha}/status").json()
        assert (combined["state"], combined["sha"], combined["total_count"]) == ("success", sha, 1)
        (status,) = combined["statuses"]
        assert (status["context"], status["state"]) == ("e2e", "success")
        assert status["updated_at"].endswith("Z")
