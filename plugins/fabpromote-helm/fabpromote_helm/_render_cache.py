"""The render cache: finished helm renders on disk, keyed by everything they depend on.

A render is a pure function of the chart (its digest), the values file, the
release name, the namespace, the helm version and the cleaning options, so
its final bytes are stored under ``<cache root>/renders/<sha256 key>`` (the run's cache).
Entries are written with :func:`fabpromote.cache.atomic_write`, so several
processes may share the cache. An entry is sealed (:func:`fabpromote.cache.seal`):
it repeats its key and carries the sha256 of its content, and is used only
when both check out: a truncated or damaged file is a miss, and the next
render overwrites it.

Charts that draw random values (``randAlphaNum``) or read the clock render
once and are then served from the cache, which makes materialization
repeatable; set ``FABPROMOTE_NO_RENDER_CACHE=1`` to render afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

import attrs

from fabpromote.cache import atomic_write, seal, unseal

if TYPE_CHECKING:
    from pathlib import Path

    from fabpromote.cache import Cache

__all__ = ["CachedRender", "RenderKey", "load", "store"]

log = logging.getLogger("fabpromote.helm")

_LABEL = "fabpromote-helm render 1"
_FOLDER = "renders"


@attrs.frozen(kw_only=True)
class RenderKey:
    """Everything a helm render depends on.

    Attributes:
        chart: The chart digest (see :mod:`._chart_digest`).
        values: The identity of the values (see ``values_identity``).
        release: The release name (the component name).
        namespace: The ``--namespace`` given to helm.
        helm_version: ``helm version --short``.
        stderr: How stderr was read (``combine`` or ``separate``).
        split: How the output was split (``compat`` or ``documents``).
        inject_namespace: The namespace injected into the documents, or ``""``.
        helm_debug: ``HELM_DEBUG`` as the helm binary saw it (its debug lines
            join the output when stderr is combined), or ``""``.
    """

    chart: str
    values: bytes
    release: str
    namespace: str
    helm_version: str
    stderr: str
    split: str
    inject_namespace: str
    helm_debug: str = ""

    def hexdigest(self) -> str:
        """The cache key: the sha256 of a canonical encoding of every field."""
        fields = attrs.asdict(self)
        fields["values"] = hashlib.sha256(self.values).hexdigest()
        canonical = json.dumps({"format": 2, **fields}, sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@attrs.frozen(kw_only=True)
class CachedRender:
    """A render kept in the cache.

    Attributes:
        manifest: The generator's output.
        warnings: What helm printed on stderr (``separate`` mode), logged again on a hit.
    """

    manifest: bytes
    warnings: bytes = b""


def entry_path(key: str, root: Path) -> Path:
    """Where the entry of ``key`` lives in cache root ``root``."""
    return root / _FOLDER / key


def _encode(key: str, render: CachedRender) -> bytes:
    return seal(_LABEL, key, b"%d\n" % len(render.warnings) + render.warnings + render.manifest)


def _decode(key: str, data: bytes) -> CachedRender | None:
    body = unseal(key, data, _LABEL)
    if body is None:
        return None
    length, sep, payload = body.partition(b"\n")
    if not sep or not length.isdigit() or int(length) > len(payload):
        return None
    size = int(length)
    return CachedRender(manifest=payload[size:], warnings=payload[:size])


def load(cache: Cache, key: str) -> CachedRender | None:
    """The cached render of ``key`` in ``cache``, or None when absent or not trustworthy."""
    path = entry_path(key, cache.root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read render cache entry %s: %s", path, exc.strerror)
        return None
    render = _decode(key, data)
    if render is None:
        log.warning("ignoring damaged render cache entry %s", path)
    return render


def store(cache: Cache, key: str, render: CachedRender) -> None:
    """Keep ``render`` under ``key`` in ``cache``; a cache that cannot be written only costs speed."""
    path = entry_path(key, cache.root)
    try:
        atomic_write(path, _encode(key, render))
    except OSError as exc:
        log.warning("cannot write render cache entry %s: %s", path, exc.strerror or exc)
