"""Output folders: which ones fabpromote may replace, and the record that tells.

A folder is replaced only when it is absent, empty, or holds exactly what
fabpromote wrote there last: its record lists every file written with its
sha256, so a file the user added or edited since is never lost. The record
lives in the folder (:data:`MARKER`, a file Flux-facing branches never carry,
since publishing commits the manifests, not a folder) or, where Fabrikate's
layout allows no extra file (``generated/<envs>``, ``components/``,
``helm_repos/``), in the cache under ``outputs/``.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs

from fabpromote._engine.formats import cache_record_path, record_bytes, record_lock_path
from fabpromote._sources.cache import atomic_write, cache_root, folder_digests
from fabpromote._util.locks import FileLock
from fabpromote.exceptions import OutputRefusedError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MARKER", "Output", "RecordPlace", "digests"]

#: The record kept inside a written folder.
MARKER = ".fabpromote-output"

RecordPlace = Literal["folder", "cache"]


def digests(folder: Path) -> dict[str, str]:
    """Relative POSIX path -> sha256 of every file (a symlink: of its target) under ``folder``, but the record."""
    found = folder_digests(folder)
    found.pop(MARKER, None)
    return found


def _is_repository(folder: Path) -> bool:
    return (folder / ".git").exists() or all((folder / name).exists() for name in ("HEAD", "objects", "refs"))


def _absolute(value: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(value))


@attrs.frozen
class Output:
    """A folder fabpromote writes, and where its record is kept.

    Attributes:
        path: The folder, made absolute (``--out .`` names the working directory).
        place: ``folder`` keeps the record in the folder; ``cache`` keeps it in
            the cache (for Fabrikate's fixed layouts).
        cache_dir: The cache root for ``cache`` records (default: :func:`cache_root`).
    """

    path: Path = attrs.field(converter=_absolute)
    place: RecordPlace = "folder"
    cache_dir: Path | None = None

    def check(self) -> dict[str, str] | None:
        """Raise unless the folder may be replaced; return what it holds now (None: absent).

        Raises:
            OutputRefusedError: Replacing it could lose a file that is not fabpromote's,
                or it is ``/``, the working directory (or above it), or a repository.
        """
        path = self.path
        if path == Path(path.anchor):
            raise OutputRefusedError(f"{path} is the root of the file system; choose a folder for the output")
        if path == Path.cwd() or path in Path.cwd().parents:
            raise OutputRefusedError(f"{path} is the working directory or holds it; choose a folder beside it")
        if not os.path.lexists(path):
            return None
        if path.is_symlink() or not path.is_dir():
            raise OutputRefusedError(f"{path} exists and is not a folder; it would be lost")
        if _is_repository(path):
            raise OutputRefusedError(f"{path} is a git repository; choose a folder outside it")
        try:
            held = digests(path)
        except OSError as exc:
            raise OutputRefusedError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not held:
            return held
        records = self._recorded()
        if not any(held.items() <= files.items() for files in records):
            raise OutputRefusedError(self._loss(held, records[0] if records else {}))
        return held

    def _loss(self, held: Mapping[str, str], recorded: Mapping[str, str]) -> str:
        """The message naming the first file that replacing the folder would lose."""
        name = next(name for name, digest in sorted(held.items()) if recorded.get(name) != digest)
        if name in recorded:
            what = "was changed since fabpromote wrote it; move it away first"
        elif recorded:
            what = "is not a file fabpromote wrote there; move it away first"
        else:
            what = (
                "is not fabpromote's: the folder holds no record of an earlier fabpromote output; "
                "choose a new or empty folder"
            )
        return f"{self.path / name} would be lost: it {what}"

    def lock(self) -> contextlib.AbstractContextManager[object]:
        """Hold it while the folder is checked and replaced.

        For a ``cache`` record, an exclusive lock beside the record: the CLI's
        rewrite of one file from a ``generate`` stamp (``fabpromote._cli.patching``)
        takes it too, so neither changes the folder under the other.
        """
        if self.place == "cache":
            return FileLock(record_lock_path(str(self._cache_record())))
        return contextlib.nullcontext()

    def record(self, *states: Mapping[str, str], staging: Path | None = None) -> None:
        """Keep the record of the folder's accepted ``states`` (each path -> sha256), newest first.

        ``folder``: written into ``staging``, so it moves into place with the
        files. ``cache``: written beside; during a replacement both the old and
        the new state are recorded, so a crash between the two steps leaves a
        folder that is still known.
        """
        data = record_bytes(*states)
        if self.place == "cache":
            atomic_write(self._cache_record(), data)
        elif staging is not None:
            (staging / MARKER).write_bytes(data)

    def _recorded(self) -> list[dict[str, str]]:
        """The states recorded in the folder and in the cache (a folder may have been written either way)."""
        states: list[dict[str, str]] = []
        for file in (self.path / MARKER, self._cache_record()):
            try:
                found = json.loads(file.read_bytes())["states"]
                states += [{str(k): str(v) for k, v in state.items()} for state in found]
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue
        return states

    def _cache_record(self) -> Path:
        return Path(cache_record_path(str(cache_root(self.cache_dir)), str(self.path)))
