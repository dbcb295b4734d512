"""`fabpromote report-status` on Azure DevOps: the status goes through the commit statuses API and reads back."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from azure_testing import TOKEN_ENV
from fake_azure import FakeAzureDevOps

from fabpromote import Cluster, host_for
from fabpromote.cli import main
from fabpromote.git import Credentials, GitOps, Sources


@pytest.fixture(name="setup")
def _setup(azure: FakeAzureDevOps, tmp_path: Path) -> tuple[str, list[str]]:
    """A manifests repository whose dev branch has two publishes; the cluster file and dev's commits, newest first."""
    ops = GitOps(Sources(credentials=Credentials({urlsplit(azure.org_url).netloc: TOKEN_ENV})))
    for name in ("cluster-hld", "manifests"):
        azure.state.create_repo("Ops", name)
    manifests = azure.repo_url("Ops", "manifests")
    first = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 1\n"}, "publish 1", expected=None)
    second = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 2\n"}, "publish 2", expected=first)
    assert first is not None
    assert second is not None
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {azure.repo_url('Ops', 'cluster-hld')}\nmanifests: {manifests}\n"
        f"environments: [dev, stage]\nhosts:\n"
        f"  '127.0.0.1':\n    type: azure-devops\n    api_url: {azure.org_url!r}\n    token_env: {TOKEN_ENV}\n"
    )
    return str(config), [second, first]


def test_report_status_posts_through_the_statuses_api(
    azure: FakeAzureDevOps, setup: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """On dev's head by default, on an earlier publish with --sha; each is a POST .../commits/{sha}/statuses."""
    config, (head, earlier) = setup
    argv = ["report-status", "dev", "ci/e2e", "success", "--description", "42 passed", "--url", "https://ci/7"]
    assert main([*argv, "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["sha"] == head
    assert (
        main(["report-status", "dev", "kustomization/app/1a2b", "failure", "--sha", earlier[:8], "--config", config])
        == 0
    )
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
    cluster = Cluster.from_file(config)
    host = host_for(cluster, cluster.manifests.url)
    assert host.name == "azure-devops"
    assert [(s.context, s.state) for s in host.commit_statuses(cluster.manifests.url, earlier)] == [
        ("kustomization/app/1a2b", "failure")
    ]


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
    assert main(["report-status", *argv, "--config", config]) == 1
    err = capsys.readouterr().err
    assert error in err
    assert len(err.strip().splitlines()) == 1
    assert not [r for r in azure.requests if r.method == "POST" and r.path.endswith("/statuses")]
