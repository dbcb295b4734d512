"""The helm generator against the real helm: chart locations, values, namespaces, output, failures."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import fabpromote_helm
import pytest
from fabpromote_helm import HelmGenerator, HelmSettings
from fabpromote_helm._generator import chart_location, values_yaml

from fabpromote import Component
from fabpromote.exceptions import FabpromoteError, GeneratorError

from .conftest import CONFIGMAP, MakeRequest, write_chart

pytestmark = pytest.mark.helm

BLOCK_SCALAR_CHART = {
    "cm.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .Release.Name }}-cm
        data:
          script: |
            echo one
            echo two
        """,
    "svc.yaml": """\
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Release.Name }}-svc
          namespace: elsewhere
        spec:
          ports:
          - port: 80
        """,
}


def _render(make_request: MakeRequest, directory: Path, **kwargs: object) -> bytes:
    return HelmGenerator.from_env().generate(make_request(directory, **kwargs))


class TestChartLocation:
    def test_local_chart_is_dir_slash_path(self, tmp_path: Path) -> None:
        """A local chart is <dir>/<path>, made absolute without resolving symlinks."""
        component = Component(name="web", type="helm", path="./charts/../chart")
        assert chart_location(component, tmp_path) == str(tmp_path / "chart")

    def test_git_chart_is_in_helm_repos_with_path(self, tmp_path: Path) -> None:
        """method: git puts the chart at helm_repos/<name>/<path>."""
        component = Component(name="web", type="helm", method="git", path="stable/web")
        assert chart_location(component, tmp_path) == str(tmp_path / "helm_repos" / "web" / "stable" / "web")

    def test_helm_chart_is_helm_repos_name(self, tmp_path: Path) -> None:
        """method: helm puts the chart at helm_repos/<name>, ignoring path."""
        component = Component(name="web", type="helm", method="helm", path="web")
        assert chart_location(component, tmp_path) == str(tmp_path / "helm_repos" / "web")

    def test_absolute_path_stays_under_the_directory(self, tmp_path: Path) -> None:
        """Like Go's path.Join, an absolute path is joined under the component directory."""
        component = Component(name="web", type="helm", path="/chart")
        assert chart_location(component, tmp_path) == str(tmp_path / "chart")

    def test_renders_a_local_chart(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """A method: local chart renders with the release named after the component."""
        output = _render(make_request, chart, method="local")
        assert output == (
            b"---\n---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            b'  name: web-cm\ndata:\n  greeting: "hello"\n  namespace: default\n\n'
        )

    def test_renders_a_git_chart(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """A method: git chart is read from helm_repos/<name>/<path>."""
        write_chart(tmp_path / "helm_repos" / "web" / "stable" / "demo")
        output = _render(make_request, tmp_path, method="git", path="stable/demo")
        assert b"name: web-cm" in output

    def test_renders_a_helm_chart(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """A method: helm chart is read from helm_repos/<name>."""
        write_chart(tmp_path / "helm_repos" / "web")
        output = _render(make_request, tmp_path, method="helm", path="demo")
        assert b"name: web-cm" in output


class TestValues:
    def test_values_are_dumped_with_sorted_keys(self) -> None:
        """The values file is go-yaml's dump of the config, keys sorted at every level."""
        assert values_yaml({"b": 1, "a": {"d": [1, 2], "c": "x"}}) == b"a:\n  c: x\n  d:\n  - 1\n  - 2\nb: 1\n"

    def test_empty_values_are_an_empty_map(self) -> None:
        """An empty config gives the values file {}."""
        assert values_yaml({}) == b"{}\n"

    def test_helm_reads_the_values(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """The merged config reaches the chart as its values."""
        output = _render(make_request, chart, config={"greeting": "bonjour"})
        assert b'greeting: "bonjour"' in output

    def test_values_never_touch_the_disk(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """helm reads the values on its stdin: no temporary file is written (values may hold secrets)."""
        import tempfile

        assert b'greeting: "secret"' in _render(make_request, chart, config={"greeting": "secret"})
        assert list(Path(tempfile.gettempdir()).iterdir()) == []


class TestNamespace:
    def test_default_namespace(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """Without a namespace in the config helm gets --namespace default."""
        assert b"namespace: default\n" in _render(make_request, chart)

    def test_configured_namespace(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """The config's namespace is given to helm."""
        assert b"namespace: team-a\n" in _render(make_request, chart, namespace="team-a")


class TestHelmOutput:
    def test_stderr_warning_is_the_first_document(
        self, helm_major: int, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """By default helm's stderr is part of the output, as in Fabrikate: helm 3's warning parses as a map
        and is kept first; helm 4 logs it as ``level=WARN msg="..."``, a plain string, which the cleaning drops."""
        write_chart(tmp_path / "chart", deprecated=True)
        output = _render(make_request, tmp_path)
        if helm_major == 3:
            assert output.startswith(
                b"---\nWARNING: This chart is deprecated\n---\n\n# Source: demo/templates/cm.yaml\n"
            )
        else:
            assert output.startswith(b"---\n\n# Source: demo/templates/cm.yaml\n")
            assert b"deprecated" not in output

    def test_separate_stderr_is_logged_not_rendered(
        self,
        helm_binary: str,
        tmp_path: Path,
        make_request: MakeRequest,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """FABPROMOTE_HELM_STDERR=separate keeps the warning out of the manifests and logs it."""
        write_chart(tmp_path / "chart", deprecated=True)
        monkeypatch.setenv("FABPROMOTE_HELM_STDERR", "separate")
        with caplog.at_level(logging.WARNING, logger="fabpromote.helm"):
            output = _render(make_request, tmp_path)
        assert output.startswith(b"---\n---\n# Source: demo/templates/cm.yaml\n")
        assert b"WARN" not in output
        assert "this chart is deprecated" in caplog.text.lower()  # helm 4 writes it in lower case

    def test_separate_stderr_warning_is_logged_on_cache_hits(
        self,
        helm_binary: str,
        tmp_path: Path,
        make_request: MakeRequest,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A render served from the cache logs helm's warning again."""
        write_chart(tmp_path / "chart", deprecated=True)
        monkeypatch.setenv("FABPROMOTE_HELM_STDERR", "separate")
        _render(make_request, tmp_path)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="fabpromote.helm"):
            _render(make_request, tmp_path)
        assert fabpromote_helm.stats().cache_hits == 1
        assert "this chart is deprecated" in caplog.text.lower()

    def test_comment_only_documents_are_dropped(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A template that renders only a comment leaves no document."""
        write_chart(tmp_path / "chart", templates={"cm.yaml": CONFIGMAP, "zz.yaml": "# nothing to see\n"})
        output = _render(make_request, tmp_path)
        assert b"nothing to see" not in output
        assert output.count(b"---\n") == 2

    def test_later_documents_start_with_a_blank_line(
        self, helm_minor: tuple[int, int], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Each kept chunk is emitted verbatim, so the second starts "---\\n\\n# Source".

        helm 4.2 keeps a template file's final newline (its SplitManifests trims
        documents on the left only), so there a blank line also ends the first.
        """
        write_chart(tmp_path / "chart", templates=BLOCK_SCALAR_CHART)
        output = _render(make_request, tmp_path)
        end_of_first = b"    echo two\n\n" if helm_minor >= (4, 2) else b"    echo two\n"
        assert end_of_first + b"---\n\n# Source: demo/templates/svc.yaml\n" in output
        assert output.endswith(b"  - port: 80\n\n")


class TestInjectNamespace:
    def test_block_scalar_becomes_strip_chomped(
        self, helm_minor: tuple[int, int], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Re-serialized documents get the namespace, sorted keys, and a trailing | turned into |-.

        Not with helm 4.2, which keeps the file's final newline: the block keeps it too.
        """
        write_chart(tmp_path / "chart", templates=BLOCK_SCALAR_CHART)
        output = _render(make_request, tmp_path, namespace="team-a", inject_namespace=True)
        chomp = b"|" if helm_minor >= (4, 2) else b"|-"
        assert output == (
            b"---\napiVersion: v1\ndata:\n  script: " + chomp + b"\n    echo one\n    echo two\nkind: ConfigMap\n"
            b"metadata:\n  name: web-cm\n  namespace: team-a\n\n"
            b"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-svc\n  namespace: elsewhere\n"
            b"spec:\n  ports:\n  - port: 80\n\n"
        )

    def test_inject_without_namespace_keeps_the_text(
        self, helm_binary: str, chart: Path, make_request: MakeRequest
    ) -> None:
        """injectNamespace without a namespace leaves helm's text as it is."""
        plain = _render(make_request, chart)
        assert _render(make_request, chart, inject_namespace=True) == plain


class TestFailures:
    def test_helm_failure_names_component_chart_and_message(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A failing template raises GeneratorError with helm's own message."""
        write_chart(tmp_path / "chart", templates={"x.yaml": '{{ fail "boom" }}\n'})
        with pytest.raises(GeneratorError) as caught:
            _render(make_request, tmp_path)
        message = str(caught.value)
        assert "'web'" in message
        assert str(tmp_path / "chart") in message
        assert "boom" in message

    def test_missing_chart_is_a_generator_error(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A chart folder that does not exist fails with helm's 'not found'."""
        with pytest.raises(GeneratorError, match="not found"):
            _render(make_request, tmp_path, path="nowhere")

    def test_missing_helm_on_path(
        self, tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without FABPROMOTE_HELM and helm on PATH the error says how to install helm."""
        monkeypatch.delenv("FABPROMOTE_HELM", raising=False)
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        with pytest.raises(GeneratorError, match=r"helm was not found on PATH.*install helm.*FABPROMOTE_HELM"):
            _render(make_request, tmp_path)

    def test_fabpromote_helm_pointing_nowhere(
        self, tmp_path: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FABPROMOTE_HELM naming a missing file is an error with the install hint."""
        monkeypatch.setenv("FABPROMOTE_HELM", str(tmp_path / "no-helm"))
        with pytest.raises(GeneratorError, match="is not an executable file; install helm"):
            _render(make_request, tmp_path)

    @pytest.mark.parametrize("version", ["v2.17.0+ga690bad", "v5.0.0", "unknown"])
    def test_unsupported_helm_is_refused(self, tmp_path: Path, make_request: MakeRequest, version: str) -> None:
        """helm 3 and 4 render; another major is refused before any render, naming it."""
        other = tmp_path / "other-helm"
        other.write_text(f'#!/bin/sh\nif [ "$1" = version ]; then echo {version}; exit 0; fi\nexit 99\n')
        other.chmod(0o755)
        write_chart(tmp_path / "chart")
        generator = HelmGenerator(settings=HelmSettings(helm=str(other)))
        with pytest.raises(GeneratorError, match=rf"helm at {other} is {re.escape(version)}: .*helm 3 or 4"):
            generator.generate(make_request(tmp_path))

    def test_timeout_kills_helm(self, tmp_path: Path, make_request: MakeRequest) -> None:
        """A helm that outlives the timeout is killed and the render fails clearly."""
        slow = tmp_path / "slow-helm"
        slow.write_text('#!/bin/sh\nif [ "$1" = version ]; then echo v3.18.0-slow; exit 0; fi\nexec sleep 60\n')
        slow.chmod(0o755)
        write_chart(tmp_path / "chart")
        generator = HelmGenerator(settings=HelmSettings(helm=str(slow), helm_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(GeneratorError, match=r"did not finish within 0.5 s and was killed"):
            generator.generate(make_request(tmp_path))
        assert time.monotonic() - started < 10

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("FABPROMOTE_HELM_STDERR", "both"),
            ("FABPROMOTE_HELM_SPLIT", "lines"),
            ("FABPROMOTE_HELM_TIMEOUT", "soon"),
            ("FABPROMOTE_HELM_TIMEOUT", "-1"),
            ("FABPROMOTE_HELM_BACKEND", "go"),
        ],
    )
    def test_bad_setting_is_an_error(self, variable: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A setting with a value that is not allowed names the variable."""
        monkeypatch.setenv(variable, value)
        with pytest.raises(FabpromoteError, match=variable):
            HelmGenerator.from_env()


class TestSettings:
    @pytest.mark.parametrize(
        ("user", "seen"),
        [
            ({}, "GOGC=off GOMEMLIMIT=256MiB GOMAXPROCS=1 LC_ALL=fr_FR.UTF-8"),
            ({"GOGC": "100"}, "GOGC=100 GOMEMLIMIT= GOMAXPROCS=1 LC_ALL=fr_FR.UTF-8"),
            ({"GOMEMLIMIT": "2GiB", "GOMAXPROCS": "4"}, "GOGC= GOMEMLIMIT=2GiB GOMAXPROCS=4 LC_ALL=fr_FR.UTF-8"),
            ({"LC_ALL": "de_DE.UTF-8"}, "GOGC=off GOMEMLIMIT=256MiB GOMAXPROCS=1 LC_ALL=fr_FR.UTF-8"),
        ],
    )
    def test_go_runtime_settings(
        self,
        tmp_path: Path,
        make_request: MakeRequest,
        monkeypatch: pytest.MonkeyPatch,
        user: dict[str, str],
        seen: str,
    ) -> None:
        """helm template runs with GC off up to a soft limit and one thread, unless the user chose.

        Its locale is always the one with a short kubectl message catalogue
        (see ``_helm._TEMPLATE_LOCALE``; test_helm_env.py shows the output is the same).
        """
        for name in ("GOGC", "GOMEMLIMIT", "GOMAXPROCS", "LC_ALL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in user.items():
            monkeypatch.setenv(name, value)
        reporter = tmp_path / "env-helm"
        reporter.write_text(
            '#!/bin/sh\nif [ "$1" = version ]; then echo v0.0.0-env; exit 0; fi\n'
            'echo "seen: GOGC=$GOGC GOMEMLIMIT=$GOMEMLIMIT GOMAXPROCS=$GOMAXPROCS LC_ALL=$LC_ALL"\n'
        )
        reporter.chmod(0o755)
        write_chart(tmp_path / "chart")
        generator = HelmGenerator(settings=HelmSettings(helm=str(reporter), render_cache=False))
        assert generator.generate(make_request(tmp_path)).splitlines()[1] == f"seen: {seen}".encode()

    def test_defaults_are_compatible(self) -> None:
        """With no variables set: helm from PATH, 300 s, combined stderr, literal split, cache on."""
        assert HelmSettings.from_env({}) == HelmSettings(
            helm=None, helm_timeout=300.0, helm_stderr="combine", helm_split="compat", render_cache=True
        )

    def test_every_variable_is_read(self) -> None:
        """Each setting has its FABPROMOTE_ variable."""
        environ = {
            "FABPROMOTE_HELM": "/opt/helm",
            "FABPROMOTE_HELM_TIMEOUT": "12.5",
            "FABPROMOTE_HELM_STDERR": "separate",
            "FABPROMOTE_HELM_SPLIT": "documents",
            "FABPROMOTE_NO_RENDER_CACHE": "1",
            "FABPROMOTE_HELM_BACKEND": "sdk",
        }
        assert HelmSettings.from_env(environ) == HelmSettings(
            helm="/opt/helm",
            helm_timeout=12.5,
            helm_stderr="separate",
            helm_split="documents",
            render_cache=False,
            helm_backend="sdk",
        )

    def test_no_render_cache_zero_keeps_the_cache(self) -> None:
        """FABPROMOTE_NO_RENDER_CACHE=0 (or empty) leaves the cache on."""
        assert HelmSettings.from_env({"FABPROMOTE_NO_RENDER_CACHE": "0"}).render_cache

    def test_constructor_validates(self) -> None:
        """Building settings in Python rejects unknown modes and bad timeouts."""
        with pytest.raises(ValueError, match="helm_stderr"):
            HelmSettings(helm_stderr="both")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="helm_timeout"):
            HelmSettings(helm_timeout=0)
