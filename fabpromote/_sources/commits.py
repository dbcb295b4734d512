"""Trees and commits built in a repository: merges, files written into a tree, commit records.

What :class:`~fabpromote._sources.gitops.GitOps` does in the mirror of a remote before it
pushes: nothing here talks to a remote.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from dulwich.graph import can_fast_forward, find_merge_base
from dulwich.index import commit_tree
from dulwich.merge import Merger, recursive_merge
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref, check_ref_format
from dulwich.trailers import parse_trailers

from fabpromote._sources.githost import CommitInfo
from fabpromote._sources.mirrors import oid
from fabpromote.exceptions import BranchNameError, SourceError, UnsafePathError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from dulwich.object_store import BaseObjectStore
    from dulwich.repo import Repo

__all__ = [
    "branch_ref",
    "checked_files",
    "commit_info",
    "is_ancestor",
    "merged_tree",
    "new_commit",
    "read_commit",
    "read_object",
    "tree_path",
    "write_tree",
]

DEFAULT_NAME = "fabpromote"
DEFAULT_EMAIL = "fabpromote@localhost"
FILE_MODE = 0o100644
_IDENTITY_JUNK = re.compile(r"[<>\n\r\0]")
_T = TypeVar("_T", Blob, Commit, Tree)


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


def merged_tree(repo: Repo, ours: str, theirs: str) -> tuple[ObjectID, tuple[str, ...]]:
    """The three-way merge of two commits: its tree (stored) and the conflicting paths."""
    store = repo.object_store
    bases = find_merge_base(repo, [oid(ours), oid(theirs)])
    merger = _Merger(store)
    tree, paths = recursive_merge(store, bases, read_commit(store, ours), read_commit(store, theirs), merger=merger)
    store.add_object(tree)
    return tree.id, tuple(sorted(path.decode("utf-8", "replace") for path in paths))


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    return bool(can_fast_forward(repo, oid(ancestor), oid(descendant)))


def branch_ref(branch: str) -> str:
    ref = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    if not check_ref_format(Ref(ref.encode())):
        raise BranchNameError(f"{branch!r} is not a valid branch name")
    return ref


def tree_path(path: str) -> bytes:
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


def checked_files(files: Mapping[str, bytes | None]) -> dict[bytes, bytes | None]:
    """``files`` with checked paths; a path that is also a directory of another is refused."""
    changes: dict[bytes, bytes | None] = {}
    for path, content in files.items():
        if content is not None and not isinstance(content, bytes):
            raise TypeError(f"content of {path!r} must be bytes or None, not {type(content).__name__}")
        changes[tree_path(path)] = content
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


def write_tree(
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


def new_commit(store: BaseObjectStore, tree: ObjectID, parents: list[str], message: str) -> str:
    commit = Commit()
    commit.tree = tree
    commit.parents = [oid(parent) for parent in parents]
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


def commit_info(commit: Commit) -> CommitInfo:
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


def read_commit(store: BaseObjectStore, sha: str) -> Commit:
    return read_object(store, oid(sha), Commit)


def read_object(store: BaseObjectStore, sha: ObjectID, kind: type[_T]) -> _T:
    obj = store[sha]
    if not isinstance(obj, kind):
        kind_name = kind.__name__.lower()
        raise SourceError(f"object {sha.decode()} is a {obj.type_name.decode()}, not a {kind_name}", url="mirror")
    return obj
