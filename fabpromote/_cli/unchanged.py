"""``fabpromote generate`` answered from a stamp when nothing it reads has changed, or one static component.

A warm ``generate`` that changes nothing still costs the imports of the
engine and a walk of the HLD, several times what ``fab generate`` takes for
the same work. So when a render read nothing but the files of its HLD tree
and what its plugin generators name (:mod:`fabpromote._util.reads`: built-in
generators, or plugin ones that say what they read outside the tree through
``inputs``, see :class:`fabpromote.typing.RenderInputs`; nothing fetched or
downloaded, every component folder inside the tree, no plugin told of the
result, no warning logged) into an output folder that was there before, the
command keeps a *stamp* in the cache (:mod:`fabpromote._cli.stamps`): the
stat signature (inode, size, modification and change times) of every file
and folder of the HLD tree (without its top-level ``generated/``, and
without ``.git/`` folders), of the output folder, of fabpromote's own code
and of the files the plugin generators named, with the environment
variables they named, what the command printed and which folder each
static component joined. The same
command line in the same environment then checks those signatures first
and, when every one holds, prints the line again without importing anything
else: inputs and outputs are the files the stamped run saw, so the render
would give the same bytes. When the only files changed are those of one
static component, its manifest is rewritten without a render
(:mod:`fabpromote._cli.patching`).

The key names the command line, the working folder, the interpreter, the
folders of ``sys.path`` (a plugin installed or removed changes one) and every
``FABPROMOTE_*`` variable. Only ``generate [ENV...] [--path DIR]`` is checked;
any other option takes the full path. A link to a folder in the tree (which
the walk would not follow) means no stamp. The change time cannot be set by
users and moves on every write; a file written within the clock tick of its
stat could keep it, so, as git does for its index, a file changed less than
two seconds before the render began is kept with the stamp by content (up
to 4 MiB of output in all), and the check reads it again: an output file as
the render gave it, a static component's file or folder as the render read
it. Any other input that recent means no stamp.

A first ``generate`` into a new folder (what a CI runner does) keeps no
stamp: it would rarely be used, and taking it costs a walk of the tree.

This module imports the standard library only: it runs before the rest of
the command is imported.
"""

from __future__ import annotations

import os
import time

from fabpromote._cli import stamps
from fabpromote._util.cachedir import cache_root
from fabpromote._util.racy import changed_recently
from fabpromote._util.wholefiles import read_file

TYPE_CHECKING = False  # not typing's: see fabpromote._cli.stamps
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from fabpromote._cli.stamps import Entries
    from fabpromote._util.reads import Reads

__all__ = ["answer", "record"]

_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The trees a stamp holds: the HLD, fabpromote's code, the output folder.
_TREES = 3
#: What the HLD's snapshot leaves out: what Python and git rewrite, which no render reads, and the outputs.
_HLD_SKIP: stamps.Skip = ((".git", "__pycache__"), ("generated",))
_CODE_SKIP: stamps.Skip = (("__pycache__",), ())


# Earns its place: bench/tricks.py::generate_stamp
def answer(argv: list[str]) -> str | None:
    """The line to print if ``argv`` is a ``generate`` its stamp answers; None: run the command.

    The stamp answers when nothing changed, and, when only the files of one
    static component changed, after rewriting that component's output
    (:mod:`fabpromote._cli.patching`).
    """
    started = time.time_ns()
    parsed = _generate_args(argv)
    if parsed is None:
        return None
    try:
        key = stamps.key(*parsed)  # getcwd fails in a folder since removed: then the command says so
        stamp = stamps.unseal(read_file(stamps.stamp_path(key)))
    except OSError:
        return None
    try:
        if stamp is None or stamp["key"] != key or len(stamp["trees"]) != _TREES:
            return None
        hld, code = (stamps.changes(*tree) for tree in stamp["trees"][:2])
        if hld is None or code != [] or not stamps.output_holds(stamp) or not _inputs_hold(stamp["inputs"]):
            return None
        root, *_, entries = stamp["trees"][0]
        # A file kept by content that changed since is a change like any other, seen on its stat.
        changed = {f"{root}/{entries[index][0]}" for index, _ in hld}
        if not stamps.same_contents({path: kept for path, kept in stamp["racy"].items() if path not in changed}):
            return None
        if hld:
            if stamp["inputs"]["plugins"]:
                return None  # a plugin generator may read the changed files too: only a render knows
            from fabpromote._cli import patching

            return patching.patch(stamp, hld, started)
        if stamp["racy"] and len(settled := stamps.settled(stamp, started)["racy"]) < len(stamp["racy"]):
            stamps.write(stamp | {"racy": settled})  # once: the next runs read fewer files
        return stamps.summary_line("unchanged:", stamp["summary"], stamp["digest"])
    except (KeyError, TypeError, ValueError):  # a stamp of another shape: the command runs
        return None


def record(
    path: str,
    environments: tuple[str, ...],
    started: int,
    written: Mapping[str, bytes],
    *,
    digest: str,
    output: str,
    summary: str,
    reads: Reads,
) -> None:
    """Stamp a ``generate`` of HLD ``path`` begun at ``started`` (ns) that left ``written`` in ``output``.

    ``digest``: the digest of ``written``; ``summary``: the files and folder
    that :func:`summary_line` prints; ``reads``: what the render read (see
    :mod:`fabpromote._util.reads`). Nothing is stamped when a component
    folder lies outside the tree or when the tree holds a link to a folder.
    An input changed less than two seconds before the render began (or
    since) may have changed again unseen: a static component's file or
    folder is then kept with the stamp as the render read it, anything else
    means no stamp. A stamp that cannot be written only costs the full path
    next time.
    """
    hld = os.path.abspath(path)
    generated = os.path.join(hld, "generated")
    # Inside the tree, and not in generated/, which the stamp leaves out (the outputs are there).
    if not all(_inside(folder, hld) and not _inside(folder, generated) for folder in reads.folders):
        return
    trees = [stamps.tree(path, _HLD_SKIP), stamps.tree(_CODE, _CODE_SKIP), stamps.tree(output)]
    if None in trees:
        return
    (*_, inputs), (*_, code), (*_, outputs) = trees  # type: ignore[misc]  # None was ruled out above
    definitions = {os.path.abspath(folder) for folder in reads.definitions}
    # With a plugin's render, a file changed just before could have been read by it, then changed
    # again before the static generator read it: what the static generator saw proves nothing.
    known = {} if reads.plugins else stamps.known_contents(reads.statics.values(), definitions)
    racy = stamps.racy_inputs(path, inputs, started, known)
    if racy is None or _changed_since(code, started):
        return
    racy_out = _racy_outputs(output, outputs, written, started)
    record_file = _record_file(output, started)
    inputs = _inputs(reads, started)
    if racy_out is None or record_file is None or inputs is None:
        return
    try:
        key = stamps.key(path, environments)
    except OSError:
        return
    statics = {name: (os.path.abspath(folder), names) for name, (folder, names, _) in reads.statics.items()}
    stamps.write(
        {
            "key": key,
            "trees": trees,
            "record": record_file[:2],
            "racy": racy | racy_out | record_file[2],
            "summary": summary,
            "digest": digest,
            "files": list(written),
            "statics": statics,
            "definitions": sorted(definitions),
            "inputs": inputs,
        }
    )


def _inputs(reads: Reads, started: int) -> dict[str, Any] | None:
    """The snapshot of what plugin generators read outside the tree; None when any of it is too recent.

    Kept by signature only: those are tools and libraries, not worth
    keeping by content, and one changed in the last two seconds means no
    stamp. A path that does not exist is kept as such (no signature).
    """
    trees, files = [], {}
    for path in sorted(reads.paths):
        if os.path.isdir(path):
            tree = stamps.tree(path, _CODE_SKIP)
            if tree is None or _changed_since(tree[4], started):
                return None
            trees.append(tree)
        else:
            signature = stamps.signature(path)
            if signature is not None and changed_recently(signature[2:], started):
                return None
            files[path] = signature
    names = sorted(reads.environment)
    return {
        "trees": trees,
        "files": files,
        "names": names,
        "environment": stamps.environment(names),
        "plugins": reads.plugins,
    }


def _inputs_hold(inputs: dict[str, Any]) -> bool:
    """Whether what plugin generators read outside the tree is as stamped (see :func:`_inputs`)."""
    return (
        all(stamps.changes(*tree) == [] for tree in inputs["trees"])
        and all(stamps.signature(path) == signature for path, signature in inputs["files"].items())
        and stamps.environment(inputs["names"]) == inputs["environment"]
    )


def _record_file(output: str, started: int) -> tuple[str, tuple[int, ...], dict[str, bytes]] | None:
    """The output's record in the cache: its path, signature, and content if too recent to trust its stat.

    The stamp holds only while the record does: without it, or with
    another, the render would refuse the folder. None when it is missing.
    """
    from fabpromote._engine.formats import cache_record_path  # hashlib and json: loaded by the render already

    path = cache_record_path(cache_root(os.environ), output)
    signature = stamps.signature(path)
    if signature is None:
        return None
    if not changed_recently(signature[2:], started):
        return path, signature, {}
    try:
        return path, signature, {path: read_file(path)}
    except OSError:
        return None


def _generate_args(argv: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """``(path, environments)`` of ``generate [ENV...] [--path DIR]``; None for anything else."""
    if not argv or argv[0] != "generate":
        return None
    path: str | None = None
    environments: list[str] = []
    words = iter(argv[1:])
    for word in words:
        if word == "--path" and path is None:
            path = next(words, None)
            if path is None:
                return None
        elif word.startswith("--path=") and path is None:
            path = word.removeprefix("--path=")
        elif word.startswith("-"):
            return None
        else:
            environments.append(word)
    return "." if path is None else path, tuple(environments)


def _changed_since(entries: Entries, started: int) -> bool:
    """Whether a file or folder changed too recently before ``started`` to trust its signature, or after."""
    return any(changed_recently(signature[2:], started) for _, signature in entries)


def _racy_outputs(output: str, entries: Entries, written: Mapping[str, bytes], started: int) -> dict[str, bytes] | None:
    """What the render gave each output file too recent for its stat to be trusted, by path.

    None when the folder holds a file the render did not give, or when those
    files add up to more than :data:`stamps.RACY_BYTES` (the next run stamps them).
    """
    racy = {}
    for name, (_, _, *times) in entries:
        if name in written:
            if changed_recently(times, started):
                racy[os.path.join(output, name)] = written[name]
        elif not os.path.isdir(os.path.join(output, name)):
            return None
    return racy if sum(map(len, racy.values())) <= stamps.RACY_BYTES else None


def _inside(folder: str, top: str) -> bool:
    """Whether ``folder`` lies under ``top`` (absolute; the tree holds no link to a folder)."""
    if ".." in folder.split(os.sep):  # resolved as the system would: through the links above
        folder, top = os.path.realpath(folder), os.path.realpath(top)
    else:
        folder = os.path.abspath(folder)
    return folder == top or folder.startswith(top.rstrip(os.sep) + os.sep)
