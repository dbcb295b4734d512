"""`--validate`: rendered manifests against the Kubernetes schemas (kubernetes-validate), offline."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote import Manifests, validate
from fabpromote.cli import main
from fabpromote.exceptions import FabpromoteError, ValidationError
from fabpromote.testing.gitrepos import WorkRepo, git

if TYPE_CHECKING:
    from tests.conftest import WriteTree

pytest.importorskip("kubernetes_validate")

NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cat\n"


def deployment(replicas: str = "2", extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: cat
          namespace: cat
        spec:
          replicas: {replicas}
          selector:
            matchLabels: {{app: cat}}
          template:
            metadata:
              labels: {{app: cat}}
            spec:
              containers:
              - name: cat
                image: ghcr.io/org/cat:v1.1.0
                ports:
                - containerPort: 8080{extra}
        """
    )


CERTIFICATE = textwrap.dedent(
    """\
    apiVersion: cert-manager.io/v1
    kind: Certificate
    metadata:
      name: cat
    spec:
      secretName: cat-tls
      dnsNames: [cat.example.com]
    """
)


class TestValidate:
    """The library function."""

    def test_valid_deployment_passes(self) -> None:
        """A Namespace and a Deployment in one file (two documents) both pass."""
        report = validate(Manifests({"app/app.yaml": f"---\n{NAMESPACE}---\n{deployment()}".encode()}))
        assert report.ok
        assert report.checked == 2
        assert report.unchecked == ()
        report.raise_for_errors()

    def test_invalid_deployment_names_file_document_and_field(self) -> None:
        """A wrongly typed field fails with the file, the 1-based document index and the field path."""
        files = Manifests({"app/app.yaml": f"{NAMESPACE}---\n{deployment(replicas='x')}".encode()})
        report = validate(files, kubernetes_version="1.32")
        assert report.errors == ("app/app.yaml, document 2: spec.replicas: 'x' is not of type 'integer'",)
        with pytest.raises(ValidationError) as info:
            report.raise_for_errors()
        assert str(info.value) == "app/app.yaml, document 2: spec.replicas: 'x' is not of type 'integer'"
        assert isinstance(info.value, FabpromoteError)
        assert isinstance(info.value, ValueError)

    def test_unknown_field_is_an_error(self) -> None:
        """Validation is strict like kubectl's default: a misspelt field fails."""
        files = Manifests({"d.yaml": deployment(extra="\n                imagePullPolicyy: Always").encode()})
        (error,) = validate(files).errors
        assert error.startswith("d.yaml, document 1: spec.template.spec.containers.0: ")
        assert "'imagePullPolicyy' was unexpected" in error

    def test_every_error_is_reported(self) -> None:
        """Errors in several files are all listed; the exception counts the rest."""
        bad = deployment(replicas="x").encode()
        report = validate(Manifests({"a.yaml": bad, "b.yaml": bad}))
        assert [error.split(",")[0] for error in report.errors] == ["a.yaml", "b.yaml"]
        with pytest.raises(ValidationError, match=r"\(and 1 more\)$") as info:
            report.raise_for_errors()
        assert info.value.errors == report.errors

    def test_custom_resource_is_unchecked_not_an_error(self) -> None:
        """A kind without a bundled schema (a CRD instance) is reported as unchecked."""
        report = validate(Manifests({"certs/cert.yaml": CERTIFICATE.encode()}), kubernetes_version="1.32")
        assert report.ok
        assert report.checked == 0
        assert [str(item) for item in report.unchecked] == [
            "certs/cert.yaml, document 1: no schema for Certificate cert-manager.io/v1 in Kubernetes 1.32"
        ]

    def test_non_yaml_file_is_skipped(self) -> None:
        """A file that is not .yaml/.yml (a README) is listed as not checked, whatever it holds."""
        report = validate(Manifests({"README.md": b"# cat\n\nnot: [yaml\n", "app.yaml": NAMESPACE.encode()}))
        assert report.ok
        assert report.checked == 1
        assert [str(item) for item in report.unchecked] == ["README.md: not a YAML file"]

    def test_broken_yaml_is_an_error(self) -> None:
        """A .yaml file that does not parse fails with its name and line."""
        (error,) = validate(Manifests({"app.yaml": b"kind: ConfigMap\ndata: [1,\n"})).errors
        assert error.startswith("app.yaml: not valid YAML (line 3)")

    def test_document_without_kind_is_an_error(self) -> None:
        """Something that is not a Kubernetes object fails; empty documents are ignored."""
        files = Manifests({"a.yaml": b"---\n---\napiVersion: v1\ndata: {a: b}\n---\n- 1\n"})
        assert validate(files).errors == (
            "a.yaml, document 2: not a Kubernetes object: no kind",
            "a.yaml, document 3: a Kubernetes object is a map, not list",
        )

    def test_unknown_kubernetes_version(self) -> None:
        """A version kubernetes-validate has no schemas for is a clear error."""
        with pytest.raises(FabpromoteError, match=r"no Kubernetes 0\.1 schemas"):
            validate(Manifests({"a.yaml": NAMESPACE.encode()}), kubernetes_version="0.1")


class TestGenerateValidate:
    """`fabpromote generate --validate`."""

    def test_valid_writes(self, write_tree: WriteTree, capsys: pytest.CaptureFixture[str]) -> None:
        """Valid manifests are written; a custom resource is one 'not checked' line on stderr."""
        root = write_tree(
            {
                "component.yaml": "name: app\ntype: static\npath: m\n",
                "m/deploy.yaml": deployment(),
                "m/cert.yaml": CERTIFICATE,
            }
        )
        assert main(["generate", "--path", str(root), "--validate"]) == 0
        assert (root / "generated" / "common" / "app.yaml").is_file()
        err = capsys.readouterr().err
        assert "fabpromote: not checked: app.yaml, document 1: no schema for Certificate cert-manager.io/v1" in err

    def test_invalid_writes_nothing(self, write_tree: WriteTree, capsys: pytest.CaptureFixture[str]) -> None:
        """A schema error exits 1 with one line naming file, document and field, and writes nothing."""
        root = write_tree({"component.yaml": "name: app\ntype: static\npath: m\n", "m/deploy.yaml": deployment("x")})
        assert main(["generate", "--path", str(root), "--validate"]) == 1
        err = capsys.readouterr().err
        assert err == "fabpromote: error: app.yaml, document 1: spec.replicas: 'x' is not of type 'integer'\n"
        assert not (root / "generated").exists()
        assert main(["generate", "--path", str(root)]) == 0  # without --validate nothing is checked


@pytest.fixture(name="cluster_repos")
def _cluster_repos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[WorkRepo, Path]:
    """An app repo (dev branch), a cluster HLD pointing at it, a bare manifests repo; returns (app, config)."""
    app = WorkRepo.create(
        tmp_path / "app", {"hld/component.yaml": "name: cat\ntype: static\npath: ./m\n"}, branch="dev"
    )
    app.commit({"hld/m/deploy.yaml": deployment()}, "v1")
    hld = WorkRepo.create(
        tmp_path / "hld",
        {
            "component.yaml": f"name: cluster\nsubcomponents:\n- name: cat\n  method: git\n  source: {app.url}\n  branch: dev\n  path: hld\n"
        },
        branch="dev",
    )
    git("init", "-q", "--bare", str(tmp_path / "manifests.git"))
    config = tmp_path / "fabpromote.yaml"
    config.write_text(f"name: east\nhld: {hld.url}\nmanifests: {tmp_path / 'manifests.git'}\n")
    return app, config


class TestMaterializeValidate:
    """`fabpromote materialize --validate`."""

    def test_valid_publishes(self, cluster_repos: tuple[WorkRepo, Path], capsys: pytest.CaptureFixture[str]) -> None:
        """Valid manifests are published."""
        _, config = cluster_repos
        assert main(["materialize", "dev", "--config", str(config), "--validate", "--publish"]) == 0
        assert "published to" in capsys.readouterr().out

    def test_invalid_publishes_nothing(
        self, cluster_repos: tuple[WorkRepo, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A schema error stops before --out and --publish: nothing is written or pushed."""
        app, config = cluster_repos
        app.commit({"hld/m/deploy.yaml": deployment(replicas="many")}, "broken")
        out = config.parent / "out"
        code = main(["materialize", "dev", "--config", str(config), "--validate", "--publish", "--out", str(out)])
        assert code == 1
        err = capsys.readouterr().err
        assert "fabpromote: error: cat/cat.yaml, document 1: spec.replicas: 'many' is not of type 'integer'" in err
        assert not out.exists()
        assert git("--git-dir", str(config.parent / "manifests.git"), "branch", "--list") == ""
