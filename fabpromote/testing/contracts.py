"""Contract test suites for backends: subclass them in a plugin's tests.

``GitHostContract`` checks what every Git host backend does. A subclass
provides two fixtures: ``host`` (the backend under test, without branch
protection) and ``repo`` (a :class:`RepoHandle`: the repository behind the
host, which the test changes and inspects without going through the host;
:class:`ServedRepo` is one for a bare repository served by any git server).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest

from fabpromote._sources.githost import ChangeRequest, CommitStatus
from fabpromote._sources.gitops import StaleBranchError
from fabpromote.testing.gitrepos import git

__all__ = ["GitHostContract", "RepoHandle", "ServedRepo"]


class RepoHandle(Protocol):
    """What the contract needs to know about the repository behind the host."""

    url: str

    def commit(self, branch: str, files: dict[str, str], message: str, *, start: str = "master") -> str: ...
    def sha(self, branch: str) -> str | None: ...
    def show(self, rev: str, path: str) -> str: ...
    def files(self, rev: str) -> list[str]: ...
    def parents(self, rev: str) -> list[str]: ...
    def tree(self, rev: str) -> str: ...


class GitHostContract:
    """What every Git host backend does; subclasses provide ``host`` and ``repo`` fixtures."""

    # Reading

    def test_read_branch(self, host: Any, repo: RepoHandle) -> None:
        """The branch's current commit; None for a missing branch."""
        assert host.read_branch(repo.url, "master") == repo.sha("master")
        assert host.read_branch(repo.url, "prod") is None

    def test_reads_are_fresh(self, host: Any, repo: RepoHandle) -> None:
        """A change pushed by someone else is seen by the next read of the same host."""
        assert host.read_file(repo.url, "master", "README.md") == b"hello\n"
        moved = repo.commit("master", {"README.md": "changed\n"}, "Change")
        assert host.read_branch(repo.url, "master") == moved
        assert host.read_file(repo.url, "master", "README.md") == b"changed\n"

    def test_read_file(self, host: Any, repo: RepoHandle) -> None:
        """Files at a branch or SHA; None for a missing file or a directory."""
        first = repo.sha("master")
        repo.commit("master", {"hld/config/common.yaml": "config: {x: 1}\n"}, "x")
        assert host.read_file(repo.url, "master", "hld/config/common.yaml") == b"config: {x: 1}\n"
        assert host.read_file(repo.url, first, "hld/config/common.yaml") == b"config: {}\n"
        assert host.read_file(repo.url, "master", "missing.yaml") is None
        assert host.read_file(repo.url, "master", "hld/config") is None

    def test_compare(self, host: Any, repo: RepoHandle) -> None:
        """ahead: commits waiting to be promoted; behind: commits the head lacks."""
        repo.commit("stage", {}, "stage")
        repo.commit("dev", {"a": "a\n"}, "a", start="stage")
        repo.commit("dev", {"b": "b\n"}, "b")
        comparison = host.compare(repo.url, "stage", "dev")
        assert (comparison.ahead, comparison.behind) == (2, 0)
        repo.commit("stage", {"h": "h\n"}, "hotfix")
        comparison = host.compare(repo.url, "stage", "dev")
        assert (comparison.ahead, comparison.behind) == (2, 1)

    def test_log(self, host: Any, repo: RepoHandle) -> None:
        """Newest first, with trailers in order (a key may repeat), at most ``limit``."""
        message = "Publish dev\n\nFabpromote-Component: app a1\nFabpromote-Component: db d1\n"
        head = repo.sha("master")
        new = host.commit_files(repo.url, "master", {"a.yaml": b"a\n"}, message, expected=head, purpose="publish")
        log = host.log(repo.url, "master")
        assert [info.sha for info in log] == [new, head]
        assert log[0].trailers == (("Fabpromote-Component", "app a1"), ("Fabpromote-Component", "db d1"))
        assert log[0].parents == (head,)
        assert [info.sha for info in host.log(repo.url, "master", limit=1)] == [new]

    # Committing

    def test_commit_files(self, host: Any, repo: RepoHandle) -> None:
        """Add, change and delete files on top of ``expected``."""
        head = repo.sha("master")
        new = host.commit_files(
            repo.url, "master", {"a.yaml": b"a\n", "README.md": None}, "Edit", expected=head, purpose="set-image"
        )
        assert repo.sha("master") == new
        assert repo.parents("master") == [head]
        assert repo.files("master") == ["a.yaml", "hld/config/common.yaml"]

    def test_publish_replaces(self, host: Any, repo: RepoHandle) -> None:
        """replace=True: the tree is exactly the files; publishing them again makes no commit."""
        files = {"prod/app.yaml": b"kind: Deployment\n"}
        new = host.commit_files(
            repo.url, "master", files, "Publish", expected=repo.sha("master"), replace=True, purpose="publish"
        )
        assert repo.files("master") == ["prod/app.yaml"]
        assert (
            host.commit_files(repo.url, "master", files, "Publish", expected=new, replace=True, purpose="publish")
            is None
        )
        assert repo.sha("master") == new

    def test_new_branch(self, host: Any, repo: RepoHandle) -> None:
        """expected=None creates the branch: from ``start``, or with no parent."""
        new = host.commit_files(repo.url, "prod", {"app.yaml": b"a\n"}, "First", expected=None, purpose="publish")
        assert repo.parents("prod") == []
        assert repo.sha("prod") == new
        host.commit_files(repo.url, "dev", {"d": b"d\n"}, "Dev", expected=None, purpose="publish", start="master")
        assert repo.parents("dev") == [repo.sha("master")]

    def test_commit_stale(self, host: Any, repo: RepoHandle) -> None:
        """A branch moved since it was read: StaleBranchError, the other change intact."""
        head = host.read_branch(repo.url, "master")
        theirs = repo.commit("master", {"theirs": "t\n"}, "Theirs")
        with pytest.raises(StaleBranchError):
            host.commit_files(repo.url, "master", {"ours": b"o\n"}, "Ours", expected=head, purpose="set-image")
        assert repo.sha("master") == theirs
        assert "ours" not in repo.files("master")

    # Promoting

    def test_change_and_fast_forward(self, host: Any, repo: RepoHandle) -> None:
        """open_change names the head's commit; merging a head ahead of base brings it in."""
        repo.commit("stage", {}, "stage")
        dev = repo.commit("dev", {"d": "d\n"}, "dev", start="stage")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote dev", body="")
        assert isinstance(change, ChangeRequest)
        assert (change.base, change.head, change.head_sha, change.mergeable) == ("stage", "dev", dev, True)
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote dev to stage")
        assert result.status == "merged"
        assert repo.sha("stage") == result.sha
        # Hosts that always write a merge commit (a pull request's "merge" method) say so.
        if result.fast_forward:
            assert result.sha == dev
        else:
            assert dev in repo.parents("stage")

    def test_merge_commit(self, host: Any, repo: RepoHandle) -> None:
        """Diverged branches merge into a commit with parents (base, head)."""
        stage = repo.commit("stage", {"hotfix": "h\n"}, "hotfix")
        dev = repo.commit("dev", {"feature": "f\n"}, "feature")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote dev to stage")
        assert (result.status, result.fast_forward) == ("merged", False)
        assert repo.sha("stage") == result.sha
        assert repo.parents("stage") == [stage, dev]
        assert {"hotfix", "feature"} <= set(repo.files("stage"))

    def test_conflict_is_not_mergeable(self, host: Any, repo: RepoHandle) -> None:
        """Conflicts: open_change says not mergeable; merge answers not-mergeable and changes nothing."""
        stage = repo.commit("stage", {"README.md": "stage\n"}, "stage")
        dev = repo.commit("dev", {"README.md": "dev\n"}, "dev")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        assert change.mergeable is False
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "not-mergeable"
        assert result.message  # the host's reason; local git names the paths
        assert (repo.sha("stage"), repo.sha("dev")) == (stage, dev)

    def test_up_to_date(self, host: Any, repo: RepoHandle) -> None:
        """A head already in base: up-to-date, nothing changes."""
        dev = repo.commit("dev", {}, "dev")
        stage = repo.commit("stage", {"more": "m\n"}, "more", start="dev")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "up-to-date"
        assert repo.sha("stage") == stage

    def test_head_moved_since_change(self, host: Any, repo: RepoHandle) -> None:
        """A head that moved after the change was opened is not merged: StaleBranchError."""
        repo.commit("stage", {}, "stage")
        dev = repo.commit("dev", {"d": "d\n"}, "dev", start="stage")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        repo.commit("dev", {"late": "l\n"}, "late")
        with pytest.raises(StaleBranchError):
            host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert repo.sha("stage") != dev

    def test_open_change_missing_branch(self, host: Any, repo: RepoHandle) -> None:
        """A change from or to a missing branch is a RefNotFoundError (a LookupError)."""
        with pytest.raises(LookupError):
            host.open_change(repo.url, base="master", head="nope", title="t", body="")

    def test_resolve_commit(self, host: Any, repo: RepoHandle) -> None:
        """A SHA, its first 7 or 12 hex digits (either case) and a branch all give the full SHA."""
        sha = repo.sha("master")
        assert sha is not None
        for rev in (sha, sha[:7], sha[:12].upper(), "master"):
            assert host.resolve_commit(repo.url, rev) == sha, rev

    def test_resolve_commit_of_history(self, host: Any, repo: RepoHandle) -> None:
        """An abbreviation of a commit behind a branch's tip resolves too."""
        old = repo.sha("master")
        assert old is not None
        repo.commit("master", {"README.md": "newer\n"}, "newer")
        assert host.resolve_commit(repo.url, old[:9]) == old

    def test_resolve_unknown_commit(self, host: Any, repo: RepoHandle) -> None:
        """An abbreviation of no commit is a LookupError."""
        sha = repo.sha("master")
        assert sha is not None
        unknown = "0000000" if not sha.startswith("0000000") else "fffffff"
        with pytest.raises(LookupError, match=unknown):
            host.resolve_commit(repo.url, unknown)

    # Commit statuses

    def test_commit_status_round_trip(self, host: Any, repo: RepoHandle) -> None:
        """A status set is read back, dated by the host; a commit without any has none."""
        sha = repo.sha("master")
        assert sha is not None
        assert host.commit_statuses(repo.url, sha) == []
        before = datetime.now(timezone.utc) - timedelta(minutes=5)
        wanted = CommitStatus(context="e2e", state="success", description="all green", target_url="https://ci/1")
        host.set_commit_status(repo.url, sha, wanted)
        (found,) = host.commit_statuses(repo.url, sha)
        assert (found.context, found.state, found.description, found.target_url) == (
            "e2e",
            "success",
            "all green",
            "https://ci/1",
        )
        assert found.updated_at is not None
        assert found.updated_at.utcoffset() == timedelta(0)
        assert found.updated_at > before

    def test_commit_status_latest_per_context(self, host: Any, repo: RepoHandle) -> None:
        """The latest status of each context wins, sorted by context; other commits keep their own."""
        first = repo.sha("master")
        assert first is not None
        second = repo.commit("master", {"README.md": "second\n"}, "second")
        for context, state in (("kustomization/podinfo/1a2b", "pending"), ("e2e", "failure")):
            host.set_commit_status(repo.url, first, CommitStatus(context=context, state=state))
        host.set_commit_status(repo.url, first, CommitStatus(context="kustomization/podinfo/1a2b", state="success"))
        host.set_commit_status(repo.url, second, CommitStatus(context="e2e", state="error"))
        assert [(s.context, s.state) for s in host.commit_statuses(repo.url, first)] == [
            ("e2e", "failure"),
            ("kustomization/podinfo/1a2b", "success"),
        ]
        assert [(s.context, s.state) for s in host.commit_statuses(repo.url, second)] == [("e2e", "error")]

    def test_commit_status_unknown_commit(self, host: Any, repo: RepoHandle) -> None:
        """A SHA of no commit of the repository is a LookupError naming it, for reads and writes."""
        sha = repo.sha("master")
        assert sha is not None
        unknown = ("0" if not sha.startswith("0") else "f") * 40
        with pytest.raises(LookupError, match=unknown[:12]):
            host.commit_statuses(repo.url, unknown)
        with pytest.raises(LookupError, match=unknown[:12]):
            host.set_commit_status(repo.url, unknown, CommitStatus(context="e2e", state="success"))

    # Rolling back

    def test_revert_to(self, host: Any, repo: RepoHandle) -> None:
        """The branch gets the target's tree in a new commit; history is kept."""
        good = repo.sha("master")
        assert good is not None
        bad = repo.commit("master", {"README.md": "broken\n"}, "bad")
        outcome = host.revert_to(repo.url, "master", good, expected=bad, message="Roll back")
        sha = outcome.head_sha if isinstance(outcome, ChangeRequest) else outcome
        assert sha is not None
        assert repo.tree(sha) == repo.tree(good)
        assert repo.parents(sha) == [bad]


class ServedRepo:
    """A bare repository behind a Git host, and a clone to change it behind the host's back.

    This is the ``repo`` fixture of the Git host contract: ``url`` is what the
    host is given; the other methods tell the truth about the remote without
    going through the host.
    """

    def __init__(self, bare: Path, work: Path, url: str) -> None:
        self.bare = bare
        self.work = work
        self.url = url

    def commit(self, branch: str, files: dict[str, str], message: str, *, start: str = "master") -> str:
        """Commit ``files`` on ``branch`` (a new one starts at ``start``) and push, as someone else."""
        git("fetch", "-q", "origin", cwd=self.work)
        if _exists(self.work, f"origin/{branch}"):
            git("checkout", "-q", "-B", branch, f"origin/{branch}", cwd=self.work)
        elif _exists(self.work, f"origin/{start}"):
            git("checkout", "-q", "-B", branch, f"origin/{start}", cwd=self.work)
        else:
            git("checkout", "-q", "--orphan", branch, cwd=self.work)
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        git("add", "-A", cwd=self.work)
        git("commit", "-q", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=self.work)
        sha = self.sha(branch)
        assert sha is not None
        return sha

    def sha(self, branch: str) -> str | None:
        """Where ``branch`` is, or None."""
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), "rev-parse", "-q", "--verify", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    def show(self, rev: str, path: str) -> str:
        """The content of ``path`` at ``rev``, without its last newline."""
        return git("--git-dir", str(self.bare), "show", f"{rev}:{path}")

    def files(self, rev: str) -> list[str]:
        """Every file at ``rev``, sorted."""
        return git("--git-dir", str(self.bare), "ls-tree", "-r", "--name-only", rev).splitlines()

    def parents(self, rev: str) -> list[str]:
        """The parents of ``rev``."""
        return git("--git-dir", str(self.bare), "rev-list", "--parents", "-n", "1", rev).split()[1:]

    def tree(self, rev: str) -> str:
        """The tree SHA of ``rev``."""
        return git("--git-dir", str(self.bare), "rev-parse", f"{rev}^{{tree}}")

    def check(self) -> None:
        """The repository is intact (``git fsck --strict``)."""
        done = subprocess.run(
            ["git", "--git-dir", str(self.bare), "fsck", "--strict", "--no-dangling"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _exists(work: Path, rev: str) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"], cwd=work, capture_output=True, check=False
    )
    return done.returncode == 0
