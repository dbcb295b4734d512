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

import codecs
import os
import re
import stat
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeVar

import attrs
from dulwich.file import FileLocked
from dulwich.graph import can_fast_forward, find_merge_base
from dulwich.index import commit_tree
from dulwich.merge import Merger, recursive_merge
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref, check_ref_format
from dulwich.trailers import parse_trailers

from fabpromote._sources.githost import CommitInfo, Comparison, MergeResult
from fabpromote._sources.sources import AuthenticationError, SourceError, Sources
from fabpromote._util.credentials import redact
from fabpromote.exceptions import (
    BranchNameError,
    MergeConflictError,
    ProtectedBranchError,
    PushAuthenticationError,
    PushRejectedError,
    StaleBranchError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dulwich.object_store import BaseObjectStore
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

DEFAULT_NAME = "fabpromote"
DEFAULT_EMAIL = "fabpromote@localhost"
FILE_MODE = 0o100644
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_IDENTITY_JUNK = re.compile(r"[<>\n\r\0]")
_T = TypeVar("_T", Blob, Commit, Tree)


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
        ref = _branch_ref(branch)
        return self.sources.refresh(url).get(ref)

    def read_file(self, url: str, ref: str, path: str) -> bytes | None:
        """The content of file ``path`` at ``ref`` (branch, tag or SHA); ``None`` if it is not a file there.

        Raises:
            RefNotFoundError: No branch or tag is named ``ref``.
        """
        wanted = _tree_path(path)
        (sha,) = self._commits(url, ref)
        with self.sources.mirror(url) as repo:
            store = repo.object_store
            mode, found = stat.S_IFDIR, _commit(store, sha).tree
            for name in wanted.split(b"/"):
                if not stat.S_ISDIR(mode):
                    return None
                try:
                    mode, found = _object(store, found, Tree)[name]
                except KeyError:
                    return None
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                return None
            return _object(store, found, Blob).data

    def compare(self, url: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        base_sha, head_sha = self._commits(url, base, head)
        with self.sources.mirror(url) as repo:
            ahead = sum(1 for _ in repo.get_walker(include=[_oid(head_sha)], exclude=[_oid(base_sha)]))
            behind = sum(1 for _ in repo.get_walker(include=[_oid(base_sha)], exclude=[_oid(head_sha)]))
        return Comparison(ahead=ahead, behind=behind)

    def log(self, url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first, at most ``limit`` commits."""
        (sha,) = self._commits(url, branch)
        history: list[CommitInfo] = []
        with self.sources.mirror(url) as repo:
            current: str | None = sha
            while current is not None and len(history) < limit:
                commit = _commit(repo.object_store, current)
                history.append(_commit_info(commit))
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
            return _is_ancestor(repo, first, second)

    def conflicts(self, url: str, base: str, head: str) -> tuple[str, ...]:
        """The paths merging ``head`` into ``base`` would conflict on (none: it would merge)."""
        base_sha, head_sha = self._commits(url, base, head)
        with self.sources.mirror(url) as repo:
            if _is_ancestor(repo, head_sha, base_sha) or _is_ancestor(repo, base_sha, head_sha):
                return ()
            _, paths = _merged_tree(repo, base_sha, head_sha)
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
        changes = _checked_files(files)
        self._check_at(url, branch, expected)
        parent = expected if expected is not None else self._start(url, start)
        if parent is not None:
            self.sources.fetch(url, [parent])
        with self.sources.mirror(url) as repo:
            store = repo.object_store
            base_tree = _commit(store, parent).tree if parent is not None else None
            tree = _write_tree(store, base_tree, changes, replace=replace)
            if parent is not None and tree == base_tree:
                if expected is not None:
                    return None
                new = parent
            else:
                new = _new_commit(store, tree, [parent] if parent else [], message)
            self._push(url, repo, branch, new, expected=expected)
        return new

    def merge(
        self, url: str, *, base: str, head: str, expected_base: str, expected_head: str, message: str
    ) -> MergeResult:
        """Merge branch ``head`` into branch ``base``, both still where the caller saw them.

        A fast-forward when ``base`` is in ``head``'s history; nothing when
        ``head`` is in ``base``'s; otherwise a merge commit with parents
        (base, head).

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
            if _is_ancestor(repo, expected_head, expected_base):
                return MergeResult(status="up-to-date", sha=expected_base)
            if _is_ancestor(repo, expected_base, expected_head):
                self._push(url, repo, base, expected_head, expected=expected_base)
                return MergeResult(status="merged", sha=expected_head, fast_forward=True)
            tree, paths = _merged_tree(repo, expected_base, expected_head)
            if paths:
                raise MergeConflictError(base=base, head=head, paths=paths, url=redact(url))
            new = _new_commit(repo.object_store, tree, [expected_base, expected_head], message)
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
            tree = _commit(store, target_sha).tree
            if tree == _commit(store, expected).tree:
                return None
            new = _new_commit(store, tree, [expected], message)
            self._push(url, repo, branch, new, expected=expected)
        return new

    # Helpers

    def _commits(self, url: str, *refs: str) -> list[str]:
        """The commits ``refs`` name now, fetched into the mirror."""
        if not all(_SHA.fullmatch(ref) for ref in refs):
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
        actual = refs.get(_branch_ref(branch))
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
        ref = _branch_ref(branch)
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


class _Merger(Merger):
    """dulwich's merger, with git's answer for one-sided changes, and careful without ``merge3``.

    dulwich calls any difference of modes between the two sides a conflict,
    even when one side left the entry as it was in the base (``chmod +x`` on
    one branch only); git takes the changed side, and so do we. The trees are
    prepared before dulwich's public ``merge_trees`` sees them, at every depth,
    so no private method of dulwich is overridden.
    """

    def merge_trees(self, base_tree: Tree | None, ours_tree: Tree, theirs_tree: Tree) -> tuple[Tree, list[bytes]]:
        ours_tree, theirs_tree = _take_one_sided(self.object_store, base_tree, ours_tree, theirs_tree)
        return super().merge_trees(base_tree, ours_tree, theirs_tree)

    def merge_blobs(
        self, base_blob: Blob | None, ours_blob: Blob | None, theirs_blob: Blob | None, path: bytes | None = None
    ) -> tuple[bytes, bool]:
        try:
            return super().merge_blobs(base_blob, ours_blob, theirs_blob, path)
        except ImportError:
            # Without merge3 there is no line-level merge: a file both sides
            # changed is a conflict, never a wrong merge.
            return (ours_blob.data if ours_blob is not None else b""), True


def _take_one_sided(store: BaseObjectStore, base: Tree | None, ours: Tree, theirs: Tree) -> tuple[Tree, Tree]:
    """``ours`` and ``theirs`` with every entry only one side changed set to that side's, on both.

    Folders both sides changed are prepared the same way, level by level, as
    dulwich descends into them when it merges; a prepared subtree is stored,
    for dulwich reads subtrees from the store (most become the merged tree's).
    """
    base_entries = dict(_entries(base)) if base is not None else {}
    ours_entries, theirs_entries = dict(_entries(ours)), dict(_entries(theirs))
    changed = False
    for name in set(base_entries) | set(ours_entries) | set(theirs_entries):
        original, mine, other = base_entries.get(name), ours_entries.get(name), theirs_entries.get(name)
        if mine == other:
            continue
        if mine == original:
            _set_entry(ours_entries, name, other)
            changed = True
        elif other == original:
            _set_entry(theirs_entries, name, mine)
            changed = True
        elif mine is not None and other is not None and _is_folder(mine) and _is_folder(other):
            sub_base = _tree(store, original[1]) if original is not None and _is_folder(original) else None
            sub_ours, sub_theirs = _take_one_sided(store, sub_base, _tree(store, mine[1]), _tree(store, other[1]))
            for entries, entry, sub in ((ours_entries, mine, sub_ours), (theirs_entries, other, sub_theirs)):
                if sub.id != entry[1]:
                    store.add_object(sub)
                    entries[name] = (entry[0], sub.id)
                    changed = True
    if not changed:
        return ours, theirs
    return _tree_of(ours_entries), _tree_of(theirs_entries)


def _is_folder(entry: tuple[int, ObjectID]) -> bool:
    return stat.S_ISDIR(entry[0])


def _tree(store: BaseObjectStore, sha: ObjectID) -> Tree:
    tree = store[sha]
    if not isinstance(tree, Tree):
        raise TypeError(f"{sha!r} is a {tree.type_name.decode()}, not a tree")
    return tree


def _entries(tree: Tree) -> Iterable[tuple[bytes, tuple[int, ObjectID]]]:
    for entry in tree.iteritems():
        yield entry.path, (entry.mode, entry.sha)


def _set_entry(entries: dict[bytes, tuple[int, ObjectID]], name: bytes, value: tuple[int, ObjectID] | None) -> None:
    if value is None:
        entries.pop(name, None)
    else:
        entries[name] = value


def _tree_of(entries: Mapping[bytes, tuple[int, ObjectID]]) -> Tree:
    # The top-level pair is only read by the merger, never stored; the folders below are in the store.
    tree = Tree()
    for name, (mode, sha) in entries.items():
        tree.add(name, mode, sha)
    return tree


def _merged_tree(repo: Repo, ours: str, theirs: str) -> tuple[ObjectID, tuple[str, ...]]:
    """The three-way merge of two commits: its tree (stored) and the conflicting paths."""
    store = repo.object_store
    bases = find_merge_base(repo, [_oid(ours), _oid(theirs)])
    merger = _Merger(store)
    tree, paths = recursive_merge(store, bases, _commit(store, ours), _commit(store, theirs), merger=merger)
    store.add_object(tree)
    return tree.id, tuple(sorted(path.decode("utf-8", "replace") for path in paths))


def _is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    return bool(can_fast_forward(repo, _oid(ancestor), _oid(descendant)))


def _branch_ref(branch: str) -> str:
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    if not check_ref_format(Ref(ref.encode())):
        raise BranchNameError(f"{branch!r} is not a valid branch name")
    return ref


def _tree_path(path: str) -> bytes:
    """``path`` as a tree path, refused when absolute or leaving the repository."""
    pure = PurePosixPath(path)
    parts = path.split("/")
    if (
        not path
        or pure.is_absolute()
        or "\0" in path
        or any(part in ("", ".", "..") for part in parts)
        or any(part.lower() == ".git" for part in parts)
    ):
        raise UnsafePathError(f"{path!r} must be a relative path inside the repository (no '..', '.git' or '//')")
    return path.encode()


def _checked_files(files: Mapping[str, bytes | None]) -> dict[bytes, bytes | None]:
    """``files`` with checked paths; a path that is also a directory of another is refused."""
    changes: dict[bytes, bytes | None] = {}
    for path, content in files.items():
        if content is not None and not isinstance(content, bytes):
            raise TypeError(f"content of {path!r} must be bytes or None, not {type(content).__name__}")
        changes[_tree_path(path)] = content
    written = {name for name, content in changes.items() if content is not None}
    for name in written:
        for parent in _parents(name):
            if parent in written:
                raise UnsafePathError(f"{parent.decode()!r} cannot be both a file and a directory")
    return changes


def _parents(path: bytes) -> list[bytes]:
    """``a/b/c`` -> ``[a, a/b]``."""
    parts = path.split(b"/")
    return [b"/".join(parts[:end]) for end in range(1, len(parts))]


def _write_tree(
    store: BaseObjectStore, base_tree: ObjectID | None, changes: Mapping[bytes, bytes | None], *, replace: bool
) -> ObjectID:
    """The tree of ``base_tree`` (or nothing, with ``replace``) with ``changes`` applied, stored."""
    entries: dict[bytes, tuple[ObjectID, int]] = {}
    if base_tree is not None and not replace:
        for entry in iter_tree_contents(store, base_tree):
            entries[entry.path] = (entry.sha, entry.mode)
    for path, content in changes.items():
        old_mode = entries.get(path, (None, 0))[1]
        _remove(entries, path)
        if content is None:
            continue
        for parent in _parents(path):
            # A file where the new one needs a directory gives way, as `git add` would make it.
            entries.pop(parent, None)
        blob = Blob.from_string(content)
        store.add_object(blob)
        mode = old_mode if stat.S_ISREG(old_mode) else FILE_MODE
        entries[path] = (blob.id, mode)
    return commit_tree(store, [(path, sha, mode) for path, (sha, mode) in entries.items()])


def _remove(entries: dict[bytes, tuple[ObjectID, int]], path: bytes) -> None:
    """Remove the file ``path``, or every file under the directory ``path``."""
    entries.pop(path, None)
    prefix = path + b"/"
    for name in [name for name in entries if name.startswith(prefix)]:
        del entries[name]


def _new_commit(store: BaseObjectStore, tree: ObjectID, parents: list[str], message: str) -> str:
    commit = Commit()
    commit.tree = tree
    commit.parents = [_oid(parent) for parent in parents]
    commit.author = _identity("AUTHOR")
    commit.committer = _identity("COMMITTER")
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = (message.rstrip("\n") + "\n").encode()
    store.add_object(commit)
    return str(commit.id.decode())


def _identity(role: str) -> bytes:
    """``Name <email>`` from ``GIT_<role>_NAME``/``_EMAIL``, as git reads them, else fabpromote's."""
    name = _IDENTITY_JUNK.sub("", os.environ.get(f"GIT_{role}_NAME", "")).strip() or DEFAULT_NAME
    email = _IDENTITY_JUNK.sub("", os.environ.get(f"GIT_{role}_EMAIL", "")).strip() or DEFAULT_EMAIL
    return f"{name} <{email}>".encode()


def _commit_info(commit: Commit) -> CommitInfo:
    encoding = _encoding(commit)
    _, found = parse_trailers(commit.message)
    # The ignores: mypy's attrs plugin cannot type a bare `converter=tuple`.
    return CommitInfo(
        sha=commit.id.decode(),
        parents=tuple(parent.decode() for parent in commit.parents),  # type: ignore[misc]
        message=commit.message.decode(encoding, "replace"),
        author=commit.author.decode(encoding, "replace"),
        time=commit.commit_time,
        trailers=tuple((trailer.key, trailer.value) for trailer in found),  # type: ignore[misc]
    )


def _encoding(commit: Commit) -> str:
    """The commit's declared encoding when Python knows it, else UTF-8."""
    name = (commit.encoding or b"utf-8").decode("ascii", "replace")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def _commit(store: BaseObjectStore, sha: str) -> Commit:
    return _object(store, _oid(sha), Commit)


def _object(store: BaseObjectStore, sha: ObjectID, kind: type[_T]) -> _T:
    obj = store[sha]
    if not isinstance(obj, kind):
        kind_name = kind.__name__.lower()
        raise SourceError(f"object {sha.decode()} is a {obj.type_name.decode()}, not a {kind_name}", url="mirror")
    return obj


def _oid(sha: str) -> ObjectID:
    return ObjectID(sha.encode("ascii"))
