"""Fabrikate's treatment of ``helm template`` output: cleaning and namespace injection.

Both steps cut the text into chunks on the literal ``"\\n---"`` (so every
chunk loses the newline before the next ``---``), parse each chunk as Go's
``yaml.Unmarshal`` into a map would, and keep only non-empty maps:

* cleaning emits each kept chunk verbatim as ``"---\\n" + chunk + "\\n"``;
* namespace injection sets ``metadata.namespace`` where it is missing and
  emits ``"---\\n" + go-yaml dump + "\\n"``, in the original order.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fabpromote_helm._settings import SplitMode

__all__ = ["clean", "inject_namespace", "split"]

log = logging.getLogger("fabpromote.helm")

#: A YAML document marker: ``---`` at the start of a line, then a blank or the end of the line.
_DOCUMENT_MARKER = re.compile(r"\n---(?=[ \t\r\n]|\Z)")


def split(text: str, mode: SplitMode) -> list[str]:
    """Cut helm's output into chunks, as Fabrikate's ``strings.Split(out, "\\n---")``.

    ``documents`` cuts only where a line is a YAML document marker, so a
    line that merely starts with three dashes stays in its document.
    """
    if mode == "documents":
        return _DOCUMENT_MARKER.split(text)
    return text.split("\n---")


def _maps(chunks: list[str]) -> Iterator[tuple[str, dict[Any, Any]]]:
    """The chunks that parse to a non-empty map, with that map.

    A chunk that does not parse, or is not a map, is what Go's Unmarshal into
    ``map[interface{}]interface{}`` rejects: Fabrikate drops it with a warning.
    An empty or comment-only chunk parses to nothing and is dropped silently.
    """
    from fabpromote import goyaml

    for chunk in chunks:
        try:
            document = goyaml.load(chunk)
        except yaml.YAMLError as exc:
            log.warning("dropping a chunk of helm output that is not YAML (%s): %.200r", exc, chunk)
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            log.warning("dropping a chunk of helm output that is not a YAML map: %.200r", chunk)
            continue
        if document:
            yield chunk, document


def clean(output: str, mode: SplitMode = "compat") -> str:
    """Keep the chunks of helm's output that are non-empty maps, each as ``"---\\n" + chunk + "\\n"``."""
    return "".join(f"---\n{chunk}\n" for chunk, _document in _maps(split(output, mode)))


def inject_namespace(cleaned: str, namespace: str, mode: SplitMode = "compat") -> str:
    """Set ``metadata.namespace`` where a document has none, re-serialized with go-yaml v2.

    ``cleaned`` is the output of :func:`clean`; it is split again, so a block
    scalar ending a chunk lost its last newline and now dumps as ``|-``.
    """
    from fabpromote import goyaml

    parts = []
    for _chunk, document in _maps(split(cleaned, mode)):
        metadata = document.get("metadata")
        # Fabrikate type-asserts metadata to a map (and panics otherwise); only maps get a namespace.
        if isinstance(metadata, dict) and metadata.get("namespace") is None:
            metadata["namespace"] = namespace
        parts.append(f"---\n{goyaml.dump(document)}\n")
    return "".join(parts)
