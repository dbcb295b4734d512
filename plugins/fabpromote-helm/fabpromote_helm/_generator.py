"""The ``helm`` generator: ``helm template`` plus Fabrikate's cleaning, with a render cache."""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from fabpromote.exceptions import GeneratorError
from fabpromote_helm import _chart_digest, _cleaning, _helm, _render_cache
from fabpromote_helm._settings import HelmSettings
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from fabpromote import Component, RenderRequest

__all__ = ["HelmGenerator", "chart_location", "values_yaml"]

log = logging.getLogger("fabpromote.helm")

#: helm's namespace when the config names none, as in Fabrikate.
DEFAULT_NAMESPACE = "default"


def chart_location(component: Component, directory: str | os.PathLike[str]) -> str:
    """The absolute chart path Fabrikate gives helm for ``component`` in ``directory``.

    ``method: git`` charts sit at ``helm_repos/<name>/<path>`` (the whole
    repository was cloned), ``method: helm`` charts at ``helm_repos/<name>``
    (the chart alone was pulled), anything else at ``<path>``. Paths are
    joined like Go's ``path.Join`` (an absolute ``path`` stays under the
    directory) and made absolute without resolving symlinks.
    """
    if component.method == "git":
        parts = [os.fspath(directory), "helm_repos", component.name, component.path]
    elif component.method == "helm":
        parts = [os.fspath(directory), "helm_repos", component.name]
    else:
        parts = [os.fspath(directory), component.path]
    # Go's filepath.Abs cleans but never resolves symlinks, which Path.resolve() would.
    return os.path.abspath(posixpath.normpath("/".join(part for part in parts if part)))


def values_yaml(config: Mapping[str, Any]) -> bytes:
    """The values file: the merged ``config`` map as go-yaml v2 dumps it (``{}`` when empty)."""
    if not config:
        return b"{}\n"
    from fabpromote import _goyaml

    try:
        return _goyaml.dump(dict(config)).encode("utf-8")
    except TypeError as exc:  # go-yaml's Marshal fails alike on values it cannot represent
        raise GeneratorError(f"cannot write the helm values: {exc}") from None


@attrs.define
class HelmGenerator:
    """Renders ``type: helm`` components as ``fab generate`` does.

    Safe to share between threads: it keeps no state besides its settings;
    the process-wide caches it uses (helm versions, chart digests) lock.
    """

    settings: HelmSettings = attrs.field(factory=HelmSettings)

    @classmethod
    def from_env(cls) -> HelmGenerator:
        """A generator configured from the environment (see :mod:`fabpromote_helm._settings`)."""
        return cls(settings=HelmSettings.from_env())

    def generate(self, request: RenderRequest) -> bytes:
        """Render ``request.component`` with ``helm template``; see :class:`fabpromote.typing.Generator`.

        Raises:
            GeneratorError: helm is missing, fails, or times out.
        """
        component = request.component
        config = request.config
        chart = chart_location(component, request.directory)
        namespace = config.namespace or DEFAULT_NAMESPACE
        inject = config.namespace if config.inject_namespace and config.namespace else ""
        try:
            values = values_yaml(config.config)
        except GeneratorError as exc:
            raise GeneratorError(f"component {component.name!r}: {exc}") from None
        binary = _helm.find_helm(self.settings.helm)

        key = self._cache_key(binary, component.name, chart, values, namespace, inject)
        if key is not None:
            cached = _render_cache.load(key)
            if cached is not None:
                COUNTERS.add("cache_hits")
                self._warn(component.name, chart, cached.warnings)
                return cached.manifest
            COUNTERS.add("cache_misses")

        run = self._template(binary, component.name, chart, values, namespace)
        self._warn(component.name, chart, run.stderr)
        manifest = self._clean(component.name, run.output, inject)
        if key is not None:
            _render_cache.store(key, _render_cache.CachedRender(manifest=manifest, warnings=run.stderr))
        return manifest

    def _cache_key(
        self, binary: str, release: str, chart: str, values: bytes, namespace: str, inject: str
    ) -> str | None:
        """The render cache key, or None when the cache is off or the chart cannot be cached."""
        if not self.settings.render_cache:
            return None
        digest = _chart_digest.chart_digest(chart)
        if digest is None:
            log.info("chart %s of component %r cannot be cached; rendering it", chart, release)
            return None
        return _render_cache.RenderKey(
            chart=digest,
            values=values,
            release=release,
            namespace=namespace,
            helm_version=_helm.helm_version(binary),
            stderr=self.settings.helm_stderr,
            split=self.settings.helm_split,
            inject_namespace=inject,
        ).hexdigest()

    def _clean(self, release: str, output: bytes, inject: str) -> bytes:
        """Fabrikate's cleaning, then its namespace injection when asked for."""
        # surrogateescape: bytes that are not UTF-8 fail to parse (as in Go) yet are written back intact.
        text = output.decode("utf-8", "surrogateescape")
        manifest = _cleaning.clean(text, self.settings.helm_split)
        if inject:
            try:
                manifest = _cleaning.inject_namespace(manifest, inject, self.settings.helm_split)
            except TypeError as exc:  # Fabrikate fails alike when Marshal fails
                raise GeneratorError(
                    f"cannot inject namespace {inject!r} into the output of component {release!r}: {exc}"
                ) from None
        return manifest.encode("utf-8", "surrogateescape")

    def _template(self, binary: str, release: str, chart: str, values: bytes, namespace: str) -> _helm.TemplateRun:
        # A private file per render: renders run in parallel and values may hold secrets.
        fd, values_file = tempfile.mkstemp(prefix="fabpromote-helm-", suffix=".yaml")
        try:
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(values)
            except OSError as exc:
                raise GeneratorError(
                    f"cannot write the values file of component {release!r}: {exc.strerror or exc}"
                ) from None
            COUNTERS.add("helm_calls")
            return _helm.run_template(
                binary,
                release=release,
                chart=chart,
                values_file=values_file,
                namespace=namespace,
                timeout=self.settings.helm_timeout,
                combine_stderr=self.settings.helm_stderr == "combine",
                component=release,
            )
        finally:
            with contextlib.suppress(FileNotFoundError):
                Path(values_file).unlink()

    @staticmethod
    def _warn(component: str, chart: str, stderr: bytes) -> None:
        text = stderr.decode("utf-8", "replace").strip()
        if text:
            log.warning("helm template of component %r (chart %s) said: %s", component, chart, text)
