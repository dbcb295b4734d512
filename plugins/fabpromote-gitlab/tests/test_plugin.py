"""The plugin as core sees it: registration, detection, settings, repository URLs."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import fabpromote_gitlab
import pytest
from fabpromote_gitlab import GitLabHost
from fabpromote_gitlab._project import Project

from fabpromote._cluster import Cluster, Environment, Pipeline, Repo
from fabpromote._hosts import host_for
from fabpromote._plugins import Plugins
from fabpromote._sources import Sources
from fabpromote.exceptions import GitHostError
from fabpromote.typing import HostSettings

if TYPE_CHECKING:
    from pathlib import Path

    from fake_gitlab import FakeGitLab


class TestRegistration:
    def test_entry_point(self) -> None:
        """The entry point registers the gitlab host, owned by this plugin."""
        plugins = Plugins.load()
        assert "gitlab" in plugins.git_hosts.names()
        assert plugins.git_hosts.owner("gitlab") == "gitlab"
        described = {row.name: row for row in plugins.describe()}
        assert described["gitlab"].distribution == "fabpromote-gitlab"
        assert described["gitlab"].backends == ("Git host gitlab",)

    def test_cheap_import(self) -> None:
        """Importing the entry-point module imports neither requests nor dulwich nor the host."""
        code = (
            "import sys, fabpromote_gitlab; "
            "heavy = [m for m in ('requests', 'dulwich', 'fabpromote_gitlab._host') if m in sys.modules]; "
            "print(heavy)"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.strip() == "[]"

    def test_version(self) -> None:
        """The version comes from the distribution's metadata."""
        assert fabpromote_gitlab.__version__ == "0.1.0"

    @pytest.mark.parametrize(
        "url",
        [
            "https://gitlab.com/group/project",
            "https://gitlab.com/group/sub/project.git",
            "https://GitLab.com/group/project",
            "https://oauth2:secret@gitlab.com/group/project.git",
            "git@gitlab.com:group/project.git",
            "ssh://git@gitlab.com/group/project.git",
        ],
    )
    def test_detects_gitlab_com(self, url: str) -> None:
        """URLs of gitlab.com, in every form git takes, are detected as gitlab."""
        assert Plugins.load().detect_git_host(url) == "gitlab"

    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/org/repo",
            "https://gitlab.example.com/group/project",
            "https://notgitlab.com/group/project",
            "/srv/git/gitlab.com/repo",
            "file:///srv/gitlab.com/repo",
            "C:gitlab.com",
        ],
    )
    def test_leaves_other_urls(self, url: str) -> None:
        """Other URLs are left to other plugins (self-managed servers are configured by name)."""
        assert fabpromote_gitlab.fabpromote_detect_git_host(url) is None


class TestSettings:
    def test_strings_from_the_cluster_file(self) -> None:
        """Settings written as strings are converted."""
        options = {"api_url": "https://git.example.com/api/v4/", "squash": "true", "timeout": "12.5"}
        settings = HostSettings(token_env="EXAMPLE_TOKEN", options={**options, "retries": "2", "merge_wait": "5"})
        host = Plugins.load().git_host("gitlab", settings)
        assert isinstance(host, GitLabHost)
        assert (host.api_url, host.token_env, host.squash, host.timeout, host.retries, host.merge_wait) == (
            "https://git.example.com/api/v4",
            "EXAMPLE_TOKEN",
            True,
            12.5,
            2,
            5.0,
        )

    def test_defaults(self) -> None:
        """Without settings: gitlab.com's API, $GITLAB_TOKEN, merge commits, 30 s."""
        host = GitLabHost.from_settings()
        assert (host.token_env, host.squash, host.timeout) == ("GITLAB_TOKEN", False, 30.0)
        assert host.api("https://gitlab.com/a/b").base_url == "https://gitlab.com/api/v4"
        assert host.api("git@git.example.com:a/b.git").base_url == "https://git.example.com/api/v4"

    def test_unknown_setting(self) -> None:
        """A setting the host does not know is an error listing the known ones."""
        with pytest.raises(GitHostError, match=r"unknown gitlab setting\(s\) sqash \(known: sources, protected"):
            GitLabHost.from_settings(sqash=True)

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("squash", "maybe", "not a boolean"),
            ("timeout", "soon", "not a number of seconds"),
            ("timeout", "0", "must be positive"),
            ("retries", "-1", "must not be negative"),
            ("api_url", "ftp://gitlab.example.com/api/v4", "must be an https:// URL"),
        ],
    )
    def test_bad_values(self, name: str, value: str, message: str) -> None:
        """Bad values are errors that say what is expected."""
        with pytest.raises(GitHostError, match=message):
            GitLabHost.from_settings(**{name: value})

    def test_protected_purposes_must_be_sequences(self) -> None:
        """A bare string of purposes is a slip, refused."""
        with pytest.raises(TypeError, match="sequence of purposes"):
            GitLabHost(protected={"prod": "promote"})

    def test_built_by_core_from_the_cluster(self, gitlab: FakeGitLab, repo: str, token: str, tmp_path: Path) -> None:
        """Core builds the host from the cluster's hosts settings, with protection from the pipeline."""
        cluster = Cluster(
            name="east",
            hld=Repo(url=repo),
            manifests=Repo(url=f"{repo}-manifests"),
            pipeline=Pipeline(environments=[Environment(name="dev"), Environment(name="prod", protected=True)]),
            hosts={"127.0.0.1": {"type": "gitlab", "api_url": gitlab.api_url}},
        )
        host = host_for(cluster, repo, sources=Sources(cache_dir=tmp_path / "shared"))
        assert isinstance(host, GitLabHost)
        assert dict(host.protected) == {"prod": ("promote", "rollback")}
        head = host.read_branch(repo, "dev")
        host.commit_files(repo, "dev", {"a.txt": b"a"}, "m", expected=head, purpose="set-image")
        # Git content is mirrored in the caller's cache.
        assert list((tmp_path / "shared" / "mirrors").glob("*-app.git"))


class TestProjectURLs:
    @pytest.mark.parametrize(
        ("url", "path", "host", "git_url"),
        [
            (
                "https://gitlab.com/group/sub/project",
                "group/sub/project",
                "gitlab.com",
                "https://gitlab.com/group/sub/project.git",
            ),
            (
                "https://gitlab.com/group/project.git",
                "group/project",
                "gitlab.com",
                "https://gitlab.com/group/project.git",
            ),
            (
                "https://gitlab.com/group/project/",
                "group/project",
                "gitlab.com",
                "https://gitlab.com/group/project.git",
            ),
            (
                "https://gitlab.com/group/project/-/tree/main",
                "group/project",
                "gitlab.com",
                "https://gitlab.com/group/project.git",
            ),
            ("git@gitlab.com:group/project.git", "group/project", "gitlab.com", "https://gitlab.com/group/project.git"),
            (
                "gitlab.com:group/sub/project",
                "group/sub/project",
                "gitlab.com",
                "https://gitlab.com/group/sub/project.git",
            ),
            (
                "ssh://git@git.example.com:2222/team/app.git",
                "team/app",
                "git.example.com",
                "https://git.example.com/team/app.git",
            ),
            (
                "https://git.example.com:8443/team/app.git",
                "team/app",
                "git.example.com:8443",
                "https://git.example.com:8443/team/app.git",
            ),
        ],
    )
    def test_parse(self, url: str, path: str, host: str, git_url: str) -> None:
        """gitlab.com and self-managed URLs, HTTPS, SSH and scp-like, name the project."""
        project = Project.parse(url)
        assert (project.path, project.host, project.git_url) == (path, host, git_url)

    def test_id_is_url_encoded(self) -> None:
        """The API addresses a project by its full path with every slash encoded."""
        assert Project.parse("https://gitlab.com/group/sub/project").id == "group%2Fsub%2Fproject"

    @pytest.mark.parametrize(
        "url", ["https://gitlab.com/onlyone", "/srv/repo", "file:///srv/a/b", "https://gitlab.com/a/../b", ""]
    )
    def test_not_a_project(self, url: str) -> None:
        """URLs naming no project are refused with the accepted forms."""
        with pytest.raises(GitHostError, match="does not name a GitLab project"):
            Project.parse(url)

    def test_credentials_not_shown(self) -> None:
        """The URL shown in messages has no credentials."""
        with pytest.raises(GitHostError) as info:
            Project.parse("https://oauth2:s3cret@gitlab.com/onlyone")
        assert "s3cret" not in str(info.value)
