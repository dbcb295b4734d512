"""Mirrors: one bare repository per remote in the cache, fetched incrementally, one writer at a time.

Commits fetched are kept under ``refs/fabpromote/<sha>``: they are what the next
fetch offers the server as already there, and what keeps them from being pruned.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dulwich.objects import Commit, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo
from dulwich.walk import Walker

from fabpromote._sources.transport import reason
from fabpromote._util.locks import FileLock
from fabpromote._util.shas import is_sha
from fabpromote.exceptions import SourceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from dulwich.object_store import BaseObjectStore, ObjectStoreGraphWalker

    from fabpromote._sources.remotes import Remote

__all__ = [
    "KEEP_REF_PREFIX",
    "check_fetched",
    "checked_sha",
    "commits_starting",
    "has_commit",
    "keep",
    "locked_mirror",
    "oid",
    "pack_counts",
    "short",
]

log = logging.getLogger("fabpromote.sources")

KEEP_REF_PREFIX = "refs/fabpromote/"


@contextlib.contextmanager
def locked_mirror(remote: Remote, redact: Callable[[str], str]) -> Iterator[Repo]:
    """The mirror of ``remote``, created if missing, with its lock held: one writer at a time."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(FileLock(str(remote.mirror.with_suffix(".lock"))))
        except OSError as exc:
            raise _cache_failure(remote, exc, redact) from None
        if remote.mirror.is_dir():
            # With the lock held no writer is running: what one left was killed with it.
            _remove_debris(remote.mirror)
        else:
            try:
                _init_mirror(remote.mirror)
            except OSError as exc:
                raise _cache_failure(remote, exc, redact) from None
        with contextlib.closing(_Mirror(os.fspath(remote.mirror))) as repo:
            yield repo


def _cache_failure(remote: Remote, exc: OSError, redact: Callable[[str], str]) -> SourceError:
    """The error to raise when the mirror of ``remote`` cannot be created in the cache."""
    message = f"cannot create the mirror {remote.mirror} in the cache: {reason(exc)}"
    return SourceError(redact(message), url=remote.shown)


def keep(repo: Repo, fetched: list[str], remote: Remote) -> None:
    """Check that the commits ``fetched`` arrived, and keep them by refs."""
    for sha in fetched:
        check_fetched(repo, sha, remote)
    # Refs last: the objects they name are in place, so a killed fetch
    # never leaves a ref to a missing object. They also tell the next
    # fetch what the mirror has, which keeps it incremental.
    for sha in fetched:
        repo.refs[Ref(f"{KEEP_REF_PREFIX}{sha}".encode())] = oid(sha)


class _Mirror(Repo):
    """A bare mirror whose kept commits all count as "haves" when fetching.

    dulwich offers only ``refs/heads/*`` to the server as what the target has;
    the mirror keeps its commits under ``refs/fabpromote/``, so without this
    every fetch would bring the whole history again.
    """

    def get_graph_walker(self, heads: list[ObjectID] | None = None) -> ObjectStoreGraphWalker:
        if heads is None:
            kept = self.refs.as_dict(Ref(KEEP_REF_PREFIX.rstrip("/").encode())).values()
            heads = [sha for sha in kept if sha in self.object_store]
        return super().get_graph_walker(heads)


_MIRROR_FILES = {
    "HEAD": b"ref: refs/heads/master\n",
    "config": b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n",
}
_MIRROR_DIRS = ("objects/info", "objects/pack", "refs/heads", "refs/tags")


# Earns its place: bench/tricks.py::bare_repos
def _init_mirror(mirror: Path) -> None:
    """Create an empty bare repo at ``mirror`` in one step (callers hold its lock).

    Written by hand: what git needs and nothing else (no hooks, no
    description, no fsync of an empty repository), a tenth of the cost of
    dulwich's ``init_bare`` on a cold run with a hundred remotes.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{mirror.name}.", dir=mirror.parent))
    try:
        for directory in _MIRROR_DIRS:
            (staging / directory).mkdir(parents=True)
        for name, content in _MIRROR_FILES.items():
            (staging / name).write_bytes(content)
        os.rename(staging, mirror)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_debris(mirror: Path) -> None:
    """Remove what a killed fetch or push left: temporary packs, packs without an index, ref locks.

    Callers hold the mirror's lock, so no other process is writing these.
    """
    # A ref lock left by a killed writer would make every later write of that ref fail.
    refs = mirror / "refs"
    for path in [*refs.rglob("*.lock"), mirror / "packed-refs.lock"] if refs.is_dir() else []:
        path.unlink(missing_ok=True)
    pack_dir = mirror / "objects" / "pack"
    for path in pack_dir.glob("tmp_pack_*"):
        path.unlink(missing_ok=True)
    for path in pack_dir.glob("*.pack"):
        if not path.with_suffix(".idx").exists():
            path.unlink(missing_ok=True)


def pack_counts(repo: Repo) -> tuple[int, int]:
    packs = list(repo.object_store.packs)
    return len(packs), sum(len(pack) for pack in packs)


def commits_starting(store: BaseObjectStore, tips: list[str], prefix: str) -> list[str]:
    """The SHAs of the commits reachable from ``tips`` that start with ``prefix`` (lower case)."""
    wanted = prefix.encode("ascii")
    walker = Walker(store, include=[oid(sha) for sha in tips])
    return sorted(entry.commit.id.decode() for entry in walker if entry.commit.id.startswith(wanted))


def has_commit(repo: Repo, sha: str) -> bool:
    try:
        return isinstance(repo.object_store[oid(sha)], Commit)
    except KeyError:
        return False


def check_fetched(repo: Repo, sha: str, remote: Remote) -> None:
    try:
        obj = repo.object_store[oid(sha)]
    except KeyError:
        raise SourceError(f"the server did not send commit {sha}", url=remote.shown) from None
    if not isinstance(obj, Commit):
        raise SourceError(f"{sha} is a {obj.type_name.decode()}, not a commit", url=remote.shown)


def oid(sha: str) -> ObjectID:
    return ObjectID(sha.encode("ascii"))


def checked_sha(sha: str, remote: Remote) -> str:
    if not is_sha(sha):
        raise SourceError(f"{sha!r} is not a full 40-hex commit SHA", url=remote.shown)
    return sha.lower()


def short(shas: list[str]) -> str:
    shown = ", ".join(sha[:12] for sha in shas[:3])
    more = f" and {len(shas) - 3} more" if len(shas) > 3 else ""
    return f"{'commit' if len(shas) == 1 else 'commits'} {shown}{more}"
