"""A Git host written from outside, on public names only, passes the Git host contract.

What docs/plugins.md ("Writing a Git host") tells a plugin author, done here:
the host below imports nothing but public modules of fabpromote, applies the
branch policy core gives it, and runs ``GitHostContract`` over a real bare
repository. The last test keeps this file honest: public imports only, under
160 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from fabpromote.exceptions import MergeConflictError, ProtectedBranchError
from fabpromote.git import (
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    CommitStatus,
    Comparison,
    GitOps,
    LocalHost,
    MergeResult,
    Sources,
    redact,
)
from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.gitrepos import git


class PublicHost:
    """Every change made here with GitOps; the branch policy checked before each write."""

    name = "public"

    def __init__(self, *, sources: Sources | None = None, protected: Mapping[str, Iterable[str]] | None = None) -> None:
        self.protected = BranchPolicy(protected)
        self.ops = GitOps(sources or Sources())
        # Statuses kept as the local host keeps them (a git notes ref): wrapped, not rewritten.
        self.local = LocalHost(sources=self.ops.sources)

    def read_branch(self, repo_url: str, branch: str) -> str | None:
        return self.ops.branch_sha(repo_url, branch)

    def compare(self, repo_url: str, base: str, head: str) -> Comparison:
        return self.ops.compare(repo_url, base, head)

    def read_file(self, repo_url: str, ref: str, path: str) -> bytes | None:
        return self.ops.read_file(repo_url, ref, path)

    def log(self, repo_url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        return self.ops.log(repo_url, branch, limit=limit)

    def resolve_commit(self, repo_url: str, rev: str) -> str:
        return self.ops.resolve_commit(repo_url, rev)

    def commit_statuses(self, repo_url: str, sha: str) -> list[CommitStatus]:
        return self.local.commit_statuses(repo_url, sha)

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatus) -> None:
        self.local.set_commit_status(repo_url, sha, status)

    def commit_files(
        self,
        repo_url: str,
        branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        *,
        expected: str | None,
        replace: bool = False,
        purpose: str,
        start: str | None = None,
    ) -> str | None:
        self.protected.check(branch, purpose, url=redact(repo_url))
        return self.ops.commit_files(repo_url, branch, files, message, expected=expected, replace=replace, start=start)

    def open_change(self, repo_url: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        # A full ref name: a tag or a SHA named like the branch does not count.
        head_sha = self.ops.resolve_commit(repo_url, f"refs/heads/{head}")
        base_sha = self.ops.resolve_commit(repo_url, f"refs/heads/{base}")
        conflicts = self.ops.conflicts(repo_url, base_sha, head_sha)
        return ChangeRequest(base=base, head=head, head_sha=head_sha, mergeable=not conflicts)

    def merge(
        self, repo_url: str, change: ChangeRequest, *, expected_head_sha: str, message: str, fast_forward: bool = True
    ) -> MergeResult:
        self.protected.check(change.base, "promote", url=redact(repo_url))
        base_sha = self.ops.resolve_commit(repo_url, f"refs/heads/{change.base}")
        try:
            return self.ops.merge(
                repo_url,
                base=change.base,
                head=change.head,
                expected_base=base_sha,
                expected_head=expected_head_sha,
                message=message,
                fast_forward=fast_forward,
            )
        except MergeConflictError as exc:
            return MergeResult(status="not-mergeable", message=f"conflicts in {', '.join(exc.paths)}")

    def revert_to(self, repo_url: str, branch: str, target: str, *, expected: str, message: str) -> str | None:
        self.protected.check(branch, "rollback", url=redact(repo_url))
        return self.ops.revert_to(repo_url, branch, target, expected=expected, message=message)


@pytest.fixture(name="repo")
def _repo(tmp_path: Path) -> ServedRepo:
    bare, work = tmp_path / "served" / "app.git", tmp_path / "work"
    git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
    git("clone", "-q", str(bare), str(work))
    repo = ServedRepo(bare, work, str(bare))
    repo.commit("master", {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"}, "initial")
    return repo


class TestPublicHostContract(GitHostContract):
    @pytest.fixture(name="host")
    def _host(self) -> PublicHost:
        return PublicHost(sources=Sources())


def test_applies_the_branch_policy(repo: ServedRepo) -> None:
    """Core's rules, as given: prod takes promotions and rollbacks only; other branches anything."""
    host = PublicHost(protected={"prod": ("promote", "rollback")})
    prod = repo.commit("prod", {}, "prod")
    with pytest.raises(ProtectedBranchError, match="accepts only promote, rollback, not 'publish'"):
        host.commit_files(repo.url, "prod", {"a": b"1"}, "A", expected=prod, purpose="publish")
    assert repo.sha("prod") == prod
    stage = repo.commit("stage", {"s": "s\n"}, "stage", start="prod")
    change = host.open_change(repo.url, base="prod", head="stage", title="Promote", body="")
    assert host.merge(repo.url, change, expected_head_sha=stage, message="Promote").status == "merged"


def test_public_imports_only_and_short() -> None:
    """This file imports no private module of fabpromote, and stays under 160 lines."""
    source = Path(__file__).read_text()
    imported = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
    ours = [name.split(".") for name in imported if name.split(".")[0] == "fabpromote"]
    assert len(ours) >= 10
    assert [".".join(parts) for parts in ours if any(part.startswith("_") for part in parts)] == []
    assert len(source.splitlines()) < 160
