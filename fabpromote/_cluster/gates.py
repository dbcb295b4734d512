"""The gates of an environment: what must hold before anything is promoted into it.

An environment of ``fabpromote.yaml`` may be a map with ``name`` and ``gates``::

    - name: prod
      gates:
        soak: 24h
        statuses: ["kustomization/*", "e2e"]
        window: {days: Mon-Thu, hours: "09:00-16:00", timezone: Europe/Berlin}

This module holds the records and reads them from the file's nodes (errors name
the file, line and field); ``fabpromote._workflow.gates`` evaluates them.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import TYPE_CHECKING

import attrs
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

if TYPE_CHECKING:
    from yaml.nodes import Node

    from fabpromote._hld.convert import NodeReader

__all__ = ["DAYS", "Gates", "Window", "format_duration", "parse_duration", "read_gates"]

#: Day names as ``window.days`` spells them, Monday first (``datetime.weekday()`` order).
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

#: Seconds per unit of a Go duration (``time.ParseDuration``).
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")


def parse_duration(text: str) -> float:
    """Seconds of a Go duration: ``30m``, ``24h``, ``1h30m``, ``1.5h``, ``0``.

    Raises:
        ValueError: Not a duration, or negative (the message says what is expected).
    """
    expected = "expected a duration such as 30m, 24h or 1h30m (units h, m, s, ms, us, ns)"
    if text == "0":
        return 0.0
    position, total = 0, 0.0
    while position < len(text):
        part = _PART.match(text, position)
        if part is None:
            raise ValueError(f"{text!r}: {expected}")
        total += float(part.group(1)) * _UNITS[part.group(2)]
        position = part.end()
    if not text:
        raise ValueError(f"empty duration: {expected}")
    return total


def format_duration(seconds: float) -> str:
    """``1h12m``, ``5m``, ``40s``: what is left of a wait, rounded up to the second."""
    whole = max(0, int(-(-seconds // 1)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        # Seconds do not matter next to hours: round up so that "0m left" never shows while waiting.
        minutes += 1 if secs else 0
        hours, minutes = (hours + 1, 0) if minutes == 60 else (hours, minutes)
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


@attrs.frozen(kw_only=True)
class Window:
    """When promotion into an environment is allowed; a change freeze otherwise.

    Attributes:
        days: The weekdays it opens on (0 is Monday), all by default.
        start: When it opens, minutes after midnight.
        end: When it closes, minutes after midnight; an ``end`` at or before
            ``start`` wraps past midnight: the window opened on a listed day
            stays open into the next morning.
        timezone: The IANA time zone the days and hours are in.
    """

    days: tuple[int, ...] = tuple(range(7))
    start: int = 0
    end: int = 24 * 60
    timezone: str = "UTC"

    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_open(self, now: datetime.datetime) -> bool:
        """Whether ``now`` (an aware time) falls in the window."""
        local = now.astimezone(self.zone())
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= minute < self.end
        yesterday = (local.weekday() - 1) % 7
        return (local.weekday() in self.days and minute >= self.start) or (yesterday in self.days and minute < self.end)

    def next_opening(self, now: datetime.datetime) -> datetime.datetime:
        """The next time after ``now`` the window opens (local time of its zone)."""
        local = now.astimezone(self.zone())
        hour, minute = divmod(self.start, 60)
        for offset in range(8):
            day = local.date() + datetime.timedelta(days=offset)
            opening = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.zone())
            if day.weekday() in self.days and opening > local:
                return opening
        raise AssertionError("a window has at least one day")  # the reader refuses empty days

    def describe(self) -> str:
        """``Mon,Tue 09:00-16:00 Europe/Berlin``, for status."""
        days = ",".join(DAYS[day] for day in self.days) if len(self.days) < 7 else "daily"
        return f"{days} {_clock(self.start)}-{_clock(self.end)} {self.timezone}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@attrs.frozen(kw_only=True)
class Gates:
    """What must hold before anything is promoted into an environment.

    Each is evaluated against the promotion's source environment and the app
    commit being promoted (the head of the app's branch there).

    Attributes:
        published: That commit was published to the source's manifests branch.
        soak: Seconds the source must have carried it (from its first publish there); None: no soak.
        statuses: Commit status contexts (fnmatch globs) that must be ``success`` on
            the source's manifests commit carrying it.
        window: When promotion is allowed; None: always.
    """

    published: bool = True
    soak: float | None = None
    statuses: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    window: Window | None = None

    def names(self) -> list[str]:
        """The gates that apply, in evaluation order."""
        wanted = {"published": self.published, "soak": self.soak is not None}
        wanted |= {"statuses": bool(self.statuses), "window": self.window is not None}
        return [name for name, on in wanted.items() if on]


_GATE_KEYS = ("published", "soak", "statuses", "window")


def read_gates(reader: NodeReader, node: Node, field: str) -> Gates:
    """The ``gates`` map of an environment; every mistake names the file, line and field."""
    values: dict[str, object] = {}
    for key, value, path in reader.fields(node, field):
        if key == "published":
            values["published"] = reader.boolean(value, path)
        elif key == "soak":
            values["soak"] = _soak(reader, value, path)
        elif key == "statuses":
            values["statuses"] = _statuses(reader, value, path)
        elif key == "window":
            values["window"] = _window(reader, value, path)
        else:
            raise reader.error(value, path, f"unknown gate {key!r} (known: {', '.join(_GATE_KEYS)})")
    return Gates(**values)  # type: ignore[arg-type]


def _soak(reader: NodeReader, node: Node, field: str) -> float:
    try:
        return parse_duration(reader.string(node, field))
    except ValueError as exc:
        raise reader.error(node, field, str(exc)) from None


def _statuses(reader: NodeReader, node: Node, field: str) -> tuple[str, ...]:
    contexts = reader.strings(node, field)
    for (item, path), context in zip(reader.items(node, field), contexts, strict=True):
        if not context.strip():
            raise reader.error(item, path, "a status context must not be empty")
    if not contexts:
        raise reader.error(node, field, "expected at least one status context (or leave `statuses` out)")
    return contexts


def _window(reader: NodeReader, node: Node, field: str) -> Window:
    if not isinstance(node, MappingNode):
        raise reader.error(node, field, "expected a map with `days`, `hours` and `timezone`")
    values: dict[str, object] = {}
    for key, value, path in reader.fields(node, field):
        if key == "days":
            values["days"] = _days(reader, value, path)
        elif key == "hours":
            values["start"], values["end"] = _hours(reader, value, path)
        elif key == "timezone":
            values["timezone"] = _timezone(reader, value, path)
        else:
            raise reader.error(value, path, "unknown field (expected one of: days, hours, timezone)")
    return Window(**values)  # type: ignore[arg-type]


def _day(reader: NodeReader, node: Node, field: str, name: str) -> int:
    """A day given as ``Mon`` or ``Monday`` (any case)."""
    spelled = name.strip().lower()
    for index, (short, full) in enumerate(zip(DAYS, _FULL_DAYS, strict=True)):
        if spelled in (short.lower(), full):
            return index
    raise reader.error(node, field, f"unknown day {name.strip()!r} (expected one of: {', '.join(DAYS)})")


def _days(reader: NodeReader, node: Node, field: str) -> tuple[int, ...]:
    """``Mon-Thu`` (a range, which may wrap: ``Fri-Mon``), ``Mon`` or a list ``[Mon, Wed]``."""
    if isinstance(node, SequenceNode):
        days = [_day(reader, item, path, reader.string(item, path)) for item, path in reader.items(node, field)]
    elif isinstance(node, ScalarNode):
        text = reader.string(node, field)
        first, _, last = text.partition("-")
        start = _day(reader, node, field, first)
        stop = _day(reader, node, field, last) if last else start
        days = [(start + offset) % 7 for offset in range((stop - start) % 7 + 1)]
    else:
        raise reader.error(node, field, "expected days such as Mon-Thu or a list such as [Mon, Wed]")
    if not days:
        raise reader.error(node, field, "expected at least one day")
    return tuple(sorted(set(days)))


def _hours(reader: NodeReader, node: Node, field: str) -> tuple[int, int]:
    text = reader.string(node, field).replace(" ", "")
    match = _HOURS.fullmatch(text)
    expected = 'expected hours such as "09:00-16:00" (24-hour clock; "22:00-06:00" wraps past midnight)'
    if match is None:
        raise reader.error(node, field, f"{text!r}: {expected}")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
        raise reader.error(node, field, f"{text!r}: not a time of day; {expected}")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise reader.error(node, field, f"{text!r}: opens and closes at the same time; {expected}")
    return start, end


def _timezone(reader: NodeReader, node: Node, field: str) -> str:
    name = reader.string(node, field)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise reader.error(
            node, field, f"unknown time zone {name!r} (expected an IANA name such as Europe/Berlin)"
        ) from None
    return name
