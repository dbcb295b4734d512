"""Fixtures: the real helm binary, small charts built in tmp_path, an isolated cache."""

from __future__ import annotations

import os
import shutil
import tempfile
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import fabpromote_helm
import pytest
from fabpromote_helm import _chart_digest

from fabpromote import Component, ComponentConfig, RenderRequest

if TYPE_CHECKING:
    from pathlib import Path

#: Variables of the generator that a developer's shell might set; every test starts without them.
_SETTINGS_ENV = (
    "FABPROMOTE_HELM_TIMEOUT",
    "FABPROMOTE_HELM_STDERR",
    "FABPROMOTE_HELM_SPLIT",
    "FABPROMOTE_NO_RENDER_CACHE",
)


def _find_helm() -> str | None:
    explicit = os.environ.get("FABPROMOTE_HELM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("helm")


_HELM = _find_helm()


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the cache, helm's homes and temporary files in tmp_path; zero the counters."""
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "helm-home" / name.lower()))
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    fabpromote_helm.reset_stats()
    _chart_digest.forget_digests()


@pytest.fixture(name="helm_binary")
def _helm_binary(monkeypatch: pytest.MonkeyPatch) -> str:
    """The real helm, also exported as FABPROMOTE_HELM; skips the test without one."""
    if _HELM is None:
        pytest.skip(
            "needs the real helm binary: set FABPROMOTE_HELM to it or put helm on PATH "
            "(scripts/install-helm.sh installs v3.18.0 and prints its folder)"
        )
    monkeypatch.setenv("FABPROMOTE_HELM", _HELM)
    return _HELM


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  greeting: {{ .Values.greeting | default "hello" | quote }}
  namespace: {{ .Release.Namespace }}
"""


def write_chart(
    directory: Path,
    *,
    name: str = "demo",
    templates: dict[str, str] | None = None,
    deprecated: bool = False,
    values: str = "",
) -> Path:
    """Write a small helm chart into ``directory`` and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n"
    if deprecated:
        chart_yaml += "deprecated: true\n"
    (directory / "Chart.yaml").write_text(chart_yaml)
    (directory / "values.yaml").write_text(values)
    (directory / "templates").mkdir(exist_ok=True)
    for file, text in (templates or {"cm.yaml": CONFIGMAP}).items():
        (directory / "templates" / file).write_text(textwrap.dedent(text))
    return directory


@pytest.fixture(name="chart")
def _chart(tmp_path: Path) -> Path:
    """An HLD folder with a one-ConfigMap chart at ``chart/``."""
    hld = tmp_path / "hld"
    write_chart(hld / "chart")
    return hld


MakeRequest = Callable[..., RenderRequest]


@pytest.fixture(name="make_request")
def _make_request() -> MakeRequest:
    """Build the RenderRequest of an inlined helm component."""

    def make(
        directory: Path,
        *,
        name: str = "web",
        method: str = "",
        path: str = "chart",
        namespace: str = "",
        inject_namespace: bool = False,
        config: dict[str, Any] | None = None,
    ) -> RenderRequest:
        component = Component(name=name, type="helm", method=method, path=path)
        merged = ComponentConfig(namespace=namespace, inject_namespace=inject_namespace, config=config or {})
        return RenderRequest(
            component=component, config=merged, directory=directory, logical_path="", environments=("prod",)
        )

    return make
