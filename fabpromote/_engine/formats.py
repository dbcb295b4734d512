"""Bytes the engine writes, in standard-library code that the CLI's stamp reuses.

:mod:`fabpromote._cli.patching` redoes one static component's output and its
output record without importing the engine (whose imports cost more than the
whole patch), so the two formats it must reproduce byte for byte live here,
once: a static component's manifest, the digest of a set of output files
and the record of an output folder.
"""

from __future__ import annotations

import hashlib
import json
import os

TYPE_CHECKING = False  # not typing's: see fabpromote._cli.stamps
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "cache_record_path",
    "file_digests",
    "manifests_digest",
    "record_bytes",
    "record_lock_path",
    "static_manifest",
]


def static_manifest(contents: Iterable[bytes]) -> bytes:
    """A static component's manifest, as Fabrikate makes it: each file as ``"---\\n" + bytes + "\\n"``."""
    return b"".join(b"---\n" + data + b"\n" for data in contents)


def manifests_digest(files: Iterable[tuple[str, bytes]]) -> str:
    """The digest of a set of output files (sorted by path): sha256 over each path and its bytes, length-prefixed."""
    sha = hashlib.sha256()
    for path, data in files:
        encoded = path.encode()
        sha.update(len(encoded).to_bytes(8, "big") + encoded)
        sha.update(len(data).to_bytes(8, "big") + data)
    return sha.hexdigest()


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """An output folder's state as its record keeps it: each path -> the sha256 of its bytes (hex)."""
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def record_bytes(*states: Mapping[str, str]) -> bytes:
    """The record of an output folder's accepted ``states`` (each path -> sha256), newest first."""
    return json.dumps({"written-by": "fabpromote", "states": [dict(sorted(s.items())) for s in states]}).encode()


def cache_record_path(cache_root: str, folder: str) -> str:
    """Where the cache keeps the record of output ``folder`` (one file per real path)."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(folder))).hexdigest()
    return os.path.join(cache_root, "outputs", key)


def record_lock_path(record: str) -> str:
    """The lock held while the folder of cache ``record`` is checked and changed (render and rewrite alike)."""
    return record + ".lock"
