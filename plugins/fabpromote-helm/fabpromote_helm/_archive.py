"""Chart archives (``.tgz``) read and expanded the way helm does it.

``helm pull --untar`` deletes the archive it downloaded, but the lock needs
its digest, so the chart is pulled as an archive and expanded here, by the
rules of helm's ``loader.LoadArchiveFiles`` and ``chartutil.Expand``: the
first path component is dropped, directories and extended headers are
skipped, absolute paths and paths into a parent are refused, a leading
UTF-8 byte order mark is removed, every other entry (a link too) becomes a
regular file of mode 0644 with the entry's bytes, and the chart must have a
``Chart.yaml`` naming it.
"""

from __future__ import annotations

import os
import posixpath
import re
import tarfile
import zlib
from typing import TYPE_CHECKING

import yaml

from fabpromote.exceptions import ArchiveError
from fabpromote.fetch import ArchiveBudget

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ChartArchiveError", "archive_chart_name", "expand", "load_files"]

_BOM = b"\xef\xbb\xbf"
_DRIVE = re.compile(r"^[a-zA-Z]:/")


class ChartArchiveError(ValueError):
    """A chart archive that helm would refuse to load."""


def load_files(archive: Path, *, stop_at: str | None = None) -> list[tuple[str, bytes]]:
    """The files of chart ``archive`` as ``(path inside the chart, bytes)``, in archive order.

    Args:
        archive: The ``.tgz``.
        stop_at: Stop reading after the file of this path (to read one file cheaply).

    Raises:
        ChartArchiveError: Not a gzipped tar, an unsafe path, empty, or more entries or
            expanded bytes than ``$FABPROMOTE_MAX_ARCHIVE_MEMBERS``/``$FABPROMOTE_MAX_ARCHIVE_BYTES``
            allow (100 MiB by default: helm's MaxDecompressedChartSize).
    """
    files: list[tuple[str, bytes]] = []
    # Counted before each entry is read: a tar bomb stops before it fills memory or the disk.
    budget = ArchiveBudget(archive.name)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                budget.take(member.size if member.isreg() else 0)
                if member.isdir():
                    continue
                name = _chart_path(member.name)
                data = b""
                if member.isreg():
                    handle = tar.extractfile(member)
                    data = handle.read() if handle is not None else b""
                files.append((name, data.removeprefix(_BOM)))
                if name == stop_at:
                    break
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise ChartArchiveError(f"{archive.name} is not a readable chart archive: {exc}") from None
    except ArchiveError as exc:
        raise ChartArchiveError(str(exc)) from None
    if not files:
        raise ChartArchiveError(f"no files in chart archive {archive.name}")
    return files


def _chart_path(name: str) -> str:
    delimiter = "\\" if "\\" in name else "/"
    parts = name.split(delimiter)
    relative = "/".join(parts[1:])
    if relative.startswith("/"):
        raise ChartArchiveError("chart illegally contains absolute paths")
    cleaned = posixpath.normpath(relative) if relative else "."
    if cleaned == ".":
        raise ChartArchiveError(f"chart illegally contains content outside the base directory: {name!r}")
    if cleaned.startswith("..") or _DRIVE.match(cleaned):
        raise ChartArchiveError("chart illegally references parent directory")
    if parts[0] == "Chart.yaml":
        raise ChartArchiveError("chart yaml not in base directory")
    return cleaned


def chart_name(chart_yaml: bytes) -> str | None:
    """The ``name`` a ``Chart.yaml`` declares, or None."""
    try:
        metadata = yaml.safe_load(chart_yaml)
    except yaml.YAMLError:
        return None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and name else None


def archive_chart_name(archive: Path) -> str | None:
    """The name of the chart packed in ``archive``, or None when it cannot be read."""
    try:
        files = load_files(archive, stop_at="Chart.yaml")
    except ChartArchiveError:
        return None
    return next((chart_name(data) for name, data in files if name == "Chart.yaml"), None)


def expand(archive: Path, destination: Path) -> None:
    """Write the chart of ``archive`` into ``destination`` (created), as ``helm pull --untar`` would.

    Raises:
        ChartArchiveError: helm would refuse the archive.
    """
    files = load_files(archive)
    if not any(name == "Chart.yaml" and chart_name(data) for name, data in files):
        raise ChartArchiveError(f"chart name not specified in {archive.name}")
    destination.mkdir(mode=0o755)
    for name, data in files:
        target = destination / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise ChartArchiveError(f"cannot expand {name} of {archive.name}: {exc.strerror or exc}") from None
