"""`fabpromote flux`: the Flux GitRepository and Kustomization, checked against the Flux CRD schemas offline."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabpromote._cli import main
from fabpromote._cluster import Cluster, Environment, Pipeline, Repo
from fabpromote._flux import flux_manifests, flux_url
from fabpromote.exceptions import HLDError, UnknownNameError

jsonschema = pytest.importorskip("jsonschema")

#: The spec schemas of the Flux v1 CRDs (see tests/data/flux/README.md for their source).
SCHEMAS = Path(__file__).parent / "data" / "flux"


def schema_for(obj: dict[str, Any]) -> dict[str, Any]:
    name = {"GitRepository": "gitrepository_v1.json", "Kustomization": "kustomization_v1.json"}[obj["kind"]]
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return schema


def schema_errors(obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema_for(obj))
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj))


def cluster(manifests: str = "https://user:s3cret@github.com/org/east-manifests.git") -> Cluster:
    environments = (
        Environment(name="dev"),
        Environment(name="stage"),
        Environment(name="prod", manifests_branch="release/prod", protected=True),
    )
    return Cluster(
        name="East",
        hld=Repo(url="https://github.com/org/cluster-hld"),
        manifests=Repo(url=manifests),
        pipeline=Pipeline(environments=environments),
    )


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


class TestFluxManifests:
    """The library function."""

    def test_objects_match_the_flux_crd_schemas(self) -> None:
        """Both objects validate against the v1 CRD schemas (unknown fields rejected)."""
        source, kustomization = documents(flux_manifests(cluster(), "dev", secret="east-git"))
        assert (source["apiVersion"], source["kind"]) == ("source.toolkit.fluxcd.io/v1", "GitRepository")
        assert (kustomization["apiVersion"], kustomization["kind"]) == (
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
        )
        assert schema_errors(source) == []
        assert schema_errors(kustomization) == []

    def test_the_schemas_have_teeth(self) -> None:
        """The vendored schemas reject a misspelt field, a bad duration and a file:// URL."""
        source, kustomization = documents(flux_manifests(cluster(), "dev"))
        source["spec"]["ref"]["brnach"] = "dev"
        source["spec"]["url"] = "file:///srv/manifests.git"
        kustomization["spec"]["interval"] = "1 minute"
        del kustomization["spec"]["prune"]
        assert {e.split(":")[0] for e in schema_errors(source)} == {"spec.ref", "spec.url"}
        assert {e.split(":")[0] for e in schema_errors(kustomization)} == {"spec", "spec.interval"}

    def test_source_follows_the_manifests_branch(self) -> None:
        """spec.url is the manifests URL without credentials; ref.branch is the env's manifests branch."""
        source, kustomization = documents(flux_manifests(cluster(), "prod", interval="5m"))
        assert source["metadata"] == {
            "name": "east-prod",
            "namespace": "flux-system",
            "labels": {"app.kubernetes.io/managed-by": "fabpromote"},
        }
        assert source["spec"] == {
            "interval": "5m",
            "url": "https://github.com/org/east-manifests.git",
            "ref": {"branch": "release/prod"},
        }
        assert kustomization["spec"] == {
            "interval": "5m",
            "sourceRef": {"kind": "GitRepository", "name": "east-prod"},
            "path": "./",
            "prune": True,
        }

    def test_secret_and_namespace(self) -> None:
        """--secret adds secretRef; --namespace moves both objects."""
        source, kustomization = documents(flux_manifests(cluster(), "dev", secret="git-auth", namespace="gitops"))
        assert source["spec"]["secretRef"] == {"name": "git-auth"}
        assert {source["metadata"]["namespace"], kustomization["metadata"]["namespace"]} == {"gitops"}
        assert "s3cret" not in flux_manifests(cluster(), "dev", secret="git-auth")

    def test_no_yaml_aliases(self) -> None:
        """The output is plain YAML: no anchors or aliases for shared parts."""
        text = flux_manifests(cluster(), "dev")
        assert "&id" not in text
        assert "*id" not in text
        assert text.startswith("# ")

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("git@github.com:org/m.git", "ssh://git@github.com/org/m.git"),
            ("ssh://git:pw@git.example.com:2222/org/m.git", "ssh://git@git.example.com:2222/org/m.git"),
            ("https://oauth2:tok@gitlab.com/org/m.git", "https://gitlab.com/org/m.git"),
            ("http://127.0.0.1:8080/m.git", "http://127.0.0.1:8080/m.git"),
        ],
    )
    def test_urls(self, url: str, expected: str) -> None:
        """scp-like URLs become ssh://; passwords and http(s) user info are dropped."""
        assert flux_url(url) == expected
        source, _ = documents(flux_manifests(cluster(url), "dev"))
        assert schema_errors(source) == []

    @pytest.mark.parametrize("url", ["/srv/git/manifests.git", "file:///srv/m.git", "git://host/m.git"])
    def test_urls_flux_cannot_clone(self, url: str) -> None:
        """Local paths and git:// are refused with the field named."""
        with pytest.raises(HLDError, match=r"manifests\.url.*Flux clones http\(s\) and ssh URLs only"):
            flux_manifests(cluster(url), "dev")

    @pytest.mark.parametrize(
        ("option", "value"),
        [("interval", "1 minute"), ("namespace", "Flux_System"), ("secret", "Git Auth"), ("name", "-x")],
    )
    def test_bad_arguments(self, option: str, value: str) -> None:
        """Values Kubernetes or Flux would reject are refused before printing anything."""
        with pytest.raises(HLDError, match=f"--{option}"):
            flux_manifests(cluster(), "dev", **{option: value})

    def test_unknown_environment(self) -> None:
        """An environment the cluster does not have lists the known ones."""
        with pytest.raises(UnknownNameError, match="dev, stage, prod"):
            flux_manifests(cluster(), "qa")

    def test_kubernetes_validate_reports_them_unchecked(self) -> None:
        """kubernetes-validate has no schema for Flux kinds: both are unchecked, not errors."""
        pytest.importorskip("kubernetes_validate")
        from fabpromote._manifests import Manifests
        from fabpromote._validate import validate

        report = validate(Manifests({"flux.yaml": flux_manifests(cluster(), "dev").encode()}))
        assert report.ok
        assert [item.document for item in report.unchecked] == [1, 2]

    @pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl")
    def test_kubectl_kustomize_reads_them(self, tmp_path: Path) -> None:
        """kubectl's kustomize (offline) loads both objects unchanged.

        `kubectl apply --dry-run=client` is not used: it needs an API server for discovery.
        """
        (tmp_path / "flux.yaml").write_text(flux_manifests(cluster(), "stage", secret="git"))
        (tmp_path / "kustomization.yaml").write_text("resources:\n- flux.yaml\n")
        done = subprocess.run(
            ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        built = sorted(documents(done.stdout), key=lambda doc: doc["kind"])
        assert built == sorted(documents(flux_manifests(cluster(), "stage", secret="git")), key=lambda d: d["kind"])


class TestFluxCommand:
    """`fabpromote flux ENV`."""

    def test_prints_manifests(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """It prints exactly what the library returns for the cluster file's cluster."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text(
            "clusters:\n"
            "- name: east\n  hld: https://github.com/org/hld\n  manifests: git@github.com:org/east.git\n"
            "- name: west\n  hld: https://github.com/org/hld\n  manifests: https://github.com/org/west.git\n"
        )
        argv = ["flux", "stage", "--config", str(config), "--cluster", "west", "--secret", "git", "--interval", "2m"]
        assert main(argv) == 0
        out = capsys.readouterr().out
        source, kustomization = documents(out)
        assert source["spec"] == {
            "interval": "2m",
            "url": "https://github.com/org/west.git",
            "ref": {"branch": "stage"},
            "secretRef": {"name": "git"},
        }
        assert kustomization["metadata"]["name"] == "west-stage"
        assert schema_errors(source) == schema_errors(kustomization) == []

    def test_error_is_one_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A manifests repo Flux cannot clone is one error line, exit 1."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text(f"name: east\nhld: {tmp_path}/hld\nmanifests: {tmp_path}/manifests\n")
        assert main(["flux", "dev", "--config", str(config)]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("fabpromote: error: manifests.url: Flux clones http(s) and ssh URLs only")
