"""Turn component and config files into HLD records.

YAML is read as Fabrikate's Go YAML library reads it (see :mod:`._goyaml`):
the converter walks the composed node tree, so every error names the file,
the line and the field (``subcomponents[2].source``). JSON files are parsed
with :mod:`json` and turned into the same kind of nodes, without lines.

As in Fabrikate, unknown fields are ignored (a warning is logged), ``null``
means "not set", and a YAML scalar of any kind fills a string field with its
text as written (``version: 1.10`` is ``"1.10"``); JSON is strict there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from fabpromote._hld import goyaml as _goyaml
from fabpromote._hld import plain as _plain
from fabpromote._hld.model import Component, ComponentConfig, Hooks
from fabpromote.exceptions import HLDError

__all__ = ["NodeReader", "component_from_file", "config_from_file", "parse_file"]

log = logging.getLogger("fabpromote")

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_HOOKS = ("before-install", "after-install", "before-generate", "after-generate")
_COMPONENT_STRINGS = ("name", "type", "generator", "source", "method", "path", "branch", "version")


def component_from_file(file: Path, data: bytes | None = None) -> tuple[Component, tuple[str, ...]]:
    """Read a ``component.yaml``/``.json``: the component, and the warnings logged while reading it.

    ``data``: the file's bytes, when they were read already.
    """
    reader = NodeReader(file)
    return reader.component(reader.root(data), ""), tuple(reader.warnings)


def config_from_file(file: Path) -> tuple[ComponentConfig, tuple[str, ...]]:
    """Read a ``config/<env>.yaml``/``.json``: the config, and the warnings logged while reading it."""
    reader = NodeReader(file)
    return reader.config(reader.root(), ""), tuple(reader.warnings)


def parse_file(file: Path, data: bytes | None = None) -> Node | None:
    """Parse a YAML or JSON file into a node tree (None for an empty file).

    ``data``: the file's bytes, when they were read already (see :func:`fabpromote._hld.plain.read`).

    Raises:
        HLDError: The file cannot be read or parsed; names the file and line.
    """
    if data is None:
        data = _plain.read(file)
    if file.suffix == ".json":
        _check_json_depth(data, file)
        try:
            value = json.loads(data)
        except UnicodeDecodeError:
            raise HLDError("not UTF-8 text", file=str(file)) from None
        except json.JSONDecodeError as exc:
            raise HLDError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(file), line=exc.lineno) from None
        return _json_node(value)
    try:
        node: Node | None = _goyaml.compose(data)
        return node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise HLDError(f"invalid YAML: {problem}", file=str(file), line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        # Its str() spans two lines; the reason and the byte offset are what matter.
        what = "not UTF-8 text" if exc.character == -1 or "UTF" in exc.reason else f"invalid YAML: {exc.reason}"
        raise HLDError(f"{what} (byte {exc.position})", file=str(file)) from None
    except yaml.YAMLError as exc:
        raise HLDError(f"invalid YAML: {exc}", file=str(file)) from None


_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _check_json_depth(data: bytes, file: Path) -> None:
    """Refuse JSON nested deeper than YAML may be: json and the readers recurse."""
    if data.count(b"[") + data.count(b"{") <= _goyaml.MAX_DEPTH:
        return
    depth = 0
    for token in _JSON_TOKEN.finditer(data):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > _goyaml.MAX_DEPTH:
                line = data.count(b"\n", 0, token.start()) + 1
                raise HLDError(
                    f"invalid JSON: nested more than {_goyaml.MAX_DEPTH} levels deep", file=str(file), line=line
                )
        elif bracket in (b"]", b"}"):
            depth -= 1


def _json_node(value: Any) -> Node:
    """A node for a JSON value; ``node.data`` keeps the value for ``config``."""
    node: Node
    if isinstance(value, dict):
        node = MappingNode("tag:yaml.org,2002:map", [(_json_node(k), _json_node(v)) for k, v in value.items()])
    elif isinstance(value, list):
        node = SequenceNode("tag:yaml.org,2002:seq", [_json_node(v) for v in value])
    elif value is None:
        node = ScalarNode(_NULL, "null")
    elif isinstance(value, bool):
        node = ScalarNode(_BOOL, "true" if value else "false")
    elif isinstance(value, str):
        node = ScalarNode(_STR, value, style='"')
    else:
        node = ScalarNode("tag:yaml.org,2002:number", json.dumps(value))
    node.data = value  # type: ignore[union-attr]
    return node


class NodeReader:
    """Reads one file's node tree into records, naming fields in errors."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.strict = file.suffix == ".json"
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Log ``message`` and keep it (a file read from the parse cache logs it again)."""
        message = f"{self.file}: {message}"
        self.warnings.append(message)
        log.warning("%s", message)

    def root(self, data: bytes | None = None) -> Node | None:
        return parse_file(self.file, data)

    def error(self, node: Node | None, field: str, message: str) -> HLDError:
        line = node.start_mark.line + 1 if node is not None and node.start_mark is not None else None
        return HLDError(message, file=str(self.file), line=line, field=field or None)

    # -- shapes ------------------------------------------------------------

    def fields(self, node: Node | None, field: str) -> Iterator[tuple[str, Node, str]]:
        """The (key, value node, field path) of a map node; null is empty."""
        if node is None or _is_null(node):
            return
        if not isinstance(node, MappingNode):
            raise self.error(node, field, f"expected a map, got {_describe(node)}")
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.error(key_node, field, "expected a plain key")
            key = key_node.value
            yield key, value_node, f"{field}.{key}" if field else key

    def items(self, node: Node, field: str) -> Iterator[tuple[Node, str]]:
        if _is_null(node):
            return
        if not isinstance(node, SequenceNode):
            raise self.error(node, field, f"expected a list, got {_describe(node)}")
        for index, item in enumerate(node.value):
            yield item, f"{field}[{index}]"

    def string(self, node: Node, field: str) -> str:
        if _is_null(node):
            return ""
        if isinstance(node, ScalarNode) and (_goyaml.scalar_tag(node) == _STR or not self.strict):
            return str(node.value)
        raise self.error(node, field, f"expected a string, got {_describe(node)}")

    def boolean(self, node: Node, field: str) -> bool:
        if _is_null(node):
            return False
        if isinstance(node, ScalarNode) and _goyaml.scalar_tag(node) == _BOOL:
            return bool(_construct(node))
        raise self.error(node, field, f"expected true or false, got {_describe(node)}")

    def strings(self, node: Node, field: str) -> tuple[str, ...]:
        return tuple(self.string(item, path) for item, path in self.items(node, field))

    def string_map(self, node: Node, field: str) -> dict[str, str]:
        return {key: self.string(value, path) for key, value, path in self.fields(node, field)}

    def free_map(self, node: Node, field: str) -> dict[str, Any]:
        if _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            raise self.error(node, field, f"expected a map, got {_describe(node)}")
        try:
            value = _construct(node)
        except yaml.YAMLError as exc:
            raise self.error(node, field, f"invalid value: {exc}") from None
        # Go reads the top-level keys into strings; deeper keys keep their kind.
        return {str(key): item for key, item in value.items()}

    # -- records -----------------------------------------------------------

    def component(self, node: Node | None, field: str) -> Component:
        values: dict[str, Any] = {}
        handlers: dict[str, Callable[[Node, str], Any]] = dict.fromkeys(_COMPONENT_STRINGS, self.string)
        handlers |= {"hooks": self.hooks, "subcomponents": self.subcomponents, "repositories": self.string_map}
        for key, value, path in self.fields(node, field):
            handler = handlers.get(key)
            if handler is None:
                self.warn(f"ignoring unknown field {path}")
                continue
            values[key] = handler(value, path)
        return Component(**values)

    def subcomponents(self, node: Node, field: str) -> tuple[Component, ...]:
        return tuple(self.component(item, path) for item, path in self.items(node, field))

    def hooks(self, node: Node, field: str) -> Hooks:
        values = {}
        for key, value, path in self.fields(node, field):
            if key not in _HOOKS:
                self.warn(f"ignoring unknown hook {path}")
                continue
            values[key.replace("-", "_")] = self.strings(value, path)
        return Hooks(**values)

    def config(self, node: Node | None, field: str) -> ComponentConfig:
        values: dict[str, Any] = {}
        for key, value, path in self.fields(node, field):
            if key == "namespace":
                values["namespace"] = self.string(value, path)
            elif key == "injectNamespace":
                values["inject_namespace"] = self.boolean(value, path)
            elif key == "disabled":
                values["disabled"] = None if _is_null(value) else self.boolean(value, path)
            elif key == "config":
                values["config"] = self.free_map(value, path)
            elif key == "subcomponents":
                values["subcomponents"] = {
                    name: self.config(child, child_path) for name, child, child_path in self.fields(value, path)
                }
            else:
                self.warn(f"ignoring unknown field {path}")
        return ComponentConfig(**values, files=(str(self.file),))


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and _goyaml.scalar_tag(node) == _NULL


def _construct(node: Node) -> Any:
    data = getattr(node, "data", _construct)
    return _goyaml.construct(node) if data is _construct else data


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a map"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"{node.value!r}"
