"""Dependencies of charts fetched from git, built like ``fab install``'s ``helm dependency update``.

A chart whose declared dependencies (``Chart.yaml`` ``dependencies:``, or
``requirements.yaml``, which wins as in helm's loader) are not all present
in its ``charts/`` folder, by chart name as ``helm template`` checks them,
cannot render. Snapshots are read-only and shared, so the chart is copied
into the cache and helm fills the copy: ``helm dependency build`` when a
lock file (``Chart.lock``/``requirements.lock``) is present, else ``helm
dependency update``. Each build gets its own ``repositories.yaml`` naming
the dependencies' repository URLs (``dependency build`` refuses URLs no
named repository has), in the private helm home.

The copy is kept under ``helm-deps/<key>/<path>`` (``<path>`` as in the
repository), where the key digests the chart, its path and every
``file://`` dependency it reads; a later render or another commit with the
same chart reuses it. ``file://`` dependencies must stay inside the
repository; those outside the chart are reached through symlinks into the
snapshot that exist only while helm runs. The entry holds nothing but the
chart: ``helm-deps/<key>`` is what ``fab install`` would put at
``helm_repos/<name>`` as far as rendering is concerned. Beside it,
``helm-deps/<key>.files`` records the sha256 of each of its files (sealed), which
``fabpromote cache check`` verifies it against.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import yaml

from fabpromote.cache import FOLDER_RECORD_SUFFIX, atomic_write, folder_digests, seal
from fabpromote.exceptions import GeneratorError, UnsafePathError
from fabpromote.git import redact
from fabpromote.paths import check_inside
from fabpromote_helm import _archive, _chart_digest, _helm_home
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from collections.abc import Callable

    from fabpromote_helm._run_cache import HelmCache

__all__ = ["Dependency", "built_chart", "declared_dependencies", "missing_dependencies"]

_FOLDER = "helm-deps"
_RECORD_LABEL = "fabpromote-helm dependency build files 1"
_LOCK_FILES = ("Chart.lock", "requirements.lock")


@attrs.frozen(kw_only=True)
class Dependency:
    """One declared dependency: its chart name and repository (URL, ``file://...``, ``@name`` or ``""``)."""

    name: str
    repository: str = ""


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_bytes())
    except (OSError, yaml.YAMLError):
        return None


def _dependencies_in(document: object) -> list[Dependency] | None:
    if not isinstance(document, dict) or not isinstance(document.get("dependencies"), list):
        return None
    return [
        Dependency(name=item["name"], repository=str(item.get("repository") or ""))
        for item in document["dependencies"]
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def declared_dependencies(chart: Path) -> list[Dependency]:
    """The dependencies chart folder ``chart`` declares, as helm's loader reads them."""
    requirements = _dependencies_in(_load_yaml(chart / "requirements.yaml"))
    if requirements is not None:
        return requirements
    return _dependencies_in(_load_yaml(chart / "Chart.yaml")) or []


def _present_subcharts(chart: Path) -> set[str]:
    """Names of the charts in ``chart/charts/``: folders by their Chart.yaml, other files as archives."""
    names: set[str] = set()
    with contextlib.suppress(OSError), os.scandir(chart / "charts") as scan:
        for entry in scan:
            if entry.name.endswith(".prov"):
                continue
            if entry.is_dir():
                name = _archive.chart_name(_read(Path(entry.path) / "Chart.yaml"))
            else:
                name = _archive.archive_chart_name(Path(entry.path))
            if name:
                names.add(name)
    return names


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def missing_dependencies(chart: Path) -> list[Dependency]:
    """The declared dependencies of ``chart`` that its ``charts/`` folder does not hold."""
    declared = declared_dependencies(chart)
    if not declared:
        return []
    present = _present_subcharts(chart)
    return [dependency for dependency in declared if dependency.name not in present]


def built_chart(
    *,
    state: HelmCache,
    helm: Callable[[], str],
    timeout: float,
    tree: Path,
    chart: Path,
    component: str,
    entry_path: str,
    url: str,
) -> Path | None:
    """A folder whose ``<path>`` is ``chart`` with its dependencies built, or None when none are missing.

    Args:
        state: The run's helm cache; the built chart is kept in its folder.
        helm: Finds the helm binary, asked only when a build runs.
        tree: The read-only snapshot ``chart`` lies in.
        chart: The chart folder inside ``tree``.
        component: The component's name, for messages.
        entry_path: The component's entry path, for path checks.
        url: The repository of ``tree``, for messages.

    Raises:
        UnsafePathError: A ``file://`` dependency leads out of the repository.
        GeneratorError: A dependency names a repository by name (``@name``),
            or helm fails to build the dependencies.
    """
    if not missing_dependencies(chart):
        return None
    declared = declared_dependencies(chart)
    shown = redact(url)
    relative = os.path.relpath(chart, tree)
    for dependency in declared:
        if dependency.repository.startswith(("@", "alias:")):
            raise GeneratorError(
                f"component {component!r}: chart {relative} from {shown} takes dependency {dependency.name!r} "
                f"from the helm repository named {dependency.repository!r}; fabpromote does not read your helm "
                f"repositories: give its URL instead"
            )
    links = _local_dependencies(
        declared, tree=tree, chart=chart, relative=relative, entry_path=entry_path, component=component
    )
    key = _key(chart, relative, links)
    entry = state.path(_FOLDER, key)
    with state.one_at_a_time(key):
        if (entry / relative).is_dir():
            return entry
        _build(
            state,
            helm(),
            timeout,
            entry,
            chart=chart,
            relative=relative,
            links=links,
            urls=_repository_urls(chart, declared),
            what=f"component {component!r}: helm dependency {_verb(chart)} of chart {relative} from {shown}",
        )
    return entry


def _local_dependencies(
    declared: list[Dependency], *, tree: Path, chart: Path, relative: str, entry_path: str, component: str
) -> dict[str, Path]:
    """``file://`` dependencies outside the chart: their path in the tree -> their folder in the snapshot."""
    links = {}
    for dependency in declared:
        if not dependency.repository.startswith("file://"):
            continue
        target = dependency.repository.removeprefix("file://")
        # helm: an absolute path stays absolute, a relative one is joined to the chart folder.
        location = Path(posixpath.normpath(target if target.startswith("/") else os.path.join(chart, target)))
        check_inside(tree, location, entry_path)
        inside = os.path.relpath(location, tree)
        if inside.startswith(".."):
            raise UnsafePathError(
                f"component {entry_path!r}: dependency {dependency.name!r} ({dependency.repository}) "
                f"leads out of the repository"
            )
        if relative == "." or inside == relative or inside.startswith(relative + os.sep):
            continue  # inside the chart: copied with it
        if relative.startswith(inside + os.sep) or inside == ".":
            raise GeneratorError(
                f"component {component!r}: chart {relative} takes dependency {dependency.name!r} from "
                f"{dependency.repository}, a folder that holds the chart itself"
            )
        links[inside] = location
    return links


def _key(chart: Path, relative: str, links: dict[str, Path]) -> str:
    def digest(folder: Path) -> str:
        return _chart_digest.chart_digest(str(folder)) or f"at {os.path.realpath(folder)}"

    parts = {
        "format": 1,
        "chart": digest(chart),
        "path": relative,
        "files": {inside: digest(location) for inside, location in sorted(links.items())},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def _verb(chart: Path) -> str:
    return "build" if any((chart / name).is_file() for name in _LOCK_FILES) else "update"


def _repository_urls(chart: Path, declared: list[Dependency]) -> list[str]:
    """The http(s) repositories of the dependencies, and of the lock file's (``build`` reads those)."""
    repositories = [dependency.repository for dependency in declared]
    for name in _LOCK_FILES:
        repositories += [d.repository for d in _dependencies_in(_load_yaml(chart / name)) or []]
    return sorted({r for r in repositories if r.startswith(("http://", "https://"))})


def _build(
    state: HelmCache,
    binary: str,
    timeout: float,
    entry: Path,
    *,
    chart: Path,
    relative: str,
    links: dict[str, Path],
    urls: list[str],
    what: str,
) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        copy = staging / relative
        copy.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        _copy_chart(chart, copy)
        made = _make_links(staging, links)
        with _helm_home.repository_config(state, urls) as repositories:
            COUNTERS.add("dependency_builds")
            done = _helm_home.run_helm(
                binary,
                ["dependency", _verb(chart), str(copy)],
                state=state,
                timeout=timeout,
                what=what,
                repositories=repositories,
            )
        if done.returncode != 0:
            raise GeneratorError(f"{what} failed (exit {done.returncode}): {_helm_home.explain(done.stdout, urls)}")
        _remove_links(made)
        # The record first: an entry is never in place without one.
        _record(entry, staging)
        try:
            os.rename(staging, entry)
        except OSError:
            if not (entry / relative).is_dir():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process built it first
            # Its build may differ from ours (helm writes the time into Chart.lock): record it.
            _record(entry, entry)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _record(entry: Path, content: Path) -> None:
    """Record the files of ``content`` as those of ``entry``, for ``fabpromote cache check``."""
    record = entry.with_name(entry.name + FOLDER_RECORD_SUFFIX)
    atomic_write(record, seal(_RECORD_LABEL, record.name, json.dumps(folder_digests(content)).encode()))


def _copy_chart(source: Path, destination: Path) -> None:
    """Copy chart folder ``source`` writable; links that leave the chart are copied as what they point to."""
    real_source = os.path.realpath(source)

    def inside(path: str) -> bool:
        return path == real_source or path.startswith(real_source + os.sep)

    def copy_folder(folder: str, target: Path, seen: frozenset[str]) -> None:
        target.mkdir(mode=0o755, exist_ok=True)
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            copied = target / entry.name
            if entry.is_symlink():
                resolved = os.path.realpath(entry.path)
                if inside(resolved) or not os.path.exists(resolved):
                    os.symlink(os.readlink(entry.path), copied)
                elif os.path.isdir(resolved):
                    if resolved in seen or real_source.startswith(resolved + os.sep):
                        raise GeneratorError(f"chart {source}: symlink {entry.name} leads into a loop")
                    copy_folder(resolved, copied, seen | {resolved})
                else:
                    _copy_file(resolved, copied)
            elif entry.is_dir(follow_symlinks=False):
                copy_folder(entry.path, copied, seen)
            else:
                _copy_file(entry.path, copied)

    copy_folder(str(source), destination, frozenset({real_source}))


def _copy_file(source: str, destination: Path) -> None:
    shutil.copyfile(source, destination, follow_symlinks=True)
    executable = os.stat(source).st_mode & stat.S_IXUSR
    os.chmod(destination, 0o755 if executable else 0o644)


def _make_links(staging: Path, links: dict[str, Path]) -> list[Path]:
    """Symlinks in ``staging`` to the snapshot's folders, where ``file://`` dependencies look; returns what was made."""
    made: list[Path] = []
    for inside, location in sorted(links.items()):
        link = staging / inside
        missing = [parent for parent in reversed(link.parents) if staging in parent.parents and not parent.exists()]
        for parent in missing:
            parent.mkdir()
            made.append(parent)
        if not link.exists() and not link.is_symlink():
            link.symlink_to(os.path.realpath(location))
            made.append(link)
    return made


def _remove_links(made: list[Path]) -> None:
    """Remove the links and the folders made for them, so the entry holds only the chart."""
    for path in reversed(made):
        if path.is_symlink():
            path.unlink()
        else:
            with contextlib.suppress(OSError):
                path.rmdir()
