"""What a kustomize component's environment config may set: its images (and, from the
component config's ``namespace``, the namespace), checked with the field named on error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from fabpromote.exceptions import GeneratorError

__all__ = ["Image", "images"]

#: The fields of one image, as kustomize's ``images:`` spells them.
IMAGE_FIELDS = ("name", "newName", "newTag", "digest")


@attrs.frozen
class Image:
    """One entry of kustomize's ``images:``: which image (``name``) becomes what."""

    name: str
    changes: tuple[tuple[str, str], ...]

    def to_yaml(self) -> dict[str, str]:
        return {"name": self.name, **dict(self.changes)}


def images(component: str, config: Mapping[str, Any]) -> tuple[Image, ...]:
    """The ``images`` of ``config``; nothing else may be set there.

    Raises:
        GeneratorError: An unknown field, or an image that is not a map of strings
            with a ``name`` and at least one change.
    """
    unknown = sorted(set(config) - {"images"})
    if unknown:
        raise GeneratorError(f"component {component!r}: config.{unknown[0]}: unknown field (kustomize takes images)")
    entries = config.get("images", [])
    if not isinstance(entries, list):
        raise GeneratorError(f"component {component!r}: config.images: expected a list of images")
    return tuple(_image(component, index, entry) for index, entry in enumerate(entries))


def _image(component: str, index: int, entry: object) -> Image:
    where = f"component {component!r}: config.images[{index}]"
    if not isinstance(entry, Mapping):
        raise GeneratorError(f"{where}: expected a map with name and newName, newTag or digest")
    for key, value in entry.items():
        if key not in IMAGE_FIELDS:
            raise GeneratorError(f"{where}.{key}: unknown field (known: {', '.join(IMAGE_FIELDS)})")
        if not isinstance(value, str) or not value:
            # A YAML number (newTag: 1.20) would lose its digits on the way: tags are quoted.
            raise GeneratorError(f"{where}.{key}: expected a non-empty string, got {value!r} (quote it)")
    if "name" not in entry:
        raise GeneratorError(f"{where}: name is missing")
    changes = tuple((key, entry[key]) for key in IMAGE_FIELDS[1:] if key in entry)
    if not changes:
        raise GeneratorError(f"{where}: sets nothing (give newName, newTag or digest)")
    return Image(name=entry["name"], changes=changes)
