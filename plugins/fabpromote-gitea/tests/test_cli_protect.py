"""`fabpromote protect` on Gitea: protection rules checked, then created, through the CLI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fake_gitea import FakeGitea
from gitea_testing import TOKEN_ENV

from fabpromote.cli import main
from fabpromote.git import Credentials, GitOps, Sources

ENVS = ("dev", "stage", "prod")


@pytest.fixture(name="config")
def _config(gitea: FakeGitea, tmp_path: Path) -> str:
    """A cluster HLD with dev, stage and prod branches (stage and prod protected by default) on the fake."""
    ops = GitOps(Sources(credentials=Credentials({urlsplit(gitea.web_url).netloc: TOKEN_ENV})))
    for name in ("cluster-hld", "manifests"):
        gitea.create_repo("octo", name, empty=True)
    hld = gitea.repo_url("octo", "cluster-hld")
    for env in ENVS:
        ops.commit_files(hld, env, {"component.yaml": b"name: c\nsubcomponents: []\n"}, env, expected=None)
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        f"name: c\nhld: {hld}\nmanifests: {gitea.repo_url('octo', 'manifests')}\n"
        f"environments: [dev, stage, prod]\nhosts:\n"
        f"  '127.0.0.1':\n    type: forgejo\n    api_url: {gitea.api_url!r}\n    token_env: {TOKEN_ENV}\n"
        f"    required_approvals: '2'\n"
    )
    return str(config)


def test_protect_check_then_fix(gitea: FakeGitea, config: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--check reports the missing rules and changes nothing (exit 1); protect creates them; --check is then clean."""
    assert main(["protect", "--check", "--config", config]) == 1
    out = capsys.readouterr().out
    assert "octo/cluster-hld prod: not protected" in out
    assert "octo/cluster-hld stage: not protected" in out
    assert "dev" not in out
    assert gitea.rule("octo", "cluster-hld", "prod") is None
    assert main(["protect", "--config", config]) == 0
    capsys.readouterr()
    for env in ("stage", "prod"):
        rule = gitea.rule("octo", "cluster-hld", env)
        assert rule is not None
        assert (rule["enable_push"], rule["status_check_contexts"], rule["required_approvals"]) == (
            False,
            ["fabpromote/guard"],
            2,
        )
    assert gitea.rule("octo", "cluster-hld", "dev") is None
    assert main(["protect", "--check", "--config", config]) == 0
