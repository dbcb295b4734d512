"""A promotion's pull request body: the status page's markdown with the manifests diff summary, within GitHub's limit."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_github import PULL_BODY_LIMIT, FakeGitHub
from github_testing import TOKEN_ENV

from fabpromote import Cluster, Plugins, materialize, promote, publish
from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.story import app_files

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo app renders a helm chart: needs helm on PATH and the fabpromote-helm plugin",
)

ENVIRONMENTS = ("dev", "stage", "prod")


def _fleet(github: FakeGitHub, tmp_path: Path) -> tuple[Cluster, GitOps, str]:
    """cat on dev, stage and prod, all published, on the fake GitHub."""
    host = urlsplit(github.web_url).netloc
    ops = GitOps(Sources(credentials=Credentials({host: TOKEN_ENV})))
    urls = {}
    for name in ("cat", "cluster-hld", "manifests"):
        github.create_repo("octo", name, empty=True)
        urls[name] = github.repo_url("octo", name)
    for index, env in enumerate(("master", *ENVIRONMENTS)):
        start = None if index == 0 else "master"
        ops.commit_files(urls["cat"], env, app_files("cat", "v1.0.0"), f"cat {env}", expected=None, start=start)
    for index, env in enumerate(ENVIRONMENTS):
        hld = (
            "name: my-cluster\nsubcomponents:\n- name: cat-application\n"
            f"  source: {urls['cat']}\n  method: git\n  branch: {env}\n  path: hld\n"
        )
        start = None if index == 0 else "dev"
        ops.commit_files(urls["cluster-hld"], env, {"component.yaml": hld.encode()}, env, expected=None, start=start)
    path = tmp_path / "fabpromote.yaml"
    path.write_text(
        f"name: story\nhld: {urls['cluster-hld']}\nmanifests: {urls['manifests']}\nenvironments: [dev, stage, prod]\n"
        f"hosts:\n  {host!r}:\n    type: github\n    api_url: {github.api_url!r}\n    token_env: {TOKEN_ENV}\n"
        "    backoff: '0.01'\n"
    )
    cluster = Cluster.from_file(path)
    for env in ENVIRONMENTS:
        publish(materialize(cluster, env), cluster)
    return cluster, ops, urls["cat"]


def _commit_on_dev(ops: GitOps, url: str, tag: str, message: str) -> None:
    files = {"hld/config/common.yaml": app_files("cat", tag)["hld/config/common.yaml"]}
    ops.commit_files(url, "dev", files, message, expected=ops.branch_sha(url, "dev"))


def test_body_has_the_status_and_the_manifests_summary(github: FakeGitHub, tmp_path: Path) -> None:
    cluster, ops, cat = _fleet(github, tmp_path)
    _commit_on_dev(ops, cat, "v1.1.0", "cat v1.1.0 <script>alert(1)</script>")
    publish(materialize(cluster, "dev"), cluster)

    result = promote(cluster, "cat-application", source="dev", target="stage")

    assert result.change is not None
    assert result.change.number > 0
    body = github.pull("octo", "cat", result.change.number)["body"]
    assert body.startswith("Promotes 1 commit of cat-application, up to `")
    # The gates of stage (published, on by default), with a symbol and a word.
    assert "### Gates of stage" in body
    assert "- ✓ met: published: " in body
    # The manifests diff summary, as `diff` computes it: the app's manifest changes.
    assert "### Manifests of stage\n\n0 files added, 1 changed, 0 removed." in body
    assert "- changed: `cat-application/cat-application.yaml`" in body
    # The status page's markdown: the matrix and the pending commit, its subject escaped.
    assert "| App | dev | stage | prod |" in body
    assert "cat v1.1.0 &lt;script&gt;alert\\(1\\)&lt;/script&gt;" in body
    assert "<script>" not in body


def test_a_body_past_githubs_limit_is_cut_with_a_note(github: FakeGitHub, tmp_path: Path) -> None:
    cluster, ops, cat = _fleet(github, tmp_path)
    _commit_on_dev(ops, cat, "v1.1.0", "cat v1.1.0 " + "x" * PULL_BODY_LIMIT)
    publish(materialize(cluster, "dev"), cluster)

    result = promote(cluster, "cat-application", source="dev", target="stage")

    assert result.change is not None
    assert result.change.number > 0
    body = github.pull("octo", "cat", result.change.number)["body"]
    assert len(body) <= PULL_BODY_LIMIT
    assert body.startswith("Promotes 1 commit of cat-application")
    assert body.endswith("*Cut to 65536 characters, the host's limit: `fabpromote status --markdown` shows it all.*\n")
    assert "### Manifests of stage" in body  # what comes before the long subject survives
