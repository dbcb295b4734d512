"""What the cluster file says of a repository is what every command uses; its paths are relative to it.

The per-repository settings (``host``, ``token_env``) reach every command
through one function (:func:`fabpromote._cluster.hosts.host_for`): the tests run
each command of the CLI against a cluster whose HLD and manifests repos are
served over HTTP with their own token, and whose ``host`` names a backend
that detection never picks (a test plugin, installed through an entry point,
that records what it was built with and which repositories it was asked about).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from fabpromote import Cluster, Plugins, Repo, host_for
from fabpromote._cluster.hosts import credentials_for, repo_for
from fabpromote.cli import main
from fabpromote.exceptions import HLDError
from fabpromote.testing.plugin import SmartHttpUrl, install_plugin

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

RECORDED_HOST = '''
"""A Git host that detection never picks: it records its settings and the repositories it is asked about."""

import os

from fabpromote.git import LocalHost
from fabpromote.hookspecs import hookimpl

BUILT = []
CALLS = []


class RecordedHost:
    name = "recorded"

    def __init__(self, settings):
        variable = settings.token_env
        if not variable or not os.environ.get(variable):
            raise RuntimeError(f"the recorded host needs a token_env that is set, got {variable!r}")
        BUILT.append({"token_env": variable, "protected": dict(settings.protected)})
        self._local = LocalHost(sources=settings.sources, protected=settings.protected, token_env=variable)

    def __getattr__(self, name):
        method = getattr(self._local, name)

        def call(repo_url, *args, **kwargs):
            CALLS.append((name, repo_url))
            return method(repo_url, *args, **kwargs)

        return call


@hookimpl
def fabpromote_register_git_hosts(register):
    register("recorded", RecordedHost)
'''


@pytest.fixture(name="recorded")
def _recorded(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> object:
    """The ``recorded`` Git host, installed as a plugin (an entry point found on sys.path)."""
    site = tmp_path_factory.mktemp("site")
    install_plugin(site, "fabpromote_recorded_host", RECORDED_HOST)
    monkeypatch.syspath_prepend(str(site))
    import fabpromote_recorded_host as module  # type: ignore[import-not-found]

    module.BUILT.clear()
    module.CALLS.clear()
    return module


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, f"fabpromote {' '.join(args)} exited {code}: {err}"
    return out


@needs_helm
def test_every_command_uses_the_repositories_settings(
    tmp_path: Path,
    smart_http_url: SmartHttpUrl,
    recorded: object,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """status, history, rollback --manifests, promote, diff, set-image, publish, protect, flux: each
    reaches the cluster HLD and the manifests repo through their configured host, with their own token."""
    assert main(["demo", str(tmp_path / "demo")]) == 0
    repos = tmp_path / "demo" / "repos"
    # One server per repository, each wanting its own token: a command that
    # reaches a repository without its settings fails.
    hld = f"{smart_http_url(repos, token='hld-secret').rstrip('/')}/cluster-hld.git"
    manifests = f"{smart_http_url(repos, token='manifests-secret').rstrip('/')}/manifests.git"
    monkeypatch.setenv("HLD_TOKEN", "hld-secret")
    monkeypatch.setenv("MANIFESTS_TOKEN", "manifests-secret")
    monkeypatch.setenv("APP_TOKEN", "unused-by-a-local-path")
    cat = str(repos / "cat.git")
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            name: demo
            hld: {{url: {hld}, host: recorded, token_env: HLD_TOKEN}}
            manifests: {{url: {manifests}, host: recorded, token_env: MANIFESTS_TOKEN}}
            environments: [dev, stage, prod]
            repos:
              - {{url: demo/repos/cat.git, host: recorded, token_env: APP_TOKEN}}
            """)
    )
    monkeypatch.chdir(tmp_path)
    calls = recorded.CALLS  # type: ignore[attr-defined]

    def through_recorded(url: str, command: str) -> None:
        assert any(called == url for _, called in calls), f"{command} did not reach {url} through its host"
        calls.clear()

    assert "cat-application" in run(capsys, "status")
    through_recorded(manifests, "status")
    published = json.loads(run(capsys, "history", "stage", "--json"))
    through_recorded(manifests, "history")
    run(capsys, "set-image", "cat-application", "dev", "v1.1.0")
    through_recorded(cat, "set-image")
    run(capsys, "materialize", "dev", "--publish")
    through_recorded(manifests, "materialize --publish")
    assert "v1.1.0" in run(capsys, "diff", "cat-application", "--from", "dev", "--to", "stage")
    run(capsys, "promote", "cat-application", "--from", "dev", "--to", "stage", "--publish")
    assert ("merge", cat) in calls
    through_recorded(manifests, "promote --publish")
    run(capsys, "materialize", "stage", "--publish")
    run(capsys, "rollback", "--manifests", "stage", "--to", published["publishes"][0]["commit"])
    through_recorded(manifests, "rollback --manifests")
    run(capsys, "rollback", "cat-application", "stage", "--steps", "1")
    through_recorded(cat, "rollback")
    protected = run(capsys, "protect")
    assert f"{hld}: RecordedHost has no protection settings" in protected
    assert f"{cat}: RecordedHost has no protection settings" in protected
    assert f"{repos / 'dog.git'}: LocalHost has no protection settings" in protected
    assert manifests in run(capsys, "flux", "stage")
    # Every host built for these repositories got its token variable and its protection.
    built = {(entry["token_env"], tuple(sorted(entry["protected"]))) for entry in recorded.BUILT}  # type: ignore[attr-defined]
    assert built == {
        ("MANIFESTS_TOKEN", ("dev", "prod", "stage")),
        ("HLD_TOKEN", ("prod", "stage")),
        ("APP_TOKEN", ("prod", "stage")),
    }


def test_one_lookup_for_every_spelling_of_a_repository(tmp_path: Path) -> None:
    """An app repo that is the cluster HLD repo, spelled otherwise, gets the HLD's settings."""
    cluster = _cluster(
        tmp_path,
        """\
        name: east
        hld: {url: https://git.example.com/org/cluster-hld.git, host: gitlab, token_env: HLD_TOKEN}
        manifests: {url: https://git.example.com/org/manifests, token_env: MANIFESTS_TOKEN}
        """,
    )
    assert repo_for(cluster, "https://user@GIT.example.com/org/cluster-hld/") is cluster.hld
    assert repo_for(cluster, "https://git.example.com/org/manifests.git") is cluster.manifests
    assert repo_for(cluster, "git@git.example.com:org/cluster-hld.git") is cluster.hld
    assert repo_for(cluster, "ssh://git@git.example.com/org/manifests") is cluster.manifests
    assert repo_for(cluster, "https://git.example.com/other/cluster-hld") == Repo(
        url="https://git.example.com/other/cluster-hld"
    )
    assert repo_for(cluster, "https://git.example.com/org/app") == Repo(url="https://git.example.com/org/app")


def test_app_repos_with_their_own_settings(tmp_path: Path) -> None:
    """``repos:`` gives app repositories a host and token; paths there are relative to the file too."""
    cluster = _cluster(
        tmp_path,
        """\
        name: east
        hld: https://git.example.com/org/cluster-hld
        manifests: https://git.example.com/org/manifests
        repos:
          - {url: https://git.example.com/org/cat.git, host: gitlab, token_env: CAT_TOKEN}
          - {url: repos/dog.git, host: recorded}
        """,
    )
    assert repo_for(cluster, "https://git.example.com/org/cat") == Repo(
        url="https://git.example.com/org/cat.git", host="gitlab", token_env="CAT_TOKEN"
    )
    assert repo_for(cluster, str(tmp_path / "repos" / "dog.git")).host == "recorded"
    assert credentials_for(cluster).variable_for("https://git.example.com/org/cat") == "CAT_TOKEN"


def test_an_app_repo_listed_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(HLDError, match=r"fabpromote.yaml:5 \(repos\[1\]\): .*app.git is listed twice"):
        _cluster(
            tmp_path,
            """\
            name: east
            hld: h.git
            manifests: m.git
            repos: [{url: app.git, token_env: A},
                    {url: ./app.git/, token_env: B}]
            """,
        )


def test_tokens_are_per_repository_on_a_shared_host(tmp_path: Path) -> None:
    """Two repos on one host with their own token_env each; other repos there keep the host's."""
    cluster = _cluster(
        tmp_path,
        """\
        name: east
        hld: {url: https://git.example.com/org/cluster-hld.git, token_env: HLD_TOKEN}
        manifests: {url: https://git.example.com/org/manifests, token_env: MANIFESTS_TOKEN}
        hosts:
          git.example.com: {type: gitlab, token_env: EXAMPLE_TOKEN}
        """,
    )
    credentials = credentials_for(cluster)
    assert credentials.variable_for("https://git.example.com/org/cluster-hld") == "HLD_TOKEN"
    assert credentials.variable_for("https://git.example.com/org/manifests.git") == "MANIFESTS_TOKEN"
    assert credentials.variable_for("https://git.example.com/org/app.git") == "EXAMPLE_TOKEN"


def test_host_settings_by_name_and_port(tmp_path: Path) -> None:
    """A ``hosts`` entry may name the port; it wins over the bare name."""
    cluster = _cluster(
        tmp_path,
        """\
        name: east
        hld: http://127.0.0.1:9/org/cluster-hld.git
        manifests: http://127.0.0.1:9/org/manifests.git
        hosts:
          127.0.0.1:9: {type: local}
          127.0.0.1: {type: nonesuch}
        """,
    )
    assert type(host_for(cluster, cluster.hld.url)).__name__ == "LocalHost"


def _cluster(tmp_path: Path, text: str) -> Cluster:
    config = tmp_path / "fabpromote.yaml"
    config.write_text(textwrap.dedent(text))
    return Cluster.from_file(config)


class TestPathsRelativeToTheFile:
    def test_paths_resolve_against_the_files_folder(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Repos given as relative paths and cache_dir are read from the file's folder, wherever one runs."""
        folder = tmp_path / "cluster"
        folder.mkdir()
        (folder / "fabpromote.yaml").write_text(
            textwrap.dedent("""\
                name: east
                hld: {url: repos/cluster-hld.git, path: clusters/east}
                manifests: ../elsewhere/manifests.git
                settings: {cache_dir: .cache}
                """)
        )
        monkeypatch.chdir(tmp_path)
        cluster = Cluster.from_file("cluster/fabpromote.yaml")
        assert cluster.hld.url == str(folder / "repos" / "cluster-hld.git")
        assert cluster.hld_path == "clusters/east"  # a path inside the repository: left alone
        assert cluster.manifests.url == str(tmp_path / "elsewhere" / "manifests.git")
        assert cluster.settings.cache_dir == str(folder / ".cache")

    @pytest.mark.parametrize(
        "url",
        [
            "https://github.com/org/repo",
            "ssh://git@github.com/org/repo.git",
            "git@github.com:org/repo.git",
            "file:///srv/git/repo.git",
            "/srv/git/repo.git",
        ],
    )
    def test_urls_and_absolute_paths_are_kept(self, tmp_path: Path, url: str) -> None:
        cluster = _cluster(tmp_path, f"name: east\nhld: {url}\nmanifests: {url}\n")
        assert (cluster.hld.url, cluster.manifests.url) == (url, url)

    def test_home_is_expanded(self, tmp_path: Path) -> None:
        cluster = _cluster(tmp_path, "name: east\nhld: ~/repos/hld.git\nmanifests: ~/repos/manifests.git\n")
        assert cluster.hld.url == str(Path.home() / "repos" / "hld.git")

    @needs_helm
    def test_demo_in_a_relative_folder_then_status_from_inside(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`fabpromote demo d` then `cd d && fabpromote status` (and from anywhere else with --config)."""
        monkeypatch.chdir(tmp_path)
        run(capsys, "demo", "d")
        monkeypatch.chdir(tmp_path / "d")
        assert run(capsys, "status").count("ghcr.io/example/cat:v1.0.0") == 3
        monkeypatch.chdir(tmp_path.parent)
        assert "dog-application" in run(capsys, "history", "prod", "--config", str(tmp_path / "d" / "fabpromote.yaml"))
        # The file names its repositories relative to itself.
        assert "repos/manifests.git" in (tmp_path / "d" / "fabpromote.yaml").read_text()
