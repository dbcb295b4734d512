"""Fetching the remote parts of an HLD, recording what was used in a lock.

The engine asks the :class:`Fetcher` for git components, charts and
downloads that are not installed in the HLD tree (``components/``,
``helm_repos/``). Everything comes from the cache: git trees through
:class:`~fabpromote._sources.sources.Sources` snapshots (one per commit), downloads
by content digest. Each answer is recorded as a :class:`LockEntry`; a
fetcher made from a lock answers with exactly the recorded versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote._sources.cache import Cache, atomic_write
from fabpromote._util import reads as _reads
from fabpromote._util.credentials import redact
from fabpromote._util.limits import DOWNLOAD_BYTES
from fabpromote.exceptions import DownloadError, FabpromoteError, LockMismatchError

if TYPE_CHECKING:
    from fabpromote._hld.parsed import ParsedFiles
    from fabpromote._sources.sources import Sources

__all__ = ["DownloadError", "Fetcher", "LockEntry", "LockMismatchError", "as_lock", "lock_key"]

#: Bytes read from a download at a time (decoded: a compressed body expands by at most this much).
DOWNLOAD_CHUNK = 64 * 1024

log = logging.getLogger("fabpromote.fetch")
# urllib3's "HTTPConnection(host=..., port=...): " before the reason.


@attrs.frozen(kw_only=True)
class LockEntry:
    """What one remote part of an HLD resolved to.

    A lock never holds a credential: :meth:`to_json` (and the repr) show the
    URL redacted, and a lock read back matches by that form (:attr:`key`).
    In memory ``url`` stays as given, for fetching.

    Attributes:
        component: The logical path of the component (entry names joined by ``/``).
        url: The source URL, as the HLD gives it.
        ref: What the HLD asked for: a branch, tag or SHA for git; ``chart@version``
            for helm repositories; empty for downloads.
        sha: The commit SHA (git), or the sha256 of the content (helm, http).
        kind: ``git``, ``helm`` or ``http``.
    """

    component: str
    url: str = attrs.field(repr=lambda url: repr(redact(url)))
    ref: str
    sha: str
    kind: str = "git"

    @property
    def key(self) -> tuple[str, str, str]:
        """``(kind, url redacted, ref)``: what a lock entry is matched by, written or read back."""
        return lock_key(self.kind, self.url, self.ref)

    def to_json(self) -> dict[str, str]:
        """The JSON object of this entry (``kind`` omitted for git), its URL redacted."""
        data = {"component": self.component, "url": redact(self.url), "ref": self.ref, "sha": self.sha}
        if self.kind != "git":
            data["kind"] = self.kind
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> LockEntry:
        """Read an entry written by :meth:`to_json`."""
        return cls(
            component=str(data.get("component", "")),
            url=str(data["url"]),
            ref=str(data.get("ref", "")),
            sha=str(data["sha"]),
            kind=str(data.get("kind", "git")),
        )


def lock_key(kind: str, url: str, ref: str) -> tuple[str, str, str]:
    """How a lock entry for ``(kind, url, ref)`` is found: by the redacted URL, the only one a lock holds."""
    return kind, redact(url), ref


def as_lock(value: Iterable[LockEntry]) -> tuple[LockEntry, ...]:
    """A lock: the entries as a tuple (attrs converter)."""
    return tuple(value)


@attrs.define
class Fetcher:
    """Finds remote content for one render, and records the lock.

    Args:
        sources: Where git content comes from; made on first use.
        lock: Entries to reproduce: their URLs and refs resolve to their SHAs.
        prefer_installed: Use ``components/`` and ``helm_repos/`` when present
            (as ``fab generate`` does); materialize turns this off.
        cache: The run's cache; default that of ``sources``, else one made
            from the settings (see :meth:`Cache.from_settings`).
        parsed: The parse cache of the HLD files read by this render (see
            :mod:`fabpromote._hld.parsed`); None parses every file.
    """

    _sources: Sources | None = None
    lock: tuple[LockEntry, ...] = attrs.field(default=(), converter=as_lock)
    prefer_installed: bool = True
    _cache: Cache | None = attrs.field(default=None, kw_only=True)
    parsed: ParsedFiles | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    _pins: dict[tuple[str, str, str], str] = attrs.field(init=False, factory=dict)
    _recorded: dict[tuple[str, str], LockEntry] = attrs.field(init=False, factory=dict)
    _mutex: threading.Lock = attrs.field(init=False, factory=threading.Lock)

    def __attrs_post_init__(self) -> None:
        for entry in self.lock:
            self._pins[entry.key] = entry.sha

    @property
    def cache(self) -> Cache:
        """The run's cache: everything this render fetches or keeps goes there."""
        with self._mutex:
            if self._cache is None:
                self._cache = self._sources.cache if self._sources is not None else Cache.from_settings()
            return self._cache

    @property
    def sources(self) -> Sources:
        """The git sources layer (created when first needed, in :attr:`cache`)."""
        cache = self.cache
        with self._mutex:
            if self._sources is None:
                from fabpromote._sources.sources import Sources

                self._sources = Sources(cache=cache)
            return self._sources

    @contextlib.contextmanager
    def user_terms(self) -> Iterator[None]:
        """:meth:`Sources.user_terms` for a render, without making a sources layer when nothing was fetched.

        Importing and making one costs a local-only ``generate`` 40 ms.
        """
        try:
            yield
        except FabpromoteError:
            if self._sources is not None:
                with self._sources.user_terms():
                    raise
            raise

    def pinned(self, kind: str, url: str, ref: str) -> str | None:
        """The SHA or digest the lock gives for ``(kind, url, ref)``, if any."""
        return self._pins.get(lock_key(kind, url, ref))

    def record(self, entry: LockEntry) -> None:
        """Add an entry to the lock of this render."""
        _reads.spoil(f"fetched {entry.kind} {entry.url}")
        with self._mutex:
            self._recorded[(entry.component, entry.kind)] = entry

    def entries(self) -> tuple[LockEntry, ...]:
        """The lock of this render so far, sorted by component."""
        with self._mutex:
            return tuple(sorted(self._recorded.values(), key=lambda e: (e.component, e.kind, e.url)))

    def git_trees(self, wanted: list[tuple[str, str, str]]) -> Generator[Path, None, None]:
        """Snapshots of many ``(component, url, ref)``, in order, each as soon as it is ready.

        Different URLs are read, fetched and exported in parallel (see
        :meth:`Sources.checkouts`): the caller goes on with the first trees
        while the others are still coming. A pinned commit already exported
        costs no round trip.
        """
        asked = [(url, self.pinned("git", url, ref) or ref) for _, url, ref in wanted]
        checkouts = self.sources.checkouts(asked)
        try:
            for (component, url, ref), (sha, tree) in zip(wanted, checkouts, strict=True):
                self.record(LockEntry(component=component, url=url, ref=ref, sha=sha))
                yield tree
        finally:
            checkouts.close()  # stops (and waits for) the fetches when the caller stops early

    def git_tree(self, component: str, url: str, ref: str) -> Path:
        """The snapshot of one ``(url, ref)``; see :meth:`git_trees`."""
        with contextlib.closing(self.git_trees([(component, url, ref)])) as trees:
            return next(trees)

    def download(self, component: str, url: str) -> bytes:
        """The bytes at ``url`` (``method: http``), kept in the cache by digest.

        With a lock, the cached bytes of the recorded digest are used without
        asking the server; otherwise the URL is downloaded.

        Raises:
            DownloadError: The server cannot be reached or refuses, or the body
                is larger than ``$FABPROMOTE_MAX_DOWNLOAD_BYTES``.
            LockMismatchError: The content differs from the digest of the lock.
        """
        pinned = self.pinned("http", url, "")
        store = self.cache.path("downloads")
        if pinned is not None and (store / pinned).is_file():
            data = (store / pinned).read_bytes()
        else:
            data = _http_get(url, DOWNLOAD_BYTES.value())
            digest = hashlib.sha256(data).hexdigest()
            if pinned is not None and digest != pinned:
                raise LockMismatchError(
                    f"{url} changed since the lock was made (sha256 {digest[:12]}, lock {pinned[:12]})"
                )
            try:
                atomic_write(store / digest, data)
            except OSError as exc:  # a full or read-only cache only costs a download next time
                log.warning(
                    "cannot keep the download of %s in the cache %s: %s", redact(url), store, exc.strerror or exc
                )
        self.record(LockEntry(component=component, url=url, ref="", sha=hashlib.sha256(data).hexdigest(), kind="http"))
        return data


def _http_get(url: str, limit: int) -> bytes:
    """The body at ``url``, read in chunks and refused as soon as it passes ``limit`` bytes.

    One network operation: one :class:`~fabpromote._util.network.Deadline` for
    the request, its retries and redirects.
    """
    # Imported here: requests and urllib3 cost 30 ms, and most runs download nothing.
    import requests
    from requests.adapters import HTTPAdapter

    from fabpromote._util.network import REDIRECTS, Deadline, one_line, request_failure
    from fabpromote._util.network import reason as network_reason

    deadline = Deadline()
    session = requests.Session()
    session.max_redirects = REDIRECTS
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(max_retries=deadline.retry()))
    try:
        with session, session.get(url, timeout=deadline.timeouts(), stream=True) as response:
            response.raise_for_status()
            # A length announced past the limit is refused before a byte of the body is read.
            announced = response.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > limit:
                raise _too_large(url, limit, f" (Content-Length {announced})")
            body = bytearray()
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise _too_large(url, limit)
    except requests.RequestException as exc:
        why = network_reason(exc, deadline.seconds) or request_failure(exc)
        raise DownloadError(f"cannot download {redact(url)}: {one_line(redact(why))}") from None
    return bytes(body)


def _too_large(url: str, limit: int, detail: str = "") -> DownloadError:
    return DownloadError(f"cannot download {redact(url)}: larger than {DOWNLOAD_BYTES.shown(limit)}{detail}")
