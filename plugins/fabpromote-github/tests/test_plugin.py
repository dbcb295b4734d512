"""The plugin: entry point, registration, detection, settings, and repository URLs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fabpromote_github
import pytest
from fabpromote_github import GitHubHost, GitHubSettingsError, RepoRef, parse_repo
from fabpromote_github._urls import default_api_url, is_github_url
from fake_github import FakeGitHub
from github_testing import NAME, OWNER, TOKEN_ENV

from fabpromote._cluster import Cluster
from fabpromote._hosts import host_for
from fabpromote._plugins import Plugins
from fabpromote._sources import Sources
from fabpromote.typing import HostSettings


class TestPlugin:
    def test_registered_through_the_entry_point(self) -> None:
        """Loading plugins from entry points registers the github host."""
        plugins = Plugins.load()
        assert "github" in plugins.git_hosts.names()
        assert isinstance(plugins.git_host("github", HostSettings()), GitHubHost)

    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/org/app",
            "https://github.com/org/app.git",
            "https://www.github.com/org/app",
            "git@github.com:org/app.git",
            "ssh://git@github.com/org/app.git",
            "github.com/org/app",
        ],
    )
    def test_detects_github_com(self, url: str) -> None:
        """github.com URLs, in every form, are the github host's."""
        assert Plugins.load().detect_git_host(url) == "github"

    @pytest.mark.parametrize(
        "url", ["https://gitlab.com/org/app", "https://ghe.example.com/org/app", "/srv/git/app.git", "file:///srv/app"]
    )
    def test_leaves_other_urls(self, url: str) -> None:
        """Other hosts are not claimed (a GHES host is named in the cluster file)."""
        assert fabpromote_github.fabpromote_detect_git_host(url) is None

    def test_cheap_import(self) -> None:
        """Importing the entry-point module imports neither requests nor the host."""
        code = "import sys, fabpromote_github; print(sorted(m for m in ('requests', 'fabpromote_github._host') if m in sys.modules))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "[]"

    def test_version(self) -> None:
        """The version comes from the distribution's metadata."""
        assert fabpromote_github.__version__ == "0.1.0"

    def test_from_a_cluster_file(self, github: FakeGitHub, tmp_path: Path) -> None:
        """A cluster file's hosts entry configures the host core builds for a repository."""
        config = tmp_path / "fabpromote.yaml"
        config.write_text(
            f"""\
name: east
hld: {github.repo_url(OWNER, "cluster")}
manifests: {github.repo_url(OWNER, "manifests")}
environments: [dev, stage, prod]
hosts:
  127.0.0.1:
    type: github
    api_url: {github.api_url}
    token_env: {TOKEN_ENV}
"""
        )
        cluster = Cluster.from_file(config)
        host = host_for(cluster, cluster.hld.url, sources=Sources(cache_dir=tmp_path / "cache"))
        assert isinstance(host, GitHubHost)
        assert (host.api_url, host.token_env) == (github.api_url, TOKEN_ENV)
        assert dict(host.protected) == {"stage": ("promote", "rollback"), "prod": ("promote", "rollback")}
        manifests = host_for(cluster, cluster.manifests.url)
        assert dict(manifests.protected) == dict.fromkeys(("dev", "stage", "prod"), ("publish", "rollback"))  # type: ignore[attr-defined]
        github.create_repo(OWNER, NAME)
        assert host.read_branch(github.repo_url(OWNER, NAME), "master") == github.branch_sha(OWNER, NAME, "master")


class TestSettings:
    def test_strings_are_converted(self) -> None:
        """Settings arrive as strings from YAML and are converted."""
        host = GitHubHost.from_settings(
            timeout="5",
            max_retries="2",
            backoff="0.5",
            max_wait="60",
            merge_method="Rebase",
            api_url="https://ghe.example.com/api/v3/",
        )
        assert (host.timeout, host.max_retries, host.backoff, host.max_wait) == (5.0, 2, 0.5, 60.0)
        assert (host.merge_method, host.api_url) == ("rebase", "https://ghe.example.com/api/v3")

    def test_defaults(self) -> None:
        """By default: GITHUB_TOKEN, merge commits, 30 s timeouts, API derived per repository."""
        host = GitHubHost()
        assert (host.token_env, host.merge_method, host.timeout, host.api_url) == ("GITHUB_TOKEN", "merge", 30.0, None)
        assert host.client("https://github.com/o/r").api_url == "https://api.github.com"
        assert host.client("https://ghe.example.com/o/r").api_url == "https://ghe.example.com/api/v3"

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"colour": "blue"}, "unknown setting.*colour.*known: sources"),
            ({"timeout": "soon"}, "timeout must be a number"),
            ({"timeout": "0"}, "timeout must be positive"),
            ({"merge_method": "octopus"}, "merge_method must be one of"),
            ({"token_env": "MY TOKEN"}, "token_env must name an environment variable"),
            ({"api_url": "ftp://x"}, "api_url must be an http"),
            ({"api_url": "https://user:secret@ghe.example.com/api/v3"}, "must not carry credentials"),
            ({"strict": "maybe"}, "strict must be true or false"),
            ({"protected": {"prod": "promote"}}, "sequence of purposes"),
        ],
    )
    def test_bad_settings(self, settings: dict[str, object], message: str) -> None:
        """Bad settings are refused with a message naming the setting."""
        with pytest.raises(GitHubSettingsError, match=message) as caught:
            GitHubHost.from_settings(**settings)
        assert "secret" not in str(caught.value)
        assert isinstance(caught.value, ValueError)


class TestRepositoryUrls:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("https://github.com/org/app", RepoRef("github.com", "org", "app")),
            ("https://github.com/org/app.git", RepoRef("github.com", "org", "app")),
            ("https://GitHub.com/org/app/", RepoRef("github.com", "org", "app")),
            ("https://x-access-token:t0k@github.com/org/app.git", RepoRef("github.com", "org", "app")),
            ("git@github.com:org/app.git", RepoRef("github.com", "org", "app")),
            ("ssh://git@github.com:22/org/my.app.git", RepoRef("github.com", "org", "my.app")),
            ("github.com/org/app", RepoRef("github.com", "org", "app")),
            ("https://ghe.example.com:8443/team/svc", RepoRef("ghe.example.com:8443", "team", "svc")),
            ("git@ghe.example.com:team/svc.git", RepoRef("ghe.example.com", "team", "svc")),
            ("http://127.0.0.1:8080/octo/app.git", RepoRef("127.0.0.1:8080", "octo", "app", "http")),
        ],
    )
    def test_parse(self, url: str, expected: RepoRef) -> None:
        """Every usual form of a GitHub repository URL names its owner and repository."""
        assert parse_repo(url) == expected

    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/org",
            "https://github.com/org/app/tree/main",
            "/srv/git/app.git",
            "file:///srv/app.git",
            "http://ghe.example.com/org/app",
            "https://github.com/../app",
        ],
    )
    def test_refused(self, url: str) -> None:
        """URLs that name no repository (or would send the token in clear text) are refused."""
        with pytest.raises(GitHubSettingsError):
            parse_repo(url)

    def test_git_url(self) -> None:
        """Content goes over HTTPS, whatever form the URL was given in."""
        assert parse_repo("git@github.com:org/app").git_url == "https://github.com/org/app.git"
        assert parse_repo("ssh://git@ghe.example.com:2222/o/r.git").git_url == "https://ghe.example.com/o/r.git"

    def test_api_urls(self) -> None:
        """The API of github.com, of GHE.com tenants, and of an Enterprise Server."""
        assert default_api_url(parse_repo("https://github.com/o/r")) == "https://api.github.com"
        assert default_api_url(parse_repo("https://acme.ghe.com/o/r")) == "https://api.acme.ghe.com"
        assert default_api_url(parse_repo("https://ghe.example.com/o/r")) == "https://ghe.example.com/api/v3"

    def test_is_github_url(self) -> None:
        """Only github.com itself is detected."""
        assert is_github_url("https://github.com/o/r")
        assert not is_github_url("https://api.github.com/repos/o/r")
        assert not is_github_url("not a url")
