"""Where a helm component's chart is: installed by ``fab install``, local, or fetched through the cache.

``method: git`` and ``method: helm`` charts are read from
``<dir>/helm_repos/<name>`` when ``fab install`` (or ``fabpromote install``)
put them there and the fetcher prefers installed content (``fabpromote
generate``); otherwise they are fetched: git charts from a snapshot of their
repository (dependencies built into a private copy when missing), helm
charts pulled from their chart repository. Paths of fetched components never
lead out of the snapshot they came from.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from fabpromote.exceptions import GeneratorError, SourceError
from fabpromote.git import redact
from fabpromote.paths import check_inside
from fabpromote_helm import _helm
from fabpromote_helm._errors import ChartNotFoundError
from fabpromote_helm._run_cache import HelmCache

if TYPE_CHECKING:
    from fabpromote import Component, RenderRequest
    from fabpromote_helm._settings import HelmSettings

__all__ = ["chart_location", "chart_path", "fetch"]

REMOTE_METHODS = ("git", "helm")


def go_join(*parts: str) -> str:
    """Go's ``path.Join``: the non-empty parts joined by ``/``, cleaned."""
    return posixpath.normpath("/".join(part for part in parts if part))


def chart_location(component: Component, directory: str | os.PathLike[str]) -> str:
    """The absolute chart path Fabrikate gives helm for ``component`` in ``directory``.

    ``method: git`` charts sit at ``helm_repos/<name>/<path>`` (the whole
    repository was cloned), ``method: helm`` charts at ``helm_repos/<name>``
    (the chart alone was pulled), anything else at ``<path>``. Paths are
    joined like Go's ``path.Join`` (an absolute ``path`` stays under the
    directory) and made absolute without resolving symlinks.
    """
    if component.method == "git":
        joined = go_join(os.fspath(directory), "helm_repos", component.name, component.path)
    elif component.method == "helm":
        joined = go_join(os.fspath(directory), "helm_repos", component.name)
    else:
        joined = go_join(os.fspath(directory), component.path)
    # Go's filepath.Abs cleans but never resolves symlinks, which Path.resolve() would.
    return os.path.abspath(joined)


def fetch(request: RenderRequest, settings: HelmSettings) -> Path | None:
    """The folder ``fab install`` would place at ``<dir>/helm_repos/<name>``, fetched through the cache.

    None when the component needs nothing remote (``method`` other than
    ``git``/``helm``), or when it is installed and the fetcher prefers
    installed content (without a fetcher, installed content is required).
    For ``method: git`` the chart is ``<folder>/<path>``, for ``method: helm``
    the folder itself.

    Raises:
        ChartNotFoundError: Not installed and no fetcher; or no such chart.
        UnsafePathError: The chart's path leads out of its repository.
        FabpromoteError: The chart cannot be fetched (see :func:`_pull.pulled_chart`
            and :meth:`fabpromote.Fetcher.git_tree`).
    """
    component = request.component
    if component.method not in REMOTE_METHODS:
        return None
    # Only now: a local chart never needs them, and they cost ~20 ms of every CLI start.
    from fabpromote_helm import _dependencies, _pull

    installed = request.directory / "helm_repos" / component.name
    fetcher = request.fetcher
    if fetcher is None:
        if installed.is_dir():
            return None
        raise ChartNotFoundError(
            f"component {component.name!r}: chart {_describe(component)} is not installed at {installed}; "
            f"run `fabpromote install` first, or render with fetching (as `fabpromote generate` does)"
        )
    if fetcher.prefer_installed and installed.is_dir():
        return None
    if not component.source:
        raise GeneratorError(
            f"component {component.name!r}: method: {component.method} needs `source` "
            f"(the {'chart repository' if component.method == 'helm' else 'git repository'} URL)"
        )
    state = HelmCache.of(request.cache)

    def binary() -> str:  # looked up when helm must run: the in-process backend renders without it
        return _helm.find_helm(settings.helm, state)

    if component.method == "helm":
        return _pull.pulled_chart(
            binary=binary(),
            timeout=settings.helm_timeout,
            component=component.name,
            entry_path=request.entry_path,
            url=component.source,
            chart=component.path,
            version=component.version,
            fetcher=fetcher,
            plain_http=settings.helm_plain_http,
        )
    ref = component.version or component.branch
    try:
        tree = fetcher.git_tree(request.entry_path, component.source, ref)
    except SourceError as exc:
        # Same type and attributes (RefNotFoundError.branches...), with the component named.
        exc.args = (f"component {component.name!r}, chart {component.path or '.'}: {exc}",)
        raise
    chart = Path(go_join(str(tree), component.path))
    check_inside(tree, chart, request.entry_path or component.name)
    if not chart.exists():
        raise ChartNotFoundError(
            f"component {component.name!r}: chart folder {component.path or '.'!r} not found in "
            f"{redact(component.source)} at {ref or 'HEAD'}"
        )
    if chart.is_dir():
        built = _dependencies.built_chart(
            state=state,
            helm=binary,
            timeout=settings.helm_timeout,
            tree=tree,
            chart=chart,
            component=component.name,
            entry_path=request.entry_path or component.name,
            url=component.source,
        )
        if built is not None:
            return built
    return tree


def chart_path(request: RenderRequest, settings: HelmSettings) -> str:
    """The absolute chart path to give ``helm template`` for ``request``, fetching it when needed.

    Raises:
        ChartNotFoundError: There is no chart there.
        UnsafePathError: A fetched component's chart leads out of its snapshot.
    """
    component = request.component
    fetched = fetch(request, settings)
    if fetched is None:
        chart = chart_location(component, request.directory)
        request.contained(Path(chart))
    elif component.method == "helm":
        chart = str(fetched)
    else:
        chart = os.path.abspath(go_join(str(fetched), component.path))
    if not os.path.exists(chart):
        where = f" (from {redact(component.source)})" if component.method in REMOTE_METHODS else ""
        raise ChartNotFoundError(f"component {component.name!r}: chart folder {chart} not found{where}")
    return chart


def _describe(component: Component) -> str:
    if component.method == "helm":
        version = f" {component.version}" if component.version else ""
        return f"{component.path}{version} from {redact(component.source)}"
    ref = component.version or component.branch or "HEAD"
    return f"{component.path or '.'} of {redact(component.source)} at {ref}"
