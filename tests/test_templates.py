"""The CI templates in templates/: valid for GitHub Actions and GitLab CI, and every fabpromote call parses.

The schemas are SchemaStore's ``github-workflow.json`` and GitLab's own ``gitlab-ci.json``
(the one GitLab's pipeline editor uses), as vendored by the check-jsonschema package
(PyPI; ``check_jsonschema/builtin_schemas/vendor/``), so nothing is fetched.
"""

from __future__ import annotations

import importlib.resources
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabpromote._cli import build_parser

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("check_jsonschema")

TEMPLATES = Path(__file__).parent.parent / "templates"
GITHUB = sorted((TEMPLATES / "github").glob("*.yml"))
GITLAB = sorted((TEMPLATES / "gitlab").glob("*.gitlab-ci.yml"))
GUARD_CHECK = "fabpromote/guard"


class CILoader(yaml.SafeLoader):
    """YAML as the CI services read it (1.2 booleans): ``on:`` is a key, not ``True``."""


CILoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CILoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=CILoader)  # CILoader is a SafeLoader
    return data


def vendored_schema(name: str) -> dict[str, Any]:
    files = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((files / name).read_text(encoding="utf-8"))
    return schema


def schema_errors(data: dict[str, Any], schema_name: str) -> list[str]:
    validator = jsonschema.Draft7Validator(vendored_schema(schema_name))
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(data)]


def github_scripts(workflow: dict[str, Any]) -> Iterator[str]:
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                yield step["run"]


def gitlab_scripts(pipeline: dict[str, Any]) -> Iterator[str]:
    for name, job in pipeline.items():
        if isinstance(job, dict) and name not in ("variables", "default", "workflow", "include"):
            for key in ("before_script", "script", "after_script"):
                yield from job.get(key, [])


def fabpromote_calls(scripts: Iterator[str]) -> list[list[str]]:
    """Every ``fabpromote ...`` command line, as argv (``${{ }}`` expressions replaced by a word)."""
    calls = []
    for script in scripts:
        for line in script.replace("\\\n", " ").splitlines():
            words = shlex.split(re.sub(r"\$\{\{.*?\}\}", "EXPR", line), comments=True)
            if words and words[0] == "fabpromote":
                calls.append(words[1:])
    return calls


def parse(argv: list[str]) -> Any:
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`fabpromote {shlex.join(argv)}` does not parse")


def calls_of(path: Path) -> list[list[str]]:
    data = load(path)
    return fabpromote_calls(gitlab_scripts(data) if path.name.endswith(".gitlab-ci.yml") else github_scripts(data))


def test_the_templates_exist() -> None:
    """The three templates for each service are there."""
    assert [path.name for path in GITHUB] == ["app.yml", "guard.yml", "publish.yml"]
    assert [path.name for path in GITLAB] == ["app.gitlab-ci.yml", "guard.gitlab-ci.yml", "publish.gitlab-ci.yml"]


@pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda path: f"{path.parent.name}/{path.name}")
class TestEveryTemplate:
    """Checks every template passes."""

    def test_matches_the_service_schema(self, path: Path) -> None:
        """The template validates against the service's published schema."""
        schema = "gitlab-ci.json" if path in GITLAB else "github-workflows.json"
        assert schema_errors(load(path), schema) == []

    def test_fabpromote_calls_parse(self, path: Path) -> None:
        """Every fabpromote command line in run:/script: parses with the real CLI parser."""
        calls = calls_of(path)
        assert calls, "no fabpromote call"
        for argv in calls:
            parse(argv)


class TestSchemasHaveTeeth:
    """The vendored schemas catch real mistakes (so passing them means something)."""

    def test_github_job_without_runner(self) -> None:
        """A job with steps but no runs-on fails the workflow schema."""
        workflow = load(TEMPLATES / "github" / "guard.yml")
        del workflow["jobs"]["guard"]["runs-on"]
        assert schema_errors(workflow, "github-workflows.json")

    def test_gitlab_unknown_job_key(self) -> None:
        """A misspelt job keyword fails the GitLab CI schema."""
        pipeline = load(TEMPLATES / "gitlab" / "guard.gitlab-ci.yml")
        pipeline[GUARD_CHECK]["scripts"] = pipeline[GUARD_CHECK].pop("script")
        assert schema_errors(pipeline, "gitlab-ci.json")


class TestGitHub:
    """What each GitHub workflow does."""

    def test_app_builds_then_sets_the_image_on_dev(self) -> None:
        """app.yml: set-image on dev after the build, with the built tag; env branches dispatch a publish."""
        workflow = load(TEMPLATES / "github" / "app.yml")
        assert workflow["jobs"]["set-image"]["needs"] == "build"
        (call,) = calls_of(TEMPLATES / "github" / "app.yml")
        args = parse(call)
        assert (args.command, args.env, args.tag) == ("set-image", "dev", "$TAG")
        dispatch = workflow["jobs"]["dispatch"]["steps"][0]["run"]
        assert "event_type=fabpromote-publish" in dispatch

    def test_guard_reports_the_required_check(self) -> None:
        """guard.yml runs on pull requests in a job named like the check protect requires."""
        workflow = load(TEMPLATES / "github" / "guard.yml")
        assert "pull_request" in workflow["on"]
        assert workflow["jobs"]["guard"]["name"] == GUARD_CHECK
        (call,) = calls_of(TEMPLATES / "github" / "guard.yml")
        args = parse(call)
        assert (args.command, args.base, args.head) == ("guard", "$BASE", "$HEAD")

    def test_guard_check_is_the_one_protect_requires(self) -> None:
        """The GitHub plugin's protection requires exactly this check."""
        protection = pytest.importorskip("fabpromote_github._protection")
        assert protection.GUARD_CONTEXT == GUARD_CHECK

    def test_publish_is_a_matrix_over_clusters_and_environments(self) -> None:
        """publish.yml: pushes to env branches and app dispatches; materialize --publish per cluster and env."""
        workflow = load(TEMPLATES / "github" / "publish.yml")
        assert workflow["on"]["push"]["branches"] == ["dev", "stage", "prod"]
        assert workflow["on"]["repository_dispatch"]["types"] == ["fabpromote-publish"]
        assert set(workflow["jobs"]["publish"]["strategy"]["matrix"]) == {"cluster", "env"}
        (call,) = calls_of(TEMPLATES / "github" / "publish.yml")
        args = parse(call)
        assert (args.command, args.env, args.cluster, args.publish, args.validate) == (
            "materialize",
            "$ENV",
            "$CLUSTER",
            True,
            True,
        )


class TestGitLab:
    """What each GitLab pipeline does."""

    def test_app_builds_then_sets_the_image_on_dev(self) -> None:
        """app: set-image on dev in a later stage than the build; env branches trigger the cluster HLD."""
        pipeline = load(TEMPLATES / "gitlab" / "app.gitlab-ci.yml")
        stages = pipeline["stages"]
        assert stages.index(pipeline["build"]["stage"]) < stages.index(pipeline["set-image"]["stage"])
        (call,) = calls_of(TEMPLATES / "gitlab" / "app.gitlab-ci.yml")
        args = parse(call)
        assert (args.command, args.env) == ("set-image", "dev")
        assert pipeline["publish"]["trigger"]["branch"] == "$CI_COMMIT_BRANCH"

    def test_guard_job_is_the_check(self) -> None:
        """The guard job is called fabpromote/guard and runs in merge request pipelines."""
        pipeline = load(TEMPLATES / "gitlab" / "guard.gitlab-ci.yml")
        job = pipeline[GUARD_CHECK]
        assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
        (call,) = calls_of(TEMPLATES / "gitlab" / "guard.gitlab-ci.yml")
        args = parse(call)
        assert (args.base, args.head) == (
            "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
            "$CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        )

    def test_publish_is_a_matrix_over_clusters_and_environments(self) -> None:
        """One job per environment branch, each a parallel:matrix over clusters, all running materialize --publish."""
        pipeline = load(TEMPLATES / "gitlab" / "publish.gitlab-ci.yml")
        jobs = {name: job for name, job in pipeline.items() if not name.startswith(".")}
        envs = set()
        for job in jobs.values():
            assert job["extends"] == ".fabpromote-publish"
            (matrix,) = job["parallel"]["matrix"]
            assert set(matrix) == {"CLUSTER", "ENV"}
            (env,) = matrix["ENV"]
            assert job["rules"] == [{"if": f'$CI_COMMIT_BRANCH == "{env}"'}]
            envs.add(env)
        assert envs == {"dev", "stage", "prod"}
        (call,) = calls_of(TEMPLATES / "gitlab" / "publish.gitlab-ci.yml")
        args = parse(call)
        assert (args.command, args.publish, args.validate) == ("materialize", True, True)
