"""`fabpromote report-status` on GitHub: the status goes through the Commit Statuses API and reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_github import FakeGitHub
from github_testing import hosted

from fabpromote.testing.hosted import report_status_refused, report_two_statuses, statuses_read_back


@pytest.fixture(name="setup")
def _setup(github: FakeGitHub, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests repository whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    return hosted(github).published_cluster(tmp_path)


def test_report_status_posts_through_the_status_api(
    github: FakeGitHub, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """On dev's head by default, on an earlier publish with --sha; each is a POST .../statuses/{sha}."""
    config, (head, earlier) = setup
    report_two_statuses(config, head, earlier, capsys)
    posted = [
        (r.method, r.path, r.status)
        for r in github.requests
        if r.path.endswith(("/statuses/" + head, "/statuses/" + earlier))
    ]
    assert posted == [
        ("POST", f"/repos/octo/manifests/statuses/{head}", 201),
        ("POST", f"/repos/octo/manifests/statuses/{earlier}", 201),
    ]
    (stored,) = github.statuses("octo", "manifests", head)
    assert (stored["context"], stored["state"], stored["description"], stored["target_url"]) == (
        "e2e",
        "success",
        "42 passed",
        "https://ci/7",
    )
    assert statuses_read_back(config, earlier) == ("github", [("kustomization/app/1a2b", "failure")])


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["dev", "e2e", "green"], "not 'green'"),
        (["stage", "e2e", "success"], "no branch 'stage'"),
        (["dev", "e2e", "success", "--sha", "f" * 40], "f" * 40),
    ],
)
def test_report_status_refusals_post_nothing(
    github: FakeGitHub,
    setup: tuple[str, list[str]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    """A bad state, an environment never published, a SHA GitHub does not have: one line, no status."""
    config, _ = setup
    assert error in report_status_refused(argv, config, capsys)
    assert not [r for r in github.requests if r.method == "POST" and "/statuses/" in r.path]
