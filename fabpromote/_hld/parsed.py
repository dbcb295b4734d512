"""HLD files parsed by earlier runs, so that a warm ``generate`` or ``materialize`` reads no YAML.

Reading component and config files is a third of a warm ``fabpromote
generate`` of 100 apps: go-yaml's rules are applied in Python, and importing
PyYAML alone costs 15 ms. A run opens the :class:`ParsedFiles` of its HLD
folder with :func:`remembered` and hands it down to the HLD readers (the
engine gets it through its fetcher): each file read is kept with its stat
signature in one cache file per HLD folder, ``<cache>/parsed/<sha256>``,
and a later run takes the record from there while the signature is
unchanged.

The signature is the device, inode, size, modification and change times (in
nanoseconds). The change time cannot be set by users and moves on every
write, but a file written again within the clock tick of the read could keep
it: as git does for its index, a file changed less than two seconds before it
is read is not kept. Warnings logged while parsing are kept and logged again;
errors are never kept. The cache file is named after the parsing code too
(the signatures of its modules and of PyYAML), so an upgrade starts afresh.

Records are stored with :mod:`marshal` (plain data only: loading it runs no
code) behind a sha256 of the content; a damaged file is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import marshal
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from fabpromote._hld import plain as _plain
from fabpromote._hld.model import NO_HOOKS, Component, ComponentConfig, Hooks
from fabpromote._sources.cache import Cache, atomic_write
from fabpromote._util.racy import changed_recently

__all__ = ["FOLDER", "MAGIC", "ParsedFiles", "component", "config", "is_sound", "remembered"]

log = logging.getLogger("fabpromote")

FOLDER = "parsed"
MAGIC = b"fabpromote parsed files 1\n"
#: Cache files kept (one per HLD folder); the least recently written go first.
_KEEP = 64


def component(file: str | Path, parsed: ParsedFiles | None = None, info: os.stat_result | None = None) -> Component:
    """The component of ``file`` (see :func:`fabpromote._hld.convert.component_from_file`), through ``parsed``.

    ``info``: the file's stat, when the caller just took it (finding the file).
    """
    return _read(file, "component", parsed, info)  # type: ignore[no-any-return]


def config(file: Path, parsed: ParsedFiles | None = None) -> ComponentConfig:
    """The config of ``file`` (see :func:`fabpromote._hld.convert.config_from_file`), through ``parsed``."""
    return _read(file, "config", parsed)  # type: ignore[no-any-return]


# Earns its place: bench/tricks.py::parse_cache
@contextlib.contextmanager
def remembered(cache: Cache, root: str | Path) -> Iterator[ParsedFiles]:
    """The parse cache of HLD folder ``root`` in ``cache``, for the readers of this block.

    The cache file is written when the block ends without an error, and only
    if something changed.
    """
    parsed = ParsedFiles.load(_memo_path(cache, Path(root)))
    yield parsed
    parsed.save()


def is_sound(data: bytes) -> bool:
    """Whether ``data`` is a whole parse cache file (for ``fabpromote cache check``)."""
    return _decode_file(data) is not None


def _read(file: str | Path, kind: str, parsed: ParsedFiles | None, info: os.stat_result | None = None) -> Any:
    if parsed is None:
        return _parse(file, kind)[0]
    return parsed.read(file, kind, info)


def _parse(file: str | Path, kind: str) -> tuple[Any, tuple[str, ...]]:
    # convert imports PyYAML, which a warm run never needs, nor a cold one whose component files are plain.
    if kind == "config":
        from fabpromote._hld import convert as _convert

        return _convert.config_from_file(Path(file))
    data = _plain.read(file)
    found = _plain.component(data) if os.path.splitext(file)[1] != ".json" else None
    if found is not None:
        return found, ()
    from fabpromote._hld import convert as _convert

    return _convert.component_from_file(Path(file), data)


@attrs.define
class ParsedFiles:
    """The records of one parse cache file: those read from it, and those of this run.

    Attributes:
        path: The cache file.
        old: Its records when loaded.
        new: The records read by this run (written back by :meth:`save`).
    """

    path: Path
    old: dict[str, Any]
    new: dict[str, Any] = attrs.Factory(dict)

    @classmethod
    def load(cls, path: Path) -> ParsedFiles:
        """The records of cache file ``path`` (none when it is missing or damaged)."""
        try:
            data = path.read_bytes()
        except OSError:
            return cls(path, {})
        return cls(path, _decode_file(data) or {})

    def read(self, file: str | Path, kind: str, info: os.stat_result | None = None) -> Any:
        """The record of ``file`` (``kind``: component or config), parsed unless kept and unchanged.

        ``info``: the file's stat, if just taken (any stat taken before the read is a sound signature).
        """
        name = os.path.abspath(file)
        if info is None:
            try:
                info = os.stat(name)
            except OSError:
                return _parse(file, kind)[0]  # which names the file and the reason
        signature = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
        entry = self.old.get(name)
        if entry is not None and entry[0] == signature and entry[1] == kind:
            record = _load(kind, entry[3])
            if record is not None:
                for message in entry[2]:
                    log.warning("%s", message)
                self.new[name] = entry
                return record
        record, warnings = _parse(file, kind)
        if not changed_recently((info.st_mtime_ns, info.st_ctime_ns), time.time_ns()):
            self.new[name] = (signature, kind, warnings, _dump(record))
        return record

    def save(self) -> None:
        """Write the records of this run back, when they differ from those loaded."""
        if self.new == self.old:  # the entries read are those the file holds (a hit is the same object)
            return
        try:
            body = marshal.dumps(self.new)
        except ValueError:  # a value marshal cannot hold: no cache this time
            return
        try:
            atomic_write(self.path, MAGIC + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
            _prune(self.path.parent)
        except OSError as exc:
            log.info("cannot write the parse cache %s: %s", self.path, exc.strerror or exc)


def _memo_path(cache: Cache, root: Path) -> Path:
    identity = [os.path.realpath(root), f"{sys.version_info[:2]}"]
    parsers = sorted(Path(__file__).parent.glob("*.py"))  # the whole _hld package: any change to a reader
    spec = importlib.util.find_spec("yaml")
    for module in [*parsers, *([Path(spec.origin)] if spec and spec.origin else [])]:
        with contextlib.suppress(OSError):
            info = module.stat()
            identity.append(f"{module}:{info.st_size}:{info.st_mtime_ns}")
    key = hashlib.sha256("\0".join(identity).encode("utf-8", "surrogateescape")).hexdigest()
    return cache.path(FOLDER, key)


def _decode_file(data: bytes) -> dict[str, Any] | None:
    digest, _, body = data[len(MAGIC) :].partition(b"\n")
    if not data.startswith(MAGIC) or hashlib.sha256(body).hexdigest().encode("ascii") != digest:
        return None
    try:
        entries = marshal.loads(body)  # noqa: S302 - our own file, checked by its digest; builds plain data only
    except (EOFError, ValueError, TypeError):
        return None
    return entries if isinstance(entries, dict) else None


def _prune(folder: Path) -> None:
    """Keep the :data:`_KEEP` most recently written cache files (HLD folders come and go)."""
    files = [path for path in folder.iterdir() if not path.name.startswith(".")]
    if len(files) > _KEEP:
        for path in sorted(files, key=lambda path: path.stat().st_mtime_ns)[: len(files) - _KEEP]:
            path.unlink(missing_ok=True)


# Records as plain data (dicts of str, int, bool, None, lists, tuples) and back.


def _dump(record: Component | ComponentConfig) -> dict[str, Any]:
    return _dump_component(record) if isinstance(record, Component) else _dump_config(record)


def _load(kind: str, data: Any) -> Component | ComponentConfig | None:
    try:
        return _load_component(data) if kind == "component" else _load_config(data)
    except (TypeError, KeyError, AttributeError):
        return None  # not what this version writes: parse the file instead


def _fields(record: object, names: tuple[str, ...]) -> dict[str, Any]:
    # Not attrs.asdict, which looks the class up again for every record: a tenth of a cold parse.
    return {name: getattr(record, name) for name in names}


_COMPONENT_FIELDS = tuple(field.name for field in attrs.fields(Component))
_HOOKS_FIELDS = tuple(field.name for field in attrs.fields(Hooks))
_CONFIG_FIELDS = tuple(field.name for field in attrs.fields(ComponentConfig))


def _dump_component(component: Component) -> dict[str, Any]:
    fields = _fields(component, _COMPONENT_FIELDS)
    fields["hooks"] = _fields(component.hooks, _HOOKS_FIELDS)
    fields["subcomponents"] = [_dump_component(child) for child in component.subcomponents]
    fields["repositories"] = dict(component.repositories)
    return fields


def _load_component(fields: dict[str, Any]) -> Component:
    hooks = fields["hooks"]
    return Component(
        **{
            **fields,
            # Most components have none: one frozen instance serves them all (a new one is a tenth of a load).
            "hooks": Hooks(**hooks) if any(hooks.values()) else NO_HOOKS,
            "subcomponents": [_load_component(child) for child in fields["subcomponents"]],
        }
    )


def _dump_config(config: ComponentConfig) -> dict[str, Any]:
    fields = _fields(config, _CONFIG_FIELDS)
    fields["config"] = dict(config.config)
    fields["subcomponents"] = {name: _dump_config(child) for name, child in config.subcomponents.items()}
    return fields


def _load_config(fields: dict[str, Any]) -> ComponentConfig:
    children = {name: _load_config(child) for name, child in fields["subcomponents"].items()}
    return ComponentConfig(**{**fields, "subcomponents": children})
