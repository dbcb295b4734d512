"""The gitea host on the fake Gitea: what Gitea adds to the contract (protection, tokens, retries, reuse)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabpromote_gitea import GiteaAuthenticationError, GiteaError, GiteaHost, GiteaSettingsError, parse_repo
from fake_gitea import FakeGitea
from gitea_testing import NAME, OWNER, TOKEN, TOKEN_ENV, make_host

from fabpromote.exceptions import ProtectedBranchError, PushRejectedError, StaleBranchError
from fabpromote.git import CommitStatus


def test_open_change_reuses_the_open_pull_request(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """A second open_change finds the pull request the first opened; its head is the branch's commit now."""
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    first = host.open_change(url, base="stage", head="dev", title="Promote dev", body="why")
    second = host.open_change(url, base="stage", head="dev", title="Promote dev", body="why")
    assert (first.number, second.number, second.head_sha) == (1, 1, dev)
    assert first.url.endswith(f"/{OWNER}/{NAME}/pulls/1")
    assert len(gitea.pulls(OWNER, NAME)) == 1


def test_merge_sends_the_expected_head(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """The merge names head_commit_id; a push to the head after the check is refused by Gitea (409)."""
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    gitea.commit(OWNER, NAME, "dev", {"late": "l\n"}, "late")
    with pytest.raises(StaleBranchError, match="dev"):
        host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    (sent,) = [body for method, path, body in gitea.requests if method == "POST" and path.endswith("/merge")]
    assert (sent["Do"], sent["head_commit_id"]) == ("merge", dev)
    assert gitea.branch_sha(OWNER, NAME, "stage") != dev


def test_merge_waits_for_the_rule(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """A protection rule's missing check or approval: not-mergeable with Gitea's reason, then merged."""
    assert host.protect(url, ["stage"]) == [f"{OWNER}/{NAME} stage: not protected"]
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    refused = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    assert (refused.status, refused.message) == (
        "not-mergeable",
        "pull request #1: Not all required status checks successful",
    )
    host.set_commit_status(url, dev, CommitStatus(context="fabpromote/guard", state="success"))
    assert host.merge(url, change, expected_head_sha=dev, message="x").message.endswith(
        "Does not have enough approvals"
    )
    gitea.approve(OWNER, NAME, change.number)
    merged = host.merge(url, change, expected_head_sha=dev, message="Promote dev\n\nFrom dev.")
    assert merged.status == "merged"
    assert gitea.branch_sha(OWNER, NAME, "stage") == merged.sha
    assert host.log(url, "stage", limit=1)[0].message == "Promote dev\n\nFrom dev.\n"


def test_merging_twice_is_merged_once(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """A merge sent again (a retry whose first try went through): Gitea's 405, read back as merged."""
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    first = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    again = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    assert (first.status, again.status, again.sha) == ("merged", "merged", first.sha)
    assert [path for method, path, _ in gitea.requests if method == "POST"].count(
        f"/repos/{OWNER}/{NAME}/pulls/1/merge"
    ) == 2
    assert host.log(url, "stage", limit=1)[0].parents == (gitea.branch_sha(OWNER, NAME, "master"), dev)


def test_while_gitea_checks(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """Gitea says "not mergeable" while it checks for conflicts: unknown (None) when git finds none, then merged."""
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    gitea.checking = True
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    assert change.mergeable is None
    refused = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    assert (refused.status, refused.message) == (
        "not-mergeable",
        "pull request #1: Gitea is still checking it; try again",
    )
    gitea.checking = False
    assert host.open_change(url, base="stage", head="dev", title="Promote dev", body="").mergeable is True
    assert host.merge(url, change, expected_head_sha=dev, message="Promote dev").status == "merged"


def test_closed_pull_request(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """A pull request closed by someone meanwhile: Gitea's 404, answered as not mergeable, saying why."""
    dev = gitea.commit(OWNER, NAME, "dev", {"a": "a\n"}, "a")
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    gitea.pulls(OWNER, NAME)[0].state = "closed"
    refused = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    assert (refused.status, refused.message) == ("not-mergeable", "pull request #1 was closed without merging")


def test_conflicts_are_named(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """Gitea's "Please try again later" for a conflicted pull request comes back as the conflicting paths."""
    gitea.commit(OWNER, NAME, "stage", {"README.md": "stage\n"}, "stage")
    dev = gitea.commit(OWNER, NAME, "dev", {"README.md": "dev\n"}, "dev")
    change = host.open_change(url, base="stage", head="dev", title="Promote dev", body="")
    assert change.mergeable is False
    refused = host.merge(url, change, expected_head_sha=dev, message="Promote dev")
    assert (refused.status, refused.message) == ("not-mergeable", "pull request #1: conflicts in README.md")


def test_protect_creates_then_finds_nothing(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """check_only reports and changes nothing; protect creates the rules; then there is nothing to report."""
    wanted = [f"{OWNER}/{NAME} prod: not protected", f"{OWNER}/{NAME} stage: not protected"]
    assert host.protect(url, check_only=True) == wanted
    assert gitea.rule(OWNER, NAME, "prod") is None
    assert host.protect(url) == wanted
    rule = gitea.rule(OWNER, NAME, "prod")
    assert rule is not None
    assert (rule["enable_push"], rule["status_check_contexts"], rule["required_approvals"]) == (
        False,
        ["fabpromote/guard"],
        1,
    )
    assert host.protect(url, check_only=True) == []


def test_protect_tightens_and_keeps_a_teams_rule(gitea: FakeGitea, tmp_path: Path, url: str) -> None:
    """A rule with other checks and more approvals keeps them; what is missing is added by editing it."""
    host = make_host(gitea, tmp_path, required_approvals="2", strict="true")
    client = host.client(url)
    rule = {"rule_name": "prod", "enable_status_check": True, "status_check_contexts": ["ci"], "required_approvals": 3}
    client.request("POST", f"/repos/{OWNER}/{NAME}/branch_protections", json=rule, expect=(201,))
    assert host.protect(url, ["prod"]) == [
        f"{OWNER}/{NAME} prod: status checks fabpromote/guard not required",
        f"{OWNER}/{NAME} prod: outdated pull requests may be merged (block_on_outdated_branch is off)",
    ]
    fixed = gitea.rule(OWNER, NAME, "prod")
    assert fixed is not None
    assert (fixed["status_check_contexts"], fixed["required_approvals"], fixed["block_on_outdated_branch"]) == (
        ["ci", "fabpromote/guard"],
        3,
        True,
    )


def test_protect_needs_an_administrator(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """Gitea keeps protection rules to repository administrators: the error says so, and names the variable."""
    gitea.admin = False
    with pytest.raises(GiteaError, match=f"administrator in \\${TOKEN_ENV}") as refused:
        host.protect(url, ["prod"], check_only=True)
    assert refused.value.status == 403
    assert gitea.rule(OWNER, NAME, "prod") is None


def test_protected_branches(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """The host refuses a purpose the branch does not take; Gitea refuses a push its rule forbids."""
    prod = host.read_branch(url, "prod")
    with pytest.raises(ProtectedBranchError):
        host.commit_files(url, "prod", {"a": b"a\n"}, "direct", expected=prod, purpose="publish")
    assert not [r for r in gitea.requests if r[0] != "GET"]
    unguarded = GiteaHost.from_settings("gitea", sources=host._sources, api_url=gitea.api_url, token_env=TOKEN_ENV)
    host.protect(url, ["prod"])
    with pytest.raises(PushRejectedError, match="Not allowed to push to protected branch prod"):
        unguarded.commit_files(url, "prod", {"a": b"a\n"}, "direct", expected=prod, purpose="publish")
    assert gitea.branch_sha(OWNER, NAME, "prod") == prod


def test_token_in_header_never_in_errors(
    gitea: FakeGitea, host: GiteaHost, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gitea's ``Authorization: token``; a refused or missing token names its variable, never the token."""
    assert (
        host.client(url).request("GET", f"/repos/{OWNER}/{NAME}").request.headers["Authorization"] == f"token {TOKEN}"
    )
    monkeypatch.setenv(TOKEN_ENV, TOKEN[::-1])
    with pytest.raises(GiteaAuthenticationError, match=TOKEN_ENV) as refused:
        host.protection(url, "prod")
    assert TOKEN[::-1] not in str(refused.value)
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(GiteaAuthenticationError, match=f"set \\${TOKEN_ENV}"):
        host.protection(url, "prod")


def test_failures_are_retried(gitea: FakeGitea, host: GiteaHost, url: str) -> None:
    """502s from a proxy in front of Gitea are tried again (RetryPolicy), then the answer is used."""
    gitea.fail_next(2, 502)
    assert host.protection(url, "prod") is None
    assert [path for _, path, _ in gitea.requests[:3]] == [f"/repos/{OWNER}/{NAME}/branch_protections/prod"] * 3


def test_urls_and_settings() -> None:
    """The API is below the web root (a path prefix too); plain HTTP only on loopback; bad settings named."""
    assert parse_repo("https://example.com/gitea/octo/app.git").api_url == "https://example.com/gitea/api/v1"
    assert parse_repo("git@codeberg.org:octo/app.git").api_url == "https://codeberg.org/api/v1"
    with pytest.raises(GiteaSettingsError, match="https"):
        parse_repo("http://git.example.com/octo/app.git")
    with pytest.raises(GiteaSettingsError, match="merge_method"):
        GiteaHost.from_settings("gitea", merge_method="octopus")
