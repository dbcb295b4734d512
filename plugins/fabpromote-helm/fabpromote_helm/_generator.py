"""The ``helm`` generator: ``helm template`` plus Fabrikate's cleaning, with a render cache.

Charts that ``fab install`` did not put into ``helm_repos/`` are fetched
through the cache first (:mod:`._fetching`). ``helm template`` is the helm
binary (:mod:`._helm`), or helm's v4 SDK in this process (:mod:`._sdk`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from fabpromote.exceptions import FabpromoteError, GeneratorError
from fabpromote_helm import _chart_digest, _fetching, _helm, _render_cache, _sdk
from fabpromote_helm._fetching import chart_location
from fabpromote_helm._run_cache import HelmCache
from fabpromote_helm._settings import HelmSettings
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from fabpromote import ComponentConfig, RenderRequest
    from fabpromote.typing import RenderInputs

__all__ = ["HelmGenerator", "chart_location", "values_identity", "values_yaml"]

log = logging.getLogger("fabpromote.helm")

#: helm's namespace when the config names none, as in Fabrikate.
DEFAULT_NAMESPACE = "default"

#: The environment variables a render may read besides FABPROMOTE_*: where helm is found, its
#: settings and homes, the Go runtime's, and where the SDK's library is (HELM_C_LIB).
HELM_ENVIRONMENT = ("PATH", "HOME", "KUBECONFIG", "HELM_*", "GO*", "XDG_*")
#: This plugin's code, which a stamped answer must also find unchanged.
_CODE = os.path.dirname(os.path.realpath(__file__))


def values_yaml(config: Mapping[str, Any]) -> bytes:
    """The values file: the merged ``config`` map as go-yaml v2 dumps it (``{}`` when empty)."""
    if not config:
        return b"{}\n"
    from fabpromote import goyaml

    try:
        return goyaml.dump(dict(config)).encode("utf-8")
    except TypeError as exc:  # go-yaml's Marshal fails alike on values it cannot represent
        raise GeneratorError(f"cannot write the helm values: {exc}") from None


def _namespaces(config: ComponentConfig) -> tuple[str, str]:
    """helm's ``--namespace``, and the namespace to inject into the output (``""``: none)."""
    inject = config.namespace if config.inject_namespace and config.namespace else ""
    return config.namespace or DEFAULT_NAMESPACE, inject


def values_identity(config: Mapping[str, Any]) -> bytes:
    """A canonical encoding of the values: equal exactly when the values are.

    Unlike JSON it keeps kinds apart (``1``, ``1.0``, ``"1"`` and ``True``
    differ, as map keys too), and it costs far less than the YAML dump.
    """
    return repr(_canonical(config)).encode("utf-8", "surrogateescape")


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return ("map", sorted(((_canonical(k), _canonical(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list):
        return ("list", [_canonical(item) for item in value])
    return (type(value).__name__, repr(value))


@attrs.define
class HelmGenerator:
    """Renders ``type: helm`` components as ``fab generate`` does.

    Safe to share between threads: it keeps no state besides its settings.
    What it caches (renders, charts, helm's version, chart digests) belongs to
    the run: it is kept in ``request.cache`` (see :class:`._run_cache.HelmCache`).
    """

    settings: HelmSettings = attrs.field(factory=HelmSettings)

    @classmethod
    def from_env(cls) -> HelmGenerator:
        """A generator configured from the environment (see :mod:`fabpromote_helm._settings`)."""
        return cls(settings=HelmSettings.from_env())

    def fetch(self, request: RenderRequest) -> Path | None:
        """The folder ``fab install`` would place at ``<dir>/helm_repos/<name>``, fetched through the cache.

        None when the component needs nothing remote (``method`` other than
        ``git`` or ``helm``), or when it is installed and
        ``request.fetcher.prefer_installed`` (without a fetcher, installed
        content is required). The chart is the folder itself for
        ``method: helm`` and ``<folder>/<path>`` for ``method: git``. What was
        fetched is recorded in the fetcher's lock.

        Raises:
            ChartNotFoundError: Not installed and no fetcher, or no such chart or version.
            ChartRepositoryError: The chart repository cannot be reached.
            LockMismatchError: A pulled archive differs from the one the lock records.
            UnsafePathError: A git chart's ``path`` leads out of its repository.
            FabpromoteError: The git repository cannot be read (``SourceError``).
        """
        return _fetching.fetch(request, self.settings)

    def generate(self, request: RenderRequest) -> bytes:
        """Render ``request.component`` with ``helm template``; see :class:`fabpromote.typing.Generator`.

        Charts that are not installed are fetched first (see :meth:`fetch`).

        Raises:
            GeneratorError: The chart is missing or cannot be fetched, or helm
                is missing, fails, or times out.
        """
        component = request.component
        config = request.config
        namespace, inject = _namespaces(config)
        state = HelmCache.of(request.cache)
        engine = self._engine(state)
        chart = _fetching.chart_path(request, self.settings)
        key, cached = self._lookup(request, state, engine, chart)
        if cached is not None:
            return cached
        if key is not None:
            COUNTERS.add("cache_misses")

        try:
            values = values_yaml(config.config)
        except GeneratorError as exc:
            raise GeneratorError(f"component {component.name!r}: {exc}") from None
        run = self._template(engine, component.name, chart, values, namespace)
        self._warn(component.name, chart, run.stderr)
        manifest = self._clean(component.name, run.output, inject)
        if key is not None:
            _render_cache.store(request.cache, key, _render_cache.CachedRender(manifest=manifest, warnings=run.stderr))
        return manifest

    def cached(self, request: RenderRequest) -> bytes | None:
        """The render of a local chart from the render cache, else None (see :class:`fabpromote.typing.Generator`).

        Asked in the engine's walking thread before a render is scheduled:
        a hit costs no worker thread. Charts that would have to be fetched
        are left to :meth:`generate`, and so is any error.
        """
        if not self.settings.render_cache or request.component.method in _fetching.REMOTE_METHODS:
            return None
        state = HelmCache.of(request.cache)
        try:
            engine = self._engine(state)
            chart = _fetching.chart_path(request, self.settings)
        except FabpromoteError:
            return None
        return self._lookup(request, state, engine, chart)[1]

    def inputs(self, request: RenderRequest) -> RenderInputs | None:
        """What a render of ``request`` reads outside the HLD tree; see :class:`fabpromote.typing.Generator`.

        For a chart in the tree: this plugin's code, helm (the binary, or the
        SDK's package and library), the places on ``PATH`` helm was looked
        for before it was found, and the environment helm reads. None for
        charts from a chart repository or git, which are not in the tree, and
        for a version manager's shim, which picks the helm it runs by settings
        of its own.
        """
        if request.component.method in _fetching.REMOTE_METHODS:
            return None
        try:
            engine = self._engine(HelmCache.of(request.cache))
            # The same for every component of the run: found once (in a tuple, as None is an answer too).
            name = f"fabpromote_helm.inputs {self.settings.helm!r} {engine}"
            return request.cache.memo(name, lambda: (self._helm_inputs(engine),))[0]
        except FabpromoteError:
            return None

    def _helm_inputs(self, engine: str) -> RenderInputs | None:
        """What helm's renders read outside the tree (see :meth:`inputs`); ``engine`` as :meth:`_engine` gives it."""
        from fabpromote.typing import RenderInputs  # only asked when a run records what it read

        if engine == _sdk.ENGINE:
            return RenderInputs(paths=(_CODE, *_sdk.paths()), environment=HELM_ENVIRONMENT)
        if _helm.is_shim(engine):  # the helm it runs is not this file
            return None
        looked_up = _helm.looked_up(self.settings.helm, engine)
        return RenderInputs(paths=(_CODE, engine, *looked_up), environment=HELM_ENVIRONMENT)

    def _engine(self, state: HelmCache) -> str:
        """What renders: the helm binary's path, or :data:`._sdk.ENGINE` for the in-process backend."""
        if self.settings.helm_backend == "sdk":
            return _sdk.ENGINE
        return _helm.find_helm(self.settings.helm, state)

    def _lookup(
        self, request: RenderRequest, state: HelmCache, engine: str, chart: str
    ) -> tuple[str | None, bytes | None]:
        """The render cache key (None: not cacheable) and the cached render (None: a miss)."""
        config = request.config
        namespace, inject = _namespaces(config)
        # The key needs the values' identity, not their YAML: dumping waits for a miss.
        key = self._cache_key(
            state, engine, request.component.name, chart, values_identity(config.config), namespace, inject
        )
        cached = _render_cache.load(state.cache, key) if key is not None else None
        if cached is None:
            return key, None
        COUNTERS.add("cache_hits")
        self._warn(request.component.name, chart, cached.warnings)
        return key, cached.manifest

    def _cache_key(
        self, state: HelmCache, engine: str, release: str, chart: str, values: bytes, namespace: str, inject: str
    ) -> str | None:
        """The render cache key, or None when the cache is off or the chart cannot be cached."""
        if not self.settings.render_cache:
            return None
        in_process = engine == _sdk.ENGINE
        digest = _chart_digest.chart_digest(chart, state)
        if digest is None:
            log.info("chart %s of component %r cannot be cached; rendering it", chart, release)
            return None
        return _render_cache.RenderKey(
            chart=digest,
            values=values,
            release=release,
            namespace=namespace,
            helm_version=_sdk.identity(state) if in_process else _helm.helm_version(engine, state),
            stderr=self.settings.helm_stderr,
            split=self.settings.helm_split,
            inject_namespace=inject,
            helm_debug="" if in_process else os.environ.get("HELM_DEBUG", ""),
        ).hexdigest()

    def _clean(self, release: str, output: bytes, inject: str) -> bytes:
        """Fabrikate's cleaning, then its namespace injection when asked for."""
        from fabpromote_helm import _cleaning  # imports PyYAML, which render cache hits never need

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

    def _template(self, engine: str, release: str, chart: str, values: bytes, namespace: str) -> _helm.TemplateRun:
        COUNTERS.add("helm_calls")
        combine = self.settings.helm_stderr == "combine"
        if engine == _sdk.ENGINE:
            return _sdk.run_template(
                release=release,
                chart=chart,
                values=values,
                namespace=namespace,
                combine_stderr=combine,
                component=release,
            )
        return _helm.run_template(
            engine,
            release=release,
            chart=chart,
            values=values,
            namespace=namespace,
            timeout=self.settings.helm_timeout,
            combine_stderr=combine,
            component=release,
        )

    @staticmethod
    def _warn(component: str, chart: str, stderr: bytes) -> None:
        text = stderr.decode("utf-8", "replace").strip()
        if text:
            log.warning("helm template of component %r (chart %s) said: %s", component, chart, text)
