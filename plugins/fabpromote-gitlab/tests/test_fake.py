"""The fake GitLab itself follows the documented API: paths, errors, pages, and git behind it."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab
    from gitlab_description import Description

PROJECT = "group%2Fsub%2Fapp"


@pytest.fixture(name="api")
def _api(gitlab: FakeGitLab, repo: str) -> Any:
    session = requests.Session()
    session.headers["PRIVATE-TOKEN"] = gitlab.token

    def call(method: str, path: str, **kwargs: Any) -> requests.Response:
        return session.request(method, f"{gitlab.api_url}/{path}", timeout=10, **kwargs)

    yield call
    session.close()


class TestFakeAPI:
    def test_token_required(self, gitlab: FakeGitLab, repo: str) -> None:
        """Without PRIVATE-TOKEN every endpoint answers 401 with GitLab's body."""
        response = requests.get(f"{gitlab.api_url}/projects/{PROJECT}", timeout=10)
        assert (response.status_code, response.json()) == (401, {"message": "401 Unauthorized"})

    def test_project_by_encoded_path_or_id(self, api: Any) -> None:
        """A project is found by its URL-encoded path or numeric id; a bare path is no route."""
        project = api("GET", f"projects/{PROJECT}").json()
        assert project["path_with_namespace"] == "group/sub/app"
        assert api("GET", f"projects/{project['id']}").json()["id"] == project["id"]
        assert api("GET", "projects/group/sub/app").json() == {"error": "404 Not Found"}
        missing = api("GET", "projects/group%2Fnope")
        assert (missing.status_code, missing.json()) == (404, {"message": "404 Project Not Found"})

    def test_wrong_method(self, api: Any) -> None:
        """A known path with a method it does not take answers 405."""
        assert api("DELETE", f"projects/{PROJECT}/merge_requests").status_code == 405

    def test_offset_pagination_headers(self, api: Any) -> None:
        """Lists carry X-Page, X-Next-Page, X-Total(-Pages) and Link headers."""
        for number in range(3):
            api("POST", f"projects/{PROJECT}/protected_branches", json={"name": f"b{number}"})
        response = api("GET", f"projects/{PROJECT}/protected_branches", params={"per_page": 2})
        headers = response.headers
        assert (headers["X-Page"], headers["X-Next-Page"], headers["X-Total"], headers["X-Total-Pages"]) == (
            "1",
            "2",
            "3",
            "2",
        )
        assert set(response.links) == {"next", "first", "last"}
        assert requests.get(response.links["next"]["url"], timeout=10).status_code == 401  # no credentials in links
        page_two = api("GET", f"projects/{PROJECT}/protected_branches", params={"per_page": 2, "page": 2})
        assert [rule["name"] for rule in page_two.json()] == ["b2"]
        assert page_two.headers["X-Next-Page"] == ""

    def test_commits_have_no_totals(self, api: Any) -> None:
        """As on GitLab, listing commits gives no X-Total (too costly to count)."""
        response = api("GET", f"projects/{PROJECT}/repository/commits", params={"ref_name": "dev"})
        assert "X-Total" not in response.headers
        assert response.headers["X-Next-Page"] == ""
        (commit,) = response.json()
        assert {"id", "short_id", "parent_ids", "message", "title", "author_name", "committed_date"} <= set(commit)
        assert api("GET", f"projects/{PROJECT}/repository/commits", params={"ref_name": "nope"}).json() == []

    def test_compare_fields(self, api: Any, gitlab: FakeGitLab) -> None:
        """compare answers commit, commits, diffs, compare_timeout, compare_same_ref."""
        gitlab.project("group/sub/app").commit("dev", {"hld/config/common.yaml": "image: v2\n"}, "bump")
        body = api("GET", f"projects/{PROJECT}/repository/compare", params={"from": "stage", "to": "dev"}).json()
        assert [c["title"] for c in body["commits"]] == ["bump"]
        assert body["commit"]["title"] == "bump"
        (diff,) = body["diffs"]
        assert (diff["old_path"], diff["new_path"], diff["new_file"]) == (
            "hld/config/common.yaml",
            "hld/config/common.yaml",
            False,
        )
        assert "+image: v2" in diff["diff"]
        assert (body["compare_same_ref"], body["compare_timeout"]) == (False, False)
        missing = api("GET", f"projects/{PROJECT}/repository/compare", params={"from": "stage", "to": "nope"})
        assert (missing.status_code, missing.json()) == (404, {"message": "404 Ref Not Found"})

    def test_merge_request_fields(self, api: Any, gitlab: FakeGitLab) -> None:
        """Merge requests carry iid, web_url, sha, merge_status and detailed_merge_status; duplicates are 409."""
        gitlab.project("group/sub/app").commit("dev", {"a": "1"})
        payload = {"source_branch": "dev", "target_branch": "stage", "title": "t"}
        created = api("POST", f"projects/{PROJECT}/merge_requests", json=payload)
        assert created.status_code == 201
        mr = created.json()
        assert (mr["iid"], mr["state"], mr["detailed_merge_status"], mr["merge_status"]) == (
            1,
            "opened",
            "mergeable",
            "can_be_merged",
        )
        assert mr["references"]["full"] == "group/sub/app!1"
        again = api("POST", f"projects/{PROJECT}/merge_requests", json=payload)
        assert again.status_code == 409
        assert again.json()["message"] == ["Another open merge request already exists for this source branch: !1"]

    def test_merge_errors(self, api: Any, gitlab: FakeGitLab) -> None:
        """Merging: 409 on a SHA mismatch, 405 when not mergeable or not open."""
        project = gitlab.project("group/sub/app")
        head = project.commit("dev", {"a": "1"})
        api(
            "POST",
            f"projects/{PROJECT}/merge_requests",
            json={"source_branch": "dev", "target_branch": "stage", "title": "t"},
        )
        wrong = api("PUT", f"projects/{PROJECT}/merge_requests/1/merge", json={"sha": "f" * 40})
        assert (wrong.status_code, wrong.json()) == (
            409,
            {"message": f"SHA does not match HEAD of source branch: {head}"},
        )
        merged = api("PUT", f"projects/{PROJECT}/merge_requests/1/merge", json={"sha": head})
        assert merged.status_code == 200
        assert merged.json()["state"] == "merged"
        again = api("PUT", f"projects/{PROJECT}/merge_requests/1/merge")
        assert (again.status_code, again.json()) == (405, {"message": "405 Method Not Allowed"})

    def test_protected_branch_conflict(self, api: Any) -> None:
        """Protecting a branch twice answers 409 with GitLab's message."""
        assert api("POST", f"projects/{PROJECT}/protected_branches", json={"name": "prod"}).status_code == 201
        again = api("POST", f"projects/{PROJECT}/protected_branches", json={"name": "prod"})
        assert (again.status_code, again.json()) == (409, {"message": "Protected branch 'prod' already exists"})
        assert api("DELETE", f"projects/{PROJECT}/protected_branches/prod").status_code == 204
        assert api("GET", f"projects/{PROJECT}/protected_branches/prod").status_code == 404


class TestFakeGit:
    def test_served_with_the_token(self, gitlab: FakeGitLab, repo: str, tmp_path: Any) -> None:
        """The repositories are served over smart HTTP to whoever has the token."""
        with_token = repo.replace("http://", f"http://oauth2:{gitlab.token}@")
        refs = subprocess.run(["git", "ls-remote", with_token], capture_output=True, text=True, check=True).stdout
        assert "refs/heads/prod" in refs
        refused = subprocess.run(
            ["git", "-c", "credential.helper=", "ls-remote", repo],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""},
        )
        assert refused.returncode != 0


class TestFakeStatuses:
    def test_statuses_are_validated_and_kept(self, api: Any, gitlab: FakeGitLab) -> None:
        """An unknown state is GitLab's 400, a SHA of no commit 404; the list gives the latest per name."""
        sha = gitlab.project("group/sub/app").branch("dev")
        for state in ("error", "skipped"):  # skipped: only GitLab 17.x and later take it
            bad = api("POST", f"projects/{PROJECT}/statuses/{sha}", json={"state": state, "name": "e2e"})
            assert (bad.status_code, bad.json()) == (400, {"error": "state does not have a valid value"})
        assert [problem.split(": ", 1)[1] for problem in gitlab.take_violations()] == [
            f"request parameter 'state': {state!r} does not match "
            '{"enum": ["pending", "running", "success", "failed", "canceled"]}'
            for state in ("error", "skipped")
        ]
        unknown = api("POST", f"projects/{PROJECT}/statuses/{'e' * 40}", json={"state": "success"})
        assert (unknown.status_code, unknown.json()) == (404, {"message": "404 Commit Not Found"})
        for state in ("running", "failed"):
            made = api("POST", f"projects/{PROJECT}/statuses/{sha}", json={"state": state, "name": "e2e"})
            assert made.status_code == 201
        listed = api("GET", f"projects/{PROJECT}/repository/commits/{sha}/statuses").json()
        assert [(s["name"], s["status"], s["sha"]) for s in listed] == [("e2e", "failed", sha)]
        assert listed[0]["finished_at"] is not None


class TestFakeValidation:
    """The fake checks every request and answer against the description (gitlab_description.py)."""

    def test_wrong_request_caught(self, api: Any, gitlab: FakeGitLab) -> None:
        """A parameter GitLab does not know, a value of the wrong type, a required one missing: each named."""
        response = api(
            "POST",
            f"projects/{PROJECT}/merge_requests",
            json={"source_branch": "dev", "target_branch": "prod", "titel": "typo", "squash": "yes"},
        )
        assert response.status_code == 400
        path = f"POST /api/v4/projects/{PROJECT.replace('%2F', '/')}/merge_requests"
        assert gitlab.take_violations() == [
            f"{path}: request parameter 'titel' is not in the description",
            f"{path}: request parameter 'squash': 'yes' does not match {{\"type\": \"boolean\"}}",
            f"{path}: required request parameter 'title' is missing",
        ]

    def test_query_strings_read_as_gitlab_reads_them(self, api: Any, gitlab: FakeGitLab) -> None:
        """A query carries text: "true" is a boolean, "2" a number; "sometimes" is neither."""
        api("GET", f"projects/{PROJECT}/repository/compare", params={"from": "dev", "to": "prod", "straight": "true"})
        assert gitlab.take_violations() == []
        api(
            "GET",
            f"projects/{PROJECT}/repository/compare",
            params={"from": "dev", "to": "prod", "straight": "sometimes"},
        )
        assert [problem.split(": ", 1)[1] for problem in gitlab.take_violations()] == [
            "request parameter 'straight': 'sometimes' does not match {\"type\": \"boolean\"}"
        ]

    def test_wrong_answer_caught(self, api: Any, gitlab: FakeGitLab) -> None:
        """An answer missing a required field, or with a field of the wrong type, is named."""
        project = gitlab.project("group/sub/app")
        protected = api("POST", f"projects/{PROJECT}/protected_branches", json={"name": "prod"}).json()
        assert gitlab.take_violations() == []
        project.protected["prod"] = {**protected, "allow_force_push": "no", "id": None}
        del project.protected["prod"]["code_owner_approval_required"]
        api("GET", f"projects/{PROJECT}/protected_branches/prod")
        assert [problem.split(": ", 1)[1] for problem in gitlab.take_violations()] == [
            "answer (body): 'code_owner_approval_required' is a required property",
            "answer allow_force_push: 'no' is not of type 'boolean'",
            "answer id: None is not of type 'number'",
        ]

    def test_every_answer_field_type_checked(self, api: Any, gitlab: FakeGitLab, repo: str) -> None:
        """Nested objects are checked too: a merge request's references need every form of the reference."""
        del repo
        api(
            "POST",
            f"projects/{PROJECT}/merge_requests",
            json={"source_branch": "dev", "target_branch": "prod", "title": "t"},
        )
        assert gitlab.take_violations() == []
        gitlab.project("group/sub/app").merge_requests[1]["references"] = {"short": "!1"}
        api("GET", f"projects/{PROJECT}/merge_requests/1")
        assert sorted(problem.split(": ", 1)[1] for problem in gitlab.take_violations()) == [
            "answer references: 'full' is a required property",
            "answer references: 'relative' is a required property",
        ]

    def test_every_waiver_corrects_the_description(self, description: Description) -> None:
        """Each waiver names a field the description has, and changes it (none is left over)."""
        from gitlab_description import WAIVERS, Description, Waiver

        for waiver in WAIVERS:
            Description(description.gitbeaker, waivers=(waiver,))  # raises if the field is not there
            rest = tuple(other for other in WAIVERS if other != waiver)
            assert Description(description.gitbeaker, waivers=rest)._defs != description._defs, waiver
        with pytest.raises(ValueError, match="no such field"):
            Description(description.gitbeaker, waivers=(Waiver("ProjectSchema", "nope", "optional", "-"),))


def test_waivers_listed_in_the_docs() -> None:
    """docs/githosts.md shows every waiver: its type, field, correction and reason."""
    from gitlab_description import ROOT, WAIVERS

    text = (ROOT / "docs" / "githosts.md").read_text()
    section = text.split("## Fake GitLab validation", 1)[1]
    for waiver in WAIVERS:
        row = next((line for line in section.splitlines() if f"| `{waiver.field}` |" in line), "")
        assert f"`{waiver.schema}`" in row, waiver
        assert f"| {waiver.change} | {waiver.reason} |" in row, waiver
