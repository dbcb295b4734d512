"""Branch protection: configured, verified, drift reported and fixed without losing a team's own rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabpromote_github import GitHubError, GitHubHost, GitHubNotFoundError, ProtectionPolicy
from fake_github import FakeGitHub
from github_testing import NAME, OWNER, make_host


class TestProtect:
    def test_configure_then_verify(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Unprotected branches are reported and protected; a second check finds nothing."""
        assert host.protect(url, check_only=True) == ["octo/app prod: not protected", "octo/app stage: not protected"]
        assert github.protection_of(OWNER, NAME, "prod") is None
        assert host.protect(url) == ["octo/app prod: not protected", "octo/app stage: not protected"]
        assert host.protect(url, check_only=True) == []
        assert host.protect(url) == []
        assert len(github.api_requests("PUT", r"/protection$")) == 2

    def test_what_is_configured(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """The guard status check, one approving review and enforce_admins are required."""
        host.protect(url, ["prod"])
        stored = github.protection_of(OWNER, NAME, "prod")
        assert stored is not None
        assert [check["context"] for check in stored["checks"]] == ["fabpromote/guard"]
        assert stored["reviews"]["required_approving_review_count"] == 1
        assert stored["enforce_admins"] is True
        assert stored["restrictions"] is None
        protection = host.protection(url, "prod")
        assert protection is not None
        assert protection["required_status_checks"]["contexts"] == ["fabpromote/guard"]
        branch = github.api_requests("PUT")[0].body
        assert set(branch) >= {
            "required_status_checks",
            "enforce_admins",
            "required_pull_request_reviews",
            "restrictions",
        }

    def test_drift_reported_and_fixed(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Changes made by hand since are reported as drift, and fixed unless only checking."""
        host.protect(url)
        github.edit_protection(OWNER, NAME, "prod", enforce_admins=False, checks=[], reviews=None)
        github.unprotect(OWNER, NAME, "stage")
        expected = [
            "octo/app prod: status checks fabpromote/guard not required",
            "octo/app prod: pull request reviews not required (want 1 approving)",
            "octo/app prod: administrators are exempt (enforce_admins is off)",
            "octo/app stage: not protected",
        ]
        assert host.protect(url, check_only=True) == expected
        assert host.protect(url, check_only=True) == expected
        assert host.protect(url) == expected
        assert host.protect(url, check_only=True) == []

    def test_team_rules_are_kept(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Extra checks, more reviews and other rules a team added stay, and are no drift."""
        host.protect(url, ["prod"])
        github.edit_protection(
            OWNER,
            NAME,
            "prod",
            checks=[{"context": "ci/tests", "app_id": 15368}],
            reviews={
                "dismiss_stale_reviews": True,
                "require_code_owner_reviews": True,
                "required_approving_review_count": 2,
                "require_last_push_approval": False,
            },
            required_linear_history=True,
        )
        assert host.protect(url, ["prod"]) == ["octo/app prod: status checks fabpromote/guard not required"]
        stored = github.protection_of(OWNER, NAME, "prod")
        assert stored is not None
        assert stored["checks"] == [
            {"context": "ci/tests", "app_id": 15368},
            {"context": "fabpromote/guard", "app_id": None},
        ]
        assert stored["reviews"]["required_approving_review_count"] == 2
        assert stored["reviews"]["require_code_owner_reviews"] is True
        assert stored["required_linear_history"] is True

    def test_policy_from_settings(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """required_contexts, required_reviews, strict and enforce_admins come from the settings."""
        host = make_host(
            github,
            tmp_path,
            required_contexts="fabpromote/guard, ci/e2e",
            required_reviews="2",
            strict="yes",
            enforce_admins="false",
        )
        assert host.policy == ProtectionPolicy(
            contexts=("fabpromote/guard", "ci/e2e"), required_reviews=2, strict=True, enforce_admins=False
        )
        host.protect(url, ["prod"])
        stored = github.protection_of(OWNER, NAME, "prod")
        assert stored is not None
        assert [check["context"] for check in stored["checks"]] == ["fabpromote/guard", "ci/e2e"]
        assert (stored["strict"], stored["enforce_admins"], stored["reviews"]["required_approving_review_count"]) == (
            True,
            False,
            2,
        )
        assert host.protect(url, ["prod"], check_only=True) == []

    def test_explicit_policy(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A policy may be passed per call, e.g. checks without reviews."""
        policy = ProtectionPolicy(required_reviews=0)
        host.protect(url, ["dev"], policy=policy)
        stored = github.protection_of(OWNER, NAME, "dev")
        assert stored is not None
        assert stored["reviews"] is None
        assert host.protect(url, ["dev"], check_only=True, policy=policy) == []
        assert host.protect(url, ["dev"], check_only=True) == [
            "octo/app dev: pull request reviews not required (want 1 approving)"
        ]

    def test_branches_taking_pushes_are_left_out(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """By default only branches changed through pull requests are protected, not publish targets."""
        host = make_host(github, tmp_path, protected={"dev": ("publish", "rollback"), "prod": ("promote", "rollback")})
        assert host.protect(url) == ["octo/app prod: not protected"]
        assert github.protection_of(OWNER, NAME, "dev") is None

    def test_missing_branch(self, host: GitHubHost, url: str) -> None:
        """Protecting a branch that does not exist is a clear error."""
        with pytest.raises(GitHubNotFoundError, match="octo/app has no branch 'qa'"):
            host.protect(url, ["qa"])

    def test_needs_admin(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A token without admin rights gets an error that says so."""
        github.fail_next(1, status=403, message="Resource not accessible by integration", path="/protection$")
        with pytest.raises(GitHubError, match="admin rights"):
            host.protect(url, ["prod"], check_only=True)


class TestPolicy:
    def test_unprotected(self) -> None:
        """No protection at all is one difference."""
        assert ProtectionPolicy().differences(None) == ["not protected"]

    def test_payload_from_nothing(self) -> None:
        """From nothing, the payload holds exactly the policy, in GitHub's PUT shape."""
        assert ProtectionPolicy().payload(None) == {
            "required_status_checks": {"strict": False, "checks": [{"context": "fabpromote/guard"}]},
            "enforce_admins": True,
            "required_pull_request_reviews": {
                "dismiss_stale_reviews": False,
                "require_code_owner_reviews": False,
                "required_approving_review_count": 1,
                "require_last_push_approval": False,
            },
            "restrictions": None,
        }

    def test_restrictions_kept_as_logins(self) -> None:
        """Push restrictions read as objects go back as logins and slugs."""
        current = {"restrictions": {"users": [{"login": "ci-bot"}], "teams": [{"slug": "platform"}], "apps": []}}
        assert ProtectionPolicy().payload(current)["restrictions"] == {
            "users": ["ci-bot"],
            "teams": ["platform"],
            "apps": [],
        }

    def test_contexts_from_a_string(self) -> None:
        """Contexts given as one comma-separated string are split, duplicates dropped."""
        assert ProtectionPolicy(contexts="a, b,a,").contexts == ("a", "b")  # type: ignore[arg-type]
