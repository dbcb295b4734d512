"""Read-only checks against the real api.github.com, run only when FABPROMOTE_LIVE_GITHUB_TOKEN is set.

``FABPROMOTE_LIVE_GITHUB_REPO`` (default ``https://github.com/octocat/Hello-World``)
and ``FABPROMOTE_LIVE_GITHUB_BRANCH`` (default ``master``) pick what is read.
Nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fabpromote_github import GitHubHost, RepositoryNotFoundError

from fabpromote.git import Sources

LIVE_TOKEN_ENV = "FABPROMOTE_LIVE_GITHUB_TOKEN"
REPO = os.environ.get("FABPROMOTE_LIVE_GITHUB_REPO", "https://github.com/octocat/Hello-World")
BRANCH = os.environ.get("FABPROMOTE_LIVE_GITHUB_BRANCH", "master")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not os.environ.get(LIVE_TOKEN_ENV), reason=f"set {LIVE_TOKEN_ENV} to run against api.github.com"
    ),
]


@pytest.fixture(name="live")
def _live(tmp_path: Path) -> GitHubHost:
    return GitHubHost(sources=Sources(cache_dir=tmp_path / "cache"), token_env=LIVE_TOKEN_ENV)


class TestLive:
    def test_reads(self, live: GitHubHost) -> None:
        """Branch, comparison, a file listing and history read from github.com."""
        sha = live.read_branch(REPO, BRANCH)
        assert sha is not None
        assert len(sha) == 40
        assert live.read_branch(REPO, "fabpromote-no-such-branch") is None
        comparison = live.compare(REPO, sha, BRANCH)
        assert (comparison.ahead, comparison.behind) == (0, 0)
        history = live.log(REPO, BRANCH, limit=2)
        assert history[0].sha == sha
        assert live.read_file(REPO, sha, "fabpromote-no-such-file") is None
        assert live.get_statuses(REPO, sha).sha == sha

    def test_missing_repository(self, live: GitHubHost) -> None:
        """A repository that does not exist is reported as such."""
        with pytest.raises(RepositoryNotFoundError):
            live.read_branch("https://github.com/octocat/fabpromote-no-such-repository", "main")
