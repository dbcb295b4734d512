"""The gitlab host against the fake GitLab: every operation of the GitHost contract and beyond."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest
from fabpromote_gitlab import CommitStatus, GitLabHost

from fabpromote.exceptions import (
    AmbiguousCommitError,
    GitHostError,
    ProtectedBranchError,
    PushRejectedError,
    RefNotFoundError,
    StaleBranchError,
    UnsafePathError,
)
from fabpromote.git import ChangeRequest, Comparison
from fabpromote.testing.gitrepos import colliding_commits
from fabpromote.typing import GitHost

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab, FakeProject

PROJECT = "group/sub/app"


def _git(project: FakeProject, *args: str) -> str:
    done = subprocess.run(["git", f"--git-dir={project.git_dir}", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(name="project")
def _project(gitlab: FakeGitLab, repo: str) -> FakeProject:
    return gitlab.project(PROJECT)


class TestContract:
    def test_is_a_git_host(self, host: GitLabHost) -> None:
        """The host follows the GitHost protocol."""
        assert isinstance(host, GitHost)


class TestReadBranch:
    def test_existing(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch reads as the commit it points at."""
        assert host.read_branch(repo, "dev") == project.branch("dev")

    def test_missing(self, host: GitLabHost, repo: str) -> None:
        """A missing branch reads as None."""
        assert host.read_branch(repo, "nope") is None

    def test_name_with_slashes(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch name with slashes is URL-encoded into one path segment."""
        sha = project.commit("release/v1.2", {"a.txt": "a"}, start="master")
        assert host.read_branch(repo, "release/v1.2") == sha
        assert host.read_branch(repo, "refs/heads/release/v1.2") == sha

    def test_ssh_url_names_the_same_project(
        self, gitlab: FakeGitLab, repo: str, project: FakeProject, token: str
    ) -> None:
        """An scp-like URL addresses the same project through the API."""
        host = GitLabHost(api_url=gitlab.api_url)
        assert host.read_branch(f"git@gitlab.example.com:{PROJECT}.git", "dev") == project.branch("dev")


class TestCompare:
    def test_ahead_and_behind(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Commits only on head are ahead; commits only on base are behind."""
        project.commit("dev", {"a.txt": "1"}, "one")
        project.commit("dev", {"a.txt": "2"}, "two")
        project.commit("stage", {"b.txt": "1"}, "hotfix")
        assert host.compare(repo, "stage", "dev") == Comparison(ahead=2, behind=1)
        assert host.compare(repo, "dev", "stage") == Comparison(ahead=1, behind=2)

    def test_equal(self, host: GitLabHost, repo: str) -> None:
        """Branches at one commit are neither ahead nor behind."""
        assert host.compare(repo, "stage", "dev") == Comparison(ahead=0, behind=0)

    def test_shas(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Commit SHAs compare like branches."""
        old = project.branch("dev")
        new = project.commit("dev", {"a.txt": "1"})
        assert old is not None
        assert host.compare(repo, old, new) == Comparison(ahead=1, behind=0)

    def test_missing_ref(self, host: GitLabHost, repo: str) -> None:
        """A ref that does not exist is an error naming both sides."""
        with pytest.raises(GitHostError, match="cannot compare 'stage' with 'nope'") as info:
            host.compare(repo, "stage", "nope")
        assert info.value.status == 404


class TestReadFile:
    def test_nested_path(self, host: GitLabHost, repo: str) -> None:
        """A file in a subdirectory reads as its bytes."""
        assert host.read_file(repo, "dev", "hld/config/common.yaml") == b"image: v1\n"

    def test_at_a_sha(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A file reads as it was at an older commit."""
        old = project.branch("dev")
        project.commit("dev", {"hld/config/common.yaml": "image: v2\n"})
        assert old is not None
        assert host.read_file(repo, old, "hld/config/common.yaml") == b"image: v1\n"
        assert host.read_file(repo, "dev", "hld/config/common.yaml") == b"image: v2\n"

    def test_binary(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Bytes come back unchanged."""
        data = bytes(range(256)) * 4
        project.commit("dev", {"blob.bin": data})
        assert host.read_file(repo, "dev", "blob.bin") == data

    def test_missing_file(self, host: GitLabHost, repo: str) -> None:
        """A missing file (or a directory) reads as None."""
        assert host.read_file(repo, "dev", "nope.yaml") is None
        assert host.read_file(repo, "dev", "hld/config") is None

    def test_missing_ref(self, host: GitLabHost, repo: str) -> None:
        """A ref that names nothing is an error, not a missing file."""
        with pytest.raises(GitHostError, match="no branch, tag or commit 'nope'"):
            host.read_file(repo, "nope", "hld/component.yaml")

    @pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../b", ""])
    def test_unsafe_path(self, host: GitLabHost, repo: str, path: str) -> None:
        """Paths leaving the repository are refused before any request."""
        with pytest.raises(UnsafePathError):
            host.read_file(repo, "dev", path)


class TestLog:
    def test_first_parent_newest_first_with_trailers(
        self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab
    ) -> None:
        """History is first-parent, newest first, with the message's trailers parsed."""
        project.commit("dev", {"a.txt": "1"}, "one")
        project.commit(
            "dev",
            {"a.txt": "2"},
            "Publish dev\n\nBody.\n\nFabpromote-Digest: sha256:abc\nFabpromote-Component: a\nFabpromote-Component: b\n",
        )
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        merged = host.merge(repo, change, expected_head_sha=change.head_sha, message="Merge dev")
        history = host.log(repo, "stage")
        assert [c.sha for c in history] == [merged.sha, _git(project, "rev-parse", "stage~1")]
        assert history[0].parents == (_git(project, "rev-parse", "stage~1"), change.head_sha)
        dev = host.log(repo, "dev")
        assert [c.message.splitlines()[0] for c in dev] == ["Publish dev", "one", "initial"]
        assert dev[0].trailers == (
            ("Fabpromote-Digest", "sha256:abc"),
            ("Fabpromote-Component", "a"),
            ("Fabpromote-Component", "b"),
        )
        assert dev[0].author == "Test Author <author@example.com>"
        assert dev[0].time > 1_600_000_000

    def test_limit_and_pagination(self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab) -> None:
        """More commits than fit one page are read page by page, up to the limit."""
        project.commit_many("dev", 130)
        history = host.log(repo, "dev", limit=120)
        assert len(history) == 120
        assert history[0].message == "change 130\n"
        assert history[119].message == "change 11\n"
        pages = gitlab.api_requests("GET", "/repository/commits")
        assert [r.query.get("page") for r in pages] == [None, "2"]

    def test_missing_branch(self, host: GitLabHost, repo: str) -> None:
        """The history of a missing branch is an error."""
        with pytest.raises(GitHostError, match="has no branch 'nope'"):
            host.log(repo, "nope")


class TestCommitFiles:
    def test_commit_and_delete(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Files are written and deleted in one commit pushed over HTTPS with the token."""
        head = project.branch("dev")
        new = host.commit_files(
            repo,
            "dev",
            {"hld/config/dev.yaml": b"image: v9\n", "hld/config/common.yaml": None},
            "Set image",
            expected=head,
            purpose="set-image",
        )
        assert new == project.branch("dev")
        assert _git(project, "log", "-1", "--format=%P %s", "dev") == f"{head} Set image"
        assert _git(project, "ls-tree", "-r", "--name-only", "dev").split() == [
            "hld/component.yaml",
            "hld/config/dev.yaml",
        ]

    def test_no_change(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Writing what is there already commits nothing."""
        head = project.branch("dev")
        assert (
            host.commit_files(repo, "dev", {"hld/config/common.yaml": b"image: v1\n"}, "m", expected=head, purpose="x")
            is None
        )
        assert project.branch("dev") == head

    def test_replace(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """With replace, the tree is exactly the files given."""
        head = project.branch("dev")
        host.commit_files(repo, "dev", {"only.yaml": b"x"}, "m", expected=head, replace=True, purpose="publish")
        assert _git(project, "ls-tree", "-r", "--name-only", "dev") == "only.yaml"

    def test_new_branch(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """expected=None creates the branch."""
        new = host.commit_files(repo, "fresh", {"a.txt": b"a"}, "m", expected=None, purpose="publish")
        assert project.branch("fresh") == new

    def test_stale(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch that moved since it was read is not overwritten."""
        head = project.branch("dev")
        moved = project.commit("dev", {"a.txt": "someone else"})
        with pytest.raises(StaleBranchError):
            host.commit_files(repo, "dev", {"b.txt": b"b"}, "m", expected=head, purpose="set-image")
        assert project.branch("dev") == moved

    def test_protected_purpose(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A protected branch refuses purposes it does not accept, before any push."""
        head = project.branch("prod")
        with pytest.raises(ProtectedBranchError, match="accepts only promote, rollback, not 'set-image'"):
            host.commit_files(repo, "prod", {"a.txt": b"a"}, "m", expected=head, purpose="set-image")
        assert project.branch("prod") == head

    def test_gitlab_refuses_push_to_protected_branch(
        self, gitlab: FakeGitLab, host: GitLabHost, repo: str, project: FakeProject
    ) -> None:
        """GitLab's own protection (nobody may push) refuses the push, with its message."""
        host.protect(repo, ["stage"])
        head = project.branch("stage")
        with pytest.raises(PushRejectedError, match="not allowed to push code to protected branches"):
            host.commit_files(repo, "stage", {"a.txt": b"a"}, "m", expected=head, purpose="publish")
        assert project.branch("stage") == head

    def test_custom_token_variable(
        self, gitlab: FakeGitLab, repo: str, project: FakeProject, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Git content and the API both use the token of the configured variable."""
        monkeypatch.delenv("GITLAB_TOKEN", raising=False)
        monkeypatch.setenv("TEAM_GITLAB_TOKEN", gitlab.token)
        host = GitLabHost(api_url=gitlab.api_url, token_env="TEAM_GITLAB_TOKEN")
        head = host.read_branch(repo, "dev")
        assert host.commit_files(repo, "dev", {"a.txt": b"a"}, "m", expected=head, purpose="x") == project.branch("dev")


class TestOpenChange:
    def test_opens_then_finds(self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab) -> None:
        """The first call opens a merge request; the next finds the same one."""
        head = project.commit("dev", {"a.txt": "1"})
        first = host.open_change(repo, base="stage", head="dev", title="Promote", body="Why")
        assert first == ChangeRequest(
            base="stage",
            head="dev",
            head_sha=head,
            number=1,
            url=f"{project.web_url}/-/merge_requests/1",
            mergeable=True,
        )
        assert host.open_change(repo, base="stage", head="dev", title="Promote", body="Why") == first
        assert len(gitlab.api_requests("POST", "/merge_requests")) == 1
        mr = project.merge_requests[1]
        assert (mr["title"], mr["description"], mr["source_branch"], mr["target_branch"]) == (
            "Promote",
            "Why",
            "dev",
            "stage",
        )

    def test_other_pairs_get_their_own(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A merge request of dev into stage is not one of stage into prod."""
        project.commit("dev", {"a.txt": "1"})
        project.commit("stage", {"b.txt": "1"})
        one = host.open_change(repo, base="stage", head="dev", title="a", body="")
        two = host.open_change(repo, base="prod", head="stage", title="b", body="")
        assert (one.number, two.number) == (1, 2)

    def test_conflict_is_not_mergeable(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A merge request that conflicts reports mergeable False."""
        project.commit("dev", {"hld/config/common.yaml": "image: dev\n"})
        project.commit("stage", {"hld/config/common.yaml": "image: hotfix\n"})
        assert host.open_change(repo, base="stage", head="dev", title="t", body="").mergeable is False

    def test_checking_is_unknown(self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab) -> None:
        """While GitLab checks mergeability, mergeable is None."""
        gitlab.checking_reads = 5
        project.commit("dev", {"a.txt": "1"})
        assert host.open_change(repo, base="stage", head="dev", title="t", body="").mergeable is None

    def test_race_with_another_run(
        self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When another run opens it between our search and our POST (409), its merge request is used."""
        project.commit("dev", {"a.txt": "1"})
        other = GitLabHost(api_url=gitlab.api_url)
        found = iter([None])
        real = GitLabHost._find_change

        def late(self: GitLabHost, *args: object) -> object:
            result = next(found, "real")
            if result is None:
                other.open_change(repo, base="stage", head="dev", title="other", body="")
                return None
            return real(self, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(GitLabHost, "_find_change", late)
        change = host.open_change(repo, base="stage", head="dev", title="mine", body="")
        assert change.number == 1
        assert project.merge_requests[1]["title"] == "other"
        assert [r.status for r in gitlab.api_requests("POST", "/merge_requests")] == [201, 409]

    def test_missing_branch(self, host: GitLabHost, repo: str) -> None:
        """A missing branch is a RefNotFoundError (a LookupError), before GitLab is asked."""
        with pytest.raises(RefNotFoundError, match="no branch or tag named 'nope'"):
            host.open_change(repo, base="stage", head="nope", title="t", body="")


class TestMerge:
    def test_merge_commit(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A mergeable request is merged with a merge commit carrying our message."""
        head = project.commit("dev", {"a.txt": "1"})
        base = project.branch("stage")
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        result = host.merge(repo, change, expected_head_sha=head, message="Promote app from dev to stage")
        assert result.status == "merged"
        assert result.sha == project.branch("stage")
        assert not result.fast_forward
        assert _git(project, "log", "-1", "--format=%P|%B", "stage") == f"{base} {head}|Promote app from dev to stage"
        assert project.merge_requests[1]["state"] == "merged"
        assert project.branch("dev") == head  # the source branch is kept

    def test_squash(self, gitlab: FakeGitLab, repo: str, project: FakeProject, token: str) -> None:
        """With squash, the source's commits land as one squash commit, then merged."""
        host = GitLabHost(api_url=gitlab.api_url, squash=True)
        base = project.branch("stage")
        project.commit("dev", {"a.txt": "1"})
        head = project.commit("dev", {"b.txt": "2"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        result = host.merge(repo, change, expected_head_sha=head, message="Promote")
        squashed = _git(project, "rev-parse", "stage^2")
        assert result.sha == project.branch("stage")
        assert _git(project, "rev-parse", f"{squashed}^") == base
        assert _git(project, "rev-parse", f"{squashed}^{{tree}}") == _git(project, "rev-parse", "dev^{tree}")
        assert project.merge_requests[1]["squash_commit_sha"] == squashed

    def test_fast_forward_method(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """On a project merging by fast-forward, the target moves to the head itself."""
        project.settings["merge_method"] = "ff"
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        result = host.merge(repo, change, expected_head_sha=head, message="m")
        assert (result.status, result.sha, result.fast_forward) == ("merged", head, True)
        assert project.branch("stage") == head

    def test_conflict_is_not_mergeable(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A conflict is a not-mergeable result with GitLab's reason, not an exception; nothing moves."""
        head = project.commit("dev", {"hld/config/common.yaml": "image: dev\n"})
        base = project.commit("stage", {"hld/config/common.yaml": "image: hotfix\n"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        result = host.merge(repo, change, expected_head_sha=head, message="m")
        assert result.status == "not-mergeable"
        assert "conflicts with its target branch" in result.message
        assert "405 Method Not Allowed" in result.message
        assert project.branch("stage") == base

    def test_expected_sha_mismatch(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A source branch that moved since it was read raises StaleBranchError (GitLab's 409)."""
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        moved = project.commit("dev", {"a.txt": "2"})
        base = project.branch("stage")
        with pytest.raises(StaleBranchError) as info:
            host.merge(repo, change, expected_head_sha=head, message="m")
        assert (info.value.branch, info.value.expected, info.value.actual) == ("dev", head, moved)
        assert project.branch("stage") == base
        assert project.merge_requests[1]["state"] == "opened"

    def test_pipeline_must_succeed(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """With pipelines required, merging waits for the guard's status to succeed."""
        project.settings["only_allow_merge_if_pipeline_succeeds"] = True
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        assert change.mergeable is False
        refused = host.merge(repo, change, expected_head_sha=head, message="m")
        assert refused.status == "not-mergeable"
        assert "pipeline must succeed" in refused.message
        host.set_status(repo, head, "fabpromote/guard", "running", "checking the promotion")
        assert "still running" in host.merge(repo, change, expected_head_sha=head, message="m").message
        host.set_status(repo, head, "fabpromote/guard", "failed", "dev may not go to stage")
        assert host.merge(repo, change, expected_head_sha=head, message="m").status == "not-mergeable"
        host.set_status(repo, head, "fabpromote/guard", "success", "allowed")
        assert host.merge(repo, change, expected_head_sha=head, message="m").status == "merged"

    def test_waits_while_gitlab_checks(
        self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab
    ) -> None:
        """A merge request still being checked is read again until GitLab knows, then merged."""
        gitlab.checking_reads = 2
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        assert host.merge(repo, change, expected_head_sha=head, message="m").status == "merged"
        assert len(gitlab.api_requests("GET", "/merge_requests/1")) == 3

    def test_up_to_date(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """When the target has every commit already, nothing is merged."""
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        head = project.branch("dev")
        assert head is not None
        result = host.merge(repo, change, expected_head_sha=head, message="m")
        assert (result.status, result.sha) == ("up-to-date", project.branch("stage"))
        assert project.merge_requests[1]["state"] == "opened"

    def test_answer_lost_then_retried(
        self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab
    ) -> None:
        """A merge whose answer was lost (502) and was retried reports the merge it made."""
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        gitlab.lose_answer_next(method="PUT", contains="/merge")
        result = host.merge(repo, change, expected_head_sha=head, message="m")
        assert (result.status, result.sha) == ("merged", project.branch("stage"))
        assert [r.status for r in gitlab.api_requests("PUT")] == [502, 405]

    def test_closed(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A closed merge request is not mergeable."""
        head = project.commit("dev", {"a.txt": "1"})
        change = host.open_change(repo, base="stage", head="dev", title="t", body="")
        project.merge_requests[1]["state"] = "closed"
        result = host.merge(repo, change, expected_head_sha=head, message="m")
        assert (result.status, result.message) == ("not-mergeable", "merge request !1 is closed")

    def test_protected_target(self, gitlab: FakeGitLab, repo: str, project: FakeProject, token: str) -> None:
        """A target that does not accept promotions refuses before asking GitLab."""
        host = GitLabHost(api_url=gitlab.api_url, protected={"stage": ("publish",)})
        change = ChangeRequest(base="stage", head="dev", head_sha="0" * 40, number=1)
        with pytest.raises(ProtectedBranchError):
            host.merge(repo, change, expected_head_sha="0" * 40, message="m")
        assert gitlab.requests == []

    def test_not_a_merge_request(self, host: GitLabHost, repo: str) -> None:
        """A change without a number was not opened on GitLab."""
        with pytest.raises(GitHostError, match="open it with open_change first"):
            host.merge(
                repo, ChangeRequest(base="stage", head="dev", head_sha="0" * 40), expected_head_sha="0", message=""
            )


class TestResolveCommit:
    def test_abbreviations_give_the_full_sha(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        sha = _git(project, "rev-parse", "dev")
        assert host.resolve_commit(repo, sha[:7]) == sha
        assert host.resolve_commit(repo, sha[:12].upper()) == sha

    def test_ambiguous_names_the_project(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        first, second = colliding_commits(project.git_dir, "dev")
        with pytest.raises(AmbiguousCommitError, match=rf"app.git: commit '{first[:7]}' is ambiguous") as caught:
            host.resolve_commit(repo, first[:7])
        assert caught.value.candidates == tuple(sorted((first, second)))

    def test_unknown(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        unknown = "abcdef0" if not _git(project, "rev-parse", "dev").startswith("abcdef0") else "1234567"
        with pytest.raises(LookupError, match=f"no branch, tag or commit named '{unknown}'"):
            host.resolve_commit(repo, unknown)


class TestRevertTo:
    def test_proposes_the_old_tree(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch with one commit restoring the target's tree is proposed; merging it restores the tree."""
        target = project.branch("prod")
        assert target is not None
        project.commit("dev", {"hld/config/common.yaml": "image: v2\n"})
        change = host.open_change(repo, base="prod", head="dev", title="t", body="")
        head = host.merge(repo, change, expected_head_sha=change.head_sha, message="m").sha
        proposal = host.revert_to(repo, "prod", target, expected=head, message="Roll back app in prod")
        assert proposal is not None
        assert proposal.base == "prod"
        assert proposal.head == f"fabpromote/rollback/prod/{target[:12]}-on-{head[:12]}"
        assert proposal.number == 2
        tip = project.branch(proposal.head)
        assert proposal.head_sha == tip
        assert _git(project, "rev-parse", f"{tip}^") == head
        assert _git(project, "rev-parse", f"{tip}^{{tree}}") == _git(project, "rev-parse", f"{target}^{{tree}}")
        assert project.merge_requests[2]["title"] == "Roll back app in prod"
        assert project.branch("prod") == head  # nothing changes until the merge request is merged
        merged = host.merge(repo, proposal, expected_head_sha=proposal.head_sha, message="Roll back")
        assert merged.status == "merged"
        assert host.read_file(repo, "prod", "hld/config/common.yaml") == b"image: v1\n"

    def test_again_reuses_branch_and_request(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Proposing the same rollback twice gives the same merge request."""
        target = project.branch("stage")
        assert target is not None
        head = project.commit("stage", {"a.txt": "bad"})
        first = host.revert_to(repo, "stage", target, expected=head, message="Roll back")
        second = host.revert_to(repo, "stage", target, expected=head, message="Roll back")
        assert first == second
        assert len(project.merge_requests) == 1

    def test_interrupted_run_is_finished(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A proposal branch left at the start point by an interrupted run gets its commit."""
        target = project.branch("stage")
        assert target is not None
        head = project.commit("stage", {"a.txt": "bad"})
        name = f"fabpromote/rollback/stage/{target[:12]}-on-{head[:12]}"
        project.move(name, head, None)
        proposal = host.revert_to(repo, "stage", target, expected=head, message="Roll back")
        assert proposal is not None
        assert _git(project, "rev-parse", f"{name}^{{tree}}") == _git(project, "rev-parse", f"{target}^{{tree}}")

    def test_foreign_branch_in_the_way(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch of that name holding something else is not reused."""
        target = project.branch("stage")
        assert target is not None
        head = project.commit("stage", {"a.txt": "bad"})
        project.commit(f"fabpromote/rollback/stage/{target[:12]}-on-{head[:12]}", {"x": "y"}, start="master")
        with pytest.raises(GitHostError, match="delete it and try again"):
            host.revert_to(repo, "stage", target, expected=head, message="Roll back")

    def test_same_tree(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Nothing is proposed when the branch has the target's tree already."""
        head = project.branch("stage")
        assert head is not None
        assert host.revert_to(repo, "stage", "master", expected=head, message="m") is None
        assert project.branches() == ["dev", "master", "prod", "stage"]

    def test_stale(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch that moved since it was read is not rolled back."""
        target = project.branch("stage")
        assert target is not None
        head = project.commit("stage", {"a.txt": "1"})
        project.commit("stage", {"a.txt": "2"})
        with pytest.raises(StaleBranchError):
            host.revert_to(repo, "stage", target, expected=head, message="m")
        assert project.merge_requests == {}


class TestStatuses:
    def test_set_then_get(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A status set on a commit is read back by SHA and by branch name."""
        sha = project.branch("dev")
        assert sha is not None
        status = host.set_status(repo, sha, "fabpromote/guard", "pending", "checking", target_url="https://ci/1")
        assert status == CommitStatus(
            context="fabpromote/guard",
            state="pending",
            description="checking",
            target_url="https://ci/1",
            sha=sha,
            ref=status.ref,
            created_at=status.created_at,
            updated_at=status.created_at,  # pending: neither started nor finished
        )
        host.set_status(repo, sha, "fabpromote/guard", "success", "allowed")
        host.set_status(repo, sha, "other/check", "failed", "no")
        by_sha = {s.context: s.state for s in host.get_statuses(repo, sha)}
        assert by_sha == {"fabpromote/guard": "success", "other/check": "failed"}
        assert {s.context: s.state for s in host.get_statuses(repo, "dev")} == by_sha

    def test_same_state_twice(self, host: GitLabHost, repo: str, project: FakeProject, gitlab: FakeGitLab) -> None:
        """Setting the state a status has already is not an error (GitLab's 400 is absorbed)."""
        sha = project.branch("dev")
        assert sha is not None
        first = host.set_status(repo, sha, "fabpromote/guard", "success", "ok", ref="dev")
        assert host.set_status(repo, sha, "fabpromote/guard", "success", "ok", ref="dev") == first
        assert [r.status for r in gitlab.api_requests("POST", "/statuses/")] == [201, 400]

    def test_branch_name_is_read_to_its_commit(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch name given for the commit is resolved first."""
        status = host.set_status(repo, "dev", "fabpromote/guard", "success")
        assert status.sha == project.branch("dev")

    def test_invalid_state(self, host: GitLabHost, repo: str) -> None:
        """An unknown state is refused before any request."""
        with pytest.raises(ValueError, match="state must be one of"):
            host.set_status(repo, "0" * 40, "c", "green")

    def test_skipped_refused_before_any_request(self, host: GitLabHost, repo: str, gitlab: FakeGitLab) -> None:
        """skipped is taken only by GitLab 17.x and later, below the oldest GitLab supported: never sent."""
        with pytest.raises(ValueError, match="pending, running, success, failed, canceled, not 'skipped'"):
            host.set_status(repo, "dev", "c", "skipped")
        assert gitlab.api_requests("POST") == []

    def test_unknown_commit(self, host: GitLabHost, repo: str) -> None:
        """A status on a commit GitLab does not have is an error."""
        with pytest.raises(GitHostError) as info:
            host.set_status(repo, "1" * 40, "c", "success")
        assert info.value.status == 404


class TestProtect:
    def test_configure_then_verify(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Protection is configured as wanted; verifying it then finds no drift."""
        report = host.protect(repo, ["stage", "prod"])
        assert report == [
            "group/sub/app: merge requests can be merged without a successful pipeline "
            "(only_allow_merge_if_pipeline_succeeds should be true)",
            "group/sub/app: branch 'stage' is not protected",
            "group/sub/app: branch 'prod' is not protected",
        ]
        rule = project.protected["prod"]
        assert [level["access_level"] for level in rule["push_access_levels"]] == [0]
        assert [level["access_level"] for level in rule["merge_access_levels"]] == [30]
        assert rule["allow_force_push"] is False
        assert project.settings["only_allow_merge_if_pipeline_succeeds"] is True
        assert host.protect(repo, ["stage", "prod"], check_only=True) == []
        assert host.protect(repo, ["stage", "prod"]) == []

    def test_check_only_changes_nothing(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """check_only reports without configuring."""
        assert len(host.protect(repo, ["prod"], check_only=True)) == 2
        assert project.protected == {}
        assert project.settings["only_allow_merge_if_pipeline_succeeds"] is False

    def test_drift_reported_then_fixed(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Changes made behind fabpromote's back are reported, and fixed by configuring again."""
        host.protect(repo, ["stage", "prod"])
        project.protected["prod"]["push_access_levels"][0]["access_level"] = 40
        project.protected["prod"]["allow_force_push"] = True
        project.protected["stage"]["merge_access_levels"].append(
            # GitLab's entry for one user: a level (the user's role) and the user's name
            {
                "id": 99,
                "access_level": 40,
                "access_level_description": "Jane Doe",
                "user_id": 7,
                "group_id": None,
                "deploy_key_id": None,
            }
        )
        project.settings["allow_merge_on_skipped_pipeline"] = True
        drift = host.protect(repo, ["stage", "prod"], check_only=True)
        assert drift == [
            "group/sub/app: merge requests can be merged when their pipeline is skipped "
            "(allow_merge_on_skipped_pipeline should be false)",
            "group/sub/app: branch 'stage' allows merge to Developers + Maintainers, user 7 "
            "(should be Developers + Maintainers)",
            "group/sub/app: branch 'prod' allows push to Maintainers (should be No one)",
            "group/sub/app: branch 'prod' allows force push",
        ]
        assert host.protect(repo, ["stage", "prod"]) == drift
        assert host.protect(repo, ["stage", "prod"], check_only=True) == []

    def test_unprotected_branch_found(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """A branch unprotected after configuration is drift."""
        host.protect(repo, ["prod"])
        del project.protected["prod"]
        assert host.protect(repo, ["prod"], check_only=True) == ["group/sub/app: branch 'prod' is not protected"]

    def test_other_levels(self, host: GitLabHost, repo: str, project: FakeProject) -> None:
        """Access levels can be chosen, e.g. maintainers may push to manifests branches."""
        host.protect(repo, ["prod"], push_access_level=40, merge_access_level=40)
        assert project.protected["prod"]["push_access_levels"][0]["access_level"] == 40
        assert host.protect(repo, ["prod"], check_only=True, push_access_level=40, merge_access_level=40) == []
        with pytest.raises(ValueError, match="not a GitLab access level"):
            host.protect(repo, ["prod"], push_access_level=50)
