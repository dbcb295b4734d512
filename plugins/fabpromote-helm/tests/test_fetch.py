"""Charts that are not installed: pulled from a chart repository or taken from git, through the cache."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import fabpromote_helm
import pytest
from fabpromote_helm import (
    ChartNotFoundError,
    ChartRepositoryError,
    ChartVersionNotFoundError,
    HelmGenerator,
    HelmSettings,
    RenderStats,
)

import fabpromote
from fabpromote import Fetcher, LockEntry, Plugins
from fabpromote.exceptions import GeneratorError, LockMismatchError, RefNotFoundError, UnsafePathError
from fabpromote.testing.unavailable import unavailable

from .conftest import (
    ChartServer,
    MakeRequest,
    commit_all,
    git,
    init_repo,
    sdk_missing,
    versioned_configmap,
    write_chart,
)

pytestmark = pytest.mark.helm


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached_charts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache" / "charts"
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


def _listing(folder: Path) -> list[tuple[str, int]]:
    if not folder.exists():
        return []
    return sorted((str(p.relative_to(folder)), p.stat().st_mtime_ns) for p in folder.rglob("*"))


class TestChartRepository:
    def test_pulls_the_version_asked_for(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """method: helm pulls <path> at <version> from <source> and records its archive digest in the lock."""
        fetcher = Fetcher()
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=fetcher
        )
        output = HelmGenerator.from_env().generate(request)
        assert b'version: "0.1.0"' in output
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_misses=1, helm_pulls=1)
        assert fetcher.entries() == (
            LockEntry(
                component="web",
                url=chart_server.url,
                ref="demo@0.1.0",
                sha=_sha256(chart_server.directory / "demo-0.1.0.tgz"),
                kind="helm",
            ),
        )
        [entry] = _cached_charts(tmp_path)
        assert (entry / "demo" / "Chart.yaml").read_text().startswith("apiVersion: v2\nname: demo\nversion: 0.1.0")
        assert not (tmp_path / "helm_repos").exists()

    def test_newest_release_without_version(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Without version the newest release in index.yaml is pulled (pre-releases skipped) and locked."""
        fetcher = Fetcher()
        request = make_request(tmp_path, method="helm", source=chart_server.url, path="demo", fetcher=fetcher)
        output = HelmGenerator.from_env().generate(request)
        assert b'version: "0.2.0"' in output
        assert [entry.ref for entry in fetcher.entries()] == ["demo@0.2.0"]
        assert fabpromote_helm.stats().index_downloads == 1

    def test_second_generate_pulls_nothing(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """The pulled chart and the render are cached: zero helm processes, zero HTTP requests."""
        first = HelmGenerator.from_env().generate(
            make_request(
                tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher()
            )
        )
        served = chart_server.requests
        second = HelmGenerator.from_env().generate(
            make_request(
                tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher()
            )
        )
        assert second == first
        assert chart_server.requests == served
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1, helm_pulls=1)

    def test_parallel_renders_pull_once(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Components of one chart rendered in parallel share one pull."""
        generator = HelmGenerator.from_env()
        fetcher = Fetcher()
        requests = [
            make_request(
                tmp_path,
                name=f"app{i}",
                method="helm",
                source=chart_server.url,
                path="demo",
                version="0.2.0",
                fetcher=fetcher,
            )
            for i in range(4)
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:
            outputs = list(pool.map(generator.generate, requests))
        assert [b"name: app%d-cm" % i in out for i, out in enumerate(outputs)] == [True] * 4
        assert fabpromote_helm.stats().helm_pulls == 1

    def test_lock_gives_the_version(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A chart without version takes the locked version, without reading the index."""
        lock = LockEntry(
            component="web",
            url=chart_server.url,
            ref="demo@0.1.0",
            sha=_sha256(chart_server.directory / "demo-0.1.0.tgz"),
            kind="helm",
        )
        fetcher = Fetcher(lock=[lock])
        request = make_request(tmp_path, method="helm", source=chart_server.url, path="demo", fetcher=fetcher)
        assert b'version: "0.1.0"' in HelmGenerator.from_env().generate(request)
        assert fabpromote_helm.stats().index_downloads == 0
        assert fetcher.entries() == (lock,)

    def test_lock_digest_mismatch_writes_nothing(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """An archive whose sha256 is not the locked one is refused and not kept."""
        lock = LockEntry(component="web", url=chart_server.url, ref="demo@0.1.0", sha="0" * 64, kind="helm")
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher(lock=[lock])
        )
        with pytest.raises(LockMismatchError, match=r"'web': chart demo 0.1.0 from http://127.0.0.1:\d+ has sha256"):
            HelmGenerator.from_env().generate(request)
        assert _cached_charts(tmp_path) == []
        assert list((tmp_path / "cache" / "charts").iterdir()) == []

    def test_cached_archive_is_checked_against_the_lock(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A cached chart whose archive is not the locked one is an error too."""
        generator = HelmGenerator.from_env()
        generator.fetch(
            make_request(
                tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher()
            )
        )
        lock = LockEntry(component="web", url=chart_server.url, ref="demo@0.1.0", sha="0" * 64, kind="helm")
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher(lock=[lock])
        )
        with pytest.raises(LockMismatchError, match="cached archive"):
            generator.generate(request)

    def test_unknown_version_lists_versions(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A version the repository does not have names the chart, the URL and the versions it has."""
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="demo", version="9.9.9", fetcher=Fetcher()
        )
        with pytest.raises(ChartVersionNotFoundError) as caught:
            HelmGenerator.from_env().generate(request)
        assert str(caught.value) == (
            f"component 'web': chart 'demo' has no version '9.9.9' in repository {chart_server.url} "
            f"(versions: 0.3.0-rc.1, 0.2.0, 0.1.0)"
        )
        assert caught.value.versions == ("0.3.0-rc.1", "0.2.0", "0.1.0")
        assert _cached_charts(tmp_path) == []

    def test_unknown_chart(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A chart the repository does not have is a ChartNotFoundError listing its charts."""
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="nope", version="1.0.0", fetcher=Fetcher()
        )
        with pytest.raises(ChartNotFoundError) as caught:
            HelmGenerator.from_env().generate(request)
        assert str(caught.value) == (
            f"component 'web': chart 'nope' is not in repository {chart_server.url} (charts: demo)"
        )
        assert not isinstance(caught.value, ChartVersionNotFoundError)

    @pytest.mark.parametrize("version", ["0.1.0", ""])
    def test_repository_down(
        self, helm_binary: str, closed_url: str, tmp_path: Path, make_request: MakeRequest, version: str
    ) -> None:
        """An unreachable repository is one line: component, chart, URL, and why."""
        request = make_request(
            tmp_path, method="helm", source=closed_url, path="demo", version=version, fetcher=Fetcher()
        )
        with pytest.raises(ChartRepositoryError) as caught:
            HelmGenerator.from_env().generate(request)
        assert str(caught.value) == (
            f"component 'web', chart 'demo': cannot reach chart repository {closed_url}: Connection refused"
        )
        assert _cached_charts(tmp_path) == []

    def test_credentials_are_redacted(
        self, helm_binary: str, closed_url: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A token in the repository URL never shows in messages."""
        source = closed_url.replace("http://", "http://user:s3cret@")
        request = make_request(tmp_path, method="helm", source=source, path="demo", version="0.1.0", fetcher=Fetcher())
        with pytest.raises(ChartRepositoryError) as caught:
            HelmGenerator.from_env().generate(request)
        assert "s3cret" not in str(caught.value)
        assert "http://***@127.0.0.1" in str(caught.value)

    @pytest.mark.parametrize("chart", ["../x", "a/b", "--help", ""])
    def test_chart_name_is_one_name(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest, chart: str
    ) -> None:
        """method: helm takes a chart name in path, never a path or something helm would read as a flag."""
        request = make_request(
            tmp_path, method="helm", source="http://127.0.0.1:1", path=chart, version="1", fetcher=Fetcher()
        )
        with pytest.raises(GeneratorError, match="needs the chart name in `path`"):
            HelmGenerator.from_env().generate(request)
        assert fabpromote_helm.stats().helm_pulls == 0

    def test_source_is_required(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """A remote chart without source says so."""
        request = make_request(tmp_path, method="helm", path="demo", fetcher=Fetcher())
        with pytest.raises(GeneratorError, match="method: helm needs `source`"):
            HelmGenerator.from_env().generate(request)

    def test_private_helm_home(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """helm pulls and builds with its homes in the cache: the user's helm folders are neither read nor changed."""
        user_home = tmp_path / "helm-home"
        user_repos = user_home / "helm_config_home" / "repositories.yaml"
        user_repos.parent.mkdir(parents=True)
        user_repos.write_text("this: [is not valid\n")  # helm fails when it reads this file
        before = _listing(user_home)
        repo = init_repo(tmp_path / "parent-git")
        dependencies = f"- name: demo\n  version: 0.1.0\n  repository: {chart_server.url}\n"
        write_chart(repo / "parent", name="parent", dependencies=dependencies)
        commit_all(repo, "parent")
        generator = HelmGenerator.from_env()
        generator.fetch(
            make_request(
                tmp_path, method="helm", source=chart_server.url, path="demo", version="0.1.0", fetcher=Fetcher()
            )
        )
        generator.fetch(make_request(tmp_path, method="git", source=str(repo), path="parent", fetcher=Fetcher()))
        assert fabpromote_helm.stats().helm_pulls == fabpromote_helm.stats().dependency_builds == 1
        assert _listing(user_home) == before
        assert (tmp_path / "cache" / "helm" / "cache" / "repository").is_dir()
        assert list((tmp_path / "cache" / "helm" / "repositories").iterdir()) == []


class TestInstalledCharts:
    def test_installed_chart_is_preferred(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest, closed_url: str
    ) -> None:
        """With prefer_installed, helm_repos/<name> is used and nothing is fetched."""
        write_chart(tmp_path / "helm_repos" / "web")
        request = make_request(tmp_path, method="helm", source=closed_url, path="demo", fetcher=Fetcher())
        generator = HelmGenerator.from_env()
        assert generator.fetch(request) is None
        assert b"name: web-cm" in generator.generate(request)
        assert fabpromote_helm.stats().helm_pulls == 0

    def test_fetches_when_installed_is_not_preferred(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Without prefer_installed (install, materialize) the chart is fetched anyway."""
        write_chart(tmp_path / "helm_repos" / "web")
        fetcher = Fetcher(prefer_installed=False)
        request = make_request(
            tmp_path, method="helm", source=chart_server.url, path="demo", version="0.2.0", fetcher=fetcher
        )
        fetched = HelmGenerator.from_env().fetch(request)
        assert fetched is not None
        assert fetched.name == "demo"
        assert "version: 0.2.0" in (fetched / "Chart.yaml").read_text()

    @pytest.mark.parametrize("method", ["helm", "git"])
    def test_without_fetcher_the_chart_must_be_installed(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest, method: str
    ) -> None:
        """Without a fetcher a missing helm_repos/<name> says to install or to fetch."""
        request = make_request(tmp_path, method=method, source="https://example.com/charts", path="demo")
        with pytest.raises(ChartNotFoundError, match=r"is not installed at .*helm_repos/web; run `fabpromote install`"):
            HelmGenerator.from_env().generate(request)

    def test_local_charts_fetch_nothing(self, tmp_path: Path, make_request: MakeRequest) -> None:
        """fetch() is None for local charts."""
        assert HelmGenerator.from_env().fetch(make_request(tmp_path, method="local", fetcher=Fetcher())) is None

    def test_missing_local_chart(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """A missing local chart folder names the component and the folder."""
        with pytest.raises(ChartNotFoundError, match=r"component 'web': chart folder .*/nowhere not found"):
            HelmGenerator.from_env().generate(make_request(tmp_path, path="nowhere"))


@pytest.fixture(name="charts_repo")
def _charts_repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A git repository with chart charts/demo: commit one (version 0.1.0), then two (0.2.0) on main."""
    repo = init_repo(tmp_path / "charts-git")
    write_chart(repo / "charts" / "demo", version="0.1.0", templates=versioned_configmap("0.1.0"))
    one = commit_all(repo, "one")
    git(repo, "branch", "old")
    write_chart(repo / "charts" / "demo", version="0.2.0", templates=versioned_configmap("0.2.0"))
    two = commit_all(repo, "two")
    return repo, one, two


class TestGitCharts:
    def test_branch(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """method: git renders <path> of the repository at the branch."""
        repo, _one, _two = charts_repo
        output = HelmGenerator.from_env().generate(
            make_request(tmp_path, method="git", source=str(repo), path="charts/demo", branch="old", fetcher=Fetcher())
        )
        assert b'version: "0.1.0"' in output

    def test_in_process_needs_no_helm_binary(
        self,
        charts_repo: tuple[Path, str, str],
        tmp_path: Path,
        make_request: MakeRequest,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The in-process backend renders a git chart that needs no dependency build with no helm to be found."""
        missing = sdk_missing()
        if missing:
            unavailable(missing)
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.delenv("FABPROMOTE_HELM", raising=False)
        repo, _one, _two = charts_repo
        generator = HelmGenerator(settings=HelmSettings(helm_backend="sdk"))
        request = make_request(tmp_path, method="git", source=str(repo), path="charts/demo", fetcher=Fetcher())
        assert b'version: "0.2.0"' in generator.generate(request)
        with pytest.raises(GeneratorError, match="helm was not found on PATH"):
            HelmGenerator(settings=HelmSettings()).generate(request)

    def test_version_is_a_commit(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """version is a commit SHA, and wins over branch; file:// URLs work too."""
        repo, one, _two = charts_repo
        fetcher = Fetcher()
        request = make_request(
            tmp_path,
            method="git",
            source=f"file://{repo}",
            path="charts/demo",
            version=one,
            branch="main",
            fetcher=fetcher,
        )
        assert b'version: "0.1.0"' in HelmGenerator.from_env().generate(request)
        assert [(entry.kind, entry.sha) for entry in fetcher.entries()] == [("git", one)]

    def test_head_without_version_or_branch(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Neither version nor branch: the remote's HEAD; fetch() gives the whole snapshot, as fab install clones."""
        repo, _one, two = charts_repo
        fetcher = Fetcher(prefer_installed=False)
        request = make_request(tmp_path, method="git", source=str(repo), path="charts/demo", fetcher=fetcher)
        fetched = HelmGenerator.from_env().fetch(request)
        assert fetched is not None
        assert fetched.name == "_root"
        assert "version: 0.2.0" in (fetched / "charts" / "demo" / "Chart.yaml").read_text()
        assert fetcher.entries()[0].sha == two

    def test_unknown_branch(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A branch the repository does not have names the component, the chart, the URL and the branches."""
        repo, _one, _two = charts_repo
        request = make_request(
            tmp_path, method="git", source=str(repo), path="charts/demo", branch="nope", fetcher=Fetcher()
        )
        with pytest.raises(RefNotFoundError) as caught:
            HelmGenerator.from_env().generate(request)
        assert str(caught.value) == (
            f"component 'web', chart charts/demo: {repo}: no branch or tag named 'nope' (branches: main, old)"
        )
        assert caught.value.branches == ["main", "old"]

    def test_path_leaving_the_repository(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A path that climbs out of the repository is refused."""
        repo, _one, _two = charts_repo
        request = make_request(tmp_path, method="git", source=str(repo), path="../../etc", fetcher=Fetcher())
        with pytest.raises(UnsafePathError, match="points outside the repository"):
            HelmGenerator.from_env().generate(request)

    def test_missing_path(
        self, helm_binary: str, charts_repo: tuple[Path, str, str], tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A path the repository does not have names the component, the path, the URL and the ref."""
        repo, _one, _two = charts_repo
        request = make_request(
            tmp_path, method="git", source=str(repo), path="charts/nope", branch="main", fetcher=Fetcher()
        )
        with pytest.raises(ChartNotFoundError) as caught:
            HelmGenerator.from_env().generate(request)
        assert str(caught.value) == f"component 'web': chart folder 'charts/nope' not found in {repo} at main"

    def test_dependency_from_a_chart_repository(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """Missing dependencies are built into a private copy; the snapshot stays read-only and untouched."""
        repo = init_repo(tmp_path / "parent-git")
        dependencies = f"- name: demo\n  version: 0.1.0\n  repository: {chart_server.url}\n"
        write_chart(repo / "charts" / "parent", name="parent", dependencies=dependencies)
        commit_all(repo, "parent")
        fetcher = Fetcher(prefer_installed=False)
        request = make_request(tmp_path, method="git", source=str(repo), path="charts/parent", fetcher=fetcher)
        output = HelmGenerator.from_env().generate(request)
        assert b"# Source: parent/charts/demo/templates/cm.yaml" in output
        assert b'version: "0.1.0"' in output
        assert fabpromote_helm.stats().dependency_builds == 1

        [snapshot] = (tmp_path / "cache" / "snapshots").iterdir()
        chart = snapshot / "_root" / "charts" / "parent"
        assert not (chart / "charts").exists()
        assert not (chart / "Chart.lock").exists()
        assert stat.S_IMODE((chart / "Chart.yaml").stat().st_mode) == 0o444
        assert stat.S_IMODE(chart.stat().st_mode) == 0o555

        fetched = HelmGenerator.from_env().fetch(request)
        assert fetched is not None
        assert fetched.parent.name == "helm-deps"
        assert sorted(p.name for p in (fetched / "charts" / "parent" / "charts").iterdir()) == ["demo-0.1.0.tgz"]
        assert sorted(p.name for p in fetched.iterdir()) == ["charts"]

        served = chart_server.requests
        again = HelmGenerator.from_env().generate(
            make_request(tmp_path, method="git", source=str(repo), path="charts/parent", fetcher=Fetcher())
        )
        assert again == output
        assert chart_server.requests == served
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1, dependency_builds=1)

    def test_dependency_with_a_lock_file(
        self, helm_binary: str, chart_server: ChartServer, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """With Chart.lock, `helm dependency build` runs (the repository gets a generated name) and keeps the lock."""
        repo = init_repo(tmp_path / "locked-git")
        dependencies = f"- name: demo\n  version: 0.1.0\n  repository: {chart_server.url}\n"
        chart = write_chart(repo / "parent", name="parent", dependencies=dependencies)
        subprocess.run([helm_binary, "dependency", "update", str(chart)], capture_output=True, check=True)
        shutil.rmtree(chart / "charts")
        lock = (chart / "Chart.lock").read_bytes()
        commit_all(repo, "locked")
        fetcher = Fetcher(prefer_installed=False)
        request = make_request(tmp_path, method="git", source=str(repo), path="parent", fetcher=fetcher)
        assert b'version: "0.1.0"' in HelmGenerator.from_env().generate(request)
        fetched = HelmGenerator.from_env().fetch(request)
        assert fetched is not None
        # `dependency update` would have rewritten the lock (its generated time); build keeps it.
        assert (fetched / "parent" / "Chart.lock").read_bytes() == lock
        assert (fetched / "parent" / "charts" / "demo-0.1.0.tgz").is_file()

    def test_file_dependency_inside_the_repository(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A file:// dependency on a sibling folder of the repository is packaged into the copy."""
        repo = init_repo(tmp_path / "mono-git")
        write_chart(repo / "libs" / "common", name="common", templates=versioned_configmap("common"))
        dependencies = "- name: common\n  version: 0.1.0\n  repository: file://../../libs/common\n"
        write_chart(repo / "apps" / "web", name="webapp", dependencies=dependencies)
        commit_all(repo, "mono")
        fetcher = Fetcher()
        request = make_request(tmp_path, method="git", source=str(repo), path="apps/web", fetcher=fetcher)
        output = HelmGenerator.from_env().generate(request)
        assert b"# Source: webapp/charts/common/templates/cm.yaml" in output
        fetched = HelmGenerator.from_env().fetch(
            make_request(
                tmp_path, method="git", source=str(repo), path="apps/web", fetcher=Fetcher(prefer_installed=False)
            )
        )
        assert fetched is not None
        assert sorted(p.name for p in fetched.iterdir()) == ["apps"]
        assert not any(p.is_symlink() for p in fetched.rglob("*"))

    def test_file_dependency_outside_the_repository(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A file:// dependency that leaves the repository is refused before helm runs."""
        write_chart(tmp_path / "outside", name="outside")
        repo = init_repo(tmp_path / "escape-git")
        dependencies = "- name: outside\n  version: 0.1.0\n  repository: file://../../../../../../../../outside\n"
        write_chart(repo / "chart", name="chart", dependencies=dependencies)
        commit_all(repo, "escape")
        request = make_request(tmp_path, method="git", source=str(repo), path="chart", fetcher=Fetcher())
        with pytest.raises(UnsafePathError):
            HelmGenerator.from_env().generate(request)
        assert fabpromote_helm.stats().dependency_builds == 0

    def test_named_repository_is_refused(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """A dependency on a repository of the user's helm setup (@name) is an error naming it."""
        repo = init_repo(tmp_path / "named-git")
        write_chart(repo / "chart", name="chart", dependencies="- name: x\n  version: 1.0.0\n  repository: '@stable'\n")
        commit_all(repo, "named")
        request = make_request(tmp_path, method="git", source=str(repo), path="chart", fetcher=Fetcher())
        with pytest.raises(GeneratorError, match=r"helm repository named '@stable'.*give its URL"):
            HelmGenerator.from_env().generate(request)

    def test_failed_dependency_build_writes_nothing(
        self, helm_binary: str, closed_url: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """helm's error is shown when dependencies cannot be fetched, and no copy is kept."""
        repo = init_repo(tmp_path / "down-git")
        write_chart(
            repo / "chart", name="chart", dependencies=f"- name: demo\n  version: 0.1.0\n  repository: {closed_url}\n"
        )
        commit_all(repo, "down")
        request = make_request(tmp_path, method="git", source=str(repo), path="chart", fetcher=Fetcher())
        with pytest.raises(
            GeneratorError, match=r"helm dependency update of chart chart from .* failed.*connection refused"
        ):
            HelmGenerator.from_env().generate(request)
        assert list((tmp_path / "cache" / "helm-deps").iterdir()) == []


class TestContainment:
    def test_local_chart_of_a_fetched_component_stays_inside(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A fetched component's local chart may not lead out of its snapshot."""
        snapshot = tmp_path / "snapshot"
        write_chart(tmp_path / "outside")
        snapshot.mkdir()
        request = make_request(snapshot, path="../outside", boundary=snapshot)
        with pytest.raises(UnsafePathError):
            HelmGenerator.from_env().generate(request)
        assert fabpromote_helm.stats().helm_calls == 0

    def test_users_own_tree_may_point_anywhere(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """In the user's own tree (no boundary) ../local-charts works, as in Fabrikate."""
        write_chart(tmp_path / "local-charts" / "demo")
        (tmp_path / "hld").mkdir()
        output = HelmGenerator.from_env().generate(make_request(tmp_path / "hld", path="../local-charts/demo"))
        assert b"name: web-cm" in output


def _write_hld(hld: Path, chart_repository: str, git_repository: Path, commit: str) -> Path:
    """A static root with two inlined helm children: one pulled from a chart repository, one from git."""
    (hld / "manifests").mkdir(parents=True)
    (hld / "manifests" / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    (hld / "component.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: app
            type: static
            path: ./manifests
            subcomponents:
            - name: pulled
              type: helm
              method: helm
              source: {chart_repository}
              path: demo
              version: 0.2.0
            - name: cloned
              type: helm
              method: git
              source: {git_repository}
              path: charts/demo
              version: {commit}
            """
        )
    )
    (hld / "config").mkdir()
    (hld / "config" / "prod.yaml").write_text(
        "subcomponents:\n  pulled:\n    namespace: team-a\n    injectNamespace: true\n"
        "  cloned:\n    config:\n      greeting: from-prod\n"
    )
    return hld


class TestEndToEnd:
    def test_generate_fetches_helm_and_git_charts(
        self, helm_binary: str, chart_server: ChartServer, charts_repo: tuple[Path, str, str], tmp_path: Path
    ) -> None:
        """fabpromote.generate renders remote charts without install, and twice alike without helm."""
        repo, one, _two = charts_repo
        hld = _write_hld(tmp_path / "hld", chart_server.url, repo, one)

        def generate() -> fabpromote.Manifests:
            return fabpromote.generate(hld, ["prod"], plugins=Plugins.load(autoload=False, plugins=[fabpromote_helm]))

        manifests = generate()
        assert sorted(manifests) == ["app.yaml", "cloned.yaml", "pulled.yaml"]
        assert manifests["pulled.yaml"] == (
            b"---\napiVersion: v1\ndata:\n  greeting: hello\n  namespace: team-a\n  version: 0.2.0\nkind: ConfigMap\n"
            b"metadata:\n  name: pulled-cm\n  namespace: team-a\n\n"
        )
        assert b'greeting: "from-prod"\n' in manifests["cloned.yaml"]
        assert b'version: "0.1.0"' in manifests["cloned.yaml"]
        assert not (hld / "helm_repos").exists()
        assert fabpromote_helm.stats() == RenderStats(helm_calls=2, cache_misses=2, helm_pulls=1)

        served = chart_server.requests
        assert generate() == manifests
        assert chart_server.requests == served
        assert fabpromote_helm.stats() == RenderStats(helm_calls=2, cache_hits=2, cache_misses=2, helm_pulls=1)

    def test_install_then_generate_gives_the_same_bytes(
        self, helm_binary: str, chart_server: ChartServer, charts_repo: tuple[Path, str, str], tmp_path: Path
    ) -> None:
        """fabpromote install copies what fetch() gives into helm_repos/; rendering from there is identical."""
        repo, one, _two = charts_repo
        fetched_hld = _write_hld(tmp_path / "fetched", chart_server.url, repo, one)
        installed_hld = _write_hld(tmp_path / "installed", chart_server.url, repo, one)
        fabpromote.install(installed_hld, plugins=Plugins.load(autoload=False, plugins=[fabpromote_helm]))
        assert (installed_hld / "helm_repos" / "pulled" / "Chart.yaml").is_file()
        assert (installed_hld / "helm_repos" / "cloned" / "charts" / "demo" / "Chart.yaml").is_file()
        plugins = Plugins.load(autoload=False, plugins=[fabpromote_helm])
        assert fabpromote.generate(installed_hld, ["prod"], plugins=plugins) == fabpromote.generate(
            fetched_hld, ["prod"], plugins=plugins
        )
        assert fabpromote_helm.stats().helm_pulls == 1
