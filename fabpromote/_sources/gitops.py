"""Git operations on any remote: commits, merges and rollbacks pushed with compare-and-swap.

A write builds its objects in the remote's mirror (see :mod:`fabpromote._sources.sources`),
with the mirror's lock held, then pushes one ref update that the server applies
only if the branch is still where the caller last saw it (``expected``). Nothing
is ever forced: a write that lost a race raises :class:`StaleBranchError` and
changes nothing on the remote; the caller reads the branch again and retries::

    ops = GitOps(Sources())
    while True:
        head = ops.branch_sha(url, "dev")
        try:
            ops.commit_files(url, "dev", {"app.yaml": data}, "Set image", expected=head)
            break
        except StaleBranchError:
            continue

Reads list the remote's refs again on every call, so they see its current
state, not the one memoized by :class:`~fabpromote._sources.sources.Sources`.
"""

from __future__ import annotations

import os
import stat
import time
from typing import TYPE_CHECKING

import attrs
from dulwich.file import FileLocked
from dulwich.objects import Blob, Tree

from fabpromote._sources.commits import (
    branch_ref,
    checked_files,
    commit_info,
    is_ancestor,
    merged_tree,
    new_commit,
    read_commit,
    read_object,
    tree_path,
    write_tree,
)
from fabpromote._sources.githost import CommitInfo, Comparison, MergeResult
from fabpromote._sources.mirrors import oid
from fabpromote._sources.sources import AuthenticationError, Sources
from fabpromote._util.credentials import redact
from fabpromote._util.shas import is_sha
from fabpromote.exceptions import (
    BranchNameError,
    MergeConflictError,
    ProtectedBranchError,
    PushAuthenticationError,
    PushRejectedError,
    StaleBranchError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dulwich.repo import Repo

#: Seconds a ref lock of a local remote may stay, with the ref unmoved, before it counts as stale.
STALE_LOCK_WAIT = 2.0

__all__ = [
    "BranchNameError",
    "GitOps",
    "MergeConflictError",
    "ProtectedBranchError",
    "PushAuthenticationError",
    "PushRejectedError",
    "StaleBranchError",
]


@attrs.define
class GitOps:
    """Reads and compare-and-swap writes on remotes, through the mirrors of ``sources``.

    Safe to share between threads; writers of one remote, in this process or
    others using the same cache, take turns on its mirror's lock.
    """

    sources: Sources

    # Reading

    def branch_sha(self, url: str, branch: str) -> str | None:
        """Where ``branch`` is now, or ``None`` when it does not exist."""
        ref = branch_ref(branch)
        return self.sources.refresh(url).get(ref)

    def read_file(self, url: str, ref: str, path: str) -> bytes | None:
        """The content of file ``path`` at ``ref`` (branch, tag or SHA); ``None`` if it is not a file there.

        Raises:
            RefNotFoundError: No branch or tag is named ``ref``.
        """
        wanted = tree_path(path)
        (sha,) = self._commits(url, ref)
        with self.sources.mirror(url) as repo:
            store = repo.object_store
            mode, found = stat.S_IFDIR, read_commit(store, sha).tree
            for name in wanted.split(b"/"):
                if not stat.S_ISDIR(mode):
                    return None
                try:
                    mode, found = read_object(store, found, Tree)[name]
                except KeyError:
                    return None
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                return None
            return read_object(store, found, Blob).data

    def compare(self, url: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        base_sha, head_sha = self._commits(url, base, head)
        with self.sources.mirror(url) as repo:
            ahead = sum(1 for _ in repo.get_walker(include=[oid(head_sha)], exclude=[oid(base_sha)]))
            behind = sum(1 for _ in repo.get_walker(include=[oid(base_sha)], exclude=[oid(head_sha)]))
        return Comparison(ahead=ahead, behind=behind)

    def log(self, url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first, at most ``limit`` commits."""
        (sha,) = self._commits(url, branch)
        history: list[CommitInfo] = []
        with self.sources.mirror(url) as repo:
            current: str | None = sha
            while current is not None and len(history) < limit:
                commit = read_commit(repo.object_store, current)
                history.append(commit_info(commit))
                current = commit.parents[0].decode() if commit.parents else None
        return history

    def resolve_commit(self, url: str, rev: str) -> str:
        """The full SHA of the commit ``rev`` names now: a branch, a tag, a SHA or 7+ of its first hex digits.

        Raises:
            RefNotFoundError: Nothing of the remote has that name.
            AmbiguousCommitError: The abbreviated SHA starts several commits' SHAs.
        """
        (sha,) = self._commits(url, rev)
        return sha

    def is_ancestor(self, url: str, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is in the history of ``descendant`` (a commit is its own ancestor)."""
        first, second = self._commits(url, ancestor, descendant)
        with self.sources.mirror(url) as repo:
            return is_ancestor(repo, first, second)

    def conflicts(self, url: str, base: str, head: str) -> tuple[str, ...]:
        """The paths merging ``head`` into ``base`` would conflict on (none: it would merge)."""
        base_sha, head_sha = self._commits(url, base, head)
        with self.sources.mirror(url) as repo:
            if is_ancestor(repo, head_sha, base_sha) or is_ancestor(repo, base_sha, head_sha):
                return ()
            _, paths = merged_tree(repo, base_sha, head_sha)
        return paths

    # Writing

    def commit_files(
        self,
        url: str,
        branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        *,
        expected: str | None,
        replace: bool = False,
        start: str | None = None,
    ) -> str | None:
        """Commit ``files`` onto ``branch``, if it is still at ``expected``.

        The new commit's parent is ``expected``; for a new branch
        (``expected=None``), ``start`` or no parent at all. Its tree is the
        parent's with ``files`` written (``None`` deletes a file, or a
        directory with everything in it), or with ``replace`` exactly
        ``files``. New files get mode 0o100644; a file overwritten keeps its
        executable bit.

        Args:
            url: The remote.
            branch: The branch to commit onto.
            files: POSIX paths relative to the repository root -> content.
            message: The commit message.
            expected: Where ``branch`` must be; ``None``: it must not exist yet.
            replace: The tree is ``files`` and nothing else (publish).
            start: For a new branch, the commit (or branch) it starts from.

        Returns:
            The commit ``branch`` now points at; ``None`` when the tree would
            not change (nothing is committed nor pushed). A new branch
            started at a commit whose tree is already ``files`` points at
            that commit.

        Raises:
            StaleBranchError: ``branch`` is not at ``expected``.
            UnsafePathError: A path is absolute, leaves the repository, or
                names both a file and a directory.
            PushRejectedError: The server refused.
        """
        if start is not None and expected is not None:
            raise ValueError("start is only for a new branch (expected=None)")
        changes = checked_files(files)
        self._check_at(url, branch, expected)
        parent = expected if expected is not None else self._start(url, start)
        if parent is not None:
            self.sources.fetch(url, [parent])
        with self.sources.mirror(url) as repo:
            store = repo.object_store
            base_tree = read_commit(store, parent).tree if parent is not None else None
            tree = write_tree(store, base_tree, changes, replace=replace)
            if parent is not None and tree == base_tree:
                if expected is not None:
                    return None
                new = parent
            else:
                new = new_commit(store, tree, [parent] if parent else [], message)
            self._push(url, repo, branch, new, expected=expected)
        return new

    def merge(
        self,
        url: str,
        *,
        base: str,
        head: str,
        expected_base: str,
        expected_head: str,
        message: str,
        fast_forward: bool = True,
    ) -> MergeResult:
        """Merge branch ``head`` into branch ``base``, both still where the caller saw them.

        A fast-forward when ``base`` is in ``head``'s history (unless
        ``fast_forward`` is false: then a merge commit with ``head``'s tree, so
        that ``message`` is kept); nothing when ``head`` is in ``base``'s;
        otherwise a merge commit with parents (base, head).

        Raises:
            StaleBranchError: A branch is not at its ``expected_*`` (also when
                ``base`` moves while merging).
            MergeConflictError: The merge conflicts; nothing was pushed.
            PushRejectedError: The server refused.
        """
        refs = self.sources.refresh(url)
        for branch, expected in ((base, expected_base), (head, expected_head)):
            self._check_at(url, branch, expected, refs)
        self.sources.fetch(url, [expected_base, expected_head])
        with self.sources.mirror(url) as repo:
            if is_ancestor(repo, expected_head, expected_base):
                return MergeResult(status="up-to-date", sha=expected_base)
            if is_ancestor(repo, expected_base, expected_head):
                if fast_forward:
                    self._push(url, repo, base, expected_head, expected=expected_base)
                    return MergeResult(status="merged", sha=expected_head, fast_forward=True)
                tree = read_commit(repo.object_store, expected_head).tree
            else:
                tree, paths = merged_tree(repo, expected_base, expected_head)
                if paths:
                    raise MergeConflictError(base=base, head=head, paths=paths, url=redact(url))
            new = new_commit(repo.object_store, tree, [expected_base, expected_head], message)
            self._push(url, repo, base, new, expected=expected_base)
        return MergeResult(status="merged", sha=new)

    def revert_to(self, url: str, branch: str, target: str, *, expected: str, message: str) -> str | None:
        """Commit onto ``branch`` the tree of ``target``: a rollback that keeps history.

        Returns:
            The new commit; ``None`` when ``branch`` already has that tree.

        Raises:
            StaleBranchError: ``branch`` is not at ``expected``.
            RefNotFoundError: ``target`` names no branch or tag.
            PushRejectedError: The server refused.
        """
        self._check_at(url, branch, expected)
        self.sources.fetch(url, [expected])
        (target_sha,) = self._commits(url, target)
        with self.sources.mirror(url) as repo:
            store = repo.object_store
            tree = read_commit(store, target_sha).tree
            if tree == read_commit(store, expected).tree:
                return None
            new = new_commit(store, tree, [expected], message)
            self._push(url, repo, branch, new, expected=expected)
        return new

    # Helpers

    def _commits(self, url: str, *refs: str) -> list[str]:
        """The commits ``refs`` name now, fetched into the mirror."""
        if not all(is_sha(ref) for ref in refs):
            self.sources.refresh(url)
        shas = [self.sources.resolve(url, ref) for ref in refs]
        self.sources.fetch(url, shas)
        return shas

    def _start(self, url: str, start: str | None) -> str | None:
        if start is None:
            return None
        (sha,) = self._commits(url, start)
        return sha

    def _check_at(self, url: str, branch: str, expected: str | None, refs: Mapping[str, str] | None = None) -> None:
        """Fail early, before building anything, when ``branch`` is not at ``expected``."""
        if refs is None:
            refs = self.sources.refresh(url)
        actual = refs.get(branch_ref(branch))
        if actual != expected:
            raise StaleBranchError(branch, expected, actual, url=redact(url))

    def _after_lock(self, url: str, ref: str, expected: str | None, lock: str) -> str | None:
        """Where ``ref`` is once its lock is gone or it moved, waiting at most ``STALE_LOCK_WAIT``."""
        deadline = time.monotonic() + STALE_LOCK_WAIT
        while True:
            actual = self.sources.refresh(url).get(ref)
            if actual != expected or not os.path.exists(lock) or time.monotonic() > deadline:
                return actual
            time.sleep(0.05)

    def _push(self, url: str, repo: Repo, branch: str, new: str, *, expected: str | None) -> None:
        """Move ``branch`` from ``expected`` to ``new``, or raise without changing it."""
        ref = branch_ref(branch)
        shown = redact(url)

        def check(actual: str | None) -> None:
            if actual != expected:
                raise StaleBranchError(branch, expected, actual, url=shown)

        try:
            refusal = self.sources.push(url, repo, ref, new, check=check)
        except FileLocked as exc:
            # A local remote whose ref another process is writing right now: it
            # is moving, so say so; callers read it again and retry. A lock that
            # stays while the branch does not move was left by a killed writer.
            actual = self._after_lock(url, ref, expected, os.fsdecode(exc.lockfilename))
            if actual == expected and os.path.exists(exc.lockfilename):
                raise PushRejectedError(
                    f"{ref} is locked by {os.fsdecode(exc.lockfilename)}, which stayed for {STALE_LOCK_WAIT:g} s "
                    "while the branch did not move: a process writing it was killed; remove that file if no "
                    "other fabpromote or git process is using the repository",
                    url=shown,
                    branch=branch,
                ) from None
            raise StaleBranchError(branch, expected, actual, url=shown) from None
        except AuthenticationError as exc:
            reason = str(exc).removeprefix(f"{exc.url}: ").removeprefix(f"cannot push to {ref}: ")
            raise PushAuthenticationError(
                reason, url=exc.url, branch=branch, status=exc.status, variable=exc.variable
            ) from None
        if refusal is None:
            return
        # The server checks the old value itself: a push that raced another
        # one between the server's advertisement and our update lands here.
        actual = self.sources.refresh(url).get(ref)
        if actual != expected:
            raise StaleBranchError(branch, expected, actual, url=shown)
        raise PushRejectedError(refusal, url=shown, branch=branch)
