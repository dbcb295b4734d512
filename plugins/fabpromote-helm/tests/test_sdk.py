"""The in-process backend (FABPROMOTE_HELM_BACKEND=sdk) against the helm v4.2.3 binary, the helm it embeds.

Each chart is rendered twice through the public generator, once by each
backend, without the render cache, and the manifests must be the same bytes,
as must helm's warnings, in both stderr modes. The charts reach what the
backend does beside the SDK's install: hooks of every kind and event,
unknown hooks, disabled subcharts, partials, notes, blank files, deprecated
charts, and the charts ``helm template`` refuses.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fabpromote_helm import HelmGenerator, HelmSettings

from fabpromote.exceptions import GeneratorError
from fabpromote.testing.unavailable import unavailable

from .conftest import HELM42, MakeRequest, sdk_missing, write_chart


@pytest.fixture(autouse=True)
def _needs_the_sdk_and_its_helm() -> None:
    missing = sdk_missing()
    if missing:
        unavailable(missing)


HOOKS = """\
apiVersion: v1
kind: Pod
metadata:
  name: test-pod
  annotations:
    helm.sh/hook: test-success
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pre
  annotations:
    helm.sh/hook: " Pre-Install , post-upgrade"
    helm.sh/hook-weight: "-5"
data: {x: "1"}
---
apiVersion: v1
kind: Secret
metadata:
  name: unknown
  annotations:
    helm.sh/hook: "pre=no thing\\u00e9\\t"
---
apiVersion: example.com/v1
kind: Zebra
metadata:
  name: z
  annotations:
    helm.sh/hook: pre-install
---
apiVersion: example.com/v1
kind: Alpha
metadata:
  name: a
  annotations:
    helm.sh/hook: test
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  annotations:
    other: x
---
apiVersion: v1
kind: Namespace
metadata:
  name: ns
"""

MORE_HOOKS = """\
# a comment first
apiVersion: v1
kind: ServiceAccount
metadata:
  name: hook-sa
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-delete-policy: before-hook-creation


---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  ports: [{port: 80}]{{ "   " }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: other-secret-hook
  annotations:
    helm.sh/hook: post-delete
data:
  values: {{ .Values | toJson | quote }}
"""

SUBCHART_HOOK = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Chart.Name }}-hook
  annotations:
    "helm.sh/hook": post-install
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Chart.Name }}-cm
"""


#: Hooks whose head only Go's decoding reads right: keys in two cases (merged), typed scalars (spelled as strings),
#: Unicode case folding (a long s is an s; Go lowers a dotted capital I to one "i").
ODD_HOOKS = """\
apiVersion: v1
kind: ConfigMap
Metadata:
  annotations:
    helm.sh/hook: pre-install
metadata:
  name: merged
---
apiVersion: v1
kind: 5
metadata:
  name: five
  annotations:
    helm.sh/hook: post-install
---
apiVersion: v1
kind: "4"
metadata:
  name: four
  annotations:
    helm.sh/hook: post-install
---
apiVersion: v1
kind: 7.5
metadata:
  name: seven-and-a-half
  annotations:
    helm.sh/hook: post-install
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: boolean-hook
  annotations:
    helm.sh/hook: yes
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: number-hook
  annotations:
    helm.sh/hook: 5
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: long-s-key
  annotation\u017f:
    helm.sh/hook: pre-install
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: dotted-capital-i
  annotations:
    helm.sh/hook: pre-\u0130nstall
---
apiVersion: v1
kind: ConfigMap
METADATA:
  name: cleared
  annotations:
    helm.sh/hook: pre-install
metadata: null
"""


def hooks_chart(directory: Path, *, deprecated: bool = False) -> Path:
    """A chart with hooks in two files, a partial, notes, a blank file, one enabled and one disabled subchart."""
    write_chart(
        directory,
        name="hooks",
        deprecated=deprecated,
        values="two:\n  enabled: false\n",
        templates={
            "a.yaml": HOOKS,
            "b.yaml": MORE_HOOKS,
            "_helpers.tpl": '{{- define "x" }}y{{ end }}\n',
            "NOTES.txt": "notes for {{ .Release.Name }}\n",
            "blank.yaml": "  \n",
        },
        dependencies="""\
            - name: one
              version: 0.1.0
            - name: two
              version: 0.1.0
              condition: two.enabled
            """,
    )
    for name in ("one", "two"):
        write_chart(
            directory / "charts" / name,
            name=name,
            templates={"job.yaml": SUBCHART_HOOK, "NOTES.txt": "sub notes\n"},
        )
    return directory


CHARTS = {
    "configmap": lambda directory: write_chart(directory),
    "hooks": hooks_chart,
    "deprecated-hooks": lambda directory: hooks_chart(directory, deprecated=True),
    "odd-hooks": lambda directory: write_chart(directory, templates={"odd.yaml": ODD_HOOKS}),
    "empty": lambda directory: write_chart(directory, templates={"x.yaml": "{{- if false }}\nx: 1\n{{- end }}\n"}),
    "only-hooks": lambda directory: write_chart(
        directory, templates={"job.yaml": SUBCHART_HOOK.split("---")[0], "test.yaml": HOOKS.split("---")[0]}
    ),
}

CONFIGS: dict[str, dict[str, Any]] = {
    "no values": {},
    "typed values": {
        "greeting": "höla: 'x'",
        "count": 3,
        "ratio": 0.5,
        "big": 12345678901234567890,
        "flag": True,
        "nothing": None,
        "nested": {"list": [1, "2", 3.0], "map": {"k": "v"}},
        "two": {"enabled": True},
    },
}


def _render(
    make_request: MakeRequest, directory: Path, settings: HelmSettings, **kwargs: Any
) -> tuple[bytes, list[str]]:
    """The manifest and the warnings logged rendering it."""
    handler = _Records()
    logger = logging.getLogger("fabpromote.helm")
    logger.addHandler(handler)
    try:
        output = HelmGenerator(settings=settings).generate(make_request(directory, **kwargs))
    finally:
        logger.removeHandler(handler)
    return output, handler.messages


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _both(make_request: MakeRequest, directory: Path, **settings: Any) -> None:
    assert HELM42 is not None
    for kwargs in ({}, {"namespace": "team-a"}):
        for config in CONFIGS.values():
            binary = _render(
                make_request,
                directory,
                HelmSettings(helm=HELM42, render_cache=False, **settings),
                config=config,
                **kwargs,
            )
            sdk = _render(
                make_request,
                directory,
                HelmSettings(helm_backend="sdk", render_cache=False, **settings),
                config=config,
                **kwargs,
            )
            assert sdk == binary


@pytest.mark.parametrize("chart", sorted(CHARTS))
@pytest.mark.parametrize("stderr", ["combine", "separate"])
@pytest.mark.parametrize("split", ["compat", "documents"])
def test_same_bytes_as_the_binary(
    chart: str, stderr: str, split: str, tmp_path: Path, make_request: MakeRequest
) -> None:
    CHARTS[chart](tmp_path / "chart")
    _both(make_request, tmp_path, helm_stderr=stderr, helm_split=split)


def test_same_bytes_as_the_binary_for_helm_create(tmp_path: Path, make_request: MakeRequest) -> None:
    """The chart ``helm create`` makes: helpers, a test hook, notes, values that switch resources on."""
    assert HELM42 is not None
    subprocess.run([HELM42, "create", str(tmp_path / "chart")], check=True, capture_output=True)
    _both(make_request, tmp_path, helm_stderr="separate")


def test_namespace_is_injected_alike(tmp_path: Path, make_request: MakeRequest) -> None:
    hooks_chart(tmp_path / "chart")
    assert HELM42 is not None
    outputs = {
        backend: _render(
            make_request,
            tmp_path,
            HelmSettings(helm=HELM42, helm_backend=backend, render_cache=False),
            namespace="team-a",
            inject_namespace=True,
        )
        for backend in ("binary", "sdk")
    }
    assert outputs["sdk"] == outputs["binary"]
    assert b"namespace: team-a" in outputs["sdk"][0]


def test_hooks_follow_the_manifest_in_helms_order(tmp_path: Path, make_request: MakeRequest) -> None:
    """What the comparison above checks, spelled out: kinds in install order, then the others alphabetically."""
    hooks_chart(tmp_path / "chart")
    output, _ = _render(make_request, tmp_path, HelmSettings(helm_backend="sdk", render_cache=False))
    names = [line.split(b": ", 1)[1] for line in output.splitlines() if line.startswith(b"  name: ")]
    # Manifest: Namespace, ServiceAccount, ConfigMap, Service; hooks: ServiceAccount, ConfigMap x2, Pod, Job, Alpha, Zebra.
    assert names == [
        b"ns",
        b"sa",
        b"one-cm",
        b"web",
        b"hook-sa",
        b"pre",
        b"other-secret-hook",
        b"test-pod",
        b"one-hook",
        b"a",
        b"z",
    ]
    assert b"two-hook" not in output  # its subchart is disabled
    assert b"unknown" not in output  # its hook event is unknown
    assert b"notes" not in output


@pytest.mark.parametrize(
    ("templates", "chart_yaml", "message"),
    [
        ({"x.yaml": '{{ fail "boom" }}\n'}, "", "boom"),
        ({"x.yaml": "a: b\n"}, "type: library\n", "library charts are not installable"),
        ({"x.yaml": "a: b\n"}, "dependencies:\n- name: gone\n  version: 1.0.0\n", "missing in charts/ directory: gone"),
    ],
    ids=["template-fails", "library-chart", "missing-dependency"],
)
def test_charts_helm_refuses_are_refused(
    templates: dict[str, str], chart_yaml: str, message: str, tmp_path: Path, make_request: MakeRequest
) -> None:
    chart = write_chart(tmp_path / "chart", templates=templates)
    if chart_yaml:
        (chart / "Chart.yaml").write_text((chart / "Chart.yaml").read_text() + chart_yaml)
    assert HELM42 is not None
    for settings in (HelmSettings(helm=HELM42), HelmSettings(helm_backend="sdk")):
        with pytest.raises(GeneratorError) as caught:
            HelmGenerator(settings=settings).generate(make_request(tmp_path))
        assert message in str(caught.value)
        assert "'web'" in str(caught.value)


@pytest.mark.parametrize("render_cache", [True, False], ids=["cache", "no-cache"])
def test_without_the_sdk_the_error_says_how_to_install_it(
    render_cache: bool, chart: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "helm_python", None)  # what an import finds when it is not installed
    generator = HelmGenerator(settings=HelmSettings(helm_backend="sdk", render_cache=render_cache))
    with pytest.raises(GeneratorError, match=re.escape("pip install 'fabpromote-helm[sdk]'")):
        generator.generate(make_request(chart))


def test_another_sdk_version_is_refused(
    chart: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its output rules are helm v4.2.3's, as helm-python-sdk 0.2.2 embeds it: another release is not trusted."""
    import helm_python

    monkeypatch.setattr(helm_python, "__version__", "0.2.1")
    generator = HelmGenerator(settings=HelmSettings(helm_backend="sdk", render_cache=False))
    with pytest.raises(GeneratorError, match=r"follows helm-python-sdk 0\.2\.2 \(helm v4\.2\.3\), not 0\.2\.1"):
        generator.generate(make_request(chart))


@pytest.mark.xfail(
    strict=True,
    reason="libhelm_c 0.2.2 is built without helm's version stamps: its .Capabilities.HelmVersion is v4.2 with no "
    "commit nor tree state, and go1.26.6 where the helm v4.2.3 binary says v4.2.3, 43e8b7f..., clean, go1.26.5",
)
def test_capabilities_helm_version_is_the_binarys(tmp_path: Path, make_request: MakeRequest) -> None:
    """A template that prints the helm version it runs in: a difference the README lists, shown here."""
    write_chart(
        tmp_path / "chart",
        templates={
            "cm.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: version
                data:
                  helm: {{ .Capabilities.HelmVersion | toJson | quote }}
                """
        },
    )
    _both(make_request, tmp_path)
