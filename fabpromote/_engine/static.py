"""The built-in generators: ``static`` manifests and plain ``component`` nodes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fabpromote._engine.formats import static_manifest
from fabpromote._util import reads as _reads
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
        else:
            directory = request.contained(request.directory / component.path)
        try:
            names = sorted(os.listdir(directory))
        except OSError as exc:
            raise GeneratorError(
                f"static component {component.name!r}: cannot list {directory}: {exc.strerror}"
            ) from None
        folder = os.fspath(directory)
        contents = []
        for name in names:
            # Strings and one open per file, no Path or stat: this loop is most of a large static render.
            file = os.path.join(folder, name)
            try:
                with open(file, "rb") as stream:
                    contents.append(stream.read())
            except IsADirectoryError:
                raise GeneratorError(f"static component {component.name!r}: {file} is a directory") from None
            except OSError as exc:
                raise GeneratorError(
                    f"static component {component.name!r}: cannot read {file}: {exc.strerror}"
                ) from None
        _reads.note_static(request.output_path, folder, names, contents)
        return static_manifest(contents)
