"""`fabpromote report-status` and `fabpromote plugins` on Gitea: the CLI reaches the host through its entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_gitea import FakeGitea
from gitea_testing import hosted

from fabpromote.cli import main
from fabpromote.testing.hosted import report_status_refused, report_two_statuses, statuses_read_back


@pytest.fixture(name="setup")
def _setup(gitea: FakeGitea, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests repository whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    return hosted(gitea).published_cluster(tmp_path)


def test_report_status_posts_through_the_status_api(
    gitea: FakeGitea, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """On dev's head by default, on an earlier publish with --sha; each is a POST .../statuses/{sha}."""
    config, (head, earlier) = setup
    warning = ["report-status", "dev", "kustomization/app/1a2b", "warning", "--sha", earlier[:8], "--config", config]
    assert main(warning) == 1
    assert "warning" in capsys.readouterr().err  # fabpromote's states only, though Gitea has more
    report_two_statuses(config, head, earlier, capsys)
    posted = [path for method, path, _ in gitea.requests if method == "POST" and "/statuses/" in path]
    assert posted == [f"/repos/octo/manifests/statuses/{head}", f"/repos/octo/manifests/statuses/{earlier}"]
    (stored,) = gitea.statuses("octo", "manifests", head)
    assert (stored["context"], stored["status"], stored["description"], stored["target_url"]) == (
        "e2e",
        "success",
        "42 passed",
        "https://ci/7",
    )
    assert statuses_read_back(config, earlier) == ("gitea", [("kustomization/app/1a2b", "failure")])


def test_unknown_commit_posts_nothing(
    gitea: FakeGitea, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A SHA Gitea does not have: one line naming it, no status."""
    config, _ = setup
    err = report_status_refused(["dev", "e2e", "success", "--sha", "f" * 40], config, capsys)
    assert "f" * 12 in err  # the commit, named as git abbreviates it
    assert not [path for method, path, _ in gitea.requests if method == "POST" and "/statuses/" in path]


def test_plugins_lists_gitea_and_forgejo(capsys: pytest.CaptureFixture[str]) -> None:
    """`fabpromote plugins` shows the plugin and both names of its host."""
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "gitea (fabpromote-gitea 0.1.0)" in out
    assert "provides Git host gitea" in out
    assert "provides Git host forgejo" in out


def test_unknown_option_is_named(
    gitea: FakeGitea, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """An option the gitea host does not know: one line naming the cluster file's field."""
    config, _ = setup
    path = Path(config)
    path.write_text(path.read_text() + "    merge_methd: squash\n")
    assert main(["report-status", "dev", "e2e", "success", "--config", config]) == 1
    assert "hosts.127.0.0.1.merge_methd" in capsys.readouterr().err
