"""The built-in generators: ``static`` manifests and plain ``component`` nodes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from fabpromote._engine.formats import static_manifest
from fabpromote._util import reads as _reads
from fabpromote._util.wholefiles import read_file
from fabpromote.exceptions import GeneratorError

if TYPE_CHECKING:
    from fabpromote._engine.walk import RenderRequest

__all__ = ["ComponentGenerator", "StaticGenerator"]


class ComponentGenerator:
    """A ``type: component`` node renders to an empty manifest."""

    parallel = False  # nothing to wait for

    def generate(self, request: RenderRequest) -> bytes:  # noqa: ARG002 - the protocol's signature
        return b""


class StaticGenerator:
    """Concatenates the files of ``<dir>/<path>``, sorted by name, as Fabrikate does.

    Each file becomes ``"---\\n" + bytes + "\\n"``; there is no extension
    filter. ``method: http`` reads the download at ``components/<name>/``.
    """

    # Reading small files is Python's work: threads would only take turns (a
    # download that is not installed yet waits in the walking thread, too).
    parallel = False

    def generate(self, request: RenderRequest) -> bytes:
        component = request.component
        if component.method == "http":
            directory = request.directory / "components" / component.name
            fetcher = request.fetcher
            if fetcher is not None and not (fetcher.prefer_installed and directory.is_dir()):
                # What `fab install` would save as components/<name>/<name>.yaml.
                return static_manifest([fetcher.download(request.entry_path, component.source)])
            folder = os.fspath(directory)
        else:
            folder = _joined(os.fspath(request.directory), component.path)
            if request.boundary is not None:
                request.contained(Path(folder))
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            raise GeneratorError(f"static component {component.name!r}: cannot list {folder}: {exc.strerror}") from None
        contents = []
        prefix = folder if folder.endswith("/") else f"{folder}/"
        for name in names:
            # Strings and no Path or stat of our own: this loop is most of a large static render.
            file = prefix + name
            try:
                contents.append(read_file(file))
            except IsADirectoryError:
                raise GeneratorError(f"static component {component.name!r}: {file} is a directory") from None
            except OSError as exc:
                raise GeneratorError(
                    f"static component {component.name!r}: cannot read {file}: {exc.strerror}"
                ) from None
        _reads.note_static(request.output_path, folder, names, contents)
        return static_manifest(contents)


def _joined(folder: str, path: str) -> str:
    """``str(Path(folder) / path)`` for the folder's string form, without making the Paths.

    Pathlib drops the empty and ``.`` parts of ``path`` (not ``..``); an
    absolute ``path``, or a folder of ``.`` or ``/``, is left to pathlib.
    """
    if path.startswith("/") or folder in (".", "/"):
        return os.fspath(Path(folder) / path)
    return "/".join((folder, *(part for part in path.split("/") if part not in ("", "."))))
