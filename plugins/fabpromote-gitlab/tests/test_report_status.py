"""`fabpromote report-status` on GitLab: through ``POST /projects/:id/statuses/:sha``, states mapped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote.cli import main
from fabpromote.testing.hosted import report_status_refused, statuses_read_back

if TYPE_CHECKING:
    from fake_gitlab import FakeGitLab


@pytest.fixture(name="setup")
def _setup(gitlab: FakeGitLab, token: str, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests project whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    del token  # sets GITLAB_TOKEN
    hld = gitlab.create_project("group/cluster-hld")
    manifests = gitlab.create_project("group/manifests", {"app.yaml": "v: 1\n"}, branches=("dev",))
    project = gitlab.project("group/manifests")
    first = project.branch("dev")
    second = project.commit("dev", {"app.yaml": "v: 2\n"}, "publish 2")
    assert first is not None
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {hld}\nmanifests: {manifests}\nenvironments: [dev, stage]\nhosts:\n"
        f"  '127.0.0.1':\n    type: gitlab\n    api_url: {gitlab.api_url!r}\n    token_env: GITLAB_TOKEN\n"
    )
    return str(config), [second, first]


def test_report_status_posts_through_the_status_api(
    gitlab: FakeGitLab, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """failure is GitLab's failed, error its canceled; each reads back as posted."""
    config, (head, earlier) = setup
    argv = ["report-status", "dev", "e2e", "failure", "--description", "3 failed", "--url", "https://ci/7"]
    assert main([*argv, "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["sha"] == head
    assert main(["report-status", "dev", "e2e", "success", "--config", config]) == 0
    assert main(["report-status", "dev", "kustomization/app/1a2b", "error", "--sha", earlier, "--config", config]) == 0
    project = gitlab.project("group/manifests")
    posted = [(r.method, r.status) for r in gitlab.requests if r.path.endswith(f"/statuses/{head}")]
    assert posted == [("POST", 201), ("POST", 201)]
    assert [(s["sha"], s["name"], s["status"]) for s in project.statuses] == [
        (head, "e2e", "success"),
        (earlier, "kustomization/app/1a2b", "canceled"),
    ]
    assert statuses_read_back(config, head) == ("gitlab", [("e2e", "success")])
    assert statuses_read_back(config, earlier) == ("gitlab", [("kustomization/app/1a2b", "error")])


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["dev", "e2e", "failed"], "not 'failed'"),
        (["stage", "e2e", "success"], "no branch 'stage'"),
        (["dev", "e2e", "success", "--sha", "f" * 40], "commit " + "f" * 12),
    ],
)
def test_report_status_refusals_post_nothing(
    gitlab: FakeGitLab,
    setup: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    """A GitLab state is not ours (failed), an environment never published, an unknown SHA: one line, no status."""
    config, _ = setup
    assert error in report_status_refused(argv, config, capsys)
    assert gitlab.project("group/manifests").statuses == []
