"""Rendering without a prior install: git components fetched through the cache, and locks."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote import Fetcher, LockEntry, Plugins, RenderOptions, generate, install
from fabpromote.exceptions import DownloadError, OutputRefusedError, RefNotFoundError, SourceError, UnsafePathError
from fabpromote.testing.gitrepos import WorkRepo


@pytest.fixture(name="app")
def _app(tmp_path: Path) -> WorkRepo:
    """An app repository whose hld/ is a static component, with a dev branch."""
    repo = WorkRepo.create(
        tmp_path / "app",
        {"hld/component.yaml": "name: app\ntype: static\npath: ./manifests\n", "hld/manifests/cm.yaml": "v: master\n"},
    )
    repo.commit({"hld/manifests/cm.yaml": "v: dev\n"}, "dev change", branch="dev")
    repo.checkout("master")
    return repo


def cluster_hld(tmp_path: Path, app: WorkRepo, **fields: str) -> Path:
    root = tmp_path / "cluster"
    root.mkdir()
    extra = "".join(f"  {key}: {value}\n" for key, value in fields.items())
    (root / "component.yaml").write_text(
        f"name: cluster\nsubcomponents:\n- name: app\n  method: git\n  source: {app.url}\n  path: hld\n{extra}"
    )
    return root


def plugins() -> Plugins:
    return Plugins.load(autoload=False)


class TestGitComponents:
    def test_branch_without_install(self, tmp_path: Path, app: WorkRepo) -> None:
        """A method: git component renders from the cache at its branch, no install needed."""
        root = cluster_hld(tmp_path, app, branch="dev")
        manifests = generate(root, plugins=plugins())
        assert manifests["app/app.yaml"] == b"---\nv: dev\n\n"
        assert not (root / "components").exists()

    def test_version_and_head(self, tmp_path: Path, app: WorkRepo) -> None:
        """version pins a commit; with neither branch nor version the remote HEAD is used."""
        first = app.sha("master")
        app.commit({"hld/manifests/cm.yaml": "v: later\n"}, "later", branch="master")
        assert generate(cluster_hld(tmp_path, app), plugins=plugins())["app/app.yaml"] == b"---\nv: later\n\n"
        pinned = tmp_path / "pinned"
        pinned.mkdir()
        (pinned / "component.yaml").write_text(
            f"name: c\nsubcomponents:\n- name: app\n  method: git\n  source: {app.url}\n  path: hld\n  version: {first}\n"
        )
        assert generate(pinned, plugins=plugins())["app/app.yaml"] == b"---\nv: master\n\n"

    def test_lock_reproduces_old_bytes(self, tmp_path: Path, app: WorkRepo) -> None:
        """With the lock of a render, a moved branch still renders the recorded commit."""
        root = cluster_hld(tmp_path, app, branch="dev")
        fetcher = Fetcher(prefer_installed=True)
        before = plugins().engine("native").render(root, (), _options(), fetcher=fetcher)
        (entry,) = fetcher.entries()
        assert entry == LockEntry(component="app", url=app.url, ref="dev", sha=app.sha("dev"))
        app.commit({"hld/manifests/cm.yaml": "v: dev2\n"}, "moved", branch="dev")
        again = plugins().engine("native").render(root, (), _options(), fetcher=Fetcher(lock=[entry]))
        assert again == before
        assert generate(root, plugins=plugins())["app/app.yaml"] == b"---\nv: dev2\n\n"

    def test_installed_copy_wins(self, tmp_path: Path, app: WorkRepo) -> None:
        """An installed components/<entry> is used as fab generate would."""
        root = cluster_hld(tmp_path, app, branch="dev")
        installed = root / "components" / "app" / "hld"
        installed.mkdir(parents=True)
        (installed / "component.yaml").write_text("name: app-installed\n")
        assert list(generate(root, plugins=plugins())) == ["app/app-installed.yaml", "cluster.yaml"]

    def test_fetched_paths_stay_inside(self, tmp_path: Path, app: WorkRepo) -> None:
        """A fetched component may not read files outside its repository."""
        secret = tmp_path / "secret"
        secret.mkdir()
        (secret / "key").write_text("s3cret")
        app.commit(
            {"hld/component.yaml": f"name: app\ntype: static\npath: ../../{secret.name}\n"}, "escape", branch="dev"
        )
        with pytest.raises(UnsafePathError, match="outside the repository"):
            generate(cluster_hld(tmp_path, app, branch="dev"), plugins=plugins())

    def test_unknown_branch(self, tmp_path: Path, app: WorkRepo) -> None:
        """A branch the app repo lacks is an error naming it and listing branches."""
        with pytest.raises(RefNotFoundError, match=r"no branch or tag named 'nope'.*dev, master"):
            generate(cluster_hld(tmp_path, app, branch="nope"), plugins=plugins())


class TestInstall:
    def test_install_then_generate(self, tmp_path: Path, app: WorkRepo) -> None:
        """install fills components/<entry>; generate then reads it and gives the same bytes."""
        root = cluster_hld(tmp_path, app, branch="dev")
        fetched = generate(root, plugins=plugins())
        installed = install(root, plugins=plugins())
        assert installed == [root / "components" / "app"]
        assert (root / "components" / "app" / "hld" / "manifests" / "cm.yaml").read_text() == "v: dev\n"
        (root / "components" / "app" / "hld" / "manifests" / "cm.yaml").write_text("v: edited\n")  # writable copy
        assert generate(root, plugins=plugins())["app/app.yaml"] == b"---\nv: edited\n\n"
        with pytest.raises(OutputRefusedError, match=r"components/app/hld/manifests/cm.yaml would be lost"):
            install(root, plugins=plugins())
        assert (root / "components" / "app" / "hld" / "manifests" / "cm.yaml").read_text() == "v: edited\n"
        assert sorted(p.name for p in root.iterdir()) == ["component.yaml", "components"]
        (root / "components" / "app" / "hld" / "manifests" / "cm.yaml").write_text("v: dev\n")  # as installed
        assert install(root, plugins=plugins()) == [root / "components" / "app"]
        assert generate(root, plugins=plugins()) == fetched

    def test_install_keeps_a_folder_it_did_not_make(self, tmp_path: Path, app: WorkRepo) -> None:
        """components/<entry> holding the user's files (or a `fab install` clone) is refused, not replaced."""
        root = cluster_hld(tmp_path, app, branch="dev")
        (root / "components" / "app").mkdir(parents=True)
        (root / "components" / "app" / "mine.txt").write_text("keep")
        with pytest.raises(OutputRefusedError, match=r"components/app/mine.txt would be lost"):
            install(root, plugins=plugins())
        assert os.listdir(root / "components" / "app") == ["mine.txt"]
        assert sorted(p.name for p in root.iterdir()) == ["component.yaml", "components"]

    def test_failed_install_changes_nothing(self, tmp_path: Path, app: WorkRepo) -> None:
        """When one fetch fails, nothing is installed."""
        root = cluster_hld(tmp_path, app, branch="dev")
        text = (root / "component.yaml").read_text()
        (root / "component.yaml").write_text(text + "- name: broken\n  method: git\n  source: /nonexistent/repo\n")
        with pytest.raises(SourceError, match="nonexistent"):
            install(root, plugins=plugins())
        assert sorted(p.name for p in root.iterdir()) == ["component.yaml"]


class TestDownloads:
    @pytest.fixture(name="server")
    def _server(self, tmp_path: Path) -> Iterator[str]:
        (tmp_path / "www").mkdir()
        (tmp_path / "www" / "sa.yaml").write_text("kind: ServiceAccount\n")

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(tmp_path / "www"), **kwargs)  # type: ignore[arg-type]

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        server.server_close()

    def test_http_static(self, tmp_path: Path, server: str) -> None:
        """A method: http static component is downloaded and framed like a static file."""
        root = tmp_path / "hld"
        root.mkdir()
        (root / "component.yaml").write_text(
            f"name: r\nsubcomponents:\n- name: sa\n  type: static\n  method: http\n  source: {server}/sa.yaml\n"
        )
        assert generate(root, plugins=plugins())["sa.yaml"] == b"---\nkind: ServiceAccount\n\n"
        install(root, plugins=plugins())
        assert (root / "components" / "sa" / "sa.yaml").read_text() == "kind: ServiceAccount\n"

    def test_missing_download(self, tmp_path: Path, server: str) -> None:
        """A 404 is a clear error naming the URL."""
        root = tmp_path / "hld"
        root.mkdir()
        (root / "component.yaml").write_text(
            f"name: r\nsubcomponents:\n- name: sa\n  type: static\n  method: http\n  source: {server}/missing.yaml\n"
        )
        with pytest.raises(DownloadError, match=r"cannot download http://127\.0\.0\.1:\d+/missing\.yaml"):
            generate(root, plugins=plugins())


def _options() -> RenderOptions:
    return RenderOptions()
