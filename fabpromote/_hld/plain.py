"""Component files in the plainest YAML, read without PyYAML.

Most component files of a large HLD are a few ``field: value`` lines, and a
root lists its subcomponents as block-sequence entries of such lines::

    name: fleet
    subcomponents:
      - name: app-0001
        source: ./apps/app-0001

For a file of exactly that shape (string fields of a component, values that
are plain scalars of a safe alphabet, no comments, quotes, flow collections,
tabs, blank lines or non-ASCII bytes), :func:`component` builds the
component directly; for anything else it returns None and the file goes
through go-yaml's rules (:mod:`fabpromote._hld.convert`), which give the same
component for every file this module accepts (tests/test_hld_plain.py checks
both on generated documents). A cold ``generate`` of static apps then neither
composes a node tree per file nor imports PyYAML.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fabpromote._hld.model import NO_HOOKS, Component
from fabpromote._util.limits import FILE_BYTES
from fabpromote._util.wholefiles import read_file
from fabpromote.exceptions import HLDError

__all__ = ["component", "read"]

# A plain scalar that YAML reads as exactly its text: no indicator first, no space, no ": " or " #"
# inside, no ":" last. Which of these are null ("null", "Null", "NULL") is checked apart.
_SCALAR = rb"[A-Za-z0-9_./][A-Za-z0-9_./:@+=~-]*(?<!:)"
_FIELD = re.compile(rb"(name|type|generator|source|method|path|branch|version): (" + _SCALAR + rb")")
_ENTRY = re.compile(rb"( *)- ")
#: go-yaml's spellings of null among the scalars above (a string field reads them as ""): left to the full path.
_NULLS = frozenset((b"null", b"Null", b"NULL"))


def read(file: str | Path) -> bytes:
    """The bytes of a component or config file, refused past :data:`~fabpromote._util.limits.FILE_BYTES`.

    Raises:
        HLDError: The file cannot be read, or is too large; names the file (as a Path prints it).
    """
    limit = FILE_BYTES.value()
    try:
        data = read_file(file, limit)  # never more than the limit: a huge file must not fill memory
    except OSError as exc:
        raise HLDError(f"cannot read: {exc.strerror}", file=str(Path(file))) from None
    if len(data) > limit:
        raise HLDError(f"larger than {FILE_BYTES.shown(limit)}", file=str(Path(file)))
    return data


# Earns its place: bench/tricks.py::plain_components
def component(data: bytes) -> Component | None:
    """The component of a YAML component file of the plain shape above; None for any other text."""
    if not data.isascii():
        return None
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the last line's line break
    fields: dict[str, Any] = {}
    index = 0
    while index < len(lines):
        if lines[index] == b"subcomponents:" and "subcomponents" not in fields:
            entries, index = _entries(lines, index + 1)
            if entries is None:
                return None
            fields["subcomponents"] = entries
        elif not _field(lines[index], fields):
            return None
        else:
            index += 1
    return Component(hooks=NO_HOOKS, **fields) if fields else None


def _entries(lines: list[bytes], index: int) -> tuple[tuple[Component, ...] | None, int]:
    """The block-sequence entries from ``lines[index]`` on, and the index of the line after them."""
    first = _ENTRY.match(lines[index]) if index < len(lines) else None
    if first is None:
        return None, index  # "subcomponents:" with nothing under it is null: not this module's shape
    dash = first.group()
    below = b" " * len(dash)  # an entry's further fields line up with its first
    entries: list[dict[str, Any]] = []
    while index < len(lines):
        line = lines[index]
        if line.startswith(dash):
            entries.append({})
            rest = line[len(dash) :]
        elif line.startswith(below) and entries:
            rest = line[len(below) :]
        elif line[:1].isalpha():
            break  # the next field of the file itself
        else:
            return None, index
        if not _field(rest, entries[-1]):
            return None, index
        index += 1
    return tuple(Component(hooks=NO_HOOKS, **entry) for entry in entries), index


def _field(line: bytes, fields: dict[str, Any]) -> bool:
    """Set the string field ``line`` holds in ``fields``; False when it is not one (or repeats one)."""
    match = _FIELD.fullmatch(line)
    if match is None or match[2] in _NULLS:
        return False
    key = match[1].decode("ascii")
    if key in fields:
        return False
    fields[key] = match[2].decode("ascii")
    return True
