"""The fake GitHub checks every exchange against GitHub's OpenAPI description, and the checks can fail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import github_openapi
import pytest
import requests
from fake_github import FakeGitHub
from github_openapi import WAIVERS, OpenAPI, Violation
from github_testing import NAME, OWNER, TOKEN

ROOT = Path(__file__).resolve().parents[3]
PULLS = f"/repos/{OWNER}/{NAME}/pulls"


def _api(github: FakeGitHub, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return requests.request(method, f"{github.api_url}{path}", headers=headers, timeout=10, **kwargs)


def _where(violations: list[Violation]) -> set[tuple[str, str, str, str]]:
    return {(violation.method, violation.template, violation.part, violation.pointer) for violation in violations}


def _open_pull(github: FakeGitHub) -> int:
    github.commit(OWNER, NAME, "dev", {"hld/config/common.yaml": "config:\n  image: app:2.0.0\n"}, "bump")
    made = _api(github, "POST", PULLS, json={"title": "Promote", "head": "dev", "base": "stage"})
    assert made.status_code == 201, made.text
    return int(made.json()["number"])


class TestWrongRequests:
    def test_a_body_missing_a_required_field(self, github: FakeGitHub) -> None:
        """A pull request without ``head`` breaks the request body's ``required``."""
        answer = _api(github, "POST", PULLS, json={"title": "Promote", "base": "stage"})
        assert answer.status_code == 422
        (violation,) = github.take_violations()
        assert (violation.method, violation.template, violation.part, violation.pointer) == (
            "POST",
            "/repos/{owner}/{repo}/pulls",
            "request body",
            "",
        )
        assert violation.message == "'head' is a required property"

    def test_a_field_of_the_wrong_type(self, github: FakeGitHub) -> None:
        """A merge's ``sha`` must be a string: 123 is reported at ``/sha``."""
        number = _open_pull(github)
        answer = _api(github, "PUT", f"{PULLS}/{number}/merge", json={"sha": 123})
        assert answer.status_code == 409
        (violation,) = github.take_violations()
        assert (violation.part, violation.pointer, violation.message) == (
            "request body",
            "/sha",
            "123 is not of type 'string'",
        )

    def test_a_path_parameter_and_a_query_parameter(self, github: FakeGitHub) -> None:
        """``pull_number`` must be an integer; a query parameter the operation does not take is reported."""
        _api(github, "GET", f"{PULLS}/latest")
        _api(github, "GET", PULLS, params={"status": "open"})
        assert _where(github.take_violations()) == {
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "path", "pull_number"),
            ("GET", "/repos/{owner}/{repo}/pulls", "query", "status"),
        }

    def test_an_operation_github_does_not_have(self, github: FakeGitHub) -> None:
        _api(github, "PATCH", f"/repos/{OWNER}/{NAME}/branches/dev")
        (violation,) = github.take_violations()
        assert (violation.path, violation.part) == (f"/repos/{OWNER}/{NAME}/branches/dev", "path")
        assert "no operation" in violation.message


class TestWrongResponses:
    def test_a_pull_request_without_head(self, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
        """An answer missing a required field is caught, wherever the fake builds it."""
        number = _open_pull(github)
        shaped = FakeGitHub._pull_json

        def headless(self: FakeGitHub, *args: Any, **kwargs: Any) -> dict[str, Any]:
            data = shaped(self, *args, **kwargs)
            del data["head"]
            return data

        monkeypatch.setattr(FakeGitHub, "_pull_json", headless)
        assert _api(github, "GET", f"{PULLS}/{number}").status_code == 200
        assert _api(github, "GET", PULLS).status_code == 200
        violations = github.take_violations()
        assert _where(violations) == {
            ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "response body", ""),
            ("GET", "/repos/{owner}/{repo}/pulls", "response body", "/0"),
        }
        assert {violation.message for violation in violations} == {"'head' is a required property"}

    def test_a_wrong_type_deep_inside(self, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
        """A base repository's owner whose ``id`` is a string is reported at its JSON pointer."""
        number = _open_pull(github)
        shaped = FakeGitHub._repo_json

        def bad_owner(self: FakeGitHub, *args: Any) -> dict[str, Any]:
            data = shaped(self, *args)
            data["owner"] = {**data["owner"], "id": "2"}
            return data

        monkeypatch.setattr(FakeGitHub, "_repo_json", bad_owner)
        _api(github, "GET", f"{PULLS}/{number}")
        pointers = {violation.pointer for violation in github.take_violations()}
        assert pointers == {"/head/repo/owner/id", "/base/repo/owner/id"}

    def test_a_status_the_operation_does_not_document(self, github: FakeGitHub) -> None:
        """A 418 to a branch lookup is neither documented nor waived."""
        github.fail_next(status=418, message="I'm a teapot", path="/branches/")
        _api(github, "GET", f"/repos/{OWNER}/{NAME}/branches/dev")
        (violation,) = github.take_violations()
        assert (violation.part, violation.pointer, violation.message) == (
            "status",
            "418",
            "not an answer the operation documents",
        )


def test_the_answers_the_plugin_suites_do_not_reach(github: FakeGitHub) -> None:
    """Reviews, merged checks, directories, protection with restrictions and its removal answer whole too.

    (The fixture fails this test at teardown on any violation.)
    """
    number = _open_pull(github)
    review = _api(github, "POST", f"{PULLS}/{number}/reviews", json={"event": "APPROVE", "body": "ok"})
    assert (review.status_code, review.json()["state"]) == (200, "APPROVED")
    assert _api(github, "GET", f"{PULLS}/{number}/merge").status_code == 404
    assert _api(github, "PUT", f"{PULLS}/{number}/merge", json={"merge_method": "squash"}).status_code == 200
    assert _api(github, "GET", f"{PULLS}/{number}/merge").status_code == 204
    listing = _api(github, "GET", f"/repos/{OWNER}/{NAME}/contents/hld", params={"ref": "stage"})
    assert {entry["type"] for entry in listing.json()} == {"dir", "file"}
    protection = f"/repos/{OWNER}/{NAME}/branches/prod/protection"
    body = {
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
        "enforce_admins": True,
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "restrictions": {"users": ["fabpromote-bot"], "teams": ["release"], "apps": ["fabpromote"]},
    }
    assert _api(github, "PUT", protection, json=body).status_code == 200
    restrictions = _api(github, "GET", protection).json()["restrictions"]
    assert [team["slug"] for team in restrictions["teams"]] == ["release"]
    assert _api(github, "DELETE", protection).status_code == 204
    assert _api(github, "DELETE", protection).status_code == 404


def test_violations_fail_the_test_at_teardown(tmp_path: Path, openapi: OpenAPI) -> None:
    """Leaving the fake with violations raises, naming method, path, operation, part and pointer."""
    github = FakeGitHub(tmp_path / "gh", token=TOKEN, openapi=openapi)
    github.start()
    try:
        github.create_repo(OWNER, NAME, {"a": "1\n"}, branches=("dev", "stage"))
        _api(github, "POST", PULLS, json={"title": 7, "head": "dev", "base": "stage"})
    except BaseException:
        github.stop()
        raise
    with pytest.raises(AssertionError) as caught:
        github.__exit__(None, None, None)  # what leaving ``with FakeGitHub(...)`` does
    report = str(caught.value)
    assert report.startswith("1 request/response violation(s) of GitHub's OpenAPI description:")
    assert f"POST {PULLS} (/repos/{{owner}}/{{repo}}/pulls): request body /title: 7 is not of type 'string'" in report


class TestTheDescription:
    def test_a_waived_status_still_has_its_body_checked(self, openapi: OpenAPI) -> None:
        """A 502 is waived for every operation, but its body must be GitHub's basic error."""
        path = f"/repos/{OWNER}/{NAME}/branches/dev"
        assert openapi.check("GET", path, [], None, 502, {"message": "Server Error"}) == []
        (violation,) = openapi.check("GET", path, [], None, 502, {"message": 502})
        assert (violation.part, violation.pointer) == ("response body", "/message")

    def test_a_waiver_covers_only_its_own_message(self, openapi: OpenAPI) -> None:
        """Protection without ``contexts`` is waived; without ``strict`` it is not."""
        path = f"/repos/{OWNER}/{NAME}/branches/stage/protection"
        body = {
            "required_status_checks": {"strict": True, "checks": [{"context": "ci"}]},
            "enforce_admins": True,
            "required_pull_request_reviews": None,
            "restrictions": None,
        }
        assert openapi.check("PUT", path, [], body, 404, {"message": "Not Found"}) == []
        body["required_status_checks"] = {"checks": [{"context": "ci"}]}
        violations = openapi.check("PUT", path, [], body, 404, {"message": "Not Found"})
        assert [(v.pointer, v.message) for v in violations] == [
            ("/required_status_checks", "'strict' is a required property")
        ]

    def test_branch_names_with_slashes(self, openapi: OpenAPI) -> None:
        """A branch (``x-multi-segment``) may hold slashes; the owner and repository may not."""
        found = openapi.operation("GET", "/repos/octo/app/branches/release/v1/protection")
        assert found is not None
        operation, params = found
        assert (operation.template, params["branch"]) == (
            "/repos/{owner}/{repo}/branches/{branch}/protection",
            "release/v1",
        )
        assert openapi.operation("GET", "/repos/octo/team/app") is None

    def test_the_docs_list_the_waivers_and_the_pinned_version(self) -> None:
        """docs/githosts.md shows WAIVERS as they are, and the version scripts/tools pins."""
        docs = (ROOT / "docs" / "githosts.md").read_text()
        section = docs.split("## Fake GitHub validation", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
        shown = [[cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
        expected = [
            [
                "every operation" if waiver.template == "*" else f"`{waiver.method} {waiver.template}`",
                f"{waiver.part} `{waiver.pointer}`: {waiver.message}",
                waiver.reason,
            ]
            for waiver in WAIVERS
        ]
        assert shown == expected
        pinned = json.loads((ROOT / "scripts" / "tools" / "package.json").read_text())["dependencies"]
        assert f"`{github_openapi.PACKAGE}`, pinned to **{pinned[github_openapi.PACKAGE]}**" in " ".join(
            section.split()
        )

    def test_the_installed_description_is_the_pinned_one(self, openapi: OpenAPI) -> None:
        pinned = json.loads((ROOT / "scripts" / "tools" / "package.json").read_text())["dependencies"]
        assert openapi.document["info"]["version"] == pinned[github_openapi.PACKAGE]
