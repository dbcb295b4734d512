"""The environment fabpromote gives ``helm template`` changes its cost, never what it prints.

Each case runs the real helm twice on the same chart and values: once with
the user's environment (English locale, Go's defaults), once with
fabpromote's (``_helm._template_env``: another locale, no GC, one thread).
Output, errors and exit status must be byte for byte the same.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fabpromote_helm import _helm

from .conftest import write_chart

#: Templates that exercise what could depend on a locale or on the runtime:
#: case mapping, number and float formatting, sorting, encodings, YAML and
#: JSON output, capabilities, and a warning of a deprecated chart on stderr.
RICH = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-rich
  namespace: {{ .Release.Namespace }}
data:
  upper: {{ upper "stra\u00dfe \u0131i \u00e9\u00e0" | quote }}
  title: {{ title "hello wörld" | quote }}
  float: {{ printf "%.3f %e %g" 1234.5678 0.000123 1e21 | quote }}
  int: {{ printf "%d %x" 1234567 255 | quote }}
  sorted: {{ list "b" "a" "é" "Z" "z" | sortAlpha | join "," | quote }}
  b64: {{ "données" | b64enc | quote }}
  sha: {{ "x" | sha256sum | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
  values: |
{{ toYaml .Values | indent 4 }}
  json: {{ toJson .Values | quote }}
"""


def _run(helm: str, chart: Path, values: bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [helm, "template", "--values", "-", "--namespace", "team-a", "--", "demo", str(chart)],
        input=values,
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )


def _users_env(monkeypatch: pytest.MonkeyPatch, lang: str) -> dict[str, str]:
    for name in ("LC_ALL", "LC_MESSAGES", "GOGC", "GOMEMLIMIT", "GOMAXPROCS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", lang)
    return dict(os.environ)


CASES = {
    "rich": ({"rich.yaml": RICH}, b"greeting: h\xc3\xa9llo\nlist: [3, 1, 2]\nratio: 0.25\nbig: 12345678901\n"),
    "deprecated": ({"rich.yaml": RICH}, b"{}\n"),
    "fail": ({"f.yaml": '{{ fail "cannot render: missing value" }}\n'}, b"{}\n"),
    "parse-error": ({"p.yaml": "{{ .Values.x | nosuchfunc }}\n"}, b"{}\n"),
    "bad-values": ({"rich.yaml": RICH}, b"greeting: [\n"),
}


@pytest.mark.parametrize("lang", ["C.UTF-8", "en_US.UTF-8"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_output_as_the_users_environment(
    helm_binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, lang: str
) -> None:
    """stdout, stderr and the exit status do not change with fabpromote's environment."""
    templates, values = CASES[case]
    chart = write_chart(tmp_path / "chart", templates=templates, deprecated=case == "deprecated")
    users = _run(helm_binary, chart, values, _users_env(monkeypatch, lang))
    ours = _run(helm_binary, chart, values, _helm._template_env())
    assert (ours.returncode, ours.stdout, ours.stderr) == (users.returncode, users.stdout, users.stderr)
    if case in ("rich", "deprecated"):
        assert users.returncode == 0
        assert b"upper:" in users.stdout
    else:
        assert users.returncode != 0
    # The catalogue loads silently: no warning from kubectl's message loading.
    assert (ours.stderr != b"") == (case != "rich")
