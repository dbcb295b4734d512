"""Read-only checks against the real gitlab.com, only when FABPROMOTE_LIVE_GITLAB_TOKEN is set.

``FABPROMOTE_LIVE_GITLAB_PROJECT`` picks the project (default ``gitlab-org/gitlab-test``,
public) and ``FABPROMOTE_LIVE_GITLAB_BRANCH`` its branch (default ``master``).
"""

from __future__ import annotations

import os

import pytest
from fabpromote_gitlab import GitLabHost

TOKEN = os.environ.get("FABPROMOTE_LIVE_GITLAB_TOKEN", "")
PROJECT = os.environ.get("FABPROMOTE_LIVE_GITLAB_PROJECT", "gitlab-org/gitlab-test")
BRANCH = os.environ.get("FABPROMOTE_LIVE_GITLAB_BRANCH", "master")

pytestmark = pytest.mark.skipif(not TOKEN, reason="set FABPROMOTE_LIVE_GITLAB_TOKEN to run against gitlab.com")


@pytest.fixture(name="live")
def _live(monkeypatch: pytest.MonkeyPatch) -> GitLabHost:
    monkeypatch.setenv("FABPROMOTE_LIVE_GITLAB_TOKEN", TOKEN)
    return GitLabHost(token_env="FABPROMOTE_LIVE_GITLAB_TOKEN")


class TestLiveGitLab:
    def test_reads(self, live: GitLabHost) -> None:
        """A branch, its history, a comparison and a missing file read from gitlab.com."""
        url = f"https://gitlab.com/{PROJECT}.git"
        sha = live.read_branch(url, BRANCH)
        assert sha is not None
        assert len(sha) == 40
        history = live.log(url, BRANCH, limit=3)
        assert history[0].sha == sha
        assert len(history) == 3
        assert live.compare(url, BRANCH, BRANCH).ahead == 0
        assert live.read_file(url, BRANCH, "no/such/file.txt") is None
        assert live.read_branch(url, "no-such-branch-fabpromote") is None
