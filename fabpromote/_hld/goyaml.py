"""YAML reading and writing that behaves like Go's ``gopkg.in/yaml.v2``.

Fabrikate (via its fork ``github.com/timfpark/yaml``, go-yaml v2 as of
mid-2019, 80-column line folding) re-serializes helm output and writes helm
values files with ``yaml.Marshal``.  To emit byte-identical files we need the
same scalar resolution on the way in and the same key order, quoting and line
folding on the way out.

* :func:`load` parses with PyYAML's libyaml-backed loader (go-yaml's parser is
  a port of libyaml) but resolves plain scalars with go-yaml v2's rules and
  builds values the way ``Unmarshal`` into ``interface{}`` does.
* :func:`dump` builds the event stream ``yaml.Marshal`` would build and runs
  it through a PyYAML emitter whose scalar analysis, style choice and scalar
  writers are ports of go-yaml's ``emitterc.go`` (PyYAML's emitter is a port
  of libyaml too, but differs in the details that show up in the output).

Known differences from go-yaml, none of which occur in block-style documents
such as helm output:

* Parsing is done by the system libyaml, whose scanner differs from go-yaml's
  port in flow-collection corner cases (``[a:, b]``, ``[a?b]``, ``[!t, b]``)
  and in accepting ``\'`` inside double quotes.
* ``! 12`` (non-specific tag on a plain scalar) loads as 12, not "12".
* Python dicts merge keys that Go keeps apart (``1``, ``1.0`` and ``true``).
* For key sets where go-yaml's order is cyclic, Go's output is random; ours
  is one fixed order.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar, cast

import yaml
from yaml.emitter import Emitter, ScalarAnalysis
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

__all__ = ["compose", "construct", "dump", "load", "scalar_tag"]

# ---------------------------------------------------------------------------
# Scalar resolution (resolve.go)
# ---------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL = _TAG + "str", _TAG + "null", _TAG + "bool"
_INT, _FLOAT, _TIMESTAMP = _TAG + "int", _TAG + "float", _TAG + "timestamp"
_BINARY, _MERGE = _TAG + "binary", _TAG + "merge"
# Private tag the loader gives every plain scalar, so construction can apply
# go-yaml's resolution instead of PyYAML's YAML 1.1 regexps.
_PLAIN = "tag:fabpromote,2024:go-plain"

_MAX_UINT64 = (1 << 64) - 1

# go-yaml v2 looks these spellings up verbatim before anything else.
_RESOLVE_MAP: dict[str, tuple[str, Any]] = {
    word: (tag, value)
    for tag, value, words in (
        (_BOOL, True, "y Y yes Yes YES true True TRUE on On ON"),
        (_BOOL, False, "n N no No NO false False FALSE off Off OFF"),
        (_NULL, None, "~ null Null NULL"),
        (_FLOAT, math.nan, ".nan .NaN .NAN"),
        (_FLOAT, math.inf, ".inf .Inf .INF +.inf +.Inf +.INF"),
        (_FLOAT, -math.inf, "-.inf -.Inf -.INF"),
    )
    for word in words.split()
}
_RESOLVE_MAP[""] = (_NULL, None)

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
# What Go's strconv.ParseFloat accepts for text starting with "." (the only
# case where go-yaml hands the raw text, underscores included, to ParseFloat).
_DOT_FLOAT = re.compile(r"\.[0-9](_?[0-9])*([eE][-+]?[0-9](_?[0-9])*)?")
_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
# go-yaml's allowedTimestampFormats as understood by Go's time.Parse:
# "2006-1-2T15:4:5.999999999Z07:00" (also with "t"), "2006-1-2 15:4:5.999999999"
# (a layout space matches a run of spaces) and "2006-1-2".
_TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})"
    r"| +([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?)?"
)
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _go_parse_uint(text: str, base: int = 0) -> int | None:
    """Go's ``strconv.ParseUint(text, base, 64)``; underscores are pre-stripped.

    Base 0 means Go literal syntax: ``0x``/``0o``/``0b`` prefixes and a bare
    leading ``0`` for octal.
    """
    if not text:
        return None
    digits = text
    if base == 0:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base, digits = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
            else:
                base, digits = 8, text[1:]  # "0" itself parses as octal 0
    value = 0
    for char in digits:
        if "0" <= char <= "9":
            digit = ord(char) - ord("0")
        elif char.isascii() and "a" <= char.lower() <= "z":
            digit = ord(char.lower()) - ord("a") + 10
        else:
            return None
        if digit >= base:
            return None
        value = value * base + digit
    return value if value <= _MAX_UINT64 else None


def _go_parse_int(text: str, base: int = 0) -> int | None:
    """Go's ``strconv.ParseInt(text, base, 64)``: optional sign, then ParseUint."""
    negative = text.startswith("-")
    magnitude = _go_parse_uint(text[1:] if text.startswith(("+", "-")) else text, base)
    if magnitude is None or magnitude > (1 << 63) - (0 if negative else 1):
        return None
    return -magnitude if negative else magnitude


def _go_parse_float(text: str) -> float | None:
    """Go's ``ParseFloat`` for text already known to be well formed.

    Go reports overflow as an error (so go-yaml keeps the text as a string),
    whereas Python silently returns infinity.
    """
    value = float(text.replace("_", ""))
    return None if math.isinf(value) else value


def _is_timestamp(text: str) -> bool:
    """Whether go-yaml's ``parseTimestamp`` (Go ``time.Parse``) accepts text."""
    match = _TIMESTAMP_RE.fullmatch(text)
    if not match:
        return False
    year, month, day = (int(g) for g in match.group(1, 2, 3))
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= _DAYS_IN_MONTH[month - 1] + (month == 2 and leap):
        return False
    clock = match.group(4, 5, 6) if match.group(4) else match.group(7, 8, 9)
    if clock[0] is None:
        return True
    hour, minute, second = (int(g) for g in clock)
    return hour < 24 and minute < 60 and second < 60


def _is_base60_float(text: str) -> bool:
    """go-yaml's ``isBase60Float``: YAML 1.1 sexagesimal numbers get quoted."""
    if not text or not (text[0] in "+-" or "0" <= text[0] <= "9") or ":" not in text:
        return False
    return _BASE60_FLOAT.fullmatch(text) is not None


def _resolve(text: str) -> tuple[str, Any]:
    """Resolve a plain scalar like go-yaml v2 ``resolve("", text)``.

    Returns:
        The resolved tag and value.  Timestamps keep their text as value.
    """
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    first = text[0]
    if first == ".":
        if _DOT_FLOAT.fullmatch(text):
            value = _go_parse_float(text)
            if value is not None:
                return _FLOAT, value
    elif first in "+-0123456789":
        if _is_timestamp(text):
            return _TIMESTAMP, text
        # go-yaml drops every underscore before handing the text to strconv.
        plain = text.replace("_", "")
        for parse in (_go_parse_int, _go_parse_uint):
            number = parse(plain)
            if number is not None:
                return _INT, number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = _go_parse_float(plain)
            if value is not None:
                return _FLOAT, value
        # go-yaml's own binary fallback.  Redundant for "0b101" with a
        # current Go, but it also takes a sign after the prefix ("0b-1").
        if plain.startswith("0b"):
            for parse in (_go_parse_int, _go_parse_uint):
                number = parse(plain[2:], 2)
                if number is not None:
                    return _INT, number
        elif plain.startswith("-0b"):
            number = _go_parse_int("-" + plain[3:], 2)
            if number is not None:
                return _INT, number
    return _STR, text


def _resolve_tagged(tag: str, text: str) -> Any:
    """Decode a scalar carrying an explicit tag (``resolve(tag, text)``)."""
    if tag == _STR:
        return text
    if tag == _BINARY:
        # Go's StdEncoding skips only CR/LF and wants padding; a Go string
        # holds arbitrary bytes, which surrogateescape keeps.
        try:
            raw = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(None, None, "!!binary value contains invalid base64 data") from exc
        return raw.decode("utf-8", "surrogateescape")
    if tag not in (_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP):
        return text  # go-yaml leaves unknown tags alone: the text is the value
    rtag, value = _resolve(text)
    if rtag == tag:
        return value
    if tag == _FLOAT and rtag == _INT and -(1 << 63) <= value < 1 << 63:
        return float(value)  # go converts int and int64 results, not uint64
    rshort, short = rtag.replace(_TAG, "!!"), tag.replace(_TAG, "!!")
    raise yaml.constructor.ConstructorError(None, None, f"cannot decode {rshort} `{text}` as a {short}")


# ---------------------------------------------------------------------------
# Loading (decode.go)
# ---------------------------------------------------------------------------

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _GoLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """libyaml parser whose plain scalars all get the private ``_PLAIN`` tag."""

    # No implicit resolvers at all: resolve() below takes over plain scalars.
    yaml_implicit_resolvers: ClassVar[dict[str, list[Any]]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return _PLAIN
        tag: str = super().resolve(kind, value, implicit)
        return tag


def _construct(node: Any, active: set[int]) -> Any:
    """Build a Python value from a composed node like go-yaml's decoder.

    Aliases are decoded afresh at every use (go-yaml copies, so mutating one
    occurrence must not change another); ``active`` detects self-reference.
    """
    if id(node) in active:
        raise yaml.constructor.ConstructorError(None, None, "anchor value contains itself", node.start_mark)
    if isinstance(node, ScalarNode):
        if node.tag == _PLAIN:
            if node.style:
                # A quoted scalar only reaches resolve() as "plain" when it
                # carries the non-specific tag "!", which go-yaml keeps as str.
                return node.value
            return _resolve(node.value)[1]
        return _resolve_tagged(node.tag, node.value)
    active.add(id(node))
    try:
        if isinstance(node, SequenceNode):
            return [_construct(child, active) for child in node.value]
        result: dict[Any, Any] = {}
        _fill_mapping(node, result, active)
        return result
    finally:
        active.discard(id(node))


def _fill_mapping(node: Any, out: dict[Any, Any], active: set[int]) -> None:
    """Set a mapping node's pairs into ``out`` in document order.

    go-yaml v2 applies a ``<<`` merge where it appears, so merged keys
    override keys written before the ``<<`` and are overridden by later ones.
    """
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == "<<" and key_node.tag in (_PLAIN, _MERGE):
            sources = [value_node]
            if isinstance(value_node, SequenceNode):
                sources = value_node.value[::-1]  # earlier maps take precedence
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        "map merge requires map or sequence of maps as the value",
                        source.start_mark,
                    )
                if id(source) in active:
                    raise yaml.constructor.ConstructorError(
                        None, None, "anchor value contains itself", source.start_mark
                    )
                active.add(id(source))
                try:
                    _fill_mapping(source, out, active)
                finally:
                    active.discard(id(source))
            continue
        key = _construct(key_node, active)
        if isinstance(key, (dict, list)):
            raise yaml.constructor.ConstructorError(None, None, f"invalid map key: {key!r}", key_node.start_mark)
        out[key] = _construct(value_node, active)


def load(data: bytes | str) -> Any:
    """Parse one YAML document the way go-yaml v2 Unmarshal into interface{} does.

    Plain scalars resolve like go-yaml v2 (YAML 1.1 booleans such as ``yes``
    and ``off``, Go integer syntax, timestamps kept as strings); quoted
    scalars are strings; mappings become dicts whose keys may be any scalar.
    Like ``Unmarshal``, only the first document of a stream is read.

    Args:
        data: The YAML text, as UTF-8 bytes or str.

    Returns:
        The decoded value, or None for an empty stream.

    Raises:
        yaml.YAMLError: The text is not valid YAML or cannot be decoded.
    """
    node = compose(data)
    return None if node is None else construct(node)


#: Deeper nesting is refused: libyaml composes recursively in C, where a few
#: hundred thousand levels overflow the stack and kill the process.
MAX_DEPTH = 200


class NestingError(yaml.YAMLError):
    """The document nests collections deeper than :data:`MAX_DEPTH`."""


def _check_depth(data: bytes | str) -> None:
    """Refuse documents nested deeper than MAX_DEPTH, using the parser's events.

    The event parser keeps its own heap stack, so it is safe at any depth.
    Only the first document counts, as only it is composed.
    """
    depth = 0
    for event in yaml.parse(data, Loader=_BaseLoader):
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                where = f" (line {event.start_mark.line + 1})" if event.start_mark else ""
                raise NestingError(f"collections nested more than {MAX_DEPTH} levels deep{where}")
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, DocumentEndEvent):
            return


def _may_nest_deeply(data: bytes | str) -> bool:
    # Deep nesting needs many flow brackets or a deeply indented line; two
    # substring counts rule both out cheaply for ordinary files.
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH or b"\n" + b" " * MAX_DEPTH in data


#: At most this many nodes may be added by expanding aliases (each use of an
#: alias copies its node tree, as go-yaml does): a "billion laughs" document
#: of a few lines would otherwise take exponential time and memory.
MAX_ALIAS_NODES = 100_000


class AliasingError(yaml.YAMLError):
    """The document's aliases expand to more than :data:`MAX_ALIAS_NODES` nodes."""


def _check_aliases(root: Any) -> None:
    """Refuse a node graph whose expansion is too big or too deep.

    Walks the graph once (iteratively, memoizing each node's expanded size
    and depth), so an alias bomb costs time linear in its text. An anchor
    containing itself is refused too.
    """
    size: dict[int, int] = {}  # collections only: a scalar counts 1, depth 0
    depth: dict[int, int] = {}
    scalars: set[int] = set()
    started: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            children = _children(node)
            scalars.update(id(child) for child in children if isinstance(child, ScalarNode))
            size[key] = 1 + sum(size.get(id(child), 1) for child in children)
            depth[key] = 1 + max((depth.get(id(child), 0) for child in children), default=0)
            started.discard(key)
            if depth[key] > MAX_DEPTH:
                raise NestingError(f"collections nested more than {MAX_DEPTH} levels deep (through aliases)")
        elif key in started:
            # An anchor inside itself: go-yaml fails to decode it, and walking it would never end.
            raise yaml.constructor.ConstructorError(None, None, "anchor value contains itself", node.start_mark)
        elif key not in size:
            started.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if not isinstance(child, ScalarNode))
    copies = size[id(root)] - len(size) - len(scalars)
    if copies > MAX_ALIAS_NODES:
        raise AliasingError(f"aliases expand to more than {MAX_ALIAS_NODES} nodes (a YAML alias bomb?)")


def _children(node: Any) -> list[Any]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [part for pair in node.value for part in pair]


def compose(data: bytes | str) -> Any:
    """Parse the first document into a node tree (None for an empty stream).

    Plain scalars carry a private tag; :func:`scalar_tag` gives the tag
    go-yaml would resolve them to, :func:`construct` their values.

    Raises:
        yaml.YAMLError: The text is not valid YAML, nests deeper than
            :data:`MAX_DEPTH`, or expands aliases past :data:`MAX_ALIAS_NODES`.
    """
    if _may_nest_deeply(data):
        _check_depth(data)
    loader = _GoLoader(data)
    try:
        node = loader.get_node() if loader.check_node() else None
    finally:
        loader.dispose()
    # Only a document with an alias can expand; "*" is in every alias.
    if node is not None and not isinstance(node, ScalarNode) and b"*" in _as_bytes(data):
        _check_aliases(node)
    return node


def _as_bytes(data: bytes | str) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")


def construct(node: Any) -> Any:
    """The value of a node from :func:`compose`, as :func:`load` would give it."""
    return _construct(node, set())


def scalar_tag(node: Any) -> str:
    """The tag go-yaml resolves a scalar node to (``tag:yaml.org,2002:str``, ...)."""
    if node.tag == _PLAIN:
        return _STR if node.style else _resolve(node.value)[0]
    return str(node.tag)


# ---------------------------------------------------------------------------
# Key ordering (sorter.go)
# ---------------------------------------------------------------------------

# reflect.Kind numbers of the Go types a decoded value can have.
_KIND_BOOL, _KIND_INT, _KIND_UINT64, _KIND_FLOAT64 = 1, 2, 11, 14
_KIND_INTERFACE, _KIND_STRING = 20, 24


def _kind(value: Any) -> int:
    if value is None:
        return _KIND_INTERFACE  # a nil interface{} key is never unwrapped
    if isinstance(value, bool):
        return _KIND_BOOL
    if isinstance(value, int):
        return _KIND_INT if value < (1 << 63) else _KIND_UINT64
    if isinstance(value, float):
        return _KIND_FLOAT64
    if isinstance(value, str):
        return _KIND_STRING
    raise TypeError(f"cannot marshal map key of type {type(value).__name__}")


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"  # Go's unicode.IsDigit


def _int64(value: int) -> int:
    """Wrap like Go int64 arithmetic (the sorter's digit accumulator)."""
    value &= _MAX_UINT64
    return value - (1 << 64) if value >= 1 << 63 else value


def _digit_run(text: str, start: int, number: int) -> tuple[int, int]:
    """Accumulate the digits from start as go-yaml does; returns (number, end)."""
    end = start
    while end < len(text) and _is_digit(text[end]):
        number = _int64(number * 10 + ord(text[end]) - ord("0"))
        end += 1
    return number, end


def _key_less(a: Any, b: Any) -> bool:
    """go-yaml v2 ``keyList.Less``: numbers by value, strings naturally."""
    ak, bk = _kind(a), _kind(b)
    numeric = (_KIND_BOOL, _KIND_INT, _KIND_UINT64, _KIND_FLOAT64)
    if ak in numeric and bk in numeric:
        af, bf = float(a), float(b)
        if af != bf:
            return af < bf
        if ak != bk:
            return ak < bk
        return bool(a < b)  # same kind: bool, int or float order
    if ak != _KIND_STRING or bk != _KIND_STRING:
        return ak < bk
    return _string_less(a, b)


def _string_less(a: str, b: str) -> bool:
    """go-yaml v2's natural string order (the string half of ``Less``)."""
    for i, (ac, bc) in enumerate(zip(a, b, strict=False)):
        if ac == bc:
            continue
        a_letter, b_letter = ac.isalpha(), bc.isalpha()
        if a_letter and b_letter:
            return ac < bc
        if a_letter or b_letter:
            return b_letter  # non-letters sort before letters
        # Compare the digit runs starting here as numbers ("a2" < "a10").
        # A zero after a non-zero digit of the shared prefix is not a
        # leading zero, so both runs start from 1 to keep the zero.
        seed = 0
        if "0" in (ac, bc):
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    seed = 1
                    break
                j -= 1
        a_number, a_end = _digit_run(a, i, seed)
        b_number, b_end = _digit_run(b, i, seed)
        if a_number != b_number:
            return a_number < b_number
        if a_end != b_end:
            return a_end < b_end
        return ac < bc
    return len(a) < len(b)


def _key_cmp(a: Any, b: Any) -> int:
    return -1 if _key_less(a, b) else (1 if _key_less(b, a) else 0)


def _sorted_keys(keys: Iterator[Any]) -> list[Any]:
    """Order mapping keys as go-yaml v2 does.

    go-yaml's Less is cyclic for some key sets (``v1 < v10 < v1alpha1 < v2 <
    v10``), and Go feeds its unstable sort in random map order, so Fabrikate
    itself prints such maps differently from run to run.  Starting from a
    canonical order at least makes our output reproducible.
    """
    canonical = sorted(keys, key=lambda key: (_kind(key), repr(key)))
    return sorted(canonical, key=functools.cmp_to_key(_key_cmp))


# ---------------------------------------------------------------------------
# Marshalling (encode.go)
# ---------------------------------------------------------------------------


def _format_float(value: float) -> str:
    """Go ``strconv.FormatFloat(value, 'g', -1, 64)`` with YAML's inf/nan."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    # repr() gives the shortest round-tripping digits, as Go's 'g', -1 does.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    point = len(digit_tuple) + int(exponent)  # position of the decimal point
    exp10 = point - 1
    if exp10 < -4 or exp10 >= 6:  # Go uses precision 6 for this when shortest
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return sign + digits + "0" * (point - len(digits))
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _string_style(text: str) -> str | None:
    """go-yaml v2 ``stringv``: the style requested for a string scalar."""
    if "\n" in text:
        return "|"
    if _resolve(text)[0] != _STR or _is_base60_float(text):
        return '"'  # plain text would read back as another type
    return None  # plain, if the emitter's analysis allows it


def _scalar(text: str, style: str | None = None) -> ScalarEvent:
    # go-yaml always emits implicit scalars; the emitter picks the style.
    return ScalarEvent(None, None, (True, True), text, style=style)


def _events(value: Any) -> Iterator[Any]:
    """Yield the events ``yaml.Marshal`` emits for value."""
    if value is None:
        yield _scalar("null")
    elif isinstance(value, bool):
        yield _scalar("true" if value else "false")
    elif isinstance(value, int):
        yield _scalar(str(value))
    elif isinstance(value, float):
        yield _scalar(_format_float(value))
    elif isinstance(value, str):
        yield _scalar(value, _string_style(value))
    elif isinstance(value, Mapping):
        yield MappingStartEvent(None, None, True, flow_style=False)
        for key in _sorted_keys(iter(value)):
            yield from _events(key)
            yield from _events(value[key])
        yield MappingEndEvent()
    elif isinstance(value, (list, tuple)):
        yield SequenceStartEvent(None, None, True, flow_style=False)
        for item in value:
            yield from _events(item)
        yield SequenceEndEvent()
    else:
        raise TypeError(f"cannot marshal type: {type(value).__name__}")


# ---------------------------------------------------------------------------
# Emitter (emitterc.go)
# ---------------------------------------------------------------------------

_BREAKS = "\r\n\x85\u2028\u2029"
_BLANKZ = " \t\0" + _BREAKS
_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _printable(char: str) -> bool:
    """libyaml's IS_PRINTABLE: no C0/C1 controls, no astral chars, no BOM."""
    code = ord(char)
    return (
        code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


class _GoEmitter(Emitter):
    """PyYAML emitter patched where it differs from go-yaml's emitterc.go."""

    def _put(self, data: str) -> None:
        # go-yaml's put/write: no whitespace/indention bookkeeping.
        self.column += len(data)
        self.stream.write(data)

    def _put_break(self, char: str = "\n") -> None:
        self.stream.write(char)
        self.column = 0
        self.line += 1

    def expect_document_start(self, first: bool = False) -> None:
        # Marshal clears open_ended before STREAM-END: no "..." trailer.
        if isinstance(self.event, StreamEndEvent):
            self.open_ended = False
        super().expect_document_start(first)

    def check_empty_document(self) -> bool:
        return False  # go-yaml never treats a document as empty

    def check_simple_key(self) -> bool:
        # libyaml measures UTF-8 bytes and allows up to 128 (PyYAML: < 128
        # characters, tag included, and never an empty scalar).
        event = self.event
        if isinstance(event, ScalarEvent):
            if self.analysis is None:
                self.analysis = self.analyze_scalar(event.value)
            if self.analysis.multiline:
                return False
            return len(event.value.encode("utf-8", "surrogatepass")) <= 128
        if isinstance(event, SequenceStartEvent):
            return self.check_empty_sequence()
        if isinstance(event, MappingStartEvent):
            return self.check_empty_mapping()
        return isinstance(event, AliasEvent)

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        """Port of ``yaml_emitter_analyze_scalar`` (unicode output enabled)."""
        if not scalar:
            return ScalarAnalysis(
                scalar=scalar,
                empty=True,
                multiline=False,
                allow_flow_plain=False,
                allow_block_plain=True,
                allow_single_quoted=True,
                allow_double_quoted=True,
                allow_block=False,
            )
        block_indicators = flow_indicators = scalar.startswith(("---", "..."))
        line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = previous_space = previous_break = False
        preceded_by_whitespace = True
        last = len(scalar) - 1
        for i, char in enumerate(scalar):
            # libyaml's is_blank here: a following line break does not count.
            followed_by_whitespace = i == last or scalar[i + 1] in " \t"
            if i == 0:
                if char in "#,[]{}&*!|>'\"%@`":
                    flow_indicators = block_indicators = True
                elif char in "?:":
                    flow_indicators = True
                    block_indicators = block_indicators or followed_by_whitespace
                elif char == "-" and followed_by_whitespace:
                    flow_indicators = block_indicators = True
            elif char in ",?[]{}":
                flow_indicators = True
            elif char == ":":
                flow_indicators = True
                block_indicators = block_indicators or followed_by_whitespace
            elif char == "#" and preceded_by_whitespace:
                flow_indicators = block_indicators = True
            if not _printable(char):
                special = True
            if char == " ":
                leading_space = leading_space or i == 0
                trailing_space = trailing_space or i == last
                break_space = break_space or previous_break
                previous_space, previous_break = True, False
            elif char in _BREAKS:
                line_breaks = True
                leading_break = leading_break or i == 0
                trailing_break = trailing_break or i == last
                space_break = space_break or previous_space
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_whitespace = char in _BLANKZ
        flow_plain = block_plain = single = block = True
        if leading_space or leading_break or trailing_space or trailing_break:
            flow_plain = block_plain = False
        if trailing_space:
            block = False
        if break_space:
            flow_plain = block_plain = single = False
        if space_break or special:
            flow_plain = block_plain = single = block = False
        if line_breaks:
            flow_plain = block_plain = False
        if flow_indicators:
            flow_plain = False
        if block_indicators:
            block_plain = False
        return ScalarAnalysis(
            scalar=scalar,
            empty=False,
            multiline=line_breaks,
            allow_flow_plain=flow_plain,
            allow_block_plain=block_plain,
            allow_single_quoted=single,
            allow_double_quoted=True,
            allow_block=block,
        )

    def choose_scalar_style(self) -> str:
        """Port of ``yaml_emitter_select_scalar_style``."""
        event = cast("ScalarEvent", self.event)
        if self.analysis is None:
            self.analysis = self.analyze_scalar(event.value)
        analysis = self.analysis
        style = event.style or ""
        if self.canonical or (self.simple_key_context and analysis.multiline):
            style = '"'
        if style == "":
            if (self.flow_level and not analysis.allow_flow_plain) or (
                not self.flow_level and not analysis.allow_block_plain
            ):
                style = "'"
            if not analysis.scalar and (self.flow_level or self.simple_key_context):
                style = "'"
            if event.tag is None and not event.implicit[0]:
                style = "'"
        if style == "'" and not analysis.allow_single_quoted:
            style = '"'
        if style in ("|", ">") and (not analysis.allow_block or self.flow_level or self.simple_key_context):
            style = '"'
        return style

    def _write_break(self, char: str) -> None:
        # A "\n" goes through put_break; other breaks are copied verbatim.
        self._put_break(char)

    def write_plain(self, text: str, split: bool = True) -> None:
        """Port of ``yaml_emitter_write_plain_scalar``."""
        if not self.whitespace:
            self._put(" ")
        spaces = breaks = False
        for i, char in enumerate(text):
            if char == " ":
                next_is_space = i + 1 < len(text) and text[i + 1] == " "
                if split and not spaces and self.column > self.best_width and not next_is_space:
                    self.write_indent()  # fold: the space becomes the line break
                else:
                    self._put(char)
                spaces = True
            elif char in _BREAKS:
                if not breaks and char == "\n":
                    self._put_break()
                self._write_break(char)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._put(char)
                self.indention = spaces = breaks = False
        self.whitespace = self.indention = False

    def write_single_quoted(self, text: str, split: bool = True) -> None:
        """Port of ``yaml_emitter_write_single_quoted_scalar``."""
        self.write_indicator("'", True)
        spaces = breaks = False
        last = len(text) - 1
        for i, char in enumerate(text):
            if char == " ":
                if split and not spaces and self.column > self.best_width and 0 < i < last and text[i + 1] != " ":
                    self.write_indent()
                else:
                    self._put(char)
                spaces = True
            elif char in _BREAKS:
                if not breaks and char == "\n":
                    self._put_break()
                self._write_break(char)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._put("''" if char == "'" else char)
                self.indention = spaces = breaks = False
        self.write_indicator("'", False)
        self.whitespace = self.indention = False

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        """Port of ``yaml_emitter_write_double_quoted_scalar``.

        Unlike PyYAML, libyaml folds a long line at a space without an
        escaped line break, and escapes every character outside its
        printable set (astral characters such as emoji included).
        """
        self.write_indicator('"', True)
        # libyaml's IS_BOM looks at the start of the whole string, so a
        # leading BOM makes it escape every character.
        escape_all = text.startswith("\ufeff")
        spaces = False
        last = len(text) - 1
        for i, char in enumerate(text):
            if escape_all or not _printable(char) or char in _BREAKS or char in '"\\':
                code = ord(char)
                if char in _ESCAPES:
                    self._put("\\" + _ESCAPES[char])
                elif code <= 0xFF:
                    self._put(f"\\x{code:02X}")
                elif code <= 0xFFFF:
                    self._put(f"\\u{code:04X}")
                else:
                    self._put(f"\\U{code:08X}")
                spaces = False
            elif char == " ":
                if split and not spaces and self.column > self.best_width and 0 < i < last:
                    # libyaml folds here without a trailing "\": the line
                    # break itself stands for the space.
                    self.write_indent()
                    if text[i + 1] == " ":
                        self._put("\\")
                else:
                    self._put(char)
                spaces = True
            else:
                self._put(char)
                spaces = False
        self.write_indicator('"', False)
        self.whitespace = self.indention = False

    def write_literal(self, text: str) -> None:
        """Port of ``yaml_emitter_write_literal_scalar`` and its block hints.

        Unlike PyYAML, no line break is written after the last line; the
        next indent supplies it, which gives the same text.
        """
        hints = ""
        if text[0] == " " or text[0] in _BREAKS:
            hints = str(self.best_indent)
        if not text or text[-1] not in _BREAKS:
            hints += "-"
        elif len(text) == 1 or text[-2] in _BREAKS:
            hints += "+"
        self.write_indicator("|" + hints, True)
        self._put_break()
        self.indention = self.whitespace = True
        breaks = True
        for char in text:
            if char in _BREAKS:
                self._write_break(char)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self._put(char)
                self.indention = breaks = False


def dump(value: Any) -> str:
    """Serialize like go-yaml v2 yaml.Marshal(map[interface{}]interface{}) does.

    Block style with 2-space indentation, sequences not indented inside
    mappings, keys in go-yaml's natural order, strings quoted only when they
    would otherwise read back as another type, 80-column folding.

    Args:
        value: None, bool, int, float, str, or lists/tuples and mappings of
            those (mapping keys must be scalars).

    Returns:
        The YAML text, ending with a newline.

    Raises:
        TypeError: value contains something go-yaml could not marshal.
    """
    stream = io.StringIO()
    emitter = _GoEmitter(stream, allow_unicode=True)
    emitter.emit(StreamStartEvent())
    emitter.emit(DocumentStartEvent(explicit=False))
    for event in _events(value):
        emitter.emit(event)
    emitter.emit(DocumentEndEvent(explicit=False))
    emitter.emit(StreamEndEvent())
    return stream.getvalue()
