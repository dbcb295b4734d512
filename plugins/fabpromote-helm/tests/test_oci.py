"""Charts in an OCI registry (``source: oci://...``): a real registry on 127.0.0.1, charts pushed with helm,
pulled through the cache and locked by digest, with helm 3 and helm 4."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import fabpromote_helm
import pytest
from fabpromote_helm import ChartNotFoundError, ChartRepositoryError, HelmGenerator, RenderStats

import fabpromote
from fabpromote import Fetcher, LockEntry, RenderRequest
from fabpromote.exceptions import GeneratorError

from .conftest import MakeRequest, OciRegistry

pytestmark = pytest.mark.helm


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _request(
    make_request: MakeRequest, tmp_path: Path, registry: OciRegistry, version: str, fetcher: Fetcher
) -> RenderRequest:
    return make_request(tmp_path, method="helm", source=registry.url, path="demo", version=version, fetcher=fetcher)


def test_pulls_the_version_asked_for(oci_registry: OciRegistry, tmp_path: Path, make_request: MakeRequest) -> None:
    """The chart comes from the registry; the lock records the pushed archive's sha256."""
    fetcher = Fetcher()
    output = HelmGenerator.from_env().generate(_request(make_request, tmp_path, oci_registry, "0.1.0", fetcher))
    assert b'version: "0.1.0"' in output
    assert fetcher.entries() == (
        LockEntry(
            component="web",
            url=oci_registry.url,
            ref="demo@0.1.0",
            sha=_sha256(oci_registry.folder / "demo-0.1.0.tgz"),
            kind="helm",
        ),
    )
    assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_misses=1, helm_pulls=1)


def test_newest_without_version(oci_registry: OciRegistry, tmp_path: Path, make_request: MakeRequest) -> None:
    """The newest tag, asked once per run: two components of the chart share the answer."""
    fetcher, generator = Fetcher(), HelmGenerator.from_env()
    output = generator.generate(_request(make_request, tmp_path, oci_registry, "", fetcher))
    assert b'version: "0.2.0"' in output
    other = make_request(tmp_path, name="web2", method="helm", source=oci_registry.url, path="demo", fetcher=fetcher)
    assert b'version: "0.2.0"' in generator.generate(other)
    assert [entry.ref for entry in fetcher.entries()] == ["demo@0.2.0", "demo@0.2.0"]
    assert fabpromote_helm.stats().index_downloads == 1


def test_second_render_pulls_nothing(oci_registry: OciRegistry, tmp_path: Path, make_request: MakeRequest) -> None:
    """Cached like charts from a classic repository: the second render runs no helm at all."""
    first = HelmGenerator.from_env().generate(_request(make_request, tmp_path, oci_registry, "0.1.0", Fetcher()))
    oci_registry.stop()  # nothing may reach the registry now
    second = HelmGenerator.from_env().generate(_request(make_request, tmp_path, oci_registry, "0.1.0", Fetcher()))
    assert second == first
    assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1, helm_pulls=1)


def test_missing_version(oci_registry: OciRegistry, tmp_path: Path, make_request: MakeRequest) -> None:
    with pytest.raises(
        ChartNotFoundError, match=r"the registry has no chart oci://.*/charts/demo at version '9\.9\.9'"
    ):
        HelmGenerator.from_env().generate(_request(make_request, tmp_path, oci_registry, "9.9.9", Fetcher()))


def test_registry_down(oci_registry: OciRegistry, tmp_path: Path, make_request: MakeRequest) -> None:
    oci_registry.stop()
    with pytest.raises(ChartRepositoryError, match="cannot be reached"):
        HelmGenerator.from_env().generate(_request(make_request, tmp_path, oci_registry, "0.1.0", Fetcher()))


def test_plain_http_must_be_allowed(
    oci_registry: OciRegistry,
    helm_major: int,
    tmp_path: Path,
    make_request: MakeRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """helm 4 speaks HTTPS to a registry not listed, and the error says where to list it; helm 3 falls back
    to plain HTTP by itself for a registry on the loopback interface."""
    monkeypatch.delenv("FABPROMOTE_HELM_PLAIN_HTTP")
    request = _request(make_request, tmp_path, oci_registry, "0.1.0", Fetcher())
    if helm_major == 3:
        assert b'version: "0.1.0"' in HelmGenerator.from_env().generate(request)
        return
    with pytest.raises(GeneratorError, match="listed in FABPROMOTE_HELM_PLAIN_HTTP"):
        HelmGenerator.from_env().generate(request)


def test_generate_an_hld_with_an_oci_chart(oci_registry: OciRegistry, tmp_path: Path) -> None:
    """End to end through fabpromote.generate: the HLD names the registry, the chart and its version."""
    root = tmp_path / "hld"
    root.mkdir()
    (root / "component.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: cluster
            subcomponents:
              - name: demo
                type: helm
                method: helm
                source: {oci_registry.url}
                path: demo
                version: 0.2.0
            """
        )
    )
    manifests = fabpromote.generate(root, ["prod"])
    assert b'version: "0.2.0"' in manifests["demo.yaml"]
