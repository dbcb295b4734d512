"""YAML as Fabrikate's go-yaml v2 reads and writes it (public: plugins import these).

A generator whose output must match Fabrikate's byte for byte parses and
writes YAML with these rather than PyYAML: :func:`load` reads a document as
go-yaml ``Unmarshal`` does (YAML 1.1 booleans, maps with non-string keys) and
:func:`dump` writes a value as go-yaml ``Marshal`` does (key order, quoting,
block scalars). Parse errors are ``yaml.YAMLError``; values ``dump`` cannot
represent raise ``TypeError``.
"""

from __future__ import annotations

from fabpromote._hld.goyaml import dump, load

__all__ = ["dump", "load"]
