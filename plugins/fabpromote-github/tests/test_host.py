"""The host operations of the GitHubHost protocol, against the fake GitHub with real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from fabpromote_github import GitHubHost, GitHubNotFoundError, GitHubSettingsError
from fake_github import FakeGitHub
from github_testing import NAME, OWNER, make_host

from fabpromote.exceptions import (
    GitHostError,
    ProtectedBranchError,
    PushRejectedError,
    StaleBranchError,
    UnsafePathError,
)
from fabpromote.git import ChangeRequest, Comparison
from fabpromote.testing.gitrepos import colliding_commits
from fabpromote.typing import GitHost

IMAGE = "hld/config/common.yaml"


def _set_image(github: FakeGitHub, branch: str, tag: str) -> str:
    return github.commit(OWNER, NAME, branch, {IMAGE: f"config:\n  image: app:{tag}\n"}, f"Set image {tag}")


class TestProtocol:
    def test_is_a_git_host(self, host: GitHubHost) -> None:
        """The host follows the GitHost protocol."""
        assert isinstance(host, GitHost)
        assert host.name == "github"


class TestReadBranch:
    def test_existing(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A branch reads as the commit it points at."""
        assert host.read_branch(url, "dev") == github.branch_sha(OWNER, NAME, "dev")

    def test_missing(self, host: GitHubHost, url: str) -> None:
        """A missing branch reads as None."""
        assert host.read_branch(url, "nope") is None

    def test_name_with_slashes(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Branch names with slashes and odd characters are quoted into the path."""
        sha = github.commit(OWNER, NAME, "feature/a+b", {"x": "1\n"}, "x", start="master")
        assert host.read_branch(url, "feature/a+b") == sha

    def test_url_forms(self, github: FakeGitHub, tmp_path: Path) -> None:
        """The repository URL may end in .git or not, and carry a trailing slash."""
        host = make_host(github, tmp_path)
        base = github.web_url + f"{OWNER}/{NAME}"
        assert (
            host.read_branch(base, "dev")
            == host.read_branch(base + ".git", "dev")
            == host.read_branch(base + "/", "dev")
        )


class TestCompare:
    def test_ahead_and_behind(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Commits only on head count as ahead, commits only on base as behind."""
        _set_image(github, "dev", "2.0.0")
        github.commit(OWNER, NAME, "stage", {"hotfix": "1\n"}, "hotfix")
        assert host.compare(url, "stage", "dev") == Comparison(ahead=1, behind=1)
        assert host.compare(url, "prod", "dev") == Comparison(ahead=1, behind=0)
        assert host.compare(url, "dev", "prod") == Comparison(ahead=0, behind=1)

    def test_missing_ref(self, host: GitHubHost, url: str) -> None:
        """Comparing with a missing branch is a not-found error naming both sides."""
        with pytest.raises(GitHubNotFoundError, match=r"cannot compare stage\.\.\.nope"):
            host.compare(url, "stage", "nope")


class TestReadFile:
    def test_file(self, host: GitHubHost, url: str) -> None:
        """A file reads as its bytes at the ref."""
        assert host.read_file(url, "dev", IMAGE) == b"config:\n  image: app:1.0.0\n"

    def test_at_a_commit(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A commit SHA works as the ref."""
        old = github.branch_sha(OWNER, NAME, "dev")
        assert old is not None
        _set_image(github, "dev", "2.0.0")
        assert host.read_file(url, old, IMAGE) == b"config:\n  image: app:1.0.0\n"
        assert host.read_file(url, "dev", IMAGE) == b"config:\n  image: app:2.0.0\n"

    def test_missing_file_and_directory(self, host: GitHubHost, url: str) -> None:
        """A missing path, and a directory, read as None."""
        assert host.read_file(url, "dev", "nope.yaml") is None
        assert host.read_file(url, "dev", "hld/config") is None

    def test_missing_ref(self, host: GitHubHost, url: str) -> None:
        """A ref that names nothing is an error, not a missing file."""
        with pytest.raises(GitHubNotFoundError, match="no branch, tag or commit named 'nope'"):
            host.read_file(url, "nope", IMAGE)

    def test_large_file(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A file the contents API sends without content is read through the blob API."""
        github.large_file = 10
        data = bytes(range(256)) * 4
        github.commit(OWNER, NAME, "dev", {"big.bin": data}, "big")
        assert host.read_file(url, "dev", "big.bin") == data
        assert github.api_requests("GET", r"/git/blobs/")

    def test_unsafe_path(self, host: GitHubHost, url: str) -> None:
        """Paths leaving the repository are refused before any request."""
        for path in ("../etc/passwd", "/etc/passwd", "a//b", ""):
            with pytest.raises(UnsafePathError):
                host.read_file(url, "dev", path)


class TestLog:
    def test_newest_first_with_trailers(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """History is newest first, with parents, author, time and parsed trailers."""
        github.commit(
            OWNER, NAME, "dev", {"a": "1\n"}, "Publish\n\nFabpromote-Component: app x\nFabpromote-Component: db y\n"
        )
        history = host.log(url, "dev")
        assert [commit.message.splitlines()[0] for commit in history] == ["Publish", "initial"]
        assert history[0].parents == (history[1].sha,)
        assert history[0].trailers == (("Fabpromote-Component", "app x"), ("Fabpromote-Component", "db y"))
        assert history[0].author == "GitHub <noreply@github.com>"
        assert history[0].time > 1_600_000_000

    def test_limit(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """At most ``limit`` commits come back."""
        for tag in ("1", "2", "3"):
            _set_image(github, "dev", tag)
        assert [commit.message for commit in host.log(url, "dev", limit=2)] == ["Set image 3", "Set image 2"]

    def test_first_parent(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Commits merged in from another branch are not in the first-parent history."""
        dev = _set_image(github, "dev", "2.0.0")
        github.commit(OWNER, NAME, "stage", {"hotfix": "1\n"}, "hotfix")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        host.merge(url, change, expected_head_sha=dev, message="Promote app")
        messages = [commit.message for commit in host.log(url, "stage")]
        assert messages == ["Promote app", "hotfix", "initial"]

    def test_missing_branch(self, host: GitHubHost, url: str) -> None:
        """The log of a missing branch is a not-found error."""
        with pytest.raises(GitHubNotFoundError, match="'nope'"):
            host.log(url, "nope")

    def test_empty_repository(self, host: GitHubHost, github: FakeGitHub) -> None:
        """An empty repository has no history."""
        github.create_repo(OWNER, "empty", empty=True)
        assert host.log(github.repo_url(OWNER, "empty"), "master") == []


class TestCommitFiles:
    def test_commit_is_pushed(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """The commit is pushed with git and seen by the API."""
        dev = host.read_branch(url, "dev")
        new = host.commit_files(
            url, "dev", {IMAGE: b"image: 2\n", "gone": None}, "Set image", expected=dev, purpose="set-image"
        )
        assert new is not None
        assert github.branch_sha(OWNER, NAME, "dev") == new
        assert host.read_file(url, "dev", IMAGE) == b"image: 2\n"
        assert any(path.endswith("git-receive-pack") for _, path, _ in github.git_server.requests)

    def test_nothing_to_commit(self, host: GitHubHost, url: str) -> None:
        """Writing what is already there commits nothing."""
        dev = host.read_branch(url, "dev")
        content = host.read_file(url, "dev", IMAGE)
        assert content is not None
        assert host.commit_files(url, "dev", {IMAGE: content}, "noop", expected=dev, purpose="set-image") is None

    def test_stale(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A branch that moved since it was read is not overwritten."""
        dev = host.read_branch(url, "dev")
        moved = _set_image(github, "dev", "9")
        with pytest.raises(StaleBranchError):
            host.commit_files(url, "dev", {IMAGE: b"x\n"}, "Set image", expected=dev, purpose="set-image")
        assert github.branch_sha(OWNER, NAME, "dev") == moved

    def test_protected_purpose(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A purpose the branch does not accept is refused before anything is sent."""
        prod = host.read_branch(url, "prod")
        before = len(github.requests)
        with pytest.raises(ProtectedBranchError, match="accepts only promote, rollback, not 'set-image'"):
            host.commit_files(url, "prod", {IMAGE: b"x\n"}, "Set image", expected=prod, purpose="set-image")
        assert len(github.requests) == before
        assert github.branch_sha(OWNER, NAME, "prod") == prod

    def test_refused_by_github_protection(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """GitHub's own protection (reviews required) refuses direct pushes: GH006."""
        host.protect(url, ["prod"])
        prod = host.read_branch(url, "prod")
        with pytest.raises(PushRejectedError, match="GH006"):
            host.commit_files(url, "prod", {IMAGE: b"x\n"}, "Roll back", expected=prod, purpose="rollback")
        assert github.branch_sha(OWNER, NAME, "prod") == prod

    def test_new_branch(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A new branch starts where ``start`` says."""
        dev = host.read_branch(url, "dev")
        new = host.commit_files(url, "topic", {"t": b"1\n"}, "topic", expected=None, purpose="set-image", start=dev)
        assert github.git(OWNER, NAME, "rev-parse", f"{new}^") == dev


class TestOpenChange:
    def test_opens_a_pull_request(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A pull request of head into base is opened, with its number, URL and head."""
        dev = _set_image(github, "dev", "2.0.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote app", body="Promotes 1 commit")
        assert change == ChangeRequest(
            base="stage", head="dev", head_sha=dev, number=1, url=f"{github.web_url}octo/app/pull/1", mergeable=True
        )
        pull = github.pull(OWNER, NAME, 1)
        assert (pull["title"], pull["body"], pull["state"]) == ("Promote app", "Promotes 1 commit", "open")

    def test_reuses_the_open_one(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Asking again finds the open pull request instead of opening another."""
        _set_image(github, "dev", "2.0.0")
        first = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        dev = _set_image(github, "dev", "3.0.0")
        second = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        assert second.number == first.number
        assert second.head_sha == dev
        assert len(github.api_requests("POST", r"/pulls$")) == 1

    def test_nothing_to_propose(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """No commit to merge: no pull request is opened, and merging says up-to-date."""
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        assert (change.number, change.url) == (0, "")
        assert host.merge(url, change, expected_head_sha=change.head_sha, message="m").status == "up-to-date"
        assert github._repos["octo/app"].pulls == []

    def test_conflicting_is_not_mergeable(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A pull request that conflicts reports mergeable False."""
        _set_image(github, "dev", "2.0.0")
        _set_image(github, "stage", "1.5.0")
        assert host.open_change(url, base="stage", head="dev", title="Promote", body="").mergeable is False


class TestMerge:
    def test_merge_commit(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A merge makes a real merge commit of base and head on the base branch."""
        dev = _set_image(github, "dev", "2.0.0")
        stage = github.commit(OWNER, NAME, "stage", {"hotfix": "1\n"}, "hotfix")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(url, change, expected_head_sha=dev, message="Promote app to stage\n\nBody")
        assert result.status == "merged"
        assert github.branch_sha(OWNER, NAME, "stage") == result.sha
        assert github.git(OWNER, NAME, "log", "-1", "--format=%P%n%B", result.sha).splitlines()[:2] == [
            f"{stage} {dev}",
            "Promote app to stage",
        ]
        assert host.read_file(url, "stage", IMAGE) == b"config:\n  image: app:2.0.0\n"
        assert github.pull(OWNER, NAME, change.number)["merged"] is True
        put = github.api_requests("PUT", r"/pulls/1/merge$")[0]
        assert put.body == {
            "sha": dev,
            "merge_method": "merge",
            "commit_title": "Promote app to stage",
            "commit_message": "Body",
        }

    @pytest.mark.parametrize("method", ["squash", "rebase"])
    def test_other_methods(self, github: FakeGitHub, tmp_path: Path, url: str, method: str) -> None:
        """``merge_method`` squash or rebase gives one-parent commits on the base branch."""
        host = make_host(github, tmp_path, merge_method=method)
        dev = _set_image(github, "dev", "2.0.0")
        github.commit(OWNER, NAME, "stage", {"hotfix": "1\n"}, "hotfix")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "merged"
        assert len(github.git(OWNER, NAME, "log", "-1", "--format=%P", result.sha).split()) == 1
        assert host.read_file(url, "stage", "hotfix") == b"1\n"
        assert host.read_file(url, "stage", IMAGE) == b"config:\n  image: app:2.0.0\n"

    def test_conflict_is_not_mergeable(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A conflict is a not-mergeable result with GitHub's reason, not an exception."""
        dev = _set_image(github, "dev", "2.0.0")
        stage = _set_image(github, "stage", "1.5.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "not-mergeable"
        assert "Pull Request is not mergeable" in result.message
        assert "dirty" in result.message
        assert github.branch_sha(OWNER, NAME, "stage") == stage

    def test_head_moved(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A head that moved since it was read is GitHub's 409: StaleBranchError, nothing merged."""
        dev = _set_image(github, "dev", "2.0.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        moved = _set_image(github, "dev", "3.0.0")
        stage = github.branch_sha(OWNER, NAME, "stage")
        with pytest.raises(StaleBranchError, match="'dev' moved") as caught:
            host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert (caught.value.expected, caught.value.actual) == (dev, moved)
        assert github.branch_sha(OWNER, NAME, "stage") == stage

    def test_base_not_accepting_promotions(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """A base branch that does not accept promotions is refused before any request."""
        host = make_host(github, tmp_path, protected={"stage": ("publish",)})
        change = ChangeRequest(base="stage", head="dev", head_sha="0" * 40, number=1)
        with pytest.raises(ProtectedBranchError):
            host.merge(url, change, expected_head_sha="0" * 40, message="Promote")

    def test_required_checks_and_reviews(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Protection blocks the merge until the guard status succeeds and a review approves."""
        host.protect(url, ["stage"])
        dev = _set_image(github, "dev", "2.0.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        blocked = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert blocked.status == "not-mergeable"
        assert 'Required status check "fabpromote/guard" is expected' in blocked.message
        host.set_status(url, dev, "fabpromote/guard", "success", "dev -> stage allowed")
        reviews = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert "approving review" in reviews.message
        github.approve(OWNER, NAME, change.number)
        assert host.merge(url, change, expected_head_sha=dev, message="Promote").status == "merged"

    def test_method_not_allowed(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """A merge method the repository disallows is not mergeable, with GitHub's reason."""
        github.set_merge_methods(OWNER, NAME, "squash")
        host = make_host(github, tmp_path)
        dev = _set_image(github, "dev", "2.0.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "not-mergeable"
        assert "Merge commits are not allowed on this repository" in result.message

    def test_already_merged_at_that_head(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Merging again (a retried request) at the same head reports the merge that happened."""
        dev = _set_image(github, "dev", "2.0.0")
        change = host.open_change(url, base="stage", head="dev", title="Promote", body="")
        first = host.merge(url, change, expected_head_sha=dev, message="Promote")
        again = host.merge(url, change, expected_head_sha=dev, message="Promote")
        assert (again.status, again.sha) == ("merged", first.sha)

    def test_bad_merge_method_setting(self, github: FakeGitHub, tmp_path: Path) -> None:
        """An unknown merge_method is refused when the host is built."""
        with pytest.raises(GitHubSettingsError, match="merge_method must be one of merge, squash, rebase"):
            make_host(github, tmp_path, merge_method="octopus")


class TestResolveCommit:
    def test_abbreviations_give_the_full_sha(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """GitHub's commits endpoint takes 7+ hex digits; the host returns all 40."""
        old = github.branch_sha(OWNER, NAME, "dev")
        assert old is not None
        _set_image(github, "dev", "2.0.0")
        assert host.resolve_commit(url, old[:7]) == old
        assert host.resolve_commit(url, old[:12].upper()) == old

    def test_ambiguous_or_unknown(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """GitHub answers both alike: the error names the repository and suggests more digits."""
        first, second = colliding_commits(github.base_dir / OWNER / f"{NAME}.git", "dev")
        with pytest.raises(GitHubNotFoundError, match=rf"{OWNER}/{NAME}: no commit named '{first[:7]}' .*more digits"):
            host.resolve_commit(url, first[:7])
        longer = next(n for n in range(8, 41) if first[:n] != second[:n])
        assert host.resolve_commit(url, second[:longer]) == second


class TestRevertTo:
    def test_rollback_pull_request(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A rollback branch with the target's tree is pushed and proposed into the branch."""
        good = github.branch_sha(OWNER, NAME, "prod")
        assert good is not None
        bad = _set_image(github, "prod", "6.6.6")
        change = host.revert_to(url, "prod", good, expected=bad, message="Roll back app in prod")
        assert isinstance(change, ChangeRequest)
        assert (change.base, change.head) == ("prod", f"fabpromote/rollback-prod-{good[:12]}")
        assert github.git(OWNER, NAME, "rev-parse", f"{change.head_sha}^{{tree}}") == github.git(
            OWNER, NAME, "rev-parse", f"{good}^{{tree}}"
        )
        assert github.git(OWNER, NAME, "rev-parse", f"{change.head_sha}^") == bad
        assert github.branch_sha(OWNER, NAME, "prod") == bad
        merged = host.merge(url, change, expected_head_sha=change.head_sha, message="Roll back", purpose="rollback")
        assert merged.status == "merged"
        assert host.read_file(url, "prod", IMAGE) == b"config:\n  image: app:1.0.0\n"

    def test_again_reuses_the_pull_request(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Running the same rollback again finds the branch and pull request it made."""
        good = github.branch_sha(OWNER, NAME, "prod")
        assert good is not None
        bad = _set_image(github, "prod", "6.6.6")
        first = host.revert_to(url, "prod", good, expected=bad, message="Roll back")
        second = host.revert_to(url, "prod", good, expected=bad, message="Roll back")
        assert first == second
        assert len(github.api_requests("POST", r"/pulls$")) == 1

    def test_stale_rollback_branch_is_replaced(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A rollback branch made on an older head is replaced, not reused."""
        good = github.branch_sha(OWNER, NAME, "prod")
        assert good is not None
        first = host.revert_to(url, "prod", good, expected=_set_image(github, "prod", "6"), message="Roll back")
        later = _set_image(github, "prod", "7")
        second = host.revert_to(url, "prod", good, expected=later, message="Roll back")
        assert isinstance(first, ChangeRequest)
        assert isinstance(second, ChangeRequest)
        assert second.number != first.number
        assert github.git(OWNER, NAME, "rev-parse", f"{second.head_sha}^") == later

    def test_nothing_to_roll_back(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A branch that already has the target's tree needs no rollback."""
        prod = github.branch_sha(OWNER, NAME, "prod")
        assert prod is not None
        assert host.revert_to(url, "prod", prod, expected=prod, message="Roll back") is None

    def test_stale(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """The branch must still be where the caller read it."""
        good = github.branch_sha(OWNER, NAME, "prod")
        assert good is not None
        bad = _set_image(github, "prod", "6")
        with pytest.raises(StaleBranchError):
            host.revert_to(url, "prod", bad, expected=good, message="Roll back")

    def test_unknown_target(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """A target that names no commit is a not-found error."""
        prod = github.branch_sha(OWNER, NAME, "prod")
        assert prod is not None
        with pytest.raises(GitHubNotFoundError, match="'f{40}'".replace("f{40}", "f" * 40)):
            host.revert_to(url, "prod", "f" * 40, expected=prod, message="Roll back")

    def test_not_accepting_rollbacks(self, github: FakeGitHub, tmp_path: Path, url: str) -> None:
        """A branch that does not accept rollbacks refuses them."""
        host = make_host(github, tmp_path, protected={"prod": ("promote",)})
        prod = github.branch_sha(OWNER, NAME, "prod")
        assert prod is not None
        with pytest.raises(ProtectedBranchError):
            host.revert_to(url, "prod", prod, expected=prod, message="Roll back")


class TestStatuses:
    def test_set_and_get(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Statuses set on a commit come back combined, the latest per context."""
        dev = github.branch_sha(OWNER, NAME, "dev")
        assert dev is not None
        host.set_status(url, dev, "fabpromote/guard", "pending", "checking")
        host.set_status(url, dev, "fabpromote/guard", "success", "x" * 200, target_url="https://ci.example.com/1")
        host.set_status(url, dev, "ci/tests", "failure", "2 failed")
        combined = host.get_statuses(url, "dev")
        assert (combined.sha, combined.state) == (dev, "failure")
        guard = combined.get("fabpromote/guard")
        assert guard is not None
        assert (guard.state, len(guard.description), guard.target_url) == ("success", 140, "https://ci.example.com/1")
        assert len(github.statuses(OWNER, NAME, dev)) == 3

    def test_no_statuses_is_pending(self, host: GitHubHost, url: str) -> None:
        """A commit without statuses is pending, as GitHub combines them."""
        combined = host.get_statuses(url, "dev")
        assert (combined.state, combined.statuses) == ("pending", ())

    def test_bad_state(self, host: GitHubHost, github: FakeGitHub, url: str) -> None:
        """Only GitHub's four states are accepted."""
        dev = github.branch_sha(OWNER, NAME, "dev")
        assert dev is not None
        with pytest.raises(GitHubSettingsError, match="error, failure, pending, success"):
            host.set_status(url, dev, "fabpromote/guard", "passed")

    def test_unknown_commit(self, host: GitHubHost, url: str) -> None:
        """A status on a commit GitHub does not have is GitHub's 422, as an error."""
        with pytest.raises(GitHostError, match="No commit found for SHA") as caught:
            host.set_status(url, "e" * 40, "fabpromote/guard", "success")
        assert caught.value.status == 422
