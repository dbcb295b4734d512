"""The built-in local Git host: the Git host contract over real servers, plus what only ``local`` does.

:class:`~fabpromote.testing.contracts.GitHostContract` runs here over a plain
path, git:// and smart HTTP.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fabpromote import Plugins, hookimpl
from fabpromote.exceptions import (
    AuthenticationError,
    DuplicateBackendError,
    FabpromoteError,
    HostSettingsError,
    ProtectedBranchError,
    StaleBranchError,
)
from fabpromote.git import LocalHost, Sources
from fabpromote.testing.contracts import GitHostContract, ServedRepo
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer
from fabpromote.typing import HostSettings

DOCS = Path(__file__).parents[1] / "docs" / "githosts.md"

_names = itertools.count()


@pytest.fixture(name="served_root", scope="module")
def _served_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("local-host")
    (root / "served").mkdir()
    return root


@pytest.fixture(name="servers", scope="module")
def _servers(served_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A git daemon and a smart HTTP server for the module, both accepting pushes."""
    with pytest.MonkeyPatch.context() as patch:
        # The servers keep the environment they start with: make it the isolated one.
        patch.setenv("HOME", str(tmp_path_factory.mktemp("server-home")))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        with GitDaemon(served_root / "served") as daemon, SmartHTTPServer(served_root / "served") as http:
            yield {"git": daemon.url, "http": http.url}


@pytest.fixture(name="transport", params=["path", "git", "http"])
def _transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(name="make_repo")
def _make_repo(served_root: Path, servers: dict[str, str], transport: str) -> Iterator[Callable[..., ServedRepo]]:
    """Make served repositories (master with ``files``); each is fsck'ed at the end of the test."""
    made: list[ServedRepo] = []

    def make(files: dict[str, str] | None = None) -> ServedRepo:
        name = f"repo{next(_names)}.git"
        bare = served_root / "served" / name
        work = served_root / "work" / name
        git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
        git("clone", "-q", str(bare), str(work))
        url = str(bare) if transport == "path" else servers[transport] + name
        repo = ServedRepo(bare, work, url)
        repo.commit("master", files or {"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"}, "initial")
        made.append(repo)
        return repo

    yield make
    for repo in made:
        repo.check()


@pytest.fixture(name="repo")
def _repo(make_repo: Callable[..., ServedRepo]) -> ServedRepo:
    """A served repository: master with README.md and hld/config/common.yaml."""
    return make_repo()


class TestLocalHostContract(GitHostContract):
    """The local host follows the Git host contract over a path, git:// and http://."""

    @pytest.fixture(name="host")
    def _host(self) -> LocalHost:
        return LocalHost(sources=Sources())


PROTECTED = {"stage": ("promote", "rollback"), "prod": ("promote", "rollback")}


@pytest.fixture(name="guarded")
def _guarded() -> LocalHost:
    """A local host protecting stage and prod: only promotions and rollbacks."""
    return LocalHost(sources=Sources(), protected=PROTECTED)


@pytest.mark.parametrize("transport", ["path"], indirect=True)
class TestProtection:
    def test_refuses_other_purposes(self, guarded: LocalHost, repo: Any) -> None:
        """set-image (or publish) onto prod: ProtectedBranchError naming what is allowed; nothing pushed."""
        prod = repo.commit("prod", {}, "prod")
        for purpose in ("set-image", "publish"):
            with pytest.raises(ProtectedBranchError) as caught:
                guarded.commit_files(repo.url, "prod", {"a": b"1"}, "A", expected=prod, purpose=purpose)
            assert isinstance(caught.value, PermissionError)
            assert isinstance(caught.value, FabpromoteError)
            assert (caught.value.branch, caught.value.purpose, caught.value.allowed) == (
                "prod",
                purpose,
                ("promote", "rollback"),
            )
            assert "accepts only promote, rollback" in str(caught.value)
        assert repo.sha("prod") == prod

    def test_allows_promotions_and_rollbacks(self, guarded: LocalHost, repo: Any) -> None:
        """Merges (promote) and revert_to (rollback) go through; unprotected branches take anything."""
        repo.commit("prod", {}, "prod")
        stage = repo.commit("stage", {"s": "s\n"}, "stage", start="prod")
        change = guarded.open_change(repo.url, base="prod", head="stage", title="Promote", body="")
        assert guarded.merge(repo.url, change, expected_head_sha=stage, message="Promote").status == "merged"
        before = repo.sha("master")
        assert guarded.revert_to(repo.url, "prod", before, expected=stage, message="Roll back")
        assert guarded.commit_files(
            repo.url, "dev", {"a": b"1"}, "A", expected=None, purpose="set-image", start="master"
        )

    def test_rollback_only_branch(self, repo: Any) -> None:
        """A branch that accepts only rollbacks refuses merges before touching anything."""
        host = LocalHost(protected={"refs/heads/prod": ("rollback",)})
        prod = repo.commit("prod", {}, "prod")
        repo.commit("dev", {"d": "d\n"}, "dev", start="prod")
        change = host.open_change(repo.url, base="prod", head="dev", title="Promote", body="")
        with pytest.raises(ProtectedBranchError, match="not 'promote'"):
            host.merge(repo.url, change, expected_head_sha=change.head_sha, message="Promote")
        assert repo.sha("prod") == prod


TOKEN = "tok-local-7c1d-never-print-me"
TOKEN_VARIABLE = "FABPROMOTE_TEST_LOCAL_TOKEN"


@pytest.mark.parametrize("transport", ["path"], indirect=True)
class TestToken:
    def test_token_env(self, repo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """token_env supplies the token to reads and pushes; without it the server refuses; it is never shown."""
        with SmartHTTPServer(repo.bare.parent, token=TOKEN) as server:
            url = server.url + repo.bare.name
            host = LocalHost(sources=Sources(), token_env=TOKEN_VARIABLE)
            monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
            with pytest.raises(AuthenticationError):
                host.read_branch(url, "master")
            monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
            head = host.read_branch(url, "master")
            assert head == repo.sha("master")
            new = host.commit_files(url, "master", {"a": b"1"}, "A", expected=head, purpose="publish")
            assert repo.sha("master") == new
            with pytest.raises(StaleBranchError) as stale:
                host.commit_files(url, "master", {"a": b"2"}, "A", expected=head, purpose="publish")
            assert TOKEN not in str(stale.value)
            assert f"{url}:" in str(stale.value)  # the URL as given: the token never goes into it


class TestBuiltIn:
    def test_purposes_must_be_a_sequence(self) -> None:
        """("promote") is a string, not a tuple: refused rather than allowing 'p', 'r', ..."""
        with pytest.raises(TypeError, match="sequence of purposes"):
            LocalHost(protected={"prod": "promote"})  # type: ignore[dict-item]

    def test_registered(self) -> None:
        """The core registers Git host 'local', built from settings, with no plugin loaded."""
        plugins = Plugins.load(autoload=False)
        assert "local" in plugins.git_hosts.names()
        assert plugins.git_hosts.owner("local") == "fabpromote.builtins"
        host = plugins.git_host("local", HostSettings(sources=Sources(), protected=PROTECTED))
        assert isinstance(host, LocalHost)
        assert host.protected["prod"] == ("promote", "rollback")

    def test_refuses_options(self) -> None:
        """local has no options of its own: one in a hosts: entry is refused, naming the field."""
        plugins = Plugins.load(autoload=False)
        with pytest.raises(HostSettingsError, match=r"hosts\.git\.example\.com\.colour"):
            plugins.git_host("local", HostSettings(options={"colour": "blue"}, field="hosts.git.example.com"))

    def test_detects_every_url_last(self) -> None:
        """local answers for any URL, but only after every other plugin."""

        class GitHubPlugin:
            @hookimpl
            def fabpromote_detect_git_host(self, url: str) -> str | None:
                return "github" if "github.com" in url else None

        plugins = Plugins.load(plugins=[GitHubPlugin()])
        assert plugins.detect_git_host("https://github.com/o/r.git") == "github"
        assert plugins.detect_git_host("git://example.org/r.git") == "local"
        assert Plugins.load(autoload=False).detect_git_host("/srv/r.git") == "local"

    def test_cheap_registration(self) -> None:
        """Loading the plugins does not import the host (nor dulwich's merge code) until one is built."""
        code = (
            "import sys; from fabpromote import Plugins; Plugins.load(autoload=False); "
            "print('fabpromote._sources.localhost' in sys.modules, 'dulwich.merge' in sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False", "False"]

    def test_follows_documented_protocol(self) -> None:
        """LocalHost has every method of the GitHost Protocol in docs/githosts.md, with the same parameters."""
        text = DOCS.read_text()
        block = re.search(r"```python\n(.*?class GitHost\(Protocol\):.*?)```", text, re.S)
        assert block, "docs/githosts.md has no GitHost Protocol block"
        namespace: dict[str, Any] = {}
        exec(compile(textwrap.dedent(block.group(1)), str(DOCS), "exec"), namespace)
        protocol = namespace["GitHost"]
        assert isinstance(LocalHost(), protocol)
        for name, member in vars(protocol).items():
            if callable(member) and not name.startswith("_"):
                assert _parameters(getattr(LocalHost, name)) == _parameters(member), name


#: What fabpromote-local 0.1.0 installed: an entry point named ``local`` whose module registers host ``local``.
_OLD_PLUGIN = """
from fabpromote.hookspecs import hookimpl

@hookimpl
def fabpromote_register_git_hosts(register):
    register("local", lambda settings: None)
"""


def _installed(site: Path, distribution: str, module: str) -> None:
    """Install ``module`` (the old plugin's code) into ``site`` as ``distribution``, entry point ``local``."""
    site.mkdir(exist_ok=True)
    (site / f"{module}.py").write_text(_OLD_PLUGIN)
    info = site / f"{distribution.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[fabpromote]\nlocal = {module}\n")


class TestOldPluginStillInstalled:
    """fabpromote-local, the plugin the host came from, still installed beside this core."""

    def test_skipped_with_a_warning(self, tmp_path: Path) -> None:
        """Every command works, the old module is never imported, and stderr says how to remove it."""
        site = tmp_path / "site"
        _installed(site, "fabpromote-local", "fabpromote_local")
        (site / "fabpromote_local.py").write_text("raise ImportError('the old plugin was imported')\n")
        fabpromote = Path(sys.executable).with_name("fabpromote")
        env = {**os.environ, "PYTHONPATH": str(site)}
        done = subprocess.run([fabpromote, "plugins", "--json"], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines() == [
            "fabpromote: WARNING: plugin 'local' (fabpromote-local) is not loaded: its Git host 'local' "
            "is part of fabpromote now; uninstall it: pip uninstall fabpromote-local"
        ]
        rows = {row["name"]: row for row in json.loads(done.stdout)["plugins"]}
        assert "local" not in rows
        assert "Git host local" in rows["fabpromote.builtins"]["backends"]

    def test_another_distribution_is_a_duplicate(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only that distribution is skipped: another one registering 'local' is refused, naming both."""
        _installed(tmp_path, "my-local-host", "my_local_host")
        monkeypatch.syspath_prepend(str(tmp_path))
        with pytest.raises(
            DuplicateBackendError, match=r"'local' is registered by both 'fabpromote\.builtins' and 'local'"
        ):
            Plugins.load()


def _parameters(function: Callable[..., Any]) -> list[tuple[str, Any, bool]]:
    """Names, kinds and whether each has a default: what callers rely on."""
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()
    ]
