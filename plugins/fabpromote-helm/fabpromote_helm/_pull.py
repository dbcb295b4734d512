"""Charts of ``method: helm`` components, pulled from their repository through the cache.

One entry per repository, chart and version::

    charts/<sha256 of (url, chart, version)>/<chart>/       the expanded chart (what helm_repos/<name> holds)
    charts/<sha256 of (url, chart, version)>/chart.tgz      the archive helm downloaded
    charts/<sha256 of (url, chart, version)>/source.json    url (redacted), chart, version, sha256,
                                                            the sha256 of each expanded file

An entry is built in a temporary folder beside its place and renamed there
whole, so parallel processes may share the cache: a reader sees a whole
entry or none. A chart pulled without a ``version`` is first resolved to the
newest version in the repository's index, so the key is always a real
version; with a lock, the locked version is used and the archive must have
the locked digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote.cache import folder_digests
from fabpromote.exceptions import GeneratorError, LockMismatchError
from fabpromote.fetch import DOWNLOAD_BYTES, LockEntry
from fabpromote.git import redact
from fabpromote.network import ENV_TIMEOUT, network_timeout
from fabpromote_helm import _archive, _helm_home, _index, _oci
from fabpromote_helm._errors import ChartNotFoundError, ChartRepositoryError, ChartVersionNotFoundError
from fabpromote_helm._run_cache import HelmCache
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from fabpromote.fetch import Fetcher

__all__ = ["pulled_chart"]

_FOLDER = "charts"
ARCHIVE = "chart.tgz"
SOURCE = "source.json"
#: How many versions an error message lists.
VERSIONS_SHOWN = 10


def pulled_chart(
    *,
    binary: str,
    timeout: float,
    component: str,
    entry_path: str,
    url: str,
    chart: str,
    version: str,
    fetcher: Fetcher,
    plain_http: tuple[str, ...] = (),
) -> Path:
    """The expanded chart ``chart`` at ``version`` from repository ``url``, pulled once into the cache.

    ``url`` is a classic chart repository (``https://``) or an OCI registry
    (``oci://``, see :mod:`._oci`); ``plain_http`` lists the registries
    reached over plain HTTP.

    Records ``LockEntry(kind="helm", ref="<chart>@<version>", sha=<sha256 of the archive>)``.

    Raises:
        ChartRepositoryError: The repository cannot be reached.
        ChartNotFoundError: The repository has no such chart.
        ChartVersionNotFoundError: It has the chart, but not that version.
        LockMismatchError: The archive's digest is not the one the lock records.
        GeneratorError: ``helm pull`` failed otherwise, or the archive is not a chart.
    """
    shown = redact(url)
    _check_chart_name(chart, component, shown)
    state = HelmCache.of(fetcher.cache)
    if not version:
        version = _locked_version(fetcher, url, chart, entry_path) or (
            _oci.newest_version(
                state, binary, timeout, url=url, chart=chart, component=component, plain_http=plain_http
            )
            if _oci.is_oci(url)
            else _newest(state, url, chart, component)
        )
    ref = f"{chart}@{version}"
    pinned = fetcher.pinned("helm", url, ref)
    key = hashlib.sha256(json.dumps(["fabpromote-helm chart 1", shown, chart, version]).encode()).hexdigest()
    entry = state.path(_FOLDER, key)
    with state.one_at_a_time(key):
        if not _complete(entry, chart):
            _discard(entry)
            where = _Where(component=component, url=url, chart=chart, version=version, plain_http=plain_http)
            _build(state, binary, timeout, entry, where, pinned=pinned)
    digest = _archive_digest(state, entry / ARCHIVE)
    if pinned is not None and digest != pinned:
        raise LockMismatchError(
            f"component {component!r}: chart {chart} {version} from {shown}: the cached archive has sha256 "
            f"{digest[:12]}, the lock records {pinned[:12]} (the repository republished it?); "
            f"remove {entry} to pull it again"
        )
    fetcher.record(LockEntry(component=entry_path, url=url, ref=ref, sha=digest, kind="helm"))
    return entry / chart


def _check_chart_name(chart: str, component: str, shown: str) -> None:
    if not chart or chart in (".", "..") or chart.startswith("-") or any(c in chart for c in "/\\\0"):
        raise GeneratorError(
            f"component {component!r}: method: helm needs the chart name in `path` (one name, such as "
            f"'nginx'), not {chart!r} (repository {shown})"
        )


def _locked_version(fetcher: Fetcher, url: str, chart: str, entry_path: str) -> str | None:
    """The version a lock records for a chart asked for without one (this component's entry first)."""
    found = [
        entry
        for entry in fetcher.lock
        if entry.kind == "helm" and entry.key[1] == redact(url) and entry.ref.startswith(f"{chart}@")
    ]
    found.sort(key=lambda entry: entry.component != entry_path)
    return found[0].ref.partition("@")[2] if found else None


def _newest(state: HelmCache, url: str, chart: str, component: str) -> str:
    index = _index_for(state, url, chart, component)
    versions = _versions_of(index, url, chart, component)
    newest = index.newest(chart)
    if newest is None:
        raise ChartVersionNotFoundError(
            f"component {component!r}: chart {chart!r} in repository {redact(url)} has no release version "
            f"(only {_listed(versions)}); set `version`",
            versions=versions,
        )
    return newest


def _index_for(state: HelmCache, url: str, chart: str, component: str) -> _index.ChartIndex:
    try:
        return _index.repository_index(url, state)
    except ChartRepositoryError as exc:
        raise ChartRepositoryError(f"component {component!r}, chart {chart!r}: {exc}", url=exc.url) from None


def _versions_of(index: _index.ChartIndex, url: str, chart: str, component: str) -> tuple[str, ...]:
    versions = index.versions(chart)
    if versions is None:
        charts = sorted(index.entries)
        shown = ", ".join(charts[:VERSIONS_SHOWN]) + (f", ... ({len(charts)} in all)" if len(charts) > 10 else "")
        raise ChartNotFoundError(
            f"component {component!r}: chart {chart!r} is not in repository {redact(url)} (charts: {shown or 'none'})"
        )
    return versions


def _listed(versions: tuple[str, ...]) -> str:
    shown = ", ".join(versions[:VERSIONS_SHOWN]) or "none"
    if len(versions) > VERSIONS_SHOWN:
        shown += f", ... ({len(versions)} in all)"
    return shown


@attrs.frozen(kw_only=True)
class _Where:
    """One chart to pull: from which repository or registry, at which version."""

    component: str
    url: str
    chart: str
    version: str
    plain_http: tuple[str, ...]

    def pull_args(self, download: Path) -> list[str]:
        # "--flag=value": a value starting with "-" must not read as another flag.
        fixed = [f"--version={self.version}", f"--destination={download}"]
        if _oci.is_oci(self.url):
            return [
                "pull",
                _oci.reference(self.url, self.chart),
                *fixed,
                *_oci.registry_flags(self.url, self.plain_http),
            ]
        return ["pull", self.chart, f"--repo={self.url}", *fixed]

    def failed(self, state: HelmCache, output: bytes) -> None:
        where = {"component": self.component, "url": self.url, "chart": self.chart, "version": self.version}
        if _oci.is_oci(self.url):
            _oci.explain_failure(output, **where)
        else:
            _explain_failure(state, output, **where)


def _build(state: HelmCache, binary: str, timeout: float, entry: Path, where: _Where, *, pinned: str | None) -> None:
    """Pull and expand into a staging folder beside ``entry``, then rename it into place."""
    component, url, chart, version = where.component, where.url, where.chart, where.version
    shown = redact(url)
    entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        download = staging / "download"
        download.mkdir()
        args = where.pull_args(download)
        COUNTERS.add("helm_pulls")
        # A download, one network operation: bounded by the network timeout too, whichever is shorter.
        network = network_timeout()
        bound, setting = (network, ENV_TIMEOUT) if network < timeout else (timeout, "FABPROMOTE_HELM_TIMEOUT")
        done = _helm_home.run_helm(
            binary,
            args,
            state=state,
            timeout=bound,
            what=f"helm pull of chart {chart} {version} from {shown}",
            setting=setting,
        )
        if done.returncode != 0:
            where.failed(state, done.stdout)
        archives = sorted(download.iterdir())
        if len(archives) != 1:
            raise GeneratorError(
                f"component {component!r}: helm pull of chart {chart} {version} from {shown} "
                f"left {len(archives)} files, expected one archive"
            )
        limit = DOWNLOAD_BYTES.value()
        if archives[0].stat().st_size > limit:
            raise GeneratorError(
                f"component {component!r}: chart {chart} {version} from {shown}: the archive is larger than "
                f"{DOWNLOAD_BYTES.shown(limit)}"
            )
        digest = _sha256(archives[0])
        if pinned is not None and digest != pinned:
            raise LockMismatchError(
                f"component {component!r}: chart {chart} {version} from {shown} has sha256 {digest[:12]}, "
                f"the lock records {pinned[:12]} (the repository republished it?)"
            )
        try:
            _archive.expand(archives[0], staging / chart)
        except _archive.ChartArchiveError as exc:
            raise GeneratorError(f"component {component!r}: chart {chart} {version} from {shown}: {exc}") from None
        os.rename(archives[0], staging / ARCHIVE)
        download.rmdir()
        # The expanded files too: `fabpromote cache check` verifies the folder helm renders from against them.
        files = folder_digests(staging / chart)
        source = {"url": shown, "chart": chart, "version": version, "sha256": digest, "files": files}
        (staging / SOURCE).write_text(json.dumps(source, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        try:
            os.rename(staging, entry)
        except OSError:
            if not _complete(entry, chart):
                raise
            _discard(staging)  # another process put the same chart there first
    except BaseException:
        _discard(staging)
        raise


def _explain_failure(state: HelmCache, output: bytes, *, component: str, url: str, chart: str, version: str) -> None:
    """Raise the error of a failed ``helm pull``: unreachable, no such chart or version, else helm's words."""
    shown = redact(url)
    index = _index_for(state, url, chart, component)
    versions = _versions_of(index, url, chart, component)
    if version not in versions:
        raise ChartVersionNotFoundError(
            f"component {component!r}: chart {chart!r} has no version {version!r} in repository {shown} "
            f"(versions: {_listed(versions)})",
            versions=versions,
        )
    raise GeneratorError(
        f"component {component!r}: helm pull of chart {chart} {version} from {shown} failed: "
        f"{_helm_home.explain(output)}"
    )


def _complete(entry: Path, chart: str) -> bool:
    return (entry / chart).is_dir() and (entry / ARCHIVE).is_file()


def _discard(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _archive_digest(state: HelmCache, archive: Path) -> str:
    """The sha256 of ``archive``, remembered in the run while the file is unchanged."""
    info = archive.stat()
    memo = (str(archive), info.st_size, info.st_mtime_ns, info.st_ino)
    digest = state.archive_digests.get(memo)
    if digest is None:
        digest = state.archive_digests[memo] = _sha256(archive)
    return digest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
