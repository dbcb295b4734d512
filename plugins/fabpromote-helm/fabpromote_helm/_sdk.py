"""The in-process backend: ``helm template`` through helm-python-sdk, without a process per render.

helm-python-sdk (the ``sdk`` extra) binds Helm's own v4 Go SDK, built into
its ``libhelm_c`` library, with ctypes. ``helm template`` is a dry-run
install with client-side capabilities, and so is this; the rest of what the
command does is done here as helm v4.2.3 does it (``pkg/cmd/install.go``,
``pkg/cmd/template.go``):

* the checks before the install: an installable chart type, and every
  dependency of ``Chart.yaml`` present in ``charts/``;
* the manifest trimmed, then the hooks (:mod:`._hooks`), which the SDK's
  release summary leaves out: they are rendered again from the chart the
  install prepared (disabled subcharts dropped, imported values merged);
* the lines helm writes on stderr: ``this chart is deprecated`` and the
  hooks it skips, each as helm's text logger writes it.

Other messages of helm's Go code (rare warnings about values that cannot be
merged) go to this process's stderr, as the library logs them, and are not
part of the output. A render cannot be interrupted: ``helm_timeout`` does
not apply. ctypes releases the GIL during each call, so renders on several
threads run in parallel; each thread keeps its own SDK configuration, which
an install modifies.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabpromote.exceptions import GeneratorError
from fabpromote_helm._helm import TemplateRun

if TYPE_CHECKING:
    from types import ModuleType

    from fabpromote_helm._run_cache import HelmCache

__all__ = ["ENGINE", "INSTALL_HINT", "identity", "paths", "run_template"]

#: Stands for the in-process backend where the generator otherwise holds the helm binary's path.
ENGINE = "helm-python-sdk (in-process)"

INSTALL_HINT = "install the in-process backend with `pip install 'fabpromote-helm[sdk]'`"

#: What helm's text logger writes for a deprecated chart, before it renders.
DEPRECATED_LINE = 'level=WARN msg="this chart is deprecated"\n'

_local = threading.local()


#: The SDK and the helm inside it whose behaviour this module follows (the ``sdk`` extra pins it).
SDK_VERSION = "0.2.2"
HELM_VERSION = "v4.2.3"


def _sdk() -> ModuleType:
    """helm_python, imported on first use (loading its library costs about 60 ms), checked to be the one followed.

    Another version may render differently from what is done around it here:
    it is refused rather than trusted.
    """
    try:
        import helm_python
    except ImportError as exc:
        raise GeneratorError(f"the in-process helm backend needs helm-python-sdk ({exc}); {INSTALL_HINT}") from None
    except Exception as exc:  # helm_python.HelmLibraryError, which cannot be named before the import succeeds
        raise GeneratorError(f"helm-python-sdk cannot load its library (HELM_C_LIB?): {exc}") from None
    found = (helm_python.__version__, helm_python.helm_sdk_version(), helm_python.helm_c_version())
    if found != (SDK_VERSION, HELM_VERSION, SDK_VERSION):
        raise GeneratorError(
            f"the in-process helm backend follows helm-python-sdk {SDK_VERSION} (helm {HELM_VERSION}), "
            f"not {found[0]} (helm {found[1]}, library {found[2]} at {helm_python.library_path}); {INSTALL_HINT}"
        )
    return helm_python


def identity(state: HelmCache) -> str:
    """What the render cache keys on for the in-process backend, as it does on helm's version for the binary.

    The SDK's files as found on disk (its package, and the library it
    loads: its own, or ``HELM_C_LIB``'s), not their versions: asking those
    loads the library, which a run whose renders are all cached never does.
    Remembered for the run.
    """
    return state.cache.memo("fabpromote_helm.sdk", _identity)


def _identity() -> str:
    package, *override = paths()
    places = [Path(package), Path(package) / "lib", *map(Path, override)]
    return "helm-python-sdk " + " ".join(_stat(place) for place in places)


def paths() -> tuple[str, ...]:
    """The SDK's files, found without loading it: its package folder (its library inside), and ``HELM_C_LIB``'s.

    Raises:
        GeneratorError: helm-python-sdk is not installed.
    """
    spec = importlib.util.find_spec("helm_python")
    if spec is None or spec.origin is None:
        raise GeneratorError(
            f"the in-process helm backend needs helm-python-sdk, which is not installed; {INSTALL_HINT}"
        )
    found = [os.path.dirname(os.path.realpath(spec.origin))]
    override = os.environ.get("HELM_C_LIB")
    if override:  # as given, not resolved: a link re-pointed is seen through its signature
        found.append(os.path.abspath(os.path.expanduser(override)))
    return tuple(found)


def _stat(place: Path) -> str:
    """``path:size:mtime`` of ``place``, or of each file in it."""
    try:
        files = sorted(entry for entry in place.iterdir() if entry.is_file()) if place.is_dir() else [place]
        return " ".join(f"{file}:{(info := file.stat()).st_size}:{info.st_mtime_ns}" for file in files)
    except OSError as exc:
        return f"{place}:{exc.strerror}"


def _config(sdk: ModuleType) -> Any:
    """This thread's SDK configuration: memory storage, no cluster (a dry run never reaches one)."""
    config = getattr(_local, "config", None)
    if config is None:
        config = _local.config = sdk.Config(storage_driver="memory")
    return config


def run_template(
    *, release: str, chart: str, values: bytes, namespace: str, combine_stderr: bool, component: str
) -> TemplateRun:
    """Render ``chart`` as ``helm template <release> <chart> --values - --namespace <namespace>`` would.

    Returns what helm v4.2.3 would print: stdout, and its stderr lines
    (before stdout when combined, as helm writes them before it renders).

    Raises:
        GeneratorError: The SDK is not installed, the chart cannot be loaded
            or installed, or a template fails; the message names the
            component and the chart.
    """
    import yaml  # with _hooks: the YAML parsers, which a run whose renders are all cached never needs

    from fabpromote_helm import _hooks

    sdk = _sdk()
    try:
        with sdk.Chart.load(chart) as loaded:
            stderr = _check(loaded)
            release_values = sdk.values_from_yaml(values.decode("utf-8"))
            summary = _config(sdk).install(loaded, release, release_values, namespace=namespace, dry_run="client")
            templates = loaded.render(release_values, name=release, namespace=namespace)
    except (sdk.HelmError, _Refused) as exc:
        raise GeneratorError(f"helm template of component {component!r} (chart {chart}) failed: {exc}") from None
    manifest: str = summary.get("manifest", "")  # left out when empty
    try:
        hooks, unknown = _hooks.hooks(templates, manifest)
    except yaml.YAMLError as exc:  # helm parsed it: this parser and helm's disagree
        raise GeneratorError(f"cannot read the hooks of component {component!r} (chart {chart}): {exc}") from None
    stderr += "".join(_hooks.unknown_hook_line(events) for events in unknown)
    parts = [manifest.strip(_hooks.GO_SPACE), "\n"]
    parts += [f"---\n# Source: {hook.path}\n{hook.manifest}\n" for hook in hooks]
    output = "".join(parts).encode("utf-8", "surrogateescape")
    if combine_stderr:
        return TemplateRun(output=stderr.encode("utf-8") + output)
    return TemplateRun(output=output, stderr=stderr.encode("utf-8"))


class _Refused(Exception):
    """A chart ``helm template`` refuses before it renders."""


def _check(chart: Any) -> str:
    """helm's checks before the install; returns the stderr lines they write."""
    metadata = chart.metadata
    kind = metadata.get("type") or ""
    if kind not in ("", "application"):
        raise _Refused(f"{kind} charts are not installable")
    declared = [dependency.get("name") for dependency in metadata.get("dependencies") or ()]
    if declared:
        present = {dependency.get("name") for dependency in chart.dependencies}
        missing = [name for name in declared if name not in present]
        if missing:
            raise _Refused(
                "an error occurred while checking for chart dependencies. You may need to run "
                "'helm dependency build' to fetch missing dependencies: found in Chart.yaml, "
                f"but missing in charts/ directory: {', '.join(missing)}"
            )
    return DEPRECATED_LINE if metadata.get("deprecated") else ""
