"""Image references in HLD config: finding them, and changing a tag in place.

An image is a map with ``repository`` and ``tag`` (the helm convention the
seed uses: ``config.image.repository`` / ``config.image.tag``), found at any
depth of a component's ``config``. Editing rewrites only the bytes of the
one scalar, so the file keeps its layout and comments.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from fabpromote._hld import goyaml as _goyaml
from fabpromote.exceptions import HLDError

__all__ = ["find_images", "image_in_text", "set_image_in_text"]


def find_images(config: Mapping[str, Any]) -> list[str]:
    """Every ``repository:tag`` in a config map, depth first, in key order."""
    return list(_walk(config))


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        repository, tag = value.get("repository"), value.get("tag")
        if isinstance(repository, str) and tag is not None and not isinstance(tag, (Mapping, list)):
            yield f"{repository}:{tag}"
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def set_image_in_text(text: str, tag: str, repository: str | None = None, *, file: str = "") -> str | None:
    """``text`` with the first image's tag (and repository) replaced, or None if it has no image.

    Only ``config`` is searched. The new values are written as double-quoted
    strings when plain text would read as something else (``1.10`` would
    become a number), so the tag stays exactly what was given.

    Raises:
        HLDError: The file is not valid YAML.
    """
    image = _first_image(text, file)
    if image is None:
        return None
    edits = [(_child(image, "tag"), tag)]
    if repository is not None:
        edits.append((_child(image, "repository"), repository))
    # Replace from the end so earlier offsets stay valid.
    for node, value in sorted(edits, key=lambda edit: -edit[0].start_mark.index):
        written = _goyaml.dump(value).rstrip("\n")  # plain, or quoted when plain would misread
        text = text[: node.start_mark.index] + written + text[node.end_mark.index :]
    return text


def image_in_text(text: str, *, file: str = "") -> tuple[str, str] | None:
    """``(repository, tag)`` of the image :func:`set_image_in_text` would edit, as written; None without one.

    Raises:
        HLDError: The file is not valid YAML.
    """
    image = _first_image(text, file)
    if image is None:
        return None
    return _child(image, "repository").value, _child(image, "tag").value


def _first_image(text: str, file: str) -> MappingNode | None:
    try:
        root = _goyaml.compose(text)
    except yaml.YAMLError as exc:
        raise HLDError(f"invalid YAML: {exc}", file=file) from None
    return _find_image_node(_child(root, "config"))


def _child(node: Node | None, key: str) -> Any:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                return value
    return None


def _find_image_node(node: Node | None) -> MappingNode | None:
    if isinstance(node, MappingNode):
        tag, repository = _child(node, "tag"), _child(node, "repository")
        if isinstance(tag, ScalarNode) and isinstance(repository, ScalarNode):
            return node
        for _, value in node.value:
            found = _find_image_node(value)
            if found is not None:
                return found
    elif node is not None and isinstance(node.value, list):
        for item in node.value:
            found = _find_image_node(item)
            if found is not None:
                return found
    return None
