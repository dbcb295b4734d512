"""Sources: resolve ``(url, ref)`` to a commit, keep a mirror per remote, export snapshots per commit.

Owns the cache root (``cache``), the mirrors and snapshots (``sources``), reading
and writing branches of a remote (``gitops``, with the Git result types of
``githost``), the built-in ``local`` Git host that works through it
(``localhost``), git:// connections (``gittcp``) and the fetcher that downloads
what an HLD names (``fetch``).

May import: :mod:`fabpromote._util` and :mod:`fabpromote.exceptions`.
"""
