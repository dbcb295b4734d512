"""The user API: ``fabpromote.__all__`` names every type its functions take and return.

A script author reads a signature and finds each type it names importable
from ``fabpromote`` (or from a public module: ``fabpromote.typing``,
``fabpromote.exceptions``, the standard library), never a private one.
"""

from __future__ import annotations

import builtins
import inspect
import re

import fabpromote
import fabpromote.typing

#: Names from the standard library and typing that public signatures may use.
STANDARD = {
    "Path",
    "Iterable",
    "Iterator",
    "Mapping",
    "Sequence",
    "Callable",
    "Any",
    "Generator",
    "Literal",
    "datetime",
}
#: Public libraries whose types a signature may name (``pluggy.PluginManager``).
LIBRARIES = {"pluggy"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _annotations(item: object) -> list[str]:
    """The annotation strings of a function's parameters and return, or of a class's constructor."""
    target = item.__init__ if inspect.isclass(item) else item  # type: ignore[misc]
    if not callable(target):
        return []
    annotations = dict(getattr(target, "__annotations__", {}))
    return [text for text in annotations.values() if isinstance(text, str)]


def _unknown(annotation: str) -> list[str]:
    """The names in ``annotation`` a user of ``fabpromote`` could not import from a public place."""
    found = []
    for name in _NAME.findall(annotation):
        head = name.split(".")[0]
        public = (
            name in fabpromote.__all__
            or head in STANDARD
            or ("." in name and head in LIBRARIES)
            or hasattr(builtins, head)
            or hasattr(fabpromote.typing, head)
            or head in {"None", "fabpromote"}
        )
        if not public or any(part.startswith("_") for part in name.split(".")):
            found.append(name)
    return found


def test_every_type_in_a_public_signature_is_public() -> None:
    problems = {
        f"{name}: {annotation}": unknown
        for name in fabpromote.__all__
        if name != "__version__"
        for annotation in _annotations(getattr(fabpromote, name))
        if (unknown := _unknown(annotation))
    }
    assert problems == {}


def test_a_private_type_is_caught() -> None:
    assert _unknown("_Context | None") == ["_Context"]
    assert _unknown("list[StatusRow]") == []
    assert _unknown("Widget") == ["Widget"]


def test_history_entries_carry_commit_as_publish_results_do() -> None:
    fields = {field.name for field in fabpromote.HistoryEntry.__attrs_attrs__}  # type: ignore[attr-defined]
    assert "commit" in fields
    assert "commit" in {field.name for field in fabpromote.PublishResult.__attrs_attrs__}  # type: ignore[attr-defined]
