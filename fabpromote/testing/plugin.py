"""The pytest plugin of fabpromote: fixtures for testing HLDs, clusters and plugins.

Installed with fabpromote (entry point group ``pytest11``), so its fixtures are
available in every test suite without an import. None is autouse: a suite
uses only what it asks for.

Fixtures:
    hld_tree: Write ``{relative path: text}`` under ``tmp_path`` and get the folder.
    git_repo: Make real git repositories (:class:`~fabpromote.testing.gitrepos.WorkRepo`)
        in ``tmp_path``, with git's configuration isolated.
    fabpromote_cache: An empty cache and home directory for this test only.
    git_daemon_url: Serve a folder of repositories with ``git daemon`` on 127.0.0.1.
    smart_http_url: Serve a folder of repositories over smart HTTP on 127.0.0.1.

And :func:`install_plugin`, which installs a plugin module where fabpromote finds it.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from fabpromote.testing.gitrepos import GIT_ENV, WorkRepo, git

__all__ = ["GitDaemonUrl", "GitRepoFactory", "HldTree", "SmartHttpUrl", "install_plugin"]


def install_plugin(site: Path, module: str, source: str) -> Path:
    """Write ``source`` as module ``module`` in folder ``site``, installed as a plugin; return the module's file.

    Beside it goes a distribution (``<module>-1.0.dist-info``) whose entry
    point in group ``fabpromote`` names the module, as ``pip install`` of a
    plugin leaves it. Put ``site`` on ``sys.path`` (``monkeypatch.syspath_prepend``)
    or on ``PYTHONPATH`` (a CLI subprocess) and fabpromote loads the plugin.
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fabpromote]\n{module} = {module}\n")
    path = site / f"{module}.py"
    path.write_text(source)
    return path


class HldTree:
    """Writes HLD files under a base folder; see the ``hld_tree`` fixture."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def __call__(self, files: Mapping[str, str | bytes], *, root: str = "hld") -> Path:
        """Write ``files`` (relative path -> text or bytes) under ``<base>/<root>``; return that folder.

        Text is dedented and its leading newline dropped, so files can be written inline.
        """
        folder = self.base / root
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content).lstrip("\n"))
        return folder


class GitRepoFactory:
    """Makes repositories under a base folder; see the ``git_repo`` fixture."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def __call__(
        self, name: str, files: Mapping[str, str | bytes] | None = None, *, branch: str = "master"
    ) -> WorkRepo:
        """A new repository ``<base>/<name>`` with ``files`` committed on ``branch``."""
        return WorkRepo.create(self.base / name, dict(files) if files is not None else None, branch=branch)

    def bare(self, name: str) -> Path:
        """A new empty bare repository ``<base>/<name>`` (e.g. a manifests repo to publish to)."""
        path = self.base / name
        git("init", "-q", "--bare", str(path))
        return path


class GitDaemonUrl:
    """Starts ``git daemon`` servers stopped at teardown; see the ``git_daemon_url`` fixture."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack

    def __call__(self, base_dir: str | Path) -> str:
        """Serve every repository under ``base_dir``; return the ``git://127.0.0.1:<port>/`` URL."""
        from fabpromote.testing.gitservers import git_daemon

        return self._stack.enter_context(git_daemon(base_dir))


class SmartHttpUrl:
    """Starts smart-HTTP servers stopped at teardown; see the ``smart_http_url`` fixture."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack

    def __call__(self, base_dir: str | Path, *, token: str | None = None) -> str:
        """Serve every repository under ``base_dir``; return the ``http://127.0.0.1:<port>/`` URL.

        With ``token``, requests must carry it as the HTTP Basic password.
        """
        from fabpromote.testing.gitservers import smart_http

        return self._stack.enter_context(smart_http(base_dir, token=token))


@pytest.fixture(name="hld_tree")
def _hld_tree(tmp_path: Path) -> HldTree:
    """Write an HLD tree from a dict: ``hld_tree({"component.yaml": "name: x"})`` -> ``tmp_path/hld``."""
    return HldTree(tmp_path)


@pytest.fixture(name="git_repo")
def _git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepoFactory:
    """Make git repositories in ``tmp_path/repos``: ``git_repo("app", {"hld/component.yaml": ...})``.

    Sets :data:`~fabpromote.testing.gitrepos.GIT_ENV` for the test, so git ignores the
    user's configuration and commits with a fixed identity.
    """
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    base = tmp_path / "repos"
    base.mkdir(exist_ok=True)
    return GitRepoFactory(base)


@pytest.fixture(name="fabpromote_cache")
def _fabpromote_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated cache: sets ``HOME`` and ``FABPROMOTE_CACHE_DIR`` to new folders; returns the cache."""
    home = tmp_path_factory.mktemp("fabpromote-home")
    cache = home / "cache"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return cache


@pytest.fixture(name="git_daemon_url")
def _git_daemon_url() -> Iterator[GitDaemonUrl]:
    """Serve folders with ``git daemon`` on 127.0.0.1: ``git_daemon_url(folder)`` -> ``git://...``."""
    with contextlib.ExitStack() as stack:
        yield GitDaemonUrl(stack)


@pytest.fixture(name="smart_http_url")
def _smart_http_url() -> Iterator[SmartHttpUrl]:
    """Serve folders over smart HTTP on 127.0.0.1: ``smart_http_url(folder)`` -> ``http://...``."""
    with contextlib.ExitStack() as stack:
        yield SmartHttpUrl(stack)
