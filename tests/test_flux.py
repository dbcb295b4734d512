"""`fabpromote flux`: the Flux GitRepository and Kustomization, checked against the Flux CRD schemas offline.

Two schema checks: the strict JSON Schemas in tests/data/flux (unknown fields rejected,
duration patterns) and the CRD models of the npm package @kubernetes-models/flux-cd,
pinned in scripts/tools/package-lock.json and installed by scripts/bootstrap.sh. Go's
YAML reader is the real one: helm (sigs.k8s.io/yaml, as kubectl and Flux) reads the
output back and prints it as JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabpromote import Cluster, Environment, Pipeline, Repo, flux_manifests
from fabpromote._cluster.flux import flux_name, flux_objects, flux_url
from fabpromote.cli import main
from fabpromote.exceptions import HLDError, UnknownNameError

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).parent.parent
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

#: The spec schemas of the Flux v1 CRDs (see tests/data/flux/README.md for their source).
SCHEMAS = Path(__file__).parent / "data" / "flux"


def schema_for(obj: dict[str, Any]) -> dict[str, Any]:
    name = {"GitRepository": "gitrepository_v1.json", "Kustomization": "kustomization_v1.json"}[obj["kind"]]
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return schema


def schema_errors(obj: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema_for(obj))
    return sorted(f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj))


def cluster(
    manifests: str = "https://user:s3cret@github.com/org/east-manifests.git",
    *,
    name: str = "east",
    envs: tuple[str, ...] = ("dev", "stage"),
    prod_branch: str = "release/prod",
) -> Cluster:
    environments = (
        *(Environment(name=env) for env in envs),
        Environment(name="prod", manifests_branch=prod_branch, protected=True),
    )
    return Cluster(
        name=name,
        hld=Repo(url="https://github.com/org/cluster-hld"),
        manifests=Repo(url=manifests),
        pipeline=Pipeline(environments=environments),
    )


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def _find_npm_tools() -> tuple[Path | None, str]:
    """The bin folder of the pinned npm test tools (scripts/tools), or why there is none.

    Looked up at import, before the autouse fixtures point HOME at tmp_path.
    """
    if shutil.which("node") is None:
        return None, "node is not on PATH: install it (Debian package nodejs) and run scripts/bootstrap.sh"
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-tools.sh"), "--check"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None, done.stderr.strip()
    return Path(done.stdout.strip()), ""


NPM_TOOLS, NPM_TOOLS_MISSING = _find_npm_tools()


def npm_modules() -> Path:
    """The node_modules of the npm test tools; the test fails (not skips) without them."""
    if NPM_TOOLS is None:
        pytest.fail(NPM_TOOLS_MISSING)
    return NPM_TOOLS.parent


def crd_model_errors(objects: list[dict[str, Any]]) -> list[str]:
    """What the Flux CRD models of @kubernetes-models/flux-cd say about the objects (empty: valid)."""
    done = subprocess.run(
        ["node", str(ROOT / "scripts" / "tools" / "validate-flux.mjs"), str(npm_modules())],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.stdout.splitlines()


def helm() -> str:
    found = shutil.which("helm")
    if found is None:
        pytest.fail("helm is not on PATH: run scripts/bootstrap.sh, then put $(bash scripts/install-helm.sh) on PATH")
    return found


def read_by_go(text: str, tmp_path: Path) -> list[Any]:
    """Each YAML document of ``text`` as Go's sigs.k8s.io/yaml reads it: helm loads it as values, prints JSON."""
    chart = tmp_path / "go-reader"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: go-reader\nversion: 0.1.0\n")
    (chart / "templates" / "values.json").write_text("{{ toJson .Values }}\n")
    read = []
    for index, document in enumerate(text.split("---\n")[1:]):
        values = tmp_path / f"document-{index}.yaml"
        values.write_text(document)
        done = subprocess.run(
            [helm(), "template", "go-reader", str(chart), "--values", str(values)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        (line,) = [line for line in done.stdout.splitlines() if line.startswith("{")]
        read.append(json.loads(line))
    return read


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

    def test_objects_match_the_flux_crd_models(self) -> None:
        """Both objects pass the CRD models of @kubernetes-models/flux-cd (the pinned npm package)."""
        for manifests in ("https://github.com/org/m.git", "git@github.com:org/m.git"):
            objects = documents(flux_manifests(cluster(manifests), "prod", secret="git-auth", namespace="gitops"))
            assert crd_model_errors(objects) == []

    def test_the_crd_models_have_teeth(self) -> None:
        """The models reject a file:// URL, a number as branch and a Kustomization without prune."""
        source, kustomization = documents(flux_manifests(cluster(), "dev"))
        source["spec"]["url"] = "file:///srv/manifests.git"
        source["spec"]["ref"]["branch"] = 1000
        del kustomization["spec"]["prune"]
        errors = crd_model_errors([source, kustomization])
        assert len(errors) == 2
        assert "spec/url must match pattern" in errors[0]
        assert "spec/ref/branch must be string" in errors[0]
        assert "required property prune" in errors[1]

    @pytest.mark.parametrize("word", ["1e3", "y", "n", "0o17", "null", "2001-12-14", "0"])
    def test_go_reads_back_the_same_strings(self, word: str, tmp_path: Path) -> None:
        """A namespace, secret and branch that Go would read as a number, boolean, null or date stay strings."""
        source = cluster(prod_branch=word)
        text = flux_manifests(source, "prod", namespace=word, secret=word)
        read = read_by_go(text, tmp_path)
        assert read == flux_objects(source, "prod", namespace=word, secret=word)
        assert {read[0]["spec"]["ref"]["branch"], read[0]["spec"]["secretRef"]["name"]} == {word}
        assert {obj["metadata"]["namespace"] for obj in read} == {word}
        assert crd_model_errors(read) == []

    @pytest.mark.parametrize("branch", ["0x1F", "1:20", ".5", "+1", "Yes", "~", "1_000", "release/1e3"])
    def test_go_reads_back_any_branch(self, branch: str, tmp_path: Path) -> None:
        """Branch names are free text: each reads back from Go as the same string."""
        text = flux_manifests(cluster(prod_branch=branch), "prod")
        (source, _) = read_by_go(text, tmp_path)
        assert source["spec"]["ref"]["branch"] == branch

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
        ("url", "written"),
        [
            ("ssh://git@github.com:org/repo.git", "git@github.com"),
            ("ssh://git:pw@github.com:org/repo.git", "git@github.com"),
            ("ssh://github.com:org/repo.git", "github.com"),
        ],
    )
    def test_scp_like_path_in_an_ssh_url(self, url: str, written: str) -> None:
        """``ssh://host:org/repo`` (scp-like mixed into a URL) is an HLDError naming both right spellings."""
        with pytest.raises(HLDError) as caught:
            flux_manifests(cluster(url), "dev")
        message = str(caught.value)
        assert message.startswith("manifests.url: ")
        assert f"write ssh://{written}/org/repo.git or, scp-like without ssh://, {written}:org/repo.git" in message
        assert "pw" not in message

    def test_malformed_url(self) -> None:
        """A URL urlsplit cannot take (an unclosed IPv6 bracket) is an HLDError too."""
        with pytest.raises(HLDError, match=r"manifests\.url: 'https://\[::1/m\.git' is not a URL Flux can clone"):
            flux_manifests(cluster("https://[::1/m.git"), "dev")

    @pytest.mark.parametrize(
        ("option", "value"),
        [("interval", "1 minute"), ("namespace", "Flux_System"), ("secret", "Git Auth"), ("name", "-x")],
    )
    def test_bad_arguments(self, option: str, value: str) -> None:
        """Values Kubernetes or Flux would reject are refused before printing anything."""
        with pytest.raises(HLDError, match=f"--{option}"):
            flux_manifests(cluster(), "dev", **{option: value})

    def test_long_cluster_names_keep_environments_apart(self) -> None:
        """A cluster name past 63 characters gives dev and prod different names, each a DNS label."""
        long = cluster(name="production-cluster-in-the-west-europe-region-with-a-long-name-1")
        names = {flux_objects(long, env)[0]["metadata"]["name"] for env in ("dev", "stage", "prod")}
        assert len(names) == 3
        assert all(DNS_LABEL.fullmatch(name) and len(name) <= 63 for name in names)

    def test_hyphens_do_not_make_pairs_collide(self) -> None:
        """Cluster a-b with env c and cluster a with env b-c get different names."""
        first = flux_objects(cluster(name="a-b", envs=("c",)), "c")[0]["metadata"]["name"]
        second = flux_objects(cluster(name="a", envs=("b-c",)), "b-c")[0]["metadata"]["name"]
        assert first != second

    def test_simple_names_stay_readable(self) -> None:
        """A lower-case cluster and a letters-and-digits environment give <cluster>-<env>, as before."""
        assert flux_name("east", "prod") == "east-prod"
        assert flux_name("west-eu-1", "dev2") == "west-eu-1-dev2"

    @pytest.mark.parametrize(
        ("name", "env"), [("East", "prod"), ("a", "b-c"), ("a--b", "c"), ("a_b", "c"), ("x" * 70, "dev")]
    )
    def test_other_names_carry_a_digest(self, name: str, env: str) -> None:
        """Anything else: the readable part, then -- and 10 characters of the pair's sha256."""
        result = flux_name(name, env)
        assert re.fullmatch(r"[a-z0-9-]*[a-z0-9]--[a-z2-7]{10}", result), result
        assert len(result) <= 63
        assert flux_name(name, env) == result

    @settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        first=st.tuples(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=20)),
        second=st.tuples(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=20)),
    )
    def test_names_are_labels_and_distinct(self, first: tuple[str, str], second: tuple[str, str]) -> None:
        """Any two different (cluster, env) pairs get different names, each a DNS label of at most 63 characters."""
        names = {pair: flux_name(*pair) for pair in (first, second)}
        for name in names.values():
            assert DNS_LABEL.fullmatch(name), name
        assert len(set(names.values())) == len(names)

    def test_name_is_checked(self) -> None:
        """An explicit name past 63 characters is refused: Flux writes it into label values."""
        with pytest.raises(HLDError, match="--name"):
            flux_manifests(cluster(), "dev", name="x" * 64)

    def test_unknown_environment(self) -> None:
        """An environment the cluster does not have lists the known ones."""
        with pytest.raises(UnknownNameError, match="dev, stage, prod"):
            flux_manifests(cluster(), "qa")

    def test_kubernetes_validate_reports_them_unchecked(self) -> None:
        """kubernetes-validate has no schema for Flux kinds: both are unchecked, not errors."""
        pytest.importorskip("kubernetes_validate")
        from fabpromote._engine.manifests import Manifests
        from fabpromote._engine.validate import validate

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

    def test_scp_like_ssh_url_is_one_error_line(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """manifests: ssh://git@github.com:org/repo.git ends in one error line and exit 1, no traceback."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text("name: east\nhld: https://github.com/org/hld\nmanifests: ssh://git@github.com:org/repo.git\n")
        assert main(["flux", "dev", "--config", str(config)]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        (line,) = captured.err.splitlines()
        assert line.startswith("fabpromote: error: manifests.url: 'ssh://git@github.com:org/repo.git' is not a URL")
        assert "ssh://git@github.com/org/repo.git" in line

    def test_output_is_what_go_reads(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The printed YAML, read by Go (helm), holds the branch and namespace as the strings given."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text(
            "name: east\nhld: https://github.com/org/hld\nmanifests: https://github.com/org/m.git\n"
            'environments:\n- name: dev\n  manifests_branch: "y"\n'
        )
        assert main(["flux", "dev", "--config", str(config), "--namespace", "1e3", "--secret", "0o17"]) == 0
        source, kustomization = read_by_go(capsys.readouterr().out, tmp_path)
        assert source["spec"]["ref"] == {"branch": "y"}
        assert source["spec"]["secretRef"] == {"name": "0o17"}
        assert {source["metadata"]["namespace"], kustomization["metadata"]["namespace"]} == {"1e3"}
        assert crd_model_errors([source, kustomization]) == []

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


class TestNotifications:
    """`fabpromote flux ENV --notifications`: a Provider and an Alert, so Flux posts commit statuses."""

    def test_provider_and_alert_match_the_flux_crd_models(self) -> None:
        """Four objects; the Provider and the Alert pass the notification.toolkit.fluxcd.io/v1beta3 CRD models."""
        for manifests in ("https://github.com/org/m.git", "git@github.com:org/m.git"):
            objects = documents(flux_manifests(cluster(manifests), "prod", secret="git-auth", notifications=True))
            assert [obj["kind"] for obj in objects] == ["GitRepository", "Kustomization", "Provider", "Alert"]
            assert crd_model_errors(objects) == []
            assert schema_errors(objects[0]) == schema_errors(objects[1]) == []

    def test_the_alert_sends_the_kustomization_to_the_provider(self) -> None:
        """The Alert's source is the Kustomization, every severity (info); the Kustomization waits for health."""
        _, kustomization, provider, alert = documents(flux_manifests(cluster(), "stage", notifications=True))
        assert kustomization["spec"]["wait"] is True
        assert provider["apiVersion"] == alert["apiVersion"] == "notification.toolkit.fluxcd.io/v1beta3"
        assert provider["metadata"]["name"] == "east-stage"
        assert provider["spec"] == {
            "type": "github",
            "address": "https://github.com/org/east-manifests",
            "secretRef": {"name": "east-stage-commit-status"},
        }
        assert alert["spec"] == {
            "providerRef": {"name": "east-stage"},
            "eventSeverity": "info",
            "eventSources": [{"kind": "Kustomization", "name": "east-stage"}],
        }

    def test_without_notifications_nothing_changes(self) -> None:
        """The two objects as before: no wait, no Provider."""
        objects = documents(flux_manifests(cluster(), "stage"))
        assert [obj["kind"] for obj in objects] == ["GitRepository", "Kustomization"]
        assert "wait" not in objects[1]["spec"]

    @pytest.mark.parametrize(
        ("manifests", "hosts", "expected"),
        [
            ("https://github.com/org/m.git", "", "github"),
            ("https://gitlab.com/group/m.git", "", "gitlab"),
            ("https://git.example.com/group/m.git", "hosts:\n  git.example.com: {type: gitlab}\n", "gitlab"),
            ("git@bitbucket.org:team/m.git", "", "bitbucket"),
            ("https://dev.azure.com/org/project/_git/m", "", "azuredevops"),
        ],
    )
    def test_provider_type_from_the_manifests_host(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], manifests: str, hosts: str, expected: str
    ) -> None:
        """The Provider's type is the manifests repository's Git host: its backend, else its URL's host."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text(f"name: east\nhld: https://github.com/org/hld\nmanifests: {manifests}\n{hosts}")
        assert main(["flux", "dev", "--config", str(config), "--notifications", "--provider-secret", "tok"]) == 0
        provider = documents(capsys.readouterr().out)[2]
        assert provider["spec"]["type"] == expected
        assert provider["spec"]["secretRef"] == {"name": "tok"}
        assert provider["spec"]["address"].startswith("https://")
        assert not provider["spec"]["address"].endswith(".git")
        assert crd_model_errors([provider]) == []

    def test_a_host_flux_cannot_post_to_needs_provider(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A plain git server (the local host): one line asking for --provider; --provider gitea then works."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text("name: east\nhld: https://github.com/org/hld\nmanifests: https://git.example.com/o/m.git\n")
        assert main(["flux", "dev", "--config", str(config), "--notifications"]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        (line,) = captured.err.splitlines()
        assert "Flux cannot post commit statuses through the 'local' Git host" in line
        assert "--provider" in line
        assert main(["flux", "dev", "--config", str(config), "--notifications", "--provider", "gitea"]) == 0
        assert documents(capsys.readouterr().out)[2]["spec"]["type"] == "gitea"
        assert main(["flux", "dev", "--config", str(config), "--notifications", "--provider", "slack"]) == 1
        assert "'slack' is not one of github, gitlab" in capsys.readouterr().err

    def test_the_crd_models_check_notifications(self) -> None:
        """The models have teeth here too: an unknown Provider type, an Alert without sources."""
        *_, provider, alert = documents(flux_manifests(cluster(), "dev", notifications=True))
        provider["spec"]["type"] = "carrier-pigeon"
        del alert["spec"]["eventSources"]
        errors = crd_model_errors([provider, alert])
        assert len(errors) == 2
        assert "spec/type must be equal to one of the allowed values" in errors[0]
        assert "required property eventSources" in errors[1]

    def test_go_reads_the_notifications_back(self, tmp_path: Path) -> None:
        """The four documents read by Go (helm) are the objects, still valid."""
        text = flux_manifests(cluster(), "prod", notifications=True, provider_secret="0o17")
        read = read_by_go(text, tmp_path)
        assert read[2]["spec"]["secretRef"] == {"name": "0o17"}
        assert crd_model_errors(read) == []
