"""Fetching remote parts of an HLD, and the limits on what is fetched (public: plugins import these).

A generator or engine given a :class:`Fetcher` (``RenderRequest.fetcher``,
``Engine.render``'s ``fetcher``) fetches git trees and downloads through it, so
that what it used is recorded in the lock as :class:`LockEntry` records and
read back from it on a locked run. A generator that fetches by other means
records its own entries with ``Fetcher.record``, and raises
:class:`fabpromote.exceptions.LockMismatchError` when content differs from
what the lock holds.

Limits (each set by an environment variable, see docs/security.md):
:data:`DOWNLOAD_BYTES` bounds one download; an :class:`ArchiveBudget` bounds the
entries and expanded bytes of one archive while it is read. The time one
network operation may take is in :mod:`fabpromote.network`.
"""

from __future__ import annotations

from fabpromote._sources.fetch import Fetcher, LockEntry
from fabpromote._util.limits import DOWNLOAD_BYTES, ArchiveBudget, Limit

__all__ = ["DOWNLOAD_BYTES", "ArchiveBudget", "Fetcher", "Limit", "LockEntry"]
