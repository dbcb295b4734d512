"""The Git host contract, run against the GitLab host on the fake GitLab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote.testing.clock import FakeClock
from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.gitrepos import git

if TYPE_CHECKING:
    from fabpromote_gitlab import GitLabHost
    from fake_gitlab import FakeGitLab


class TestGitLabContract(GitHostContract):
    """Every Git host operation, through merge requests on the fake GitLab."""

    @pytest.fixture(name="host")
    def _host(self, gitlab: FakeGitLab, token: str, clock: FakeClock) -> Iterator[GitLabHost]:
        from fabpromote_gitlab import GitLabHost

        host = GitLabHost(api_url=gitlab.api_url, protected={}, timeout=10, clock=clock)  # no real waits
        yield host
        host.close()

    @pytest.fixture(name="repo")
    def _repo(self, gitlab: FakeGitLab, token: str, tmp_path: Path) -> ServedRepo:
        url = gitlab.create_project(
            "group/contract", {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"}
        )
        bare = gitlab.root / "repos" / "group" / "contract.git"
        work = tmp_path / "contract-work"
        git("clone", "-q", str(bare), str(work))
        return ServedRepo(bare, work, url)
