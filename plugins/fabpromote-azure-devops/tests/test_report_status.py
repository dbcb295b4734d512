"""`fabpromote report-status` on Azure DevOps: the status goes through the commit statuses API and reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_testing import hosted
from fake_azure import FakeAzureDevOps

from fabpromote.testing.hosted import report_status_refused, report_two_statuses, statuses_read_back


@pytest.fixture(name="setup")
def _setup(azure: FakeAzureDevOps, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests repository whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    return hosted(azure).published_cluster(tmp_path)


def test_report_status_posts_through_the_statuses_api(
    azure: FakeAzureDevOps, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """On dev's head by default, on an earlier publish with --sha; each is a POST .../commits/{sha}/statuses."""
    config, (head, earlier) = setup
    report_two_statuses(config, head, earlier, capsys, context="ci/e2e")
    posted = [
        (r.method, r.path, r.status) for r in azure.requests if r.method == "POST" and r.path.endswith("/statuses")
    ]
    assert posted == [
        ("POST", f"/contoso/Ops/_apis/git/repositories/manifests/commits/{head}/statuses", 201),
        ("POST", f"/contoso/Ops/_apis/git/repositories/manifests/commits/{earlier}/statuses", 201),
    ]
    stored = azure.state.statuses
    ((_, sha), first), ((_, other), second) = sorted(stored.items(), key=lambda item: item[0][1] != head)
    assert sha == head
    assert (first[0]["context"], first[0]["state"], first[0]["description"], first[0]["targetUrl"]) == (
        {"genre": "ci", "name": "e2e"},
        "succeeded",
        "42 passed",
        "https://ci/7",
    )
    assert (other, second[0]["context"], second[0]["state"]) == (
        earlier,
        {"genre": "kustomization/app", "name": "1a2b"},
        "failed",
    )
    assert statuses_read_back(config, earlier) == ("azure-devops", [("kustomization/app/1a2b", "failure")])


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["dev", "e2e", "green"], "not 'green'"),
        (["stage", "e2e", "success"], "no branch 'stage'"),
        (["dev", "e2e", "success", "--sha", "f" * 40], "cannot fetch commit " + "f" * 12),
    ],
)
def test_report_status_refusals_post_nothing(
    azure: FakeAzureDevOps,
    setup: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    """A bad state, an environment never published, a SHA Azure does not have: one line, no status."""
    config, _ = setup
    assert error in report_status_refused(argv, config, capsys)
    assert not [r for r in azure.requests if r.method == "POST" and r.path.endswith("/statuses")]
