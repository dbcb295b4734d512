"""Chart repository indexes: which charts and versions a repository has.

An index is read (``<url>/index.yaml``, with a timeout) only to resolve
"the newest version" of a chart pulled without ``version``, and to explain a
failed pull. Each repository's index is read once per process.

Versions are ordered as helm orders them (semantic versions, lenient like
Masterminds/semver: ``v1``, ``1.2`` parse too). The newest version is the
greatest one without a pre-release part, which is what ``helm pull`` takes
when no ``--version`` is given.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from fabpromote.git import redact
from fabpromote.network import Deadline
from fabpromote_helm._errors import ChartRepositoryError
from fabpromote_helm._stats import COUNTERS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fabpromote_helm._run_cache import HelmCache

__all__ = ["ChartIndex", "repository_index", "version_key"]

#: Larger indexes are refused rather than parsed (the biggest public ones are ~30 MB).
MAX_INDEX_BYTES = 256 * 1024 * 1024

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def version_key(version: str) -> tuple[Any, ...] | None:
    """A sort key ordering versions as semver does, or None when ``version`` is not one."""
    match = _VERSION.fullmatch(version)
    if match is None:
        return None
    numbers = tuple(int(match.group(part) or 0) for part in ("major", "minor", "patch"))
    pre = match.group("pre")
    if pre is None:
        return (*numbers, 1, ())
    # Numeric identifiers sort before alphanumeric ones, numerically.
    identifiers = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split("."))
    return (*numbers, 0, identifiers)


@attrs.frozen(kw_only=True)
class ChartIndex:
    """What a chart repository's ``index.yaml`` lists.

    Attributes:
        url: The repository, as given.
        entries: Chart name to its versions, newest first.
    """

    url: str
    entries: Mapping[str, tuple[str, ...]]

    def versions(self, chart: str) -> tuple[str, ...] | None:
        """The versions of ``chart``, newest first; None when the repository has no such chart."""
        return self.entries.get(chart)

    def newest(self, chart: str) -> str | None:
        """The newest version of ``chart`` without a pre-release part, as ``helm pull`` picks it."""
        for version in self.entries.get(chart, ()):
            key = version_key(version)
            if key is not None and key[3] == 1:
                return version
        return None


def repository_index(url: str, state: HelmCache) -> ChartIndex:
    """The index of the chart repository at ``url``, read once per run (``state``: the run's helm cache).

    Raises:
        ChartRepositoryError: The repository cannot be reached, or what it
            serves as ``index.yaml`` is not an index.
    """
    with state.one_at_a_time(f"index {url}"):
        found: ChartIndex | None = state.indexes.get(url)
        if found is None:
            found = state.indexes[url] = _read_index(url)
        return found


def _read_index(url: str) -> ChartIndex:
    import requests

    shown = redact(url)
    index_url = url.rstrip("/") + "/index.yaml"
    COUNTERS.add("index_downloads")
    try:
        # One network operation: its deadline is $FABPROMOTE_NETWORK_TIMEOUT (requests retries nothing).
        with requests.get(index_url, timeout=Deadline().timeouts(), stream=True) as response:
            response.raise_for_status()
            data = response.raw.read(MAX_INDEX_BYTES + 1, decode_content=True)
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ChartRepositoryError(
            f"chart repository {shown} answered HTTP {status} for index.yaml", url=shown
        ) from None
    except requests.RequestException as exc:
        raise ChartRepositoryError(f"cannot reach chart repository {shown}: {reason(exc)}", url=shown) from None
    if len(data) > MAX_INDEX_BYTES:
        raise ChartRepositoryError(f"the index.yaml of chart repository {shown} is too large", url=shown)
    return ChartIndex(url=url, entries=_parse(data, shown))


def _parse(data: bytes, shown: str) -> dict[str, tuple[str, ...]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        document = yaml.load(data, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    except yaml.YAMLError:
        document = None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise ChartRepositoryError(f"{shown} is not a chart repository (its index.yaml has no entries)", url=shown)
    parsed = {}
    for name, items in entries.items():
        versions = [str(item["version"]) for item in items or () if isinstance(item, dict) and "version" in item]
        # Newest first, as helm sorts them; versions that are not semver go last, in file order.
        ranked = sorted(versions, key=lambda v: (version_key(v) is not None, version_key(v) or ()), reverse=True)
        parsed[str(name)] = tuple(v for v in ranked if version_key(v) is not None) + tuple(
            v for v in versions if version_key(v) is None
        )
    return parsed


def reason(exc: BaseException) -> str:
    """A short reason for a failed request: ``Connection refused`` rather than urllib3's whole chain."""
    text = str(exc)
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip().rstrip(".")
    if "timed out" in text.lower():
        return "timed out"
    return redact(text)[:300] or type(exc).__name__
