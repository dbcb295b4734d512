"""``plan``: which (cluster, environment) materializations a push affects, as a CI fan-out.

A fleet of three clusters on local repositories: ``east`` and ``west`` share the
apps ``cat`` and ``dog`` in part, ``north`` names its environment branches
differently. Each push is planned through the library and the CLI entry point,
and the GitLab child pipeline is checked against GitLab's own CI schema.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest
import yaml

import fabpromote
from fabpromote.cli import main
from fabpromote.exceptions import BranchNameError, SourceError
from fabpromote.testing.gitrepos import WorkRepo

ENVS = ("dev", "stage", "prod")


def _app(root: Path, name: str) -> WorkRepo:
    files: dict[str, str | bytes] = {"hld/component.yaml": f"name: {name}\ntype: static\npath: ./manifests\n"}
    repo = WorkRepo.create(root / name, files)
    for env in ENVS:
        repo.checkout(env)
    return repo


def _cluster_hld(root: Path, name: str, branches: dict[str, list[tuple[str, str, str]]]) -> WorkRepo:
    """A cluster HLD whose branch lists ``(app name, app URL, app branch)`` as git subcomponents."""
    repo = WorkRepo.create(root / name, {"README.md": f"{name}\n"})
    for branch, entries in branches.items():
        subcomponents = "".join(
            f"- name: {app}\n  method: git\n  source: {url}\n  branch: {follows}\n  path: hld\n"
            for app, url, follows in entries
        )
        repo.commit({"component.yaml": f"name: {name}\nsubcomponents:\n{subcomponents}"}, branch, branch=branch)
    return repo


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> Path:
    """Three clusters; the URLs of the apps are spelt differently in each cluster HLD."""
    cat, dog = _app(tmp_path, "cat"), _app(tmp_path, "dog")
    _cluster_hld(
        tmp_path,
        "hld-east",
        {env: [("cat", f"{cat.url}.git", env), ("dog", f"file://{dog.url}/", env)] for env in ENVS},
    )
    # west's prod also follows an app on a server (never fetched: plan reads only cluster HLDs).
    west = {env: [("cat", f"{cat.url}/", env)] for env in ENVS}
    west["prod"].append(("bird", "https://git.example.com/org/bird", "prod"))
    _cluster_hld(tmp_path, "hld-west", west)
    # north: its own branch names; its dev follows dog's dev, its live follows dog's prod.
    _cluster_hld(
        tmp_path,
        "hld-north",
        {"north-dev": [("dog", dog.url, "dev")], "north-live": [("dog", dog.url, "prod")]},
    )
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        "clusters:\n"
        "- {name: east, hld: hld-east, manifests: manifests}\n"
        "- {name: west, hld: hld-west, manifests: manifests-west}\n"
        "- name: north\n"
        "  hld: hld-north\n"
        "  manifests: manifests\n"
        "  environments:\n"
        "  - {name: dev, hld_branch: north-dev, manifests_branch: north-dev-out}\n"
        "  - {name: live, hld_branch: north-live, manifests_branch: north-live-out}\n"
    )
    return config


def _entries(config: Path, *pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"cluster": cluster, "environment": env, "config": str(config)} for cluster, env in pairs]


def _plan_json(config: Path, changed: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, object]:
    status = main(["plan", "--changed", changed, "--config", str(config), "--json"])
    return status, json.loads(capsys.readouterr().out)


class TestAcceptance:
    """The three pushes of the issue, through the CLI's --json: exactly the expected matrix."""

    def test_push_to_an_apps_dev_branch(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """cat@dev: east/dev and west/dev (the URL spelt with .git, a trailing / or neither)."""
        status, matrix = _plan_json(fleet, f"{fleet.parent / 'cat'}@dev", capsys)
        assert status == 0
        assert matrix == {"include": _entries(fleet, ("east", "dev"), ("west", "dev"))}

    def test_push_to_a_cluster_hlds_stage_branch(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """hld-east@refs/heads/stage (as CI gives it): east/stage alone."""
        status, matrix = _plan_json(fleet, f"{fleet.parent / 'hld-east'}@refs/heads/stage", capsys)
        assert status == 0
        assert matrix == {"include": _entries(fleet, ("east", "stage"))}

    def test_push_to_a_branch_nothing_follows(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """cat@feature: an empty matrix, exit 0, and why on stderr."""
        status = main(["plan", "--changed", f"{fleet.parent / 'cat'}@feature", "--config", str(fleet), "--json"])
        captured = capsys.readouterr()
        assert status == 0
        assert json.loads(captured.out) == {"include": []}
        assert f"nothing follows {fleet.parent / 'cat'}@feature" in captured.err


class TestWhatAPushAffects:
    """The rules, through the library."""

    def test_an_app_followed_under_other_branch_names(self, fleet: Path) -> None:
        """dog@prod: east/prod, and north/live, whose cluster HLD branch north-live follows dog's prod."""
        result = fabpromote.plan(fabpromote.Fleet.from_file(fleet), str(fleet.parent / "dog.git"), "prod")
        assert [(e.cluster, e.environment, e.reason) for e in result.entries] == [
            ("east", "prod", "app dog"),
            ("north", "live", "app dog"),
        ]
        assert result.lines() == ["east prod (app dog)", "north live (app dog)"]

    @pytest.mark.parametrize(
        "repo",
        [
            "https://git.example.com/org/bird",
            "https://git.example.com/org/bird.git",
            "https://git.example.com/org/bird/",
            "https://user@GIT.example.com/org/bird.git/",
            "git@git.example.com:org/bird.git",
            "ssh://git@git.example.com/org/bird",
        ],
    )
    def test_an_app_url_however_spelt(self, fleet: Path, repo: str) -> None:
        """The pushed URL names the app the cluster HLD lists, whatever its scheme, `.git`, `/` or user."""
        result = fabpromote.plan(fabpromote.Fleet.from_file(fleet), repo, "refs/heads/prod")
        assert [(e.cluster, e.environment, e.reason) for e in result.entries] == [("west", "prod", "app bird")]

    def test_another_repository_on_the_host_is_not_the_app(self, fleet: Path) -> None:
        """org/bird-x and other/bird are other repositories: nothing follows them."""
        clusters = fabpromote.Fleet.from_file(fleet)
        for repo in ("https://git.example.com/org/bird-x", "https://git.example.com/other/bird"):
            assert fabpromote.plan(clusters, repo, "prod").entries == ()

    def test_a_cluster_hld_branch_of_another_name(self, fleet: Path) -> None:
        """hld-north@north-dev: north/dev; hld-north@dev (not a branch of its pipeline): nothing."""
        clusters = fabpromote.Fleet.from_file(fleet)
        hld = str(fleet.parent / "hld-north")
        assert [(e.cluster, e.environment) for e in fabpromote.plan(clusters, hld, "north-dev").entries] == [
            ("north", "dev")
        ]
        assert fabpromote.plan(clusters, hld, "dev").entries == ()

    def test_a_manifests_branch_affects_nothing(self, fleet: Path) -> None:
        """Publishing must not loop: a push to a manifests branch plans nothing, without reading any HLD."""
        result = fabpromote.plan(fabpromote.Fleet.from_file(fleet), str(fleet.parent / "manifests"), "north-dev-out")
        assert result.entries == ()
        assert result.manifests
        assert "is a manifests branch" in result.summary()

    def test_one_cluster(self, fleet: Path) -> None:
        """A Cluster plans alone; --cluster does the same on the command line."""
        west = fabpromote.Cluster.from_file(fleet, "west")
        result = fabpromote.plan(west, str(fleet.parent / "cat"), "stage", config="f.yaml")
        assert [e.to_json() for e in result.entries] == [
            {"cluster": "west", "environment": "stage", "config": "f.yaml"}
        ]

    def test_a_tag_is_refused(self, fleet: Path) -> None:
        """refs/tags/x is no branch: a clear error, not an empty plan."""
        with pytest.raises(BranchNameError, match=r"'refs/tags/v1' is not a branch"):
            fabpromote.plan(fabpromote.Fleet.from_file(fleet), str(fleet.parent / "cat"), "refs/tags/v1")

    def test_an_unreadable_cluster_hld_fails(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A cluster HLD branch that is missing is an error naming the remote (no silently smaller plan)."""
        fleet.write_text(fleet.read_text().replace("hld_branch: north-live,", "hld_branch: north-gone,"))
        with pytest.raises(SourceError, match="hld-north"):
            fabpromote.plan(fabpromote.Fleet.from_file(fleet), str(fleet.parent / "dog"), "dev")
        status = main(["plan", "--changed", f"{fleet.parent / 'dog'}@dev", "--config", str(fleet)])
        assert status == 1
        assert "hld-north" in capsys.readouterr().err


class TestOutputs:
    """The CI formats."""

    def test_github_output(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--format github: `matrix=` (one line of JSON) and `any=` for $GITHUB_OUTPUT; any=false when empty."""
        assert (
            main(["plan", "--changed", f"{fleet.parent / 'cat'}@prod", "--config", str(fleet), "--format", "github"])
            == 0
        )
        lines = capsys.readouterr().out.splitlines()
        assert lines[1] == "any=true"
        assert json.loads(lines[0].removeprefix("matrix=")) == {
            "include": _entries(fleet, ("east", "prod"), ("west", "prod"))
        }
        main(["plan", "--changed", f"{fleet.parent / 'cat'}@nope", "--config", str(fleet), "--format", "github"])
        assert capsys.readouterr().out.splitlines() == ['matrix={"include":[]}', "any=false"]

    def test_gitlab_child_pipeline(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--format gitlab: one job per entry extending the publish job; valid for GitLab's CI schema."""
        argv = ["plan", "--changed", f"{fleet.parent / 'cat'}@dev", "--config", str(fleet), "--format", "gitlab"]
        assert main([*argv, "--include", "ci/publish-job.yml"]) == 0
        pipeline = yaml.safe_load(capsys.readouterr().out)
        assert pipeline == {
            "include": [{"local": "ci/publish-job.yml"}],
            "publish east dev": {
                "extends": ".fabpromote-publish",
                "variables": {"CLUSTER": "east", "ENV": "dev", "FABPROMOTE_CONFIG": str(fleet)},
            },
            "publish west dev": {
                "extends": ".fabpromote-publish",
                "variables": {"CLUSTER": "west", "ENV": "dev", "FABPROMOTE_CONFIG": str(fleet)},
            },
        }
        assert gitlab_schema_errors(pipeline) == []

    def test_empty_gitlab_child_pipeline_has_a_job(self, fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """GitLab refuses a pipeline without jobs: the empty plan is one no-op job that clones nothing."""
        argv = ["plan", "--changed", f"{fleet.parent / 'cat'}@nope", "--config", str(fleet), "--format", "gitlab"]
        assert main([*argv, "--include", "ci/publish-job.yml"]) == 0
        pipeline = yaml.safe_load(capsys.readouterr().out)
        assert list(pipeline) == ["nothing-to-publish"]
        assert pipeline["nothing-to-publish"]["variables"] == {"GIT_STRATEGY": "none"}
        assert gitlab_schema_errors(pipeline) == []

    def test_schema_has_teeth(self) -> None:
        """A misspelt job keyword fails GitLab's schema (so passing it means something)."""
        assert gitlab_schema_errors({"publish east dev": {"extend": ".fabpromote-publish"}})

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["--changed", "no-branch"], "--changed takes REPO@BRANCH"),
            (["--changed", "repo@dev", "--include", "x.yml"], "use them with --format gitlab"),
            (["--changed", "repo@dev", "--json", "--format", "gitlab"], "cannot be combined with --format gitlab"),
        ],
    )
    def test_usage_errors(self, fleet: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exited:
            main(["plan", *argv, "--config", str(fleet)])
        assert exited.value.code == 2
        assert message in capsys.readouterr().err


def gitlab_schema_errors(pipeline: object) -> list[str]:
    """Errors of GitLab's own CI schema (as check-jsonschema vendors it) for ``pipeline``."""
    jsonschema = pytest.importorskip("jsonschema")
    files = importlib.resources.files(pytest.importorskip("check_jsonschema.builtin_schemas.vendor").__name__)
    schema = json.loads((files / "gitlab-ci.json").read_text(encoding="utf-8"))
    return [error.message for error in jsonschema.Draft7Validator(schema).iter_errors(pipeline)]
