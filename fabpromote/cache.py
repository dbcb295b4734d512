"""The on-disk cache a plugin stores into (public: plugins import these).

One cache directory serves sources, downloads and plugins' own entries:
:func:`cache_root` names it (the ``cache_dir`` setting, else
``$FABPROMOTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fabpromote``, else
``~/.cache/fabpromote``). A plugin keeps its entries in a folder of its own
under it (the helm plugin uses ``renders/``, ``charts/``, ``helm/``).

Several processes share the cache, so:

- write every entry with :func:`atomic_write` (readers see all of it or none);
- seal entries that must be whole and current with :func:`seal`, and read them
  with :func:`unseal`: a damaged entry is then a miss, and ``fabpromote cache
  check`` recognizes it;
- record the :func:`folder_digests` of an entry that is a folder with it
  (the helm plugin's charts keep them in ``source.json``; its dependency builds
  ``helm-deps/<key>`` in a sealed ``<key>.files``, :data:`FOLDER_RECORD_SUFFIX`),
  so that ``cache check`` can verify the folder;
- a run's :class:`Cache` is made from its :class:`RunSettings` (``Cache.from_settings``);
- do not trust a cache keyed by a file's stat signature (size, times, inode)
  while the file :func:`changed_recently`: it may be rewritten within the same
  clock tick and keep its signature.
"""

from __future__ import annotations

from fabpromote._sources.cache import (
    FOLDER_RECORD_SUFFIX,
    Cache,
    atomic_write,
    cache_root,
    folder_digests,
    seal,
    unseal,
)
from fabpromote._util.racy import changed_recently
from fabpromote._util.settings import RunSettings

__all__ = [
    "FOLDER_RECORD_SUFFIX",
    "Cache",
    "RunSettings",
    "atomic_write",
    "cache_root",
    "changed_recently",
    "folder_digests",
    "seal",
    "unseal",
]
