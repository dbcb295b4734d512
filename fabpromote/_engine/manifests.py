"""Manifests: the rendered output of an HLD, held in memory."""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path

from fabpromote._engine.formats import file_digests, manifests_digest
from fabpromote._engine.outputs import MARKER, Output, RecordPlace
from fabpromote._util.fsutil import files_under, replace_path, staged_beside
from fabpromote._util.wholefiles import write_new_file
from fabpromote.exceptions import OutputWriteError, UnsafePathError

__all__ = ["Manifests"]

#: The parts of a path that make it leave its folder, absolute (a first empty part) or unclean.
_UNCLEAN = frozenset(("", ".", ".."))


def check_relative(path: str) -> str:
    """Return ``path`` if it is a clean relative POSIX path inside its root.

    Clean: the path a file read back from the folder has, so that the
    manifests equal what :meth:`Manifests.read` finds after writing them.

    Raises:
        UnsafePathError: The path is absolute or empty, has an empty, ``.``
            or ``..`` part (``a//b``, ``a/./b``, ``a/``), a backslash or NUL.
    """
    # Strings, not PurePosixPath: this runs once per output file.
    if "\0" in path or "\\" in path or any(part in _UNCLEAN for part in path.split("/")):
        raise UnsafePathError(f"output path {path!r} would leave the output directory or is not clean")
    return path


class Manifests(Mapping[str, bytes]):
    """An immutable, ordered mapping of relative path -> file bytes.

    Paths use ``/`` and never leave the output directory. Iteration follows
    the sorted path order, so equal contents compare, hash and write alike.
    """

    __slots__ = ("_digest", "_files")

    def __init__(self, files: Mapping[str, bytes] | None = None) -> None:
        checked = {check_relative(path): bytes(data) for path, data in (files or {}).items()}
        self._files = dict(sorted(checked.items()))
        self._digest: str | None = None

    def __getitem__(self, path: str) -> bytes:
        return self._files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Manifests):
            return self._files == other._files
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"Manifests({len(self)} files, digest={self.digest[:12]})"

    @property
    def digest(self) -> str:
        """A sha256 over every path and its bytes (hex)."""
        if self._digest is None:
            self._digest = manifests_digest(self._files.items())
        return self._digest

    def diff(self, other: Manifests, *, context: int = 3) -> str:
        """A unified diff turning ``self`` into ``other`` (``""`` when equal)."""
        import difflib  # slow to import, and only diffs need it

        chunks: list[str] = []
        for path in sorted(set(self) | set(other)):
            old, new = self.get(path), other.get(path)
            if old == new:
                continue
            chunks.extend(
                difflib.unified_diff(
                    _lines(old),
                    _lines(new),
                    fromfile=f"a/{path}" if old is not None else "/dev/null",
                    tofile=f"b/{path}" if new is not None else "/dev/null",
                    n=context,
                )
            )
        return "".join(chunks)

    @classmethod
    def read(cls, directory: str | Path) -> Manifests:
        """The files under ``directory`` (symlinks are not followed; fabpromote's record is left out)."""
        files: dict[str, bytes] = {}
        for path, entry in files_under(directory):
            if path != MARKER:
                with open(entry.path, "rb") as handle:
                    files[path] = handle.read()
        return cls(files)

    def write(
        self, directory: str | Path, *, record: RecordPlace = "folder", cache_dir: str | Path | None = None
    ) -> bool:
        """Replace ``directory`` with exactly these files, in one step.

        Only a folder that is absent, empty or holds an earlier fabpromote output
        (unchanged since) is replaced; the record of what was written goes in
        the folder (:data:`~fabpromote._engine.outputs.MARKER`) or, with
        ``record="cache"``, in the cache (Fabrikate's ``generated/`` layout
        allows no extra file). The tree is built in a sibling temporary
        directory and renamed into place, so readers see the old tree or the
        new one, never a mix (files that did not change are hard links to the
        old ones there: only the changed files are written), and a failure (or
        SIGTERM, under the CLI) leaves the old tree untouched and no temporary
        directory behind.

        Returns:
            False when the folder already held exactly these files (nothing written).

        Raises:
            OutputRefusedError: Replacing the folder would lose a file fabpromote did
                not write (named), or it is ``/``, a repository or the working directory.
            OutputWriteError: The file system refused (permissions, space).
        """
        output = Output(directory, record, Path(cache_dir) if cache_dir else None)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(output.lock())
            except OSError as exc:
                raise OutputWriteError(f"cannot lock {output.path} (in the cache): {exc.strerror or exc}") from None
            held = output.check()
            files = file_digests(self._files)
            if held == files:
                return False
            self._replace(output, held, files)
        return True

    def _replace(self, output: Output, held: dict[str, str] | None, files: dict[str, str]) -> None:
        """Write these files in a folder beside ``output`` and put it in its place (see :meth:`write`)."""
        try:
            with staged_beside(output.path) as staging:
                # Strings, and each folder made once: this loop is most of writing thousands of small files.
                made = {""}
                for path, data in self._files.items():
                    folder = posixpath.dirname(path)
                    if folder not in made:
                        _make_folder(staging, folder, made)
                    file = os.path.join(staging, path)
                    unchanged = held is not None and held.get(path) == files[path]
                    if not (unchanged and _linked(os.path.join(output.path, path), file)):
                        write_new_file(file, data)
                os.chmod(staging, 0o755)  # noqa: S103 - mkdtemp makes 0700; output is meant to be read
                output.record(files, *([held] if held and output.place == "cache" else []), staging=staging)
                replace_path(staging, output.path)
        except OSError as exc:
            raise OutputWriteError(f"cannot write {output.path}: {exc.strerror or exc}") from None
        if output.place == "cache":
            output.record(files)


def _make_folder(staging: str | Path, folder: str, made: set[str]) -> None:
    """Make ``folder`` (relative) in ``staging``, its parents first: one ``mkdir`` each, as ``made`` records."""
    parent = posixpath.dirname(folder)
    if parent not in made:
        _make_folder(staging, parent, made)
    os.mkdir(os.path.join(staging, folder))
    made.add(folder)


def _linked(old: str, new: str) -> bool:
    """Give ``new`` the very file ``old`` (unchanged since it was written): a hard link, not a rewrite.

    The file keeps its inode and time stamps, and writing it costs no data;
    False where the file system has no hard links (then it is written).
    """
    try:
        os.link(old, new, follow_symlinks=False)
    except OSError:
        return False
    return True


def _lines(data: bytes | None) -> list[str]:
    if data is None:
        return []
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)
