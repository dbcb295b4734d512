"""The kustomize generator with the real ``kubectl kustomize``: local and git folders, images and
namespace per environment, and every bad input named."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from fabpromote import generate
from fabpromote.cli import main
from fabpromote.exceptions import GeneratorError, UnsafePathError
from fabpromote.testing.plugin import GitRepoFactory, HldTree

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl (kubectl kustomize) on PATH")

BASE = {
    "web/base/kustomization.yaml": "resources: [deployment.yaml]\ncommonLabels: {app: web}\n",
    "web/base/deployment.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              containers:
                - {name: web, image: ghcr.io/example/web:1.0.0}
                - {name: proxy, image: nginx:1.27}
        """,
    "web/overlays/prod/kustomization.yaml": "resources: [../../base]\nnamePrefix: prod-\n",
}
ROOT = """
    name: cluster
    subcomponents:
      - name: web
        type: kustomize
        path: ./web/overlays/prod
    """


def _kustomize(folder: Path) -> bytes:
    return subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, check=True).stdout


def _documents(data: bytes) -> list[dict]:
    return list(yaml.safe_load_all(data))


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_renders_the_folder_as_kubectl_does(hld_tree: HldTree) -> None:
    root = hld_tree({"component.yaml": ROOT, **BASE})
    manifests = generate(root, ["prod"])
    assert manifests["web.yaml"] == _kustomize(root / "web" / "overlays" / "prod")
    (deployment,) = _documents(manifests["web.yaml"])
    assert deployment["metadata"]["name"] == "prod-web"


def test_environment_config_sets_images_and_namespace(hld_tree: HldTree) -> None:
    """prod's config sets two images and the namespace; dev sets nothing; the user's files stay as they were."""
    prod = """
        subcomponents:
          web:
            namespace: shop
            config:
              images:
                - {name: ghcr.io/example/web, newTag: "2.4.1"}
                - {name: nginx, newName: registry.example.com/nginx, digest: "sha256:%s"}
        """ % ("a" * 64)
    root = hld_tree({"component.yaml": ROOT, **BASE, "config/prod.yaml": prod})
    before = _digests(root)
    (deployment,) = _documents(generate(root, ["prod"])["web.yaml"])
    assert deployment["metadata"] == {"labels": {"app": "web"}, "name": "prod-web", "namespace": "shop"}
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == ["ghcr.io/example/web:2.4.1", "registry.example.com/nginx@sha256:" + "a" * 64]
    (plain,) = _documents(generate(root, ["dev"])["web.yaml"])
    assert "namespace" not in plain["metadata"]
    assert plain["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/web:1.0.0"
    assert _digests(root) == before


def test_a_folder_in_a_git_repository(hld_tree: HldTree, git_repo: GitRepoFactory) -> None:
    shop = git_repo("shop", {"deploy/" + name.removeprefix("web/"): text for name, text in BASE.items()})
    root = hld_tree(
        {
            "component.yaml": f"""
                name: cluster
                subcomponents:
                  - name: shop
                    type: kustomize
                    method: git
                    source: {shop.url}
                    branch: master
                    path: deploy/overlays/prod
                """,
            "config/common.yaml": "subcomponents:\n  shop:\n    config:\n      images: [{name: nginx, newTag: '1.28'}]\n",
        }
    )
    (deployment,) = _documents(generate(root, ["prod"])["shop.yaml"])
    assert deployment["metadata"]["name"] == "prod-web"
    assert deployment["spec"]["template"]["spec"]["containers"][1]["image"] == "nginx:1.28"


def test_the_cli_writes_it(hld_tree: HldTree, capsys: pytest.CaptureFixture[str]) -> None:
    root = hld_tree({"component.yaml": ROOT, **BASE})
    assert main(["generate", "prod", "--path", str(root)]) == 0
    written = root / "generated" / "prod" / "web.yaml"
    assert written.read_bytes() == _kustomize(root / "web" / "overlays" / "prod")


BAD_CONFIG = [
    ("config: {replicas: 3}", "config.replicas: unknown field (kustomize takes images)"),
    ("config: {images: {name: nginx}}", "config.images: expected a list of images"),
    ("config: {images: [nginx]}", "config.images[0]: expected a map"),
    (
        "config: {images: [{name: nginx, newTag: 1.20}]}",
        "config.images[0].newTag: expected a non-empty string, got 1.2 (quote it)",
    ),
    ("config: {images: [{name: nginx, tag: '1'}]}", "config.images[0].tag: unknown field"),
    ("config: {images: [{newTag: '1'}]}", "config.images[0]: name is missing"),
    ("config: {images: [{name: nginx}]}", "config.images[0]: sets nothing"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIG, ids=[m for _, m in BAD_CONFIG])
def test_bad_config_is_named(hld_tree: HldTree, config: str, message: str) -> None:
    root = hld_tree({"component.yaml": ROOT, **BASE, "config/prod.yaml": f"subcomponents:\n  web:\n    {config}\n"})
    with pytest.raises(GeneratorError) as error:
        generate(root, ["prod"])
    assert f"component 'web': {message}" in str(error.value)


def test_no_kustomization_there(hld_tree: HldTree) -> None:
    root = hld_tree({"component.yaml": ROOT.replace("overlays/prod", "overlays/staging"), **BASE})
    with pytest.raises(GeneratorError, match=r"component 'web': no kustomization.yaml in .*overlays/staging"):
        generate(root, ["prod"])


def test_a_path_out_of_a_fetched_repository_is_refused(hld_tree: HldTree, git_repo: GitRepoFactory) -> None:
    """A folder of the user's own tree may be anywhere (as helm charts); a fetched one stays in its repository."""
    shop = git_repo("shop", {"deploy/kustomization.yaml": "resources: []\n"})
    root = hld_tree(
        {
            "component.yaml": f"name: c\nsubcomponents:\n- name: shop\n  type: kustomize\n  method: git\n"
            f"  source: {shop.url}\n  branch: master\n  path: deploy/../../../elsewhere\n"
        }
    )
    with pytest.raises(UnsafePathError):
        generate(root, ["prod"])


def test_kubectl_failing_is_reported(hld_tree: HldTree) -> None:
    root = hld_tree({"component.yaml": ROOT, **BASE, "web/base/kustomization.yaml": "resources: [missing.yaml]\n"})
    with pytest.raises(
        GeneratorError, match=r"component 'web': kubectl kustomize .*overlays/prod failed: .*missing.yaml"
    ):
        generate(root, ["prod"])


def test_kubectl_not_found(hld_tree: HldTree, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FABPROMOTE_KUBECTL", str(tmp_path / "no-kubectl"))
    root = hld_tree({"component.yaml": ROOT, **BASE})
    with pytest.raises(GeneratorError, match=r"not found on PATH .*FABPROMOTE_KUBECTL"):
        generate(root, ["prod"])
