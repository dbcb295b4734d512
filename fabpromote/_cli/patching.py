"""One static component's output rewritten from a stamp, without rendering the HLD.

When the check of a ``generate`` stamp (:mod:`fabpromote._cli.unchanged`)
finds that the only inputs changed are files of one static component's
folder (edited in place, or saved by an editor's rename under the same
names), the render would differ from the stamped one in that component's
manifest alone: its folder holds no component or config file, the rest of
the tree and fabpromote's code are as stamped, and the output folder holds
what the stamped render wrote. So that manifest is joined again from its
files (:func:`fabpromote._engine.formats.static_manifest`, as the static
generator does) and, when it differs, put in place by one rename: a reader
of the output folder sees the old file or the new one, and the folder
changes in one step, as when the engine writes it. The output's record in
the cache names both states while the file moves, as
:meth:`fabpromote._engine.manifests.Manifests.write` does. Anything else
(two components changed, a name added or removed, a file that cannot be
read) runs the command. The stamp is then renewed; an input changed less
than two seconds before is kept with it as read.

This module imports the standard library only, and the engine's two
formats: it runs before the rest of the command is imported.
"""

from __future__ import annotations

import os
import stat

from fabpromote._cli import stamps
from fabpromote._engine.formats import (
    file_digests,
    manifests_digest,
    record_bytes,
    record_lock_path,
    static_manifest,
)
from fabpromote._util.atomicfile import replace_file
from fabpromote._util.locks import FileLock
from fabpromote._util.wholefiles import read_file

TYPE_CHECKING = False  # not typing's: see fabpromote._cli.stamps
if TYPE_CHECKING:
    from typing import Any

__all__ = ["patch"]


# Earns its place: bench/tricks.py::generate_patch
def patch(stamp: dict[str, Any], changes: list[tuple[int, os.stat_result]], started: int) -> str | None:
    """The line to print once the one static component ``changes`` touch is rewritten; None: run the command."""
    root, *_, entries = stamp["trees"][0]
    out_root = stamp["trees"][2][0]
    record = stamp["record"][0]
    try:
        output = _touched(root, [(entries[index][0], info) for index, info in changes], stamp)
        if output is None:
            return None
        folder, names = stamp["statics"][output]
        contents = [read_file(os.path.join(folder, name)) for name in names]
        manifest = static_manifest(contents)
        # A render or another rewrite may have changed the folder since it was checked: each
        # takes the same lock and writes a new record, which is checked again under it.
        with FileLock(record_lock_path(record)):
            if not stamps.output_holds(stamp, thorough=False):
                return None
            files = {path: read_file(os.path.join(out_root, path)) for path in stamp["files"]}
            written = files[output] != manifest
            if written:
                before = file_digests(files)
                files[output] = manifest
                after = file_digests(files)
                _replace(out_root, output, manifest, record, before, after)
    except OSError:
        return None  # the command runs, and says what failed
    digest = manifests_digest(files.items())
    try:
        renewed = _renewed(stamp, changes, started, (folder, names, contents), (output, manifest) if written else None)
    except OSError:
        renewed = None  # the next run takes the full path, which stamps again
    if renewed is not None:
        if written:
            renewed["record"] = (record, stamps.signature(record))
            renewed["racy"][record] = record_bytes(after)  # just written: kept by content
        stamps.write(stamps.settled(renewed, started) | {"digest": digest})
    return stamps.summary_line("wrote" if written else "unchanged:", stamp["summary"], digest)


def _touched(root: str, changed: list[tuple[str, os.stat_result]], stamp: dict[str, Any]) -> str | None:
    """The output path of the one static component whose files ``changed`` are (None: not so)."""
    statics = stamp["statics"]
    users: dict[str, list[str]] = {}
    for output, (folder, _) in statics.items():
        users.setdefault(folder, []).append(output)
    definitions = set(stamp["definitions"])
    touched: set[str] = set()
    for name, info in changed:
        path = os.path.abspath(os.path.join(root, name))
        if stat.S_ISDIR(info.st_mode):
            # Its times moved: the same names mean a file was replaced by a rename, a change seen on the file.
            outputs = users.get(path, [])
            if not outputs or sorted(os.listdir(path)) != statics[outputs[0]][1]:
                return None
        else:
            folder, base = os.path.split(path)
            outputs = users.get(folder, [])
            if not outputs or folder in definitions or base not in statics[outputs[0]][1]:
                return None
        touched.update(outputs)
    return touched.pop() if len(touched) == 1 else None


def _replace(
    out_root: str, output: str, manifest: bytes, record: str, before: dict[str, str], after: dict[str, str]
) -> None:
    """Put ``manifest`` at ``output`` in the output folder by one rename, the record naming both states meanwhile.

    The temporary file lies beside the output folder, not in it: a kill
    leaves no file there that fabpromote would refuse to replace.
    """
    replace_file(record, record_bytes(after, before), mode=0o600)
    # 0666 less the umask, as the engine's write (wholefiles.write_new_file) gives.
    replace_file(
        os.path.join(out_root, output), manifest, mode=0o666, beside=os.path.dirname(os.path.abspath(out_root))
    )
    replace_file(record, record_bytes(after), mode=0o600)


def _renewed(
    stamp: dict[str, Any],
    changes: list[tuple[int, os.stat_result]],
    started: int,
    static: tuple[str, list[str], list[bytes]],
    written: tuple[str, bytes] | None,
) -> dict[str, Any] | None:
    """The stamp of the tree as patched: new signatures, recent inputs and the written file kept by content.

    ``written``: the output path rewritten and what was written there (None: nothing was).

    None if a recent input is not one the patch read (the walk reads it too),
    or if the recent output files add up to more than ``RACY_BYTES``.
    """
    (*hld, entries), code, (*output_tree, out_entries) = stamp["trees"]
    root, out_root = hld[0], output_tree[0]
    entries = list(entries)
    racy = dict(stamp["racy"])
    for index, info in changes:
        name = entries[index][0]
        entries[index] = (name, stamps.stat_signature(info))
        racy.pop(f"{root}/{name}", None)
    known = stamps.known_contents([static], set(stamp["definitions"]))
    recent = stamps.racy_inputs(root, [entries[index] for index, _ in changes], started, known)
    if recent is None:
        return None
    racy |= recent
    out_entries = list(out_entries)
    if written is not None:
        # The file and the folder it was renamed into have new signatures; the file is recent, so kept by content.
        path, manifest = written
        folder = os.path.dirname(path)
        for index, (name, _) in enumerate(out_entries):
            if name in (path, folder):
                out_entries[index] = (name, stamps.stat_signature(os.stat(os.path.join(out_root, name))))
        racy[f"{out_root}/{path}"] = manifest
    if sum(len(kept) for path, kept in racy.items() if path.startswith(f"{out_root}/")) > stamps.RACY_BYTES:
        return None
    return stamp | {"trees": [(*hld, entries), code, (*output_tree, out_entries)], "racy": racy}
