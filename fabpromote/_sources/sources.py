"""Git sources: resolve ``(url, ref)`` to a commit, mirror it, export read-only snapshots.

Everything lives under the cache root (see :func:`fabpromote._sources.cache.cache_root`)::

    mirrors/<sha256(url)[:16]>-<tail>.git   a bare mirror per remote, fetched incrementally
    mirrors/<sha256(url)[:16]>-<tail>.lock  flock'ed around every write to that mirror
    snapshots/<sha>/_root                   the whole tree of commit <sha>, read-only
    snapshots/<sha>/<quoted subpath>        one directory of that tree, read-only

:class:`Sources` is the facade; the work is done by the modules of each concern:
:mod:`~fabpromote._sources.remotes` (what a URL names, its refs, pushing),
:mod:`~fabpromote._sources.transport` (one connection and its failures),
:mod:`~fabpromote._sources.mirrors` and :mod:`~fabpromote._sources.snapshots`.
A local repository is read in place: snapshots are exported from it directly; it
gets a mirror only to be pushed to.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import attrs
from dulwich.objects import ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from fabpromote._sources.cache import Cache, cache_root
from fabpromote._sources.mirrors import (
    checked_sha,
    commits_starting,
    has_commit,
    keep,
    locked_mirror,
    oid,
    pack_counts,
    short,
)
from fabpromote._sources.remotes import Listing, Remote, Remotes, SourceStats, local_path
from fabpromote._sources.snapshots import Origins, build_snapshot, entry_name, subpath_parts, subtree
from fabpromote._sources.transport import TRANSPORT_ERRORS, reason
from fabpromote._util import signals as _signals
from fabpromote._util.credentials import Credentials
from fabpromote._util.outcome import plural
from fabpromote._util.shas import is_abbreviated_sha, is_sha
from fabpromote.exceptions import (
    AmbiguousCommitError,
    AuthenticationError,
    FabpromoteError,
    RefNotFoundError,
    SourceError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator, Mapping

    from dulwich.object_store import BaseObjectStore

__all__ = ["AuthenticationError", "RefNotFoundError", "SourceError", "SourceStats", "Sources"]

log = logging.getLogger("fabpromote.sources")


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
    _remotes: Remotes = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: Remotes(self._cache, self._credentials, self.stats), takes_self=True),
        repr=False,
    )
    # What each snapshot folder handed out holds in the user's terms, for messages (see user_terms).
    _origins: Origins = attrs.field(init=False, factory=Origins, repr=False)

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
        remote = self._remotes.get(url)
        if is_sha(ref):
            return self._resolve_sha(remote, ref.lower())
        sha = self._remotes.listing(remote).lookup(ref)
        if sha is None and is_abbreviated_sha(ref):
            sha = self._resolve_prefix(remote, ref.lower())
        if sha is None:
            if not ref or ref == "HEAD":
                raise SourceError("the remote has no HEAD (is it empty?)", url=remote.shown)
            raise RefNotFoundError(ref, url=remote.shown, branches=self._remotes.listing(remote).branches())
        return sha

    def fetch(self, url: str, shas: Iterable[str]) -> None:
        """Make sure the commits ``shas`` (and their trees) are in the mirror of ``url``.

        Only missing commits are asked for, and the mirror's refs tell the
        server what is there already, so a fetch brings only new objects.

        Raises:
            AuthenticationError: The remote wants (other) credentials.
            SourceError: The remote cannot be read or did not send them.
        """
        remote = self._remotes.get(url)
        wanted = sorted({checked_sha(sha, remote) for sha in shas})
        if not wanted:
            return
        with locked_mirror(remote, self._remotes.redact) as repo:
            missing = [sha for sha in wanted if not has_commit(repo, sha)]
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
        remote = {url: self._remotes.get(url) for url in by_url}
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
                self._origins.remember(done[url][ref][1], remote[url].shown, ref or "HEAD", ())
                yield done[url][ref]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def has_snapshot(self, sha: str, subpath: str = "") -> bool:
        """Whether the snapshot of ``sha`` (and ``subpath``) is in the cache already."""
        return self._snapshot_path(sha.lower(), subpath_parts(subpath)).is_dir()

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
        remote = self._remotes.get(url)
        sha = checked_sha(sha, remote)
        parts = subpath_parts(subpath)
        final = self._snapshot_path(sha, parts)
        if final.is_dir():
            self.stats.add(snapshot_hits=1)
        else:
            final = self._export(remote, [sha], parts)[sha]
        self._origins.remember(final, remote.shown, sha[:12], parts, replace=False)
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
        return self._origins.in_user_terms(text)

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
        remote = self._remotes.get(url)
        listing = self._remotes.list_refs(remote)
        self._remotes.remember_listing(remote, listing)
        return listing.refs

    @contextlib.contextmanager
    def mirror(self, url: str) -> Iterator[Repo]:
        """The mirror of ``url``, locked against every other writer, thread or process.

        The lock is not re-entrant: inside, call nothing that fetches ``url``
        (:meth:`fetch`, :meth:`snapshot`, :meth:`resolve` of a missing SHA).
        """
        with locked_mirror(self._remotes.get(url), self._remotes.redact) as repo:
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
        return self._remotes.push(self._remotes.get(url), repo, ref, new, check=check)

    # Resolving

    def _checkout_all(self, url: str, refs: list[str]) -> dict[str, tuple[str, Path]]:
        """Resolve ``refs`` of ``url`` (one listing), then fetch and export what is missing (one mirror open)."""
        remote = self._remotes.get(url)
        exported = {ref: sha for ref in refs if (sha := self._exported_sha(ref))}
        first = len(exported) < len(refs) and self._first_contact(remote)
        tips, trees = self._list_and_fetch(remote, refs) if first else ({}, {})
        shas = {ref: exported.get(ref) or tips.get(ref) or self.resolve(url, ref) for ref in refs}
        missing = [sha for sha in dict.fromkeys(shas.values()) if sha not in trees and not self.has_snapshot(sha)]
        trees.update(self._export(remote, missing, ()) if missing else {})
        return {ref: (sha, trees.get(sha) or self.snapshot(url, sha)) for ref, sha in shas.items()}

    def _snapshot_path(self, sha: str, parts: tuple[str, ...]) -> Path:
        return self._cache.path("snapshots") / sha / entry_name(parts)

    def _export(self, remote: Remote, shas: list[str], parts: tuple[str, ...]) -> dict[str, Path]:
        """Export the snapshots of ``shas`` (their ``parts`` subpath), fetching missing commits first."""
        with self._object_source(remote, shas) as store:
            return {sha: self._export_one(remote, store, sha, parts) for sha in shas}

    @contextlib.contextmanager
    def _object_source(self, remote: Remote, shas: list[str]) -> Iterator[BaseObjectStore]:
        """Where the commits ``shas`` of ``remote`` are read from, once they are all there.

        A local repository is read in place: copying its objects into a
        mirror first (which dulwich does in Python) would cost more than the
        export itself, and it is no safer, the repository being as near as
        the cache. Any other remote is fetched into its mirror, held locked.
        """
        if remote.local:
            with contextlib.closing(Repo(local_path(remote))) as repo:
                missing = [sha for sha in shas if not has_commit(repo, sha)]
                if missing:
                    raise SourceError(f"cannot fetch {short(missing)}: not in the repository", url=remote.shown)
                yield repo.object_store
            return
        with locked_mirror(remote, self._remotes.redact) as repo:
            missing = [sha for sha in shas if not has_commit(repo, sha)]
            if missing:
                self._fetch_into(remote, repo, missing)
            yield repo.object_store

    def _export_one(self, remote: Remote, store: BaseObjectStore, sha: str, parts: tuple[str, ...]) -> Path:
        final = self._snapshot_path(sha, parts)
        tree = subtree(store, sha, parts, remote)
        where = f"{remote.shown}@{sha[:12]}"
        try:
            created = build_snapshot(store, tree, final, PurePosixPath(*parts), where, self._remotes.redact)
        except OSError as exc:
            # A full disk, a read-only or unwritable cache: say which cache, never a traceback.
            raise SourceError(
                self._remotes.redact(f"cannot write the snapshot of {where} to the cache {final}: {reason(exc)}"),
                url=remote.shown,
            ) from None
        self.stats.add(**({"snapshots_created": 1} if created else {"snapshot_hits": 1}))
        return final

    def _exported_sha(self, ref: str) -> str | None:
        """``ref`` if it is the SHA of a commit already exported (it needs no remote), else None."""
        return ref.lower() if is_sha(ref) and self.has_snapshot(ref.lower()) else None

    def _resolve_sha(self, remote: Remote, sha: str) -> str:
        if self._can_export(remote, sha):
            return sha
        peeled = self._remotes.listing(remote).peel(sha)
        if peeled is not None:
            return peeled
        self.fetch(remote.url, [sha])
        return sha

    def _resolve_prefix(self, remote: Remote, prefix: str) -> str | None:
        """The one commit whose SHA starts with ``prefix`` among those the remote's branches and tags reach.

        Git's protocol fetches full SHAs only, so the branch and tag tips are
        fetched (a local repository is read in place) and their history searched.
        """
        listing = self._remotes.listing(remote)
        names = [name for name in listing.refs if name.startswith(("refs/heads/", "refs/tags/"))]
        tips = sorted({sha for name in names if not name.endswith("^{}") and (sha := listing.lookup(name))})
        if not tips:
            return None
        with self._object_source(remote, tips) as store:
            found = commits_starting(store, tips, prefix)
        if len(found) > 1:
            raise AmbiguousCommitError(prefix, url=remote.shown, candidates=found)
        return found[0] if found else None

    # Fetching

    def _fetch_into(self, remote: Remote, repo: Repo, missing: list[str]) -> None:
        log.info("fetching %s from %s", plural(len(missing), "commit"), remote.shown)
        before = pack_counts(repo)

        def determine_wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            del refs, depth  # Only what is missing, whatever the remote's refs say.
            return [oid(sha) for sha in missing]

        try:
            with self._remotes.client(remote) as (client, path):
                client.fetch(path, repo, determine_wants=determine_wants)
        except (*TRANSPORT_ERRORS, KeyError) as exc:
            raise self._remotes.failure(
                remote, exc, f"cannot fetch {short(missing)}", self._tip_hint(remote, missing)
            ) from None
        finally:
            self.stats.add(fetches=1)
        self._keep(remote, repo, missing, before)

    def _first_contact(self, remote: Remote) -> bool:
        """Whether ``remote`` is a server not read yet: no listing this run, no mirror in the cache."""
        return not remote.local and self._remotes.known_listing(remote) is None and not remote.mirror.is_dir()

    def _list_and_fetch(self, remote: Remote, asked: list[str]) -> tuple[dict[str, str], dict[str, Path]]:
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
            listing = Listing({name.decode(): sha.decode() for name, sha in refs.items()})
            if not any(name.startswith("refs/tags/") for name in listing.refs):
                self._remotes.remember_listing(remote, listing)  # complete: nothing to peel
            resolved.update((ref, sha) for ref in asked if (sha := listing.branch_tip(ref)))
            wanted.extend(sha for sha in dict.fromkeys(resolved.values()) if not self.has_snapshot(sha))
            if wanted:
                log.info("fetching %s from %s", plural(len(wanted), "commit"), remote.shown)
            return [oid(sha) for sha in wanted]

        with locked_mirror(remote, self._remotes.redact) as repo:
            before = pack_counts(repo)
            try:
                with self._remotes.client(remote) as (client, path):
                    client.fetch(path, repo, determine_wants=determine_wants)
            except (*TRANSPORT_ERRORS, KeyError) as exc:
                doing = f"cannot fetch {short(wanted)}" if wanted else "cannot list refs"
                raise self._remotes.failure(remote, exc, doing) from None
            finally:
                self.stats.add(ls_remote_calls=1, fetches=1 if wanted else 0)
            self._keep(remote, repo, wanted, before)
            trees = {sha: self._export_one(remote, repo.object_store, sha, ()) for sha in wanted}
        return resolved, trees

    def _keep(self, remote: Remote, repo: Repo, fetched: list[str], before: tuple[int, int]) -> None:
        """Count what came, check that the commits ``fetched`` arrived, and keep them by refs."""
        packs, objects = pack_counts(repo)
        self.stats.add(packs_fetched=packs - before[0], objects_fetched=objects - before[1])
        keep(repo, fetched, remote)

    def _tip_hint(self, remote: Remote, shas: list[str]) -> str:
        """Why a server may refuse ``shas``, when we know they are no branch or tag tip."""
        listing = self._remotes.known_listing(remote)
        if listing is None or all(sha in listing.refs.values() for sha in shas):
            return ""
        return " (no branch or tag points there: the commit may not exist, or the server may not serve such commits)"

    def _can_export(self, remote: Remote, sha: str) -> bool:
        """Whether commit ``sha`` can be exported without a fetch (see :meth:`_object_source`)."""
        store = local_path(remote) if remote.local else os.fspath(remote.mirror)
        if not os.path.isdir(store):
            return False
        with contextlib.closing(Repo(store)) as repo:
            return has_commit(repo, sha)
