"""HLDs: the component model, reading component and config files, merging config.

Owns the records (``model``), the file readers (``loading``, ``convert``, and the
go-yaml port ``goyaml``), the parse cache (``parsed``) and Fabrikate's config
merge (``merge``). The model imports nothing of the package; loading sits above it,
so reading files and the records no longer import each other.

May import: :mod:`fabpromote._sources` (the cache the parse cache lives in),
:mod:`fabpromote._util` and :mod:`fabpromote.exceptions`.
"""
