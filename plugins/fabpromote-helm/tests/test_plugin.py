"""The plugin as fabpromote sees it: registration, public API, and a whole HLD rendered."""

from __future__ import annotations

import importlib.metadata
import textwrap
from typing import TYPE_CHECKING

import fabpromote_helm
import pytest
from fabpromote_helm import HelmGenerator, RenderStats

import fabpromote
from fabpromote import Plugins
from fabpromote.typing import Generator

from .conftest import CONFIGMAP, write_chart

if TYPE_CHECKING:
    from pathlib import Path


def _installed() -> bool:
    try:
        importlib.metadata.distribution("fabpromote-helm")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class TestRegistration:
    def test_registers_the_helm_generator(self) -> None:
        """The hook registers a factory named helm that builds a Generator."""
        plugins = Plugins.load(autoload=False, plugins=[fabpromote_helm])
        assert "helm" in plugins.generators.names()
        generator = plugins.generator("helm")
        assert isinstance(generator, HelmGenerator)
        assert isinstance(generator, Generator)

    @pytest.mark.skipif(not _installed(), reason="fabpromote-helm is not installed (pip install -e it)")
    def test_entry_point_is_found(self) -> None:
        """The installed distribution is loaded through entry point group fabpromote."""
        described = {row.name: row for row in Plugins.load(autoload=True).describe()}
        assert described["helm"].distribution == "fabpromote-helm"
        assert "generator helm" in described["helm"].backends

    def test_stats_api(self) -> None:
        """stats() is a RenderStats snapshot and reset_stats() zeroes it."""
        import attrs

        assert fabpromote_helm.stats() == RenderStats()
        assert set(attrs.fields_dict(RenderStats)) == {
            "helm_calls",
            "cache_hits",
            "cache_misses",
            "helm_pulls",
            "dependency_builds",
            "index_downloads",
        }
        fabpromote_helm._stats.COUNTERS.add("helm_calls")
        assert fabpromote_helm.stats().helm_calls == 1
        fabpromote_helm.reset_stats()
        assert fabpromote_helm.stats() == RenderStats()

    def test_entry_module_is_cheap(self) -> None:
        """Loading the plugin does not import the generator modules."""
        import subprocess
        import sys

        code = "import sys, fabpromote_helm; print('fabpromote_helm._generator' in sys.modules)"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "False"


@pytest.mark.helm
class TestEndToEnd:
    def test_generate_hld_with_static_root_and_inlined_helm(self, helm_binary: str, tmp_path: Path) -> None:
        """fabpromote.generate renders a static root and its inlined helm child, twice alike."""
        hld = tmp_path / "hld"
        (hld / "manifests").mkdir(parents=True)
        (hld / "manifests" / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
        (hld / "component.yaml").write_text(
            textwrap.dedent(
                """\
                name: app
                type: static
                path: ./manifests
                subcomponents:
                - name: web
                  type: helm
                  method: local
                  path: ./chart
                """
            )
        )
        (hld / "config").mkdir()
        (hld / "config" / "common.yaml").write_text(
            "subcomponents:\n  web:\n    namespace: team-a\n    injectNamespace: true\n"
            "    config:\n      greeting: from-common\n"
        )
        (hld / "config" / "prod.yaml").write_text("subcomponents:\n  web:\n    config:\n      greeting: from-prod\n")
        write_chart(hld / "chart", templates={"cm.yaml": CONFIGMAP})

        plugins = Plugins.load(autoload=False, plugins=[fabpromote_helm])
        manifests = fabpromote.generate(hld, ["prod"], plugins=plugins)

        assert sorted(manifests) == ["app.yaml", "web.yaml"]
        assert manifests["app.yaml"] == b"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n\n"
        assert manifests["web.yaml"] == (
            b"---\napiVersion: v1\ndata:\n  greeting: from-prod\n  namespace: team-a\nkind: ConfigMap\n"
            b"metadata:\n  name: web-cm\n  namespace: team-a\n\n"
        )
        assert fabpromote_helm.stats().helm_calls == 1
        again = fabpromote.generate(hld, ["prod"], plugins=Plugins.load(autoload=False, plugins=[fabpromote_helm]))
        assert again == manifests
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1)


class TestInProcessBackend:
    @pytest.mark.skipif(not _installed(), reason="fabpromote-helm is not installed (pip install -e it)")
    def test_offers_an_in_process_backend(self) -> None:
        """Issue 20, item 5: an optional backend on helm-python-sdk, installed as the plugin's ``sdk`` extra.

        Pinned to the one version whose helm (v4.2.3) the backend's output rules are checked against.
        """
        metadata = importlib.metadata.metadata("fabpromote-helm")
        assert "sdk" in (metadata.get_all("Provides-Extra") or [])
        requires = [line.replace("'", '"') for line in metadata.get_all("Requires-Dist") or []]
        assert 'helm-python-sdk==0.2.2; extra == "sdk"' in requires
