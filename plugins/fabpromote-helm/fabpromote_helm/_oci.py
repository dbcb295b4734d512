"""Charts in OCI registries (``source: oci://host/path``): what ``helm pull`` is asked, and what its
failures mean.

An OCI chart is ``<source>/<chart>`` at tag ``<version>``; helm fetches it
itself (there is no ``index.yaml``). The archive it writes is the chart layer
of the registry's manifest, byte for byte, so it is cached and locked by its
sha256 like a chart from a classic repository. A registry reached over plain
HTTP must be listed in ``FABPROMOTE_HELM_PLAIN_HTTP`` (helm's ``--plain-http``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import yaml

from fabpromote.exceptions import GeneratorError
from fabpromote.git import redact
from fabpromote_helm import _helm_home
from fabpromote_helm._errors import ChartNotFoundError, ChartRepositoryError
from fabpromote_helm._settings import ENV_PLAIN_HTTP
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from fabpromote_helm._run_cache import HelmCache

__all__ = ["explain_failure", "is_oci", "newest_version", "reference", "registry_flags"]

SCHEME = "oci://"
#: How helm says the registry has no such repository or tag.
_NOT_FOUND = re.compile(r": not found\b|\bnot found: ")


def is_oci(url: str) -> bool:
    return url.startswith(SCHEME)


def reference(url: str, chart: str) -> str:
    """What ``helm pull`` takes: ``oci://host/path/<chart>``."""
    return f"{url.rstrip('/')}/{chart}"


def registry_flags(url: str, plain_http: tuple[str, ...]) -> list[str]:
    """``--plain-http`` for a registry listed in ``plain_http`` (``host`` or ``host:port``)."""
    where = urlsplit(url)
    return ["--plain-http"] if where.netloc in plain_http or where.hostname in plain_http else []


def newest_version(
    state: HelmCache, binary: str, timeout: float, *, url: str, chart: str, component: str, plain_http: tuple[str, ...]
) -> str:
    """The version of the chart helm would pull without one: its newest semver tag (``helm show chart``).

    Asked once per run and chart, as a classic repository's index is read once per run.
    """
    ref = reference(url, chart)
    with state.one_at_a_time(f"newest {ref}"):
        found: str | None = state.indexes.get(ref)
        if found is None:
            found = state.indexes[ref] = _ask_newest(
                state, binary, timeout, url=url, chart=chart, component=component, plain_http=plain_http
            )
        return found


def _ask_newest(
    state: HelmCache, binary: str, timeout: float, *, url: str, chart: str, component: str, plain_http: tuple[str, ...]
) -> str:
    COUNTERS.add("index_downloads")
    args = ["show", "chart", reference(url, chart), *registry_flags(url, plain_http)]
    done = _helm_home.run_helm(
        binary, args, state=state, timeout=timeout, what=f"helm show chart {redact(reference(url, chart))}"
    )
    if done.returncode != 0:
        explain_failure(done.stdout, component=component, url=url, chart=chart, version="")
    try:
        version = yaml.safe_load(done.stdout.decode("utf-8", "replace")).get("version")
    except (yaml.YAMLError, AttributeError):
        version = None
    if not isinstance(version, str) or not version:
        raise GeneratorError(f"component {component!r}: {redact(reference(url, chart))} has no chart version")
    return version


def explain_failure(output: bytes, *, component: str, url: str, chart: str, version: str) -> None:
    """Raise the error of a failed ``helm pull`` or ``helm show`` from a registry."""
    text = _helm_home.explain(output)
    where = redact(reference(url, chart))
    if _NOT_FOUND.search(text):
        # helm says the same of a missing repository and a missing tag.
        tag = f" at version {version!r}" if version else ""
        raise ChartNotFoundError(f"component {component!r}: the registry has no chart {where}{tag}: {text}")
    if "connection refused" in text or "no such host" in text or "i/o timeout" in text:
        raise ChartRepositoryError(
            f"component {component!r}: the registry of {where} cannot be reached: {text}", url=redact(url)
        )
    if "server gave HTTP response to HTTPS client" in text:
        text += f" (a registry that speaks plain HTTP is listed in {ENV_PLAIN_HTTP})"
    raise GeneratorError(f"component {component!r}: helm pull of {where} {version} failed: {text}")
