"""`fabpromote report-status` and `fabpromote plugins` on Gitea: the CLI reaches the host through its entry point."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_gitea import FakeGitea
from gitea_testing import TOKEN_ENV

from fabpromote import Cluster, host_for
from fabpromote.cli import main
from fabpromote.git import Credentials, GitOps, Sources


@pytest.fixture(name="setup")
def _setup(gitea: FakeGitea, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests repository whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    ops = GitOps(Sources(credentials=Credentials({urlsplit(gitea.web_url).netloc: TOKEN_ENV})))
    for name in ("cluster-hld", "manifests"):
        gitea.create_repo("octo", name, empty=True)
    manifests = gitea.repo_url("octo", "manifests")
    first = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 1\n"}, "publish 1", expected=None)
    second = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 2\n"}, "publish 2", expected=first)
    assert first is not None
    assert second is not None
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {gitea.repo_url('octo', 'cluster-hld')}\nmanifests: {manifests}\n"
        f"environments: [dev, stage]\nhosts:\n"
        f"  '127.0.0.1':\n    type: gitea\n    api_url: {gitea.api_url!r}\n    token_env: {TOKEN_ENV}\n"
    )
    return str(config), [second, first]


def test_report_status_posts_through_the_status_api(
    gitea: FakeGitea, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """On dev's head by default, on an earlier publish with --sha; each is a POST .../statuses/{sha}."""
    config, (head, earlier) = setup
    argv = ["report-status", "dev", "e2e", "success", "--description", "42 passed", "--url", "https://ci/7"]
    assert main([*argv, "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["sha"] == head
    assert (
        main(["report-status", "dev", "kustomization/app/1a2b", "warning", "--sha", earlier[:8], "--config", config])
        == 1
    )
    assert "warning" in capsys.readouterr().err  # fabpromote's states only, though Gitea has more
    assert (
        main(["report-status", "dev", "kustomization/app/1a2b", "failure", "--sha", earlier[:8], "--config", config])
        == 0
    )
    posted = [path for method, path, _ in gitea.requests if method == "POST" and "/statuses/" in path]
    assert posted == [f"/repos/octo/manifests/statuses/{head}", f"/repos/octo/manifests/statuses/{earlier}"]
    (stored,) = gitea.statuses("octo", "manifests", head)
    assert (stored["context"], stored["status"], stored["description"], stored["target_url"]) == (
        "e2e",
        "success",
        "42 passed",
        "https://ci/7",
    )
    cluster = Cluster.from_file(config)
    host = host_for(cluster, cluster.manifests.url)
    assert host.name == "gitea"
    assert [(s.context, s.state) for s in host.commit_statuses(cluster.manifests.url, earlier)] == [
        ("kustomization/app/1a2b", "failure")
    ]


def test_unknown_commit_posts_nothing(
    gitea: FakeGitea, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A SHA Gitea does not have: one line naming it, no status."""
    config, _ = setup
    assert main(["report-status", "dev", "e2e", "success", "--sha", "f" * 40, "--config", config]) == 1
    err = capsys.readouterr().err
    assert "f" * 12 in err  # the commit, named as git abbreviates it
    assert len(err.strip().splitlines()) == 1
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
