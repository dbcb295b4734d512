"""Remotes: what a URL names (its identity, its mirror), connections to it, its refs, and pushing to it.

Remotes are anything dulwich reaches: local paths (bare or not), ``file://``,
``git://`` and smart ``http(s)://``. A local repository is read in place.
Messages and logs never show a token: they all go through :meth:`Credentials.redact`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import attrs
from dulwich.client import LocalGitClient, get_transport_and_path
from dulwich.errors import SendPackError
from dulwich.refs import Ref
from dulwich.repo import Repo

from fabpromote._sources.mirrors import KEEP_REF_PREFIX, oid
from fabpromote._sources.transport import LOCAL_WRITE_ERRNOS, TRANSPORT_ERRORS, connect, http_status, reason
from fabpromote._util.network import network_timeout, one_line
from fabpromote._util.network import reason as network_reason
from fabpromote._util.shas import is_sha
from fabpromote.exceptions import AuthenticationError, SourceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from dulwich.client import GitClient
    from dulwich.objects import ObjectID

    from fabpromote._sources.cache import Cache
    from fabpromote._util.credentials import Credentials

__all__ = ["GIT_CONNECTIONS_PER_HOST", "Listing", "Remote", "Remotes", "SourceStats", "local_path", "same_repo"]

log = logging.getLogger("fabpromote.sources")


#: ``git://`` connections open at once to one server. ``git daemon`` queues at
#: most five (its listen backlog): past that the kernel drops the connection
#: attempt and the client waits a second before trying again. HTTP servers
#: queue hundreds: only ``jobs`` bounds those.
GIT_CONNECTIONS_PER_HOST = 4
_SAFE_TAIL = re.compile(r"[^A-Za-z0-9._-]+")
_ZERO_SHA = b"0" * 40
# Lines of transfer progress, not worth showing in an error.
_PROGRESS_LINE = re.compile(r"^[A-Za-z][A-Za-z ]*:\s+\d+% ")


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
class Remote:
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
class Listing:
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
        if is_sha(ref) or not (name == "HEAD" or name.startswith("refs/heads/")):
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


@attrs.define
class Remotes:
    """The remotes of one :class:`~fabpromote._sources.sources.Sources`: each URL worked out once,
    connections to them, their refs (read once, unless refreshed), pushes, and failures in words."""

    _cache: Cache
    _credentials: Credentials
    _stats: SourceStats
    _remotes: dict[str, Remote] = attrs.field(init=False, factory=dict)
    _listings: dict[str, Listing] = attrs.field(init=False, factory=dict)
    _listing_locks: dict[str, threading.Lock] = attrs.field(init=False, factory=dict)
    _host_slots: dict[str, threading.BoundedSemaphore] = attrs.field(init=False, factory=dict)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def get(self, url: str) -> Remote:
        """What is known of ``url``: asked several times per remote, worked out once."""
        remote = self._remotes.get(url)
        if remote is None:
            remote = self._remotes[url] = self._new_remote(url)
        return remote

    def _new_remote(self, url: str) -> Remote:
        client, path = get_transport_and_path(url)
        if isinstance(client, LocalGitClient) and not urlsplit(url).scheme:
            location = key = os.path.abspath(path)
        else:
            location, key = url, _without_userinfo(url)
        name = f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{_safe_tail(key)}.git"
        mirror = self._cache.path("mirrors") / name
        return Remote(
            url=url,
            location=location,
            key=key,
            shown=self.redact(url),
            mirror=mirror,
            local=isinstance(client, LocalGitClient),
        )

    @contextlib.contextmanager
    def client(self, remote: Remote) -> Iterator[tuple[GitClient, str]]:
        """A dulwich client for one operation on ``remote`` (see :func:`~fabpromote._sources.transport.connect`)."""
        # The deadline starts once a slot is held: waiting for one is not waiting on the server.
        with self._host_slot(remote), connect(remote.location, self._credentials) as connection:
            yield connection

    def _host_slot(self, remote: Remote) -> contextlib.AbstractContextManager[object]:
        """Held while connected to the ``git://`` server of ``remote``: see :data:`GIT_CONNECTIONS_PER_HOST`."""
        parts = urlsplit(_without_userinfo(remote.location))
        if remote.local or parts.scheme != "git":
            return contextlib.nullcontext()
        with self._lock:
            return self._host_slots.setdefault(parts.netloc, threading.BoundedSemaphore(GIT_CONNECTIONS_PER_HOST))

    def failure(self, remote: Remote, exc: BaseException, doing: str, hint: str = "") -> SourceError:
        """The error to raise for a transport failure, redacted."""
        if isinstance(exc, OSError) and exc.errno in LOCAL_WRITE_ERRNOS:
            # The mirror could not be written, whatever the remote sent: name the cache.
            hint = f" (writing the mirror in the cache {remote.mirror.parent}){hint}"
        status = http_status(exc)
        if status in (401, 403):
            variable = self._credentials.variable_for(remote.location)
            message = f"{doing}: {_auth_advice(remote, status, variable)}"
            return AuthenticationError(self.redact(message), url=remote.shown, status=status, variable=variable)
        why = network_reason(exc, network_timeout()) or reason(exc)
        return SourceError(self.redact(f"{doing}: {one_line(why)}{hint}"), url=remote.shown)

    def redact(self, text: str) -> str:
        """``text`` with every token of these remotes' credentials hidden."""
        return self._credentials.redact(text)

    def listing(self, remote: Remote) -> Listing:
        """The remote's refs, read once per instance: later calls cost no round trip."""
        with self._lock:
            lock = self._listing_locks.setdefault(remote.key, threading.Lock())
        with lock:
            if remote.key not in self._listings:
                self._listings[remote.key] = self.list_refs(remote)
            return self._listings[remote.key]

    def known_listing(self, remote: Remote) -> Listing | None:
        """The refs of ``remote`` read so far by this instance, if any (no round trip)."""
        return self._listings.get(remote.key)

    def list_refs(self, remote: Remote) -> Listing:
        """Read the refs of ``remote`` (one round trip)."""
        log.debug("listing refs of %s", remote.shown)
        try:
            with self.client(remote) as (client, path):
                if isinstance(client, LocalGitClient):
                    refs = local_refs(path)
                else:
                    result = client.get_refs(os.fsencode(path))
                    refs = {name.decode(): sha.decode() for name, sha in result.refs.items() if sha}
        except TRANSPORT_ERRORS as exc:
            raise self.failure(remote, exc, "cannot list refs") from None
        finally:
            self._stats.add(ls_remote_calls=1)
        return Listing(refs)

    def remember_listing(self, remote: Remote, listing: Listing) -> None:
        """What later :meth:`listing` calls give for ``remote``."""
        with self._lock:
            lock = self._listing_locks.setdefault(remote.key, threading.Lock())
        with lock:
            self._listings[remote.key] = listing

    def push(
        self, remote: Remote, repo: Repo, ref: str, new: str, *, check: Callable[[str | None], None]
    ) -> str | None:
        """See :meth:`fabpromote._sources.sources.Sources.push`."""
        name, target = Ref(ref.encode()), oid(new)
        printed: list[bytes] = []

        def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            current = refs.get(name)
            check(current.decode() if current and current != _ZERO_SHA else None)
            return {name: target}

        try:
            with self.client(remote) as (client, path), _local_push_lock(client, path):
                refusal = _checked_out_refusal(client, path, ref)
                if refusal is not None:
                    return refusal
                result = client.send_pack(
                    os.fsencode(path), update_refs, repo.object_store.generate_pack_data, progress=printed.append
                )
        except SendPackError as exc:
            return self.redact(_refusal(reason(exc), printed))
        except TRANSPORT_ERRORS as exc:
            raise self.failure(remote, exc, f"cannot push to {ref}") from None
        error = (result.ref_status or {}).get(name)
        if error is not None:
            return self.redact(_refusal(error, printed))
        # Kept like fetched commits: the next fetch offers it as a "have".
        repo.refs[Ref(f"{KEEP_REF_PREFIX}{new}".encode())] = target
        listing = self.known_listing(remote)
        if listing is not None:
            self.remember_listing(remote, Listing({**listing.refs, ref: new}))
        return None


_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>.+)")


def same_repo(first: str, second: str) -> bool:
    """Whether two URLs (or paths) name one repository, however each was spelled.

    User info, the scheme (``https://``, ``ssh://``, scp-like ``git@host:``),
    the case of the host name, a trailing ``/`` or ``.git`` do not matter.
    """
    return _identity(first) == _identity(second)


def _identity(url: str) -> str:
    scp = _SCP_LIKE.fullmatch(url)
    if scp and "://" not in url:  # git@host:org/repo is ssh://git@host/org/repo
        url = f"ssh://{scp['host']}/{scp['path'].lstrip('/')}"
    parts = urlsplit(url)
    if not parts.scheme or parts.scheme == "file":
        path = parts.path if parts.scheme == "file" else url
        return os.path.abspath(path).rstrip(os.sep).removesuffix(".git")
    host = parts.netloc.rpartition("@")[2].lower()
    return f"//{host}{parts.path.rstrip('/').removesuffix('.git')}"


def local_path(remote: Remote) -> str:
    """The path of a local remote (its location may be a ``file://`` URL)."""
    return get_transport_and_path(remote.location)[1]


def local_refs(path: str) -> dict[str, str]:
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


def _auth_advice(remote: Remote, status: int, variable: str | None) -> str:
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


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc.lower(), parts.path, parts.query, ""))


def _safe_tail(key: str) -> str:
    tail = key.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    return _SAFE_TAIL.sub("_", tail).lstrip(".")[:40] or "repo"


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
