"""Finding the plugins' entry points without importing :mod:`importlib.metadata`.

Every command loads the plugins. Importing ``importlib.metadata`` (email,
csv, zipfile...) costs 20 to 40 ms, a fifth of a warm ``fabpromote generate``;
listing the entry points of the installed distributions takes 2 ms. This
reads what ``importlib.metadata.entry_points(group=...)`` reads, from the same
places: the ``entry_points.txt`` of every ``*.dist-info`` and ``*.egg-info``
folder in the folders of :data:`sys.path`, in that order, a distribution found
twice counting once (the first found). Distributions inside zip files on
:data:`sys.path` are not searched.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable

import attrs

__all__ = ["EntryPoint", "entry_points"]

_METADATA_SUFFIXES = (".dist-info", ".egg-info")
# The syntax importlib.metadata accepts: module[:attr.path] [extras].
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@attrs.frozen
class EntryPoint:
    """One entry point: its name, its ``module[:attr]`` value and the distribution declaring it."""

    name: str
    value: str
    distribution: str

    def load(self) -> object:
        """Import the module and return the object the value names.

        Raises:
            ValueError: The value is not ``module[:attr]``.
        """
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r} of {self.distribution}: malformed value {self.value!r}")
        target: object = importlib.import_module(match.group("module"))
        for attribute in filter(None, (match.group("attr") or "").split(".")):
            target = getattr(target, attribute)
        return target


# Earns its place: bench/tricks.py::entry_points
def entry_points(group: str, path: Iterable[str] | None = None) -> list[EntryPoint]:
    """The entry points of ``group`` of the distributions found on ``path`` (default :data:`sys.path`)."""
    found: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in sys.path if path is None else path:
        for metadata, distribution in _distributions(folder or "."):
            if distribution in seen:
                continue
            seen.add(distribution)
            found += _group(metadata, distribution, group)
    return found


def _distributions(folder: str) -> list[tuple[str, str]]:
    """(metadata folder, normalized distribution name) of each distribution in ``folder``, by name."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:  # missing, not a folder, or a zip file
        return []
    return [
        (os.path.join(folder, name), _normalize(name.rpartition(".")[0].split("-")[0]))
        for name in names
        if name.endswith(_METADATA_SUFFIXES)
    ]


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _group(metadata: str, distribution: str, group: str) -> list[EntryPoint]:
    """The entries of section ``[group]`` of ``metadata/entry_points.txt`` (INI, as importlib.metadata reads it)."""
    try:
        with open(os.path.join(metadata, "entry_points.txt"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    section = None
    entries = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line:
            name, _, value = line.partition("=")
            entries.append(EntryPoint(name=name.strip(), value=value.strip(), distribution=distribution))
    return entries
