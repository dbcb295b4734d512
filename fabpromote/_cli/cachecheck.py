"""``fabpromote cache check``: verify the on-disk cache, and optionally remove what is broken.

Every entry of the cache is written beside its place and renamed there whole
(see :mod:`fabpromote._sources.cache`), so a killed or failing process leaves at most
*debris*: temporary files and staging folders whose names start with ``.``,
temporary packs and ref locks inside a mirror. This module finds that debris
(once it is older than :data:`DEBRIS_AGE`, so that a running process's work is
left alone) and checks the entries themselves:

- ``mirrors/*.git``: ``git fsck`` (every ref's commit reachable, every object
  present and sound); without git on ``PATH``, a walk of every ref with dulwich.
- ``snapshots/<sha>/<entry>``: every file and link has the git blob id its
  record (``_sums-<entry>``, written when it was exported) lists, and nothing
  else is there; an entry without a sound record is broken.
- ``downloads/<sha256>``: the content has the digest it is named after.
- ``renders/<key>``: a sealed entry (:func:`fabpromote.cache.seal`: label, key, sha256 of the body).
- ``parsed/<key>``: the parse cache's envelope (magic, sha256 of the body).
- ``stamps/<name>``: a ``generate`` stamp's envelope (CRC-32 of the body; see
  :mod:`fabpromote._cli.stamps`).
- ``charts/<key>/``: the chart folder, ``chart.tgz`` and ``source.json`` are there,
  the archive has the recorded sha256 and the folder holds the files recorded
  with their sha256.
- ``helm/versions/<key>``: a sealed entry.
- ``helm-deps/<key>/``: holds the files its sealed record ``<key>.files`` lists, with their sha256.

Repairing removes the broken or partial entry (the next run fetches or
renders it again) and the debris; it never touches anything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote._sources.cache import FOLDER_RECORD_SUFFIX, cache_root, folder_digests, unseal
from fabpromote._sources.snapshots import SUMS_PREFIX, listing_on_disk, recorded_listing
from fabpromote._util.shas import is_sha

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["DEBRIS_AGE", "Problem", "check_cache", "scan_cache"]

#: Seconds after which a temporary file or staging folder counts as debris.
DEBRIS_AGE = 300.0
#: Seconds ``git fsck`` may take per mirror.
FSCK_TIMEOUT = 600.0
#: Seconds to wait for a mirror another process is writing.
LOCK_WAIT = 10.0

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX8 = re.compile(r"[0-9a-f]{8}")


@attrs.define
class Problem:
    """One thing wrong in the cache.

    Attributes:
        path: The entry (or debris) concerned.
        what: What is wrong with it.
        repaired: True once ``--repair`` removed it.
    """

    path: Path
    what: str
    repaired: bool = False

    def __str__(self) -> str:
        return f"{self.path}: {self.what}" + ("; removed" if self.repaired else "")


def check_cache(root: str | Path | None = None, *, repair: bool = False, debris_age: float = DEBRIS_AGE) -> list[str]:
    """The problems of the cache at ``root`` (default: the cache root) that remain.

    Args:
        root: The cache root; default :func:`~fabpromote._sources.cache.cache_root`.
        repair: Remove broken and partial entries and debris (nothing else).
        debris_age: Seconds after which temporary files count as debris.

    Returns:
        One line per problem left (after repairing, those that could not be
        removed); empty when the cache is sound.
    """
    return [str(problem) for problem in scan_cache(root, repair=repair, debris_age=debris_age) if not problem.repaired]


def scan_cache(
    root: str | Path | None = None, *, repair: bool = False, debris_age: float = DEBRIS_AGE
) -> list[Problem]:
    """Every problem found, repaired ones included (see :func:`check_cache`)."""
    base = cache_root(root)
    if not base.is_dir():
        return []
    checker = _Checker(base, repair=repair, debris_age=debris_age)
    checker.run()
    return checker.problems


@attrs.define
class _Checker:
    root: Path
    repair: bool
    debris_age: float
    problems: list[Problem] = attrs.field(factory=list)
    _now: float = attrs.field(factory=time.time)

    def run(self) -> None:
        from fabpromote._cli import stamps
        from fabpromote._hld import parsed as _parsed

        self._mirrors()
        self._snapshots()
        self._downloads()
        self._sealed("renders", "render cache entry")
        self._sealed("helm/versions", "helm version entry")
        self._checked_files(
            _parsed.FOLDER, _HEX64, _parsed.is_sound, "damaged parse cache file (content digest does not check out)"
        )
        self._checked_files(
            stamps.FOLDER, _HEX8, stamps.is_sound, "damaged generate stamp (checksum does not check out)"
        )
        self._charts()
        self._recorded_folders("helm-deps")

    # Reporting and removing

    def _found(self, path: Path, what: str) -> None:
        problem = Problem(path, what)
        if self.repair:
            _remove(path)
            problem.repaired = not os.path.lexists(path)
        self.problems.append(problem)

    def _old(self, path: Path) -> bool:
        try:
            return self._now - path.lstat().st_mtime > self.debris_age
        except OSError:
            return False

    def _debris_in(self, folder: Path) -> None:
        """Temporary (dot) names left in ``folder`` by killed or failed writers."""
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") and self._old(path):
                self._found(path, "leftover temporary " + ("folder" if path.is_dir() else "file"))

    def _entries(self, folder: Path) -> Iterator[Path]:
        if folder.is_dir():
            yield from sorted(path for path in folder.iterdir() if not path.name.startswith("."))

    # Mirrors

    def _mirrors(self) -> None:
        folder = self.root / "mirrors"
        self._debris_in(folder)
        for mirror in self._entries(folder):
            if mirror.suffix != ".git" or not mirror.is_dir():
                continue
            with _mirror_lock(mirror) as locked:
                if not locked:
                    continue  # another process is writing it: it checks its own work
                self._mirror_debris(mirror)
                what = _fsck(mirror)
                if what is not None:
                    self._found(mirror, f"mirror fails the object check: {what}")

    def _mirror_debris(self, mirror: Path) -> None:
        pack_dir = mirror / "objects" / "pack"
        candidates = list(pack_dir.glob("tmp_*")) if pack_dir.is_dir() else []
        if pack_dir.is_dir():
            candidates += [pack for pack in pack_dir.glob("*.pack") if not pack.with_suffix(".idx").exists()]
        candidates += [mirror / "packed-refs.lock", mirror / "HEAD.lock", mirror / "config.lock"]
        if (mirror / "refs").is_dir():
            candidates += list((mirror / "refs").rglob("*.lock"))
        for path in candidates:
            if path.exists() and self._old(path):
                self._found(path, "leftover temporary file in a mirror")

    # Snapshots

    def _snapshots(self) -> None:
        folder = self.root / "snapshots"
        for commit_dir in self._entries(folder):
            if not commit_dir.is_dir() or not _is_snapshot_name(commit_dir.name):
                continue
            self._debris_in(commit_dir)
            for entry in self._entries(commit_dir):
                if entry.name.startswith(SUMS_PREFIX):
                    owner = entry.with_name(entry.name.removeprefix(SUMS_PREFIX))
                    # Written just before its entry is renamed into place: only an old one is an orphan.
                    if not os.path.lexists(owner) and self._old(entry):
                        self._found(entry, "record of a snapshot that is not there")
                    continue
                what = _snapshot_problem(entry)
                if what is not None:
                    self._found(entry, f"damaged snapshot: {what}")
                    if self.repair:
                        _remove(entry.with_name(SUMS_PREFIX + entry.name))

    # Downloads, renders, charts

    def _downloads(self) -> None:
        folder = self.root / "downloads"
        self._debris_in(folder)
        for path in self._entries(folder):
            if not path.is_file() or not _HEX64.fullmatch(path.name):
                continue
            if _sha256(path) != path.name:
                self._found(path, "download does not match the digest it is named after")

    def _sealed(self, where: str, what: str) -> None:
        """The sealed entries of ``where`` (see fabpromote.cache.seal), whichever plugin wrote them."""
        folder = self.root / where
        self._debris_in(folder)
        for path in self._entries(folder):
            if path.is_file() and _HEX64.fullmatch(path.name) and unseal(path.name, _read(path)) is None:
                self._found(path, f"damaged {what} (key or content digest do not check out)")

    def _checked_files(self, where: str, names: re.Pattern[str], is_sound: Callable[[bytes], bool], what: str) -> None:
        """The files of ``where`` named as ``names`` says, each whole when ``is_sound`` says so."""
        folder = self.root / where
        self._debris_in(folder)
        for path in self._entries(folder):
            if path.is_file() and names.fullmatch(path.name) and not is_sound(_read(path)):
                self._found(path, what)

    def _recorded_folders(self, where: str) -> None:
        """Folder entries of ``where`` and their records ``<key>.files`` (see fabpromote.cache.FOLDER_RECORD_SUFFIX)."""
        folder = self.root / where
        self._debris_in(folder)
        for path in self._entries(folder):
            record = path.with_name(path.name + FOLDER_RECORD_SUFFIX)
            if path.is_dir() and _HEX64.fullmatch(path.name):
                what = _recorded_folder_problem(path, record)
                if what is not None:
                    self._found(path, f"damaged cache entry: {what}")
                    if self.repair:
                        _remove(record)
            elif path.name.endswith(FOLDER_RECORD_SUFFIX):
                owner = path.with_name(path.name.removesuffix(FOLDER_RECORD_SUFFIX))
                # Written just before its entry is renamed into place: only an old one is an orphan.
                if not os.path.lexists(owner) and self._old(path):
                    self._found(path, "record of an entry that is not there")

    def _charts(self) -> None:
        folder = self.root / "charts"
        self._debris_in(folder)
        for entry in self._entries(folder):
            if entry.is_dir() and _HEX64.fullmatch(entry.name):
                what = _chart_problem(entry)
                if what is not None:
                    self._found(entry, f"broken chart entry: {what}")


# Helpers


@contextlib.contextmanager
def _mirror_lock(mirror: Path) -> Iterator[bool]:
    """The mirror's lock (as :class:`~fabpromote._sources.sources.Sources` takes it), waiting a bit; False if busy."""
    try:
        handle = open(mirror.with_suffix(".lock"), "ab")  # noqa: SIM115 - closed below
    except OSError:
        yield True
        return
    with handle:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.05)
        yield True


def _fsck(mirror: Path) -> str | None:
    """Why ``mirror`` is not sound, or None."""
    git = shutil.which("git")
    if git is None:
        return _dulwich_check(mirror)
    try:
        done = subprocess.run(
            [git, "--git-dir", os.fspath(mirror), "fsck", "--no-dangling", "--no-progress"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=FSCK_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"git fsck did not finish within {FSCK_TIMEOUT:g} s"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
    return "; ".join(lines[:3]) or f"git fsck exited {done.returncode}"


def _dulwich_check(mirror: Path) -> str | None:
    """Every ref's commit, and everything it reaches, is present (without git)."""
    from dulwich.objects import S_ISGITLINK, Commit, Tree
    from dulwich.repo import Repo

    try:
        repo = Repo(os.fspath(mirror))
    except Exception as exc:
        return f"cannot open: {exc}"
    with contextlib.closing(repo):
        store = repo.object_store
        seen: set[bytes] = set()
        todo = [sha for name, sha in repo.get_refs().items() if name != b"HEAD"]
        while todo:
            sha = todo.pop()
            if sha in seen:
                continue
            seen.add(sha)
            try:
                obj = store[sha]
            except Exception:
                return f"object {sha.decode()} is missing or damaged"
            if isinstance(obj, Commit):
                todo += [obj.tree, *obj.parents]
            elif isinstance(obj, Tree):
                todo += [item.sha for item in obj.iteritems() if not S_ISGITLINK(item.mode)]
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read(path: Path) -> bytes:
    """The content of ``path``; nothing when it cannot be read (no envelope checks out then)."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _chart_problem(entry: Path) -> str | None:
    archive, source = entry / "chart.tgz", entry / "source.json"
    if not archive.is_file():
        return "chart.tgz is missing"
    try:
        recorded = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "source.json is missing or unreadable"
    if not isinstance(recorded, dict) or not (entry / str(recorded.get("chart", ""))).is_dir():
        return "the expanded chart folder is missing"
    if _sha256(archive) != recorded.get("sha256"):
        return "chart.tgz does not have the sha256 recorded in source.json"
    if folder_digests(entry / str(recorded["chart"])) != recorded.get("files"):
        return "the expanded chart folder does not hold the files recorded in source.json"
    return None


def _remove(path: Path) -> None:
    """Remove a file or a folder, read-only snapshot folders included."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    for directory, _, _ in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
    shutil.rmtree(path, ignore_errors=True)


def _recorded_folder_problem(entry: Path, record: Path) -> str | None:
    body = unseal(record.name, _read(record))
    if body is None:
        return f"its record {record.name} is missing or damaged"
    try:
        recorded = json.loads(body)
    except ValueError:
        return f"its record {record.name} is not JSON"
    if folder_digests(entry) != recorded:
        return f"it does not hold the files {record.name} records"
    return None


def _snapshot_problem(entry: Path) -> str | None:
    recorded = recorded_listing(entry)
    if recorded is None:
        return "its record of what it holds is missing or damaged"
    found = listing_on_disk(entry)
    missing = sorted(set(recorded) - set(found))
    extra = sorted(set(found) - set(recorded))
    if missing:
        return f"{len(missing)} missing, e.g. {missing[0]}"
    if extra:
        return f"{len(extra)} unexpected, e.g. {extra[0]}"
    differ = sorted(name for name in recorded if recorded[name] != found[name])
    if differ:
        return f"{len(differ)} differ from the commit, e.g. {differ[0]}"
    return None


def _is_snapshot_name(name: str) -> bool:
    """A folder of ``snapshots/`` is named after its commit: a full SHA, in lower case as fabpromote writes it."""
    return is_sha(name) and name == name.lower()
