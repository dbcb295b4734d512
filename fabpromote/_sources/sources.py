"""Git sources: resolve ``(url, ref)`` to a commit, mirror it, export read-only snapshots.

Everything lives under the cache root (see :func:`fabpromote._sources.cache.cache_root`)::

    mirrors/<sha256(url)[:16]>-<tail>.git   a bare mirror per remote, fetched incrementally
    mirrors/<sha256(url)[:16]>-<tail>.lock  flock'ed around every write to that mirror
    snapshots/<sha>/_root                   the whole tree of commit <sha>, read-only
    snapshots/<sha>/<quoted subpath>        one directory of that tree, read-only

Remotes are anything dulwich reaches: local paths (bare or not), ``file://``,
``git://`` and smart ``http(s)://``. A local repository is read in place:
snapshots are exported from it directly; it gets a mirror only to be pushed
to. Messages and logs never show a token: they all go through
:meth:`Credentials.redact`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import attrs
import urllib3
from dulwich.client import (
    HTTPProxyUnauthorized,
    HTTPUnauthorized,
    LocalGitClient,
    StrangeHostname,
    default_urllib3_manager,
    get_transport_and_path,
)
from dulwich.errors import (
    ApplyDeltaError,
    ChecksumMismatch,
    GitProtocolError,
    HangupException,
    NotGitRepository,
    SendPackError,
)
from dulwich.objects import S_ISGITLINK, Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo
from dulwich.walk import Walker

from fabpromote._sources import gittcp as _gittcp
from fabpromote._sources.cache import Cache, cache_root
from fabpromote._util import signals as _signals
from fabpromote._util.credentials import Credentials
from fabpromote._util.network import Deadline, network_timeout, one_line
from fabpromote._util.network import reason as network_reason
from fabpromote._util.outcome import plural
from fabpromote.exceptions import (
    MIN_SHA_PREFIX,
    AmbiguousCommitError,
    AuthenticationError,
    FabpromoteError,
    RefNotFoundError,
    SourceError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

    from dulwich.client import GitClient
    from dulwich.object_store import BaseObjectStore, ObjectStoreGraphWalker

__all__ = ["AuthenticationError", "RefNotFoundError", "SourceError", "SourceStats", "Sources"]

log = logging.getLogger("fabpromote.sources")

#: ``git://`` connections open at once to one server. ``git daemon`` queues at
#: most five (its listen backlog): past that the kernel drops the connection
#: attempt and the client waits a second before trying again. HTTP servers
#: queue hundreds: only ``jobs`` bounds those.
GIT_CONNECTIONS_PER_HOST = 4
ROOT_ENTRY = "_root"
KEEP_REF_PREFIX = "refs/fabpromote/"
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_SHA_PREFIX = re.compile(rf"[0-9a-fA-F]{{{MIN_SHA_PREFIX},39}}")
_HTTP_STATUS = re.compile(r"unexpected http resp (\d{3})")
_CONNECTION_PREFIX = re.compile(r"^\w+\(.*?\):\s*")
_SAFE_TAIL = re.compile(r"[^A-Za-z0-9._-]+")
_ZERO_SHA = b"0" * 40
# Lines of transfer progress, not worth showing in an error.
_PROGRESS_LINE = re.compile(r"^[A-Za-z][A-Za-z ]*:\s+\d+% ")
# What dulwich raises when a remote is unreachable, refuses, or sends garbage.
_TRANSPORT_ERRORS = (
    GitProtocolError,
    NotGitRepository,
    HTTPUnauthorized,
    HTTPProxyUnauthorized,
    OSError,
    ChecksumMismatch,
    ApplyDeltaError,
    # An ssh host starting with "-" (``-oProxyCommand=...``): dulwich refuses to run ssh with it.
    StrangeHostname,
    # What dulwich raises on an answer it cannot parse (a malformed info/refs, bad UTF-8).
    ValueError,
)

# OSErrors that come from writing the cache, not from the network.
_LOCAL_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)

T = TypeVar("T")


@attrs.define
class SourceStats:
    """Counters of the work a :class:`Sources` did, for tests and benchmarks."""

    ls_remote_calls: int = 0
    fetches: int = 0
    packs_fetched: int = 0
    objects_fetched: int = 0
    snapshots_created: int = 0
    snapshot_hits: int = 0
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False, eq=False)

    def add(self, **counts: int) -> None:
        """Add to the named counters (several threads may count at once)."""
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)


@attrs.frozen
class _Remote:
    """One remote, as given and as used.

    Attributes:
        url: As the caller gave it; may carry credentials.
        location: What dulwich is given: ``url``, or an absolute path for local paths.
        key: Its identity, without credentials: names its mirror and memoized refs.
        shown: For messages, redacted.
        mirror: The bare mirror of it in the cache.
        local: A repository on this machine (a path or ``file://``), read
            by dulwich in this process rather than over a connection.
    """

    url: str
    location: str
    key: str
    shown: str
    mirror: Path
    local: bool


@attrs.frozen
class _Listing:
    """The refs a remote advertised; annotated tags also as ``<name>^{}`` -> commit."""

    refs: Mapping[str, str]

    def lookup(self, ref: str) -> str | None:
        """The commit ``ref`` names: ``HEAD``, a full name, a branch, then a tag."""
        for name in _candidates(ref):
            if name in self.refs:
                return self.refs.get(f"{name}^{{}}", self.refs[name])
        return None

    def branch_tip(self, ref: str) -> str | None:
        """What ``ref`` names when it is ``HEAD`` or a branch, else None (a tag, a SHA, a name not found)."""
        name = _candidates(ref)[0]
        if _SHA.fullmatch(ref) or not (name == "HEAD" or name.startswith("refs/heads/")):
            return None
        return self.refs.get(name)

    def peel(self, sha: str) -> str | None:
        """The commit an advertised ``sha`` stands for, or ``None`` if not advertised."""
        for name, value in self.refs.items():
            if value == sha and not name.endswith("^{}"):
                return self.refs.get(f"{name}^{{}}", value)
        return None

    def branches(self) -> list[str]:
        return sorted(name.removeprefix("refs/heads/") for name in self.refs if name.startswith("refs/heads/"))


def _candidates(ref: str) -> list[str]:
    """The full names ``ref`` may stand for, in the order they are tried."""
    if not ref or ref == "HEAD":
        return ["HEAD"]
    if ref.startswith("refs/"):
        return [ref]
    # Branches before tags, as `git clone --branch` does.
    return [f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/{ref}"]


def _default_credentials(credentials: Credentials | None) -> Credentials:
    return credentials if credentials is not None else Credentials()


def _default_jobs(jobs: int | None) -> int:
    # Talking to remotes mostly waits on the network, so more remotes than
    # cores are read at once; renders, which compute, stay bounded by cores.
    return max(1, jobs or 4 * (os.cpu_count() or 1))


@attrs.define
class Sources:
    """Resolves refs, mirrors remotes and exports snapshots, in a cache shared by processes.

    Args:
        cache_dir: The cache root; default :func:`~fabpromote._sources.cache.cache_root`.
        credentials: Where tokens come from; default :class:`Credentials` ().
        jobs: How many remotes to talk to at once; default four per CPU.
        cache: The run's cache (then ``cache_dir`` is not used); default a
            new one at ``cache_dir``.

    Attributes:
        stats: What this instance did so far.
    """

    _cache_dir: Path = attrs.field(default=None, converter=cache_root)
    _credentials: Credentials = attrs.field(default=None, converter=_default_credentials)
    _jobs: int = attrs.field(default=None, converter=_default_jobs)
    _cache: Cache = attrs.field(
        default=attrs.Factory(lambda self: Cache(self._cache_dir), takes_self=True), kw_only=True, repr=False
    )
    stats: SourceStats = attrs.field(init=False, factory=SourceStats)
    _listings: dict[str, _Listing] = attrs.field(init=False, factory=dict, repr=False)
    _listing_locks: dict[str, threading.Lock] = attrs.field(init=False, factory=dict, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)
    _host_slots: dict[str, threading.BoundedSemaphore] = attrs.field(init=False, factory=dict, repr=False)
    _remotes: dict[str, _Remote] = attrs.field(init=False, factory=dict, repr=False)
    # Snapshot folder -> what it holds in the user's terms, for messages (see user_terms).
    _origins: dict[str, tuple[str, str]] = attrs.field(init=False, factory=dict, repr=False)

    @property
    def credentials(self) -> Credentials:
        """Where the tokens of this instance's remotes come from."""
        return self._credentials

    @property
    def cache_dir(self) -> Path:
        """The cache root this instance keeps mirrors and snapshots in."""
        return self._cache.root

    @property
    def cache(self) -> Cache:
        """The run's cache, which everything fetched through this instance shares."""
        return self._cache

    def resolve(self, url: str, ref: str = "") -> str:
        """The 40-hex commit SHA that ``ref`` names at ``url``.

        Args:
            url: The remote.
            ref: A branch, a tag (annotated tags are peeled), a full
                ``refs/...`` name, a 40-hex SHA, an abbreviated SHA (7 hex
                digits or more, of a commit some branch or tag reaches; a
                branch or tag of that name wins), or ``""`` for the remote's HEAD.

        Raises:
            RefNotFoundError: No branch, tag or commit has that name.
            AmbiguousCommitError: The abbreviated SHA starts several commits' SHAs.
            AuthenticationError: The remote wants (other) credentials.
            SourceError: The remote cannot be read, or cannot send that SHA.
        """
        remote = self._remote(url)
        if _SHA.fullmatch(ref):
            return self._resolve_sha(remote, ref.lower())
        sha = self._listing(remote).lookup(ref)
        if sha is None and _SHA_PREFIX.fullmatch(ref):
            sha = self._resolve_prefix(remote, ref.lower())
        if sha is None:
            if not ref or ref == "HEAD":
                raise SourceError("the remote has no HEAD (is it empty?)", url=remote.shown)
            raise RefNotFoundError(ref, url=remote.shown, branches=self._listing(remote).branches())
        return sha

    def fetch(self, url: str, shas: Iterable[str]) -> None:
        """Make sure the commits ``shas`` (and their trees) are in the mirror of ``url``.

        Only missing commits are asked for, and the mirror's refs tell the
        server what is there already, so a fetch brings only new objects.

        Raises:
            AuthenticationError: The remote wants (other) credentials.
            SourceError: The remote cannot be read or did not send them.
        """
        remote = self._remote(url)
        wanted = sorted({_checked_sha(sha, remote) for sha in shas})
        if not wanted:
            return
        with self._locked_mirror(remote) as repo:
            missing = [sha for sha in wanted if not _has_commit(repo, sha)]
            if missing:
                self._fetch_into(remote, repo, missing)

    def checkouts(self, wanted: Iterable[tuple[str, str]]) -> Generator[tuple[str, Path], None, None]:
        """``(sha, snapshot)`` of every ``(url, ref)`` of ``wanted``, in order, each as soon as it is ready.

        Each URL is resolved, fetched and exported by its own task, ``jobs``
        at a time, so a caller can go on with the first trees (render them)
        while later remotes are still being read. A ``ref`` that is a 40-hex
        SHA already exported costs no round trip and opens no mirror.

        The first error in ``wanted`` order is raised once every task started
        has ended: nothing goes on fetching behind the back of a caller
        handling the error (or closing the iterator).

        Raises:
            RefNotFoundError, AuthenticationError, SourceError, UnsafePathError:
                As :meth:`resolve`, :meth:`fetch` and :meth:`snapshot`.
        """
        wanted = list(wanted)
        by_url: dict[str, list[str]] = {}
        for url, ref in wanted:
            refs = by_url.setdefault(url, [])
            if ref not in refs:
                refs.append(ref)
        # Local repositories are read by this process, under the GIL: threads
        # would only take turns with the caller. Remotes wait on the network.
        remote = {url: self._remote(url) for url in by_url}
        network = [url for url in by_url if not remote[url].local]
        pool = (
            concurrent.futures.ThreadPoolExecutor(
                max_workers=min(self._jobs, len(network)), thread_name_prefix="fabpromote-fetch"
            )
            if len(network) > 1
            else None
        )
        try:
            futures = {url: pool.submit(self._checkout_all, url, by_url[url]) for url in network} if pool else {}
            done: dict[str, dict[str, tuple[str, Path]]] = {}
            for url, ref in wanted:
                if url in futures and url not in done:
                    _signals.wait([futures[url]])
                    done[url] = futures[url].result()
                elif url not in done:
                    done[url] = self._checkout_all(url, by_url[url])
                self._remember_origin(done[url][ref][1], remote[url], ref or "HEAD", ())
                yield done[url][ref]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def has_snapshot(self, sha: str, subpath: str = "") -> bool:
        """Whether the snapshot of ``sha`` (and ``subpath``) is in the cache already."""
        return self._snapshot_path(sha.lower(), _subpath_parts(subpath)).is_dir()

    def snapshot(self, url: str, sha: str, subpath: str = "") -> Path:
        """A read-only directory holding the tree of commit ``sha`` (or its ``subpath``).

        The directory is built once per SHA and subpath, beside its final
        place, and renamed there whole; later calls reuse it.

        Raises:
            UnsafePathError: ``subpath`` leaves the tree, or a symlink or file
                name in the tree would lead out of the snapshot.
            SourceError: The commit cannot be fetched, or ``subpath`` is not a
                directory of it.
        """
        remote = self._remote(url)
        sha = _checked_sha(sha, remote)
        parts = _subpath_parts(subpath)
        final = self._snapshot_path(sha, parts)
        if final.is_dir():
            self.stats.add(snapshot_hits=1)
        else:
            final = self._export(remote, [sha], parts)[sha]
        self._remember_origin(final, remote, sha[:12], parts, replace=False)
        return final

    @contextlib.contextmanager
    def user_terms(self) -> Iterator[None]:
        """Errors raised inside name what the user knows, never a folder of the cache.

        A file of a snapshot is named ``<repository> <ref>:<path in it>``
        (git's notation, e.g. ``https://github.com/org/cat dev:hld/component.yaml``);
        the error keeps its type and attributes.
        """
        try:
            yield
        except FabpromoteError as exc:
            exc.args = tuple(self.in_user_terms(arg) if isinstance(arg, str) else arg for arg in exc.args)
            if isinstance(getattr(exc, "file", None), str):
                exc.file = self.in_user_terms(exc.file)  # type: ignore[attr-defined]
            raise

    def in_user_terms(self, text: str) -> str:
        """``text`` with every snapshot folder this instance handed out named as its repository, ref and path."""
        with self._lock:
            origins = sorted(self._origins.items(), key=lambda item: len(item[0]), reverse=True)
        for folder, (repository, inside) in origins:
            if folder in text:
                text = text.replace(folder + os.sep, f"{repository}{inside}/" if inside else repository)
                text = text.replace(folder, f"{repository}{inside or '.'}")
        return text

    def _remember_origin(
        self, folder: Path, remote: _Remote, ref: str, parts: tuple[str, ...], *, replace: bool = True
    ) -> None:
        origin = (f"{remote.shown} {ref}:", "/".join(parts))
        with self._lock:
            for name in dict.fromkeys((os.fspath(folder), os.path.realpath(folder))):
                if replace or name not in self._origins:
                    self._origins[name] = origin

    def refresh(self, url: str) -> Mapping[str, str]:
        """Read the refs of ``url`` again (one round trip); later calls see them.

        Listings are otherwise read once per instance, so that one run sees
        one state of each remote; writers call this to see the current one.

        Returns:
            Ref name -> SHA, as advertised (annotated tags also as ``<name>^{}``).

        Raises:
            AuthenticationError: The remote wants (other) credentials.
            SourceError: The remote cannot be read.
        """
        remote = self._remote(url)
        listing = self._list_refs(remote)
        self._remember_listing(remote, listing)
        return listing.refs

    @contextlib.contextmanager
    def mirror(self, url: str) -> Iterator[Repo]:
        """The mirror of ``url``, locked against every other writer, thread or process.

        The lock is not re-entrant: inside, call nothing that fetches ``url``
        (:meth:`fetch`, :meth:`snapshot`, :meth:`resolve` of a missing SHA).
        """
        with self._locked_mirror(self._remote(url)) as repo:
            yield repo

    def push(self, url: str, repo: Repo, ref: str, new: str, *, check: Callable[[str | None], None]) -> str | None:
        """Point ``ref`` of ``url`` at commit ``new`` of ``repo``, never forcing.

        ``check`` is given what the server says ``ref`` is right now (``None``:
        absent) and raises to call the push off before anything is sent. The
        server then moves ``ref`` only if it is still at that value, so of two
        racing pushes one fails instead of overwriting the other.

        Args:
            url: The remote.
            repo: The locked mirror of ``url`` (see :meth:`mirror`) holding ``new``.
            ref: The full name, e.g. ``refs/heads/prod``.
            new: The commit to point ``ref`` at.
            check: Raises when the push must not happen.

        Returns:
            None when the server moved ``ref``; else its reason for refusing,
            with what it printed (a hook's output), redacted.

        Raises:
            AuthenticationError: The remote wants (other) credentials.
            SourceError: The remote cannot be reached or broke off.
        """
        remote = self._remote(url)
        name, target = Ref(ref.encode()), _oid(new)
        printed: list[bytes] = []

        def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            current = refs.get(name)
            check(current.decode() if current and current != _ZERO_SHA else None)
            return {name: target}

        try:
            with self._client(remote) as (client, path), _local_push_lock(client, path):
                refusal = _checked_out_refusal(client, path, ref)
                if refusal is not None:
                    return refusal
                result = client.send_pack(
                    os.fsencode(path), update_refs, repo.object_store.generate_pack_data, progress=printed.append
                )
        except SendPackError as exc:
            return self._redact(_refusal(_reason(exc), printed))
        except _TRANSPORT_ERRORS as exc:
            raise self._failure(remote, exc, f"cannot push to {ref}") from None
        error = (result.ref_status or {}).get(name)
        if error is not None:
            return self._redact(_refusal(error, printed))
        # Kept like fetched commits: the next fetch offers it as a "have".
        repo.refs[Ref(f"{KEEP_REF_PREFIX}{new}".encode())] = target
        listing = self._listings.get(remote.key)
        if listing is not None:
            self._remember_listing(remote, _Listing({**listing.refs, ref: new}))
        return None

    def _remember_listing(self, remote: _Remote, listing: _Listing) -> None:
        with self._lock:
            lock = self._listing_locks.setdefault(remote.key, threading.Lock())
        with lock:
            self._listings[remote.key] = listing

    # Resolving

    def _checkout_all(self, url: str, refs: list[str]) -> dict[str, tuple[str, Path]]:
        """Resolve ``refs`` of ``url`` (one listing), then fetch and export what is missing (one mirror open)."""
        remote = self._remote(url)
        exported = {ref: sha for ref in refs if (sha := self._exported_sha(ref))}
        first = len(exported) < len(refs) and self._first_contact(remote)
        tips, trees = self._list_and_fetch(remote, refs) if first else ({}, {})
        shas = {ref: exported.get(ref) or tips.get(ref) or self.resolve(url, ref) for ref in refs}
        missing = [sha for sha in dict.fromkeys(shas.values()) if sha not in trees and not self.has_snapshot(sha)]
        trees.update(self._export(remote, missing, ()) if missing else {})
        return {ref: (sha, trees.get(sha) or self.snapshot(url, sha)) for ref, sha in shas.items()}

    def _snapshot_path(self, sha: str, parts: tuple[str, ...]) -> Path:
        return self._cache.path("snapshots") / sha / _entry_name(parts)

    def _export(self, remote: _Remote, shas: list[str], parts: tuple[str, ...]) -> dict[str, Path]:
        """Export the snapshots of ``shas`` (their ``parts`` subpath), fetching missing commits first."""
        with self._object_source(remote, shas) as store:
            return {sha: self._export_one(remote, store, sha, parts) for sha in shas}

    @contextlib.contextmanager
    def _object_source(self, remote: _Remote, shas: list[str]) -> Iterator[BaseObjectStore]:
        """Where the commits ``shas`` of ``remote`` are read from, once they are all there.

        A local repository is read in place: copying its objects into a
        mirror first (which dulwich does in Python) would cost more than the
        export itself, and it is no safer, the repository being as near as
        the cache. Any other remote is fetched into its mirror, held locked.
        """
        if remote.local:
            with contextlib.closing(Repo(_local_path(remote))) as repo:
                missing = [sha for sha in shas if not _has_commit(repo, sha)]
                if missing:
                    raise SourceError(f"cannot fetch {_short(missing)}: not in the repository", url=remote.shown)
                yield repo.object_store
            return
        with self._locked_mirror(remote) as repo:
            missing = [sha for sha in shas if not _has_commit(repo, sha)]
            if missing:
                self._fetch_into(remote, repo, missing)
            yield repo.object_store

    def _export_one(self, remote: _Remote, store: BaseObjectStore, sha: str, parts: tuple[str, ...]) -> Path:
        final = self._snapshot_path(sha, parts)
        tree = _subtree(store, sha, parts, remote)
        where = f"{remote.shown}@{sha[:12]}"
        try:
            created = _build_snapshot(store, tree, final, PurePosixPath(*parts), where, self._redact)
        except OSError as exc:
            # A full disk, a read-only or unwritable cache: say which cache, never a traceback.
            raise SourceError(
                self._redact(f"cannot write the snapshot of {where} to the cache {final}: {_reason(exc)}"),
                url=remote.shown,
            ) from None
        self.stats.add(**({"snapshots_created": 1} if created else {"snapshot_hits": 1}))
        return final

    def _exported_sha(self, ref: str) -> str | None:
        """``ref`` if it is the SHA of a commit already exported (it needs no remote), else None."""
        return ref.lower() if _SHA.fullmatch(ref) and self.has_snapshot(ref.lower()) else None

    def _resolve_sha(self, remote: _Remote, sha: str) -> str:
        if self._can_export(remote, sha):
            return sha
        peeled = self._listing(remote).peel(sha)
        if peeled is not None:
            return peeled
        self.fetch(remote.url, [sha])
        return sha

    def _resolve_prefix(self, remote: _Remote, prefix: str) -> str | None:
        """The one commit whose SHA starts with ``prefix`` among those the remote's branches and tags reach.

        Git's protocol fetches full SHAs only, so the branch and tag tips are
        fetched (a local repository is read in place) and their history searched.
        """
        listing = self._listing(remote)
        names = [name for name in listing.refs if name.startswith(("refs/heads/", "refs/tags/"))]
        tips = sorted({sha for name in names if not name.endswith("^{}") and (sha := listing.lookup(name))})
        if not tips:
            return None
        with self._object_source(remote, tips) as store:
            found = _commits_starting(store, tips, prefix)
        if len(found) > 1:
            raise AmbiguousCommitError(prefix, url=remote.shown, candidates=found)
        return found[0] if found else None

    def _listing(self, remote: _Remote) -> _Listing:
        """The remote's refs, read once per instance: later calls cost no round trip."""
        with self._lock:
            lock = self._listing_locks.setdefault(remote.key, threading.Lock())
        with lock:
            if remote.key not in self._listings:
                self._listings[remote.key] = self._list_refs(remote)
            return self._listings[remote.key]

    def _list_refs(self, remote: _Remote) -> _Listing:
        log.debug("listing refs of %s", remote.shown)
        try:
            with self._client(remote) as (client, path):
                if isinstance(client, LocalGitClient):
                    refs = _local_refs(path)
                else:
                    result = client.get_refs(os.fsencode(path))
                    refs = {name.decode(): sha.decode() for name, sha in result.refs.items() if sha}
        except _TRANSPORT_ERRORS as exc:
            raise self._failure(remote, exc, "cannot list refs") from None
        finally:
            self.stats.add(ls_remote_calls=1)
        return _Listing(refs)

    # Fetching

    @contextlib.contextmanager
    def _locked_mirror(self, remote: _Remote) -> Iterator[Repo]:
        """The mirror, created if missing, with its lock held: one writer at a time."""
        try:
            remote.mirror.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Opened for append: the lock file is never truncated, so it is never replaced.
            lock = open(remote.mirror.with_suffix(".lock"), "ab")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise self._cache_failure(remote, exc) from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if remote.mirror.is_dir():
                # With the lock held no writer is running: what one left was killed with it.
                _remove_debris(remote.mirror)
            else:
                try:
                    _init_mirror(remote.mirror)
                except OSError as exc:
                    raise self._cache_failure(remote, exc) from None
            with contextlib.closing(_Mirror(os.fspath(remote.mirror))) as repo:
                yield repo

    def _fetch_into(self, remote: _Remote, repo: Repo, missing: list[str]) -> None:
        log.info("fetching %s from %s", plural(len(missing), "commit"), remote.shown)
        before = _pack_counts(repo)

        def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            del refs, depth  # Only what is missing, whatever the remote's refs say.
            return [_oid(sha) for sha in missing]

        try:
            with self._client(remote) as (client, path):
                client.fetch(path, repo, determine_wants=determine_wants)
        except (*_TRANSPORT_ERRORS, KeyError) as exc:
            raise self._failure(
                remote, exc, f"cannot fetch {_short(missing)}", self._tip_hint(remote, missing)
            ) from None
        finally:
            self.stats.add(fetches=1)
        self._keep(remote, repo, missing, before)

    def _first_contact(self, remote: _Remote) -> bool:
        """Whether ``remote`` is a server not read yet: no listing this run, no mirror in the cache."""
        return not remote.local and remote.key not in self._listings and not remote.mirror.is_dir()

    def _list_and_fetch(self, remote: _Remote, asked: list[str]) -> tuple[dict[str, str], dict[str, Path]]:
        """Read a new remote's refs, fetch and export its branch tips: one connection, not two.

        A cold cache fetches every remote it lists, so the fetch's own ref
        advertisement does for the listing. Only ``HEAD`` and branches are
        resolved here (``asked`` ref -> commit, returned): a tag may need peeling,
        which that advertisement does not carry over every transport, so
        tags and unknown names are left to :meth:`resolve`. The listing is
        kept for later resolves when the remote has no tags at all.

        Returns:
            The refs resolved (ref -> commit) and the snapshots exported (commit -> path).
        """
        resolved: dict[str, str] = {}
        wanted: list[str] = []

        def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            del depth
            listing = _Listing({name.decode(): sha.decode() for name, sha in refs.items()})
            if not any(name.startswith("refs/tags/") for name in listing.refs):
                self._remember_listing(remote, listing)  # complete: nothing to peel
            resolved.update((ref, sha) for ref in asked if (sha := listing.branch_tip(ref)))
            wanted.extend(sha for sha in dict.fromkeys(resolved.values()) if not self.has_snapshot(sha))
            if wanted:
                log.info("fetching %s from %s", plural(len(wanted), "commit"), remote.shown)
            return [_oid(sha) for sha in wanted]

        with self._locked_mirror(remote) as repo:
            before = _pack_counts(repo)
            try:
                with self._client(remote) as (client, path):
                    client.fetch(path, repo, determine_wants=determine_wants)
            except (*_TRANSPORT_ERRORS, KeyError) as exc:
                doing = f"cannot fetch {_short(wanted)}" if wanted else "cannot list refs"
                raise self._failure(remote, exc, doing) from None
            finally:
                self.stats.add(ls_remote_calls=1, fetches=1 if wanted else 0)
            self._keep(remote, repo, wanted, before)
            trees = {sha: self._export_one(remote, repo.object_store, sha, ()) for sha in wanted}
        return resolved, trees

    def _keep(self, remote: _Remote, repo: Repo, fetched: list[str], before: tuple[int, int]) -> None:
        """Check that the commits ``fetched`` arrived, count what came, and keep them by refs."""
        packs, objects = _pack_counts(repo)
        self.stats.add(packs_fetched=packs - before[0], objects_fetched=objects - before[1])
        for sha in fetched:
            _check_fetched(repo, sha, remote)
        # Refs last: the objects they name are in place, so a killed fetch
        # never leaves a ref to a missing object. They also tell the next
        # fetch what the mirror has, which keeps it incremental.
        for sha in fetched:
            repo.refs[Ref(f"{KEEP_REF_PREFIX}{sha}".encode())] = _oid(sha)

    def _tip_hint(self, remote: _Remote, shas: list[str]) -> str:
        """Why a server may refuse ``shas``, when we know they are no branch or tag tip."""
        listing = self._listings.get(remote.key)
        if listing is None or all(sha in listing.refs.values() for sha in shas):
            return ""
        return " (no branch or tag points there: the commit may not exist, or the server may not serve such commits)"

    def _can_export(self, remote: _Remote, sha: str) -> bool:
        """Whether commit ``sha`` can be exported without a fetch (see :meth:`_object_source`)."""
        store = _local_path(remote) if remote.local else os.fspath(remote.mirror)
        if not os.path.isdir(store):
            return False
        with contextlib.closing(Repo(store)) as repo:
            return _has_commit(repo, sha)

    # Remotes and errors

    def _remote(self, url: str) -> _Remote:
        """What this instance knows of ``url``: asked several times per remote, worked out once."""
        remote = self._remotes.get(url)
        if remote is None:
            remote = self._remotes[url] = self._new_remote(url)
        return remote

    def _new_remote(self, url: str) -> _Remote:
        client, path = get_transport_and_path(url)
        if isinstance(client, LocalGitClient) and not urlsplit(url).scheme:
            location = key = os.path.abspath(path)
        else:
            location, key = url, _without_userinfo(url)
        name = f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{_safe_tail(key)}.git"
        mirror = self._cache.path("mirrors") / name
        return _Remote(
            url=url,
            location=location,
            key=key,
            shown=self._redact(url),
            mirror=mirror,
            local=isinstance(client, LocalGitClient),
        )

    @contextlib.contextmanager
    def _client(self, remote: _Remote) -> Iterator[tuple[GitClient, str]]:
        """A dulwich client for one operation on the remote, with its credentials; its connections closed after.

        The operation (a listing, a fetch, a push) has one :class:`Deadline`
        for all its requests and their retries (see :mod:`fabpromote._util.network`).
        """
        credentials = self._credentials.for_url(remote.location)
        username, password = credentials if credentials else (None, None)
        is_http = urlsplit(remote.location).scheme in ("http", "https")
        with self._host_slot(remote):
            # Started once a slot is held: waiting for one is not waiting on the server.
            deadline = Deadline()
            pool_manager = _pool_manager(remote.location, deadline) if is_http else None
            try:
                # git:// gets a timeout too (dulwich sets none on its socket).
                yield _gittcp.transport(
                    remote.location,
                    timeout=deadline.seconds,
                    username=username,
                    password=password,
                    pool_manager=pool_manager,
                )
            finally:
                if pool_manager is not None:
                    pool_manager.clear()

    def _host_slot(self, remote: _Remote) -> contextlib.AbstractContextManager[object]:
        """Held while connected to the ``git://`` server of ``remote``: see :data:`GIT_CONNECTIONS_PER_HOST`."""
        parts = urlsplit(_without_userinfo(remote.location))
        if remote.local or parts.scheme != "git":
            return contextlib.nullcontext()
        with self._lock:
            return self._host_slots.setdefault(parts.netloc, threading.BoundedSemaphore(GIT_CONNECTIONS_PER_HOST))

    def _cache_failure(self, remote: _Remote, exc: OSError) -> SourceError:
        """The error to raise when the mirror of ``remote`` cannot be created in the cache."""
        return SourceError(
            self._redact(f"cannot create the mirror {remote.mirror} in the cache: {_reason(exc)}"), url=remote.shown
        )

    def _failure(self, remote: _Remote, exc: BaseException, doing: str, hint: str = "") -> SourceError:
        """The error to raise for a transport failure, redacted."""
        if isinstance(exc, OSError) and exc.errno in _LOCAL_WRITE_ERRNOS:
            # The mirror could not be written, whatever the remote sent: name the cache.
            hint = f" (writing the mirror in the cache {remote.mirror.parent}){hint}"
        status = _http_status(exc)
        if status in (401, 403):
            variable = self._credentials.variable_for(remote.location)
            message = f"{doing}: {_auth_advice(remote, status, variable)}"
            return AuthenticationError(self._redact(message), url=remote.shown, status=status, variable=variable)
        why = network_reason(exc, network_timeout()) or _reason(exc)
        return SourceError(self._redact(f"{doing}: {one_line(why)}{hint}"), url=remote.shown)

    def _redact(self, text: str) -> str:
        return self._credentials.redact(text)


class _ClosesResponses:
    """A urllib3 pool manager for one operation: its deadline, and every response closed at ``clear()``.

    Each request (a redirect too) waits at most what is left of the
    operation's :class:`Deadline`, and retries only within it. dulwich
    raises on a 401 or 404 without closing the response, which would keep
    its connection open until garbage collection.
    """

    _responses: list[urllib3.BaseHTTPResponse]
    deadline: Deadline

    def urlopen(self, *args: Any, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        kwargs["timeout"] = self.deadline.timeout()
        # A redirect comes back here with the retries it has left: those stay.
        kwargs.setdefault("retries", self.deadline.retry())
        response: urllib3.BaseHTTPResponse = super().urlopen(*args, **kwargs)  # type: ignore[misc]
        self.__dict__.setdefault("_responses", []).append(response)
        return response

    def clear(self) -> None:
        for response in self.__dict__.pop("_responses", []):
            response.close()
        super().clear()  # type: ignore[misc]


class _PoolManager(_ClosesResponses, urllib3.PoolManager):
    pass


class _ProxyManager(_ClosesResponses, urllib3.ProxyManager):
    pass


def _pool_manager(url: str, deadline: Deadline) -> urllib3.PoolManager:
    """What dulwich would use for ``url`` (proxies, CA settings), closing its responses, within ``deadline``."""
    # dulwich sets no timeout of its own: a silent server would hang us forever.
    manager = default_urllib3_manager(
        None, base_url=url, pool_manager_cls=_PoolManager, proxy_manager_cls=_ProxyManager
    )
    # Without auth callbacks dulwich returns the class it was given, never its callback wrapper.
    assert isinstance(manager, (_PoolManager, _ProxyManager))
    manager.deadline = deadline
    return manager


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


def _local_path(remote: _Remote) -> str:
    """The path of a local remote (its location may be a ``file://`` URL)."""
    return get_transport_and_path(remote.location)[1]


def _local_refs(path: str) -> dict[str, str]:
    """The refs of a local repository, as a server advertises them.

    Annotated tags also appear peeled (``<tag>^{}`` -> commit), which
    dulwich's LocalGitClient.get_refs leaves out. One open of the repository.
    """
    with contextlib.closing(Repo(path)) as repo:
        refs = {name.decode(): sha.decode() for name, sha in repo.get_refs().items() if sha}
        for name, sha in list(refs.items()):
            if name.startswith("refs/tags/"):
                target = repo.get_peeled(Ref(name.encode())).decode()
                if target != sha:
                    refs[f"{name}^{{}}"] = target
    return refs


_MIRROR_FILES = {
    "HEAD": b"ref: refs/heads/master\n",
    "config": b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n",
}
_MIRROR_DIRS = ("objects/info", "objects/pack", "refs/heads", "refs/tags")


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


def _pack_counts(repo: Repo) -> tuple[int, int]:
    packs = list(repo.object_store.packs)
    return len(packs), sum(len(pack) for pack in packs)


def _commits_starting(store: BaseObjectStore, tips: list[str], prefix: str) -> list[str]:
    """The SHAs of the commits reachable from ``tips`` that start with ``prefix`` (lower case)."""
    wanted = prefix.encode("ascii")
    walker = Walker(store, include=[_oid(sha) for sha in tips])
    return sorted(entry.commit.id.decode() for entry in walker if entry.commit.id.startswith(wanted))


def _has_commit(repo: Repo, sha: str) -> bool:
    try:
        return isinstance(repo.object_store[_oid(sha)], Commit)
    except KeyError:
        return False


def _check_fetched(repo: Repo, sha: str, remote: _Remote) -> None:
    try:
        obj = repo.object_store[_oid(sha)]
    except KeyError:
        raise SourceError(f"the server did not send commit {sha}", url=remote.shown) from None
    if not isinstance(obj, Commit):
        raise SourceError(f"{sha} is a {obj.type_name.decode()}, not a commit", url=remote.shown)


def _oid(sha: str) -> ObjectID:
    return ObjectID(sha.encode("ascii"))


def _checked_sha(sha: str, remote: _Remote) -> str:
    if not _SHA.fullmatch(sha):
        raise SourceError(f"{sha!r} is not a full 40-hex commit SHA", url=remote.shown)
    return sha.lower()


def _short(shas: list[str]) -> str:
    shown = ", ".join(sha[:12] for sha in shas[:3])
    more = f" and {len(shas) - 3} more" if len(shas) > 3 else ""
    return f"{'commit' if len(shas) == 1 else 'commits'} {shown}{more}"


def _http_status(exc: BaseException) -> int | None:
    if isinstance(exc, HTTPUnauthorized):
        return 401
    if isinstance(exc, HTTPProxyUnauthorized):
        return 407
    match = _HTTP_STATUS.search(str(exc)) if isinstance(exc, GitProtocolError) else None
    return int(match.group(1)) if match else None


def _auth_advice(remote: _Remote, status: int, variable: str | None) -> str:
    refused = "access denied" if status == 403 else "authentication required"
    host = urlsplit(remote.location).netloc.rpartition("@")[2] or remote.location
    if urlsplit(remote.url).username is not None:
        return f"{refused} (HTTP {status}): the credentials in the URL were refused"
    if variable is None:
        return (
            f"{refused} (HTTP {status}): no token variable is configured for {host}; "
            f"map the host to one, e.g. Credentials({{{host!r}: 'MY_TOKEN'}})"
        )
    if os.environ.get(variable):
        return f"{refused} (HTTP {status}): the token in ${variable} was refused or lacks access"
    return f"{refused} (HTTP {status}): set ${variable} to a token for {host}"


def _reason(exc: BaseException) -> str:
    """A short, human reason for a transport failure."""
    if isinstance(exc, NotGitRepository):
        return "no Git repository there"
    if isinstance(exc, ValueError):
        return "the server's answer is not what a Git server sends"
    if isinstance(exc, StrangeHostname):
        return "refusing an ssh host name that starts with '-' (it would be read as an option)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, KeyError):
        missing = exc.args[0] if exc.args else b""
        return f"object {os.fsdecode(missing)} not found"
    if isinstance(exc, GitProtocolError) and str(exc).startswith("Length of pkt read"):
        return "the connection was cut mid-transfer"  # dulwich's words for a short read
    # urllib3 errors come wrapped (GitProtocolError <- MaxRetryError <- the socket
    # error); the innermost message is the readable part.
    inner = getattr(exc.__cause__, "reason", None) or exc.__cause__
    if inner is not None and not isinstance(exc, HangupException):
        text = inner.args[0] if inner.args and isinstance(inner.args[0], str) else str(inner)
        return _CONNECTION_PREFIX.sub("", text)
    return str(exc) or type(exc).__name__


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path, parts.query, ""))


def _safe_tail(key: str) -> str:
    tail = key.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return _SAFE_TAIL.sub("_", tail).lstrip(".")[:40] or "repo"


# Snapshots


def _subpath_parts(subpath: str) -> tuple[str, ...]:
    path = PurePosixPath(subpath)
    if path.is_absolute() or ".." in path.parts or "\0" in subpath:
        raise UnsafePathError(f"subpath {subpath!r} must be relative and stay inside the repository")
    return tuple(part for part in path.parts if part != ".")


def _entry_name(parts: tuple[str, ...]) -> str:
    """The snapshot directory name: ``_root``, or the subpath quoted into one name.

    Quoting a leading ``_`` or ``.`` keeps a subpath from ever being named
    ``_root`` or looking like a temporary (dot) directory.
    """
    if not parts:
        return ROOT_ENTRY
    name = quote("/".join(parts), safe="")
    if name[0] in "_.":
        name = f"%{ord(name[0]):02X}{name[1:]}"
    if len(name) > 200:
        name = f"{name[:150]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"
    return name


def _subtree(store: BaseObjectStore, sha: str, parts: tuple[str, ...], remote: _Remote) -> ObjectID:
    commit = store[_oid(sha)]
    if not isinstance(commit, Commit):
        raise SourceError(f"{sha} is a {commit.type_name.decode()}, not a commit", url=remote.shown)
    tree_sha: ObjectID = commit.tree
    for depth, part in enumerate(parts):
        tree = _object(store, tree_sha, Tree, f"{remote.shown}@{sha[:12]}")
        try:
            mode, tree_sha = tree[part.encode()]
        except KeyError:
            raise SourceError(f"{'/'.join(parts[: depth + 1])} does not exist in {sha}", url=remote.shown) from None
        if not stat.S_ISDIR(mode):
            raise SourceError(f"{'/'.join(parts[: depth + 1])} is not a directory in {sha}", url=remote.shown)
    return tree_sha


def _build_snapshot(
    store: BaseObjectStore, tree: ObjectID, final: Path, prefix: PurePosixPath, where: str, redact: Callable[[str], str]
) -> bool:
    """Export ``tree`` to ``final`` in one step; False if another process got there first."""
    final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        links = _export(store, tree, staging, prefix, where, redact)
        _check_links(staging, links, where)
        os.rename(staging, final)
    except OSError:
        _discard(staging)
        if final.is_dir():
            return False
        raise
    except BaseException:
        _discard(staging)
        raise
    return True


def _export(
    store: BaseObjectStore,
    tree_sha: ObjectID,
    directory: Path,
    prefix: PurePosixPath,
    where: str,
    redact: Callable[[str], str],
) -> list[tuple[Path, PurePosixPath]]:
    """Write ``tree_sha`` into ``directory``, read-only; return the symlinks made."""
    links: list[tuple[Path, PurePosixPath]] = []
    for entry in _object(store, tree_sha, Tree, where).iteritems():
        name = os.fsdecode(entry.path)
        shown = prefix / name
        _check_name(name, shown, where)
        path = directory / name
        if stat.S_ISDIR(entry.mode):
            path.mkdir(mode=0o700)
            links += _export(store, entry.sha, path, shown, where, redact)
        elif S_ISGITLINK(entry.mode):
            log.warning(redact(f"{where}: skipping submodule {shown} (submodules are not exported)"))
        elif stat.S_ISLNK(entry.mode):
            target = os.fsdecode(_object(store, entry.sha, Blob, where).as_raw_string())
            if os.path.isabs(target) or "\0" in target:
                raise UnsafePathError(f"symlink to {target!r} leads out of the snapshot of {where}", file=str(shown))
            os.symlink(target, path)
            links.append((path, shown))
        else:
            _write_file(path, _object(store, entry.sha, Blob, where), executable=bool(entry.mode & 0o111))
    os.chmod(directory, 0o555)  # noqa: S103 - read-only for everyone is the point: snapshots are shared
    return links


def _object(store: BaseObjectStore, sha: ObjectID, kind: type[T], where: str) -> T:
    obj = store[sha]
    if not isinstance(obj, kind):
        raise SourceError(f"object {sha.decode()} should be a {kind.__name__.lower()}: corrupt tree", url=where)
    return obj


def _check_name(name: str, shown: PurePosixPath, where: str) -> None:
    # Names a real git tree never holds; a crafted one could write outside the snapshot.
    if name in ("", ".", "..") or "/" in name or "\0" in name or name.lower() == ".git":
        raise UnsafePathError(f"unsafe file name {name!r} in the tree of {where}", file=str(shown))


def _write_file(path: Path, blob: Blob, *, executable: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in blob.as_raw_chunks():
            handle.write(chunk)
        os.fchmod(handle.fileno(), 0o555 if executable else 0o444)


def _check_links(root: Path, links: list[tuple[Path, PurePosixPath]], where: str) -> None:
    """Refuse symlinks that resolve outside ``root``, following chains of links.

    Checked on the finished tree: a target that looks inside may still lead
    out through another link (``a -> .``, ``b -> a/..``).
    """
    real_root = os.path.realpath(root)
    for path, shown in links:
        resolved = os.path.realpath(path)
        if os.path.commonpath([real_root, resolved]) != real_root:
            target = os.readlink(path)
            raise UnsafePathError(f"symlink to {target!r} leads out of the snapshot of {where}", file=str(shown))


def _discard(staging: Path) -> None:
    """Remove a half-built snapshot, whose directories are read-only."""
    for directory, _, _ in os.walk(staging):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
    shutil.rmtree(staging, ignore_errors=True)


# Pushing


@contextlib.contextmanager
def _local_push_lock(client: GitClient, path: str) -> Iterator[None]:
    """For a local repository, one fabpromote push at a time (an flock on its git directory).

    dulwich writes a local remote's packs and refs itself: two processes
    pushing the same objects at once write packs of the same name over each
    other and read them half-written ("Checksum mismatch", PackFileDisappeared).
    Servers serialize this themselves; the lock puts no file in the repository.
    """
    if not isinstance(client, LocalGitClient):
        yield
        return
    control = os.path.join(path, ".git")
    try:
        fd = os.open(control if os.path.isdir(control) else path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield  # not a directory we can open: dulwich will say what is wrong
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _checked_out_refusal(client: GitClient, path: str, ref: str) -> str | None:
    """Why a push to a local repository must not happen, as git's ``receive.denyCurrentBranch``.

    dulwich writes local repositories directly: moving the branch a work
    tree has checked out would leave that work tree and index behind it.
    """
    if not isinstance(client, LocalGitClient):
        return None
    with contextlib.closing(Repo(path)) as target:
        if target.bare or target.refs.get_symrefs().get(Ref(b"HEAD")) != Ref(ref.encode()):
            return None
    return f"{ref} is checked out in a repository with a work tree (push to a bare repository)"


def _refusal(reason: str, printed: list[bytes]) -> str:
    """The server's reason, with what it printed (a hook's output) after it."""
    lines = []
    for line in re.split(r"[\r\n]+", b"".join(printed).decode("utf-8", "replace")):
        line = line.strip().removeprefix("remote:").strip()
        if line and not _PROGRESS_LINE.match(line):
            lines.append(line)
    return "; ".join([reason.strip(), *lines])
