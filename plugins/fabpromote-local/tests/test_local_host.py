"""The local Git host: the Git host contract over real servers, plus what only ``local`` does.

:class:`~fabpromote.testing.contracts.GitHostContract` runs here over a plain
path, git:// and smart HTTP.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fabpromote_local
import pytest
from fabpromote_local import LocalHost

from fabpromote import Plugins, hookimpl
from fabpromote._gitops import ProtectedBranchError, StaleBranchError
from fabpromote._sources import AuthenticationError, Sources
from fabpromote.exceptions import FabpromoteError
from fabpromote.testing.contracts import GitHostContract
from fabpromote.testing.gitservers import SmartHTTPServer
from fabpromote.typing import HostSettings

DOCS = Path(__file__).parents[3] / "docs" / "githosts.md"


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


class TestPlugin:
    def test_purposes_must_be_a_sequence(self) -> None:
        """("promote") is a string, not a tuple: refused rather than allowing 'p', 'r', ..."""
        with pytest.raises(TypeError, match="sequence of purposes"):
            LocalHost(protected={"prod": "promote"})  # type: ignore[dict-item]

    def test_registered(self) -> None:
        """The entry point registers Git host 'local', built from settings."""
        plugins = Plugins.load()
        assert "local" in plugins.git_hosts.names()
        assert plugins.git_hosts.owner("local") == "local"
        host = plugins.git_host("local", HostSettings(sources=Sources(), protected=PROTECTED))
        assert isinstance(host, LocalHost)
        assert host.protected["prod"] == ("promote", "rollback")

    def test_detects_every_url_last(self) -> None:
        """local answers for any URL, but only after every other plugin."""

        class GitHubPlugin:
            @hookimpl
            def fabpromote_detect_git_host(self, url: str) -> str | None:
                return "github" if "github.com" in url else None

        plugins = Plugins.load(plugins=[GitHubPlugin()])
        assert plugins.detect_git_host("https://github.com/o/r.git") == "github"
        assert plugins.detect_git_host("git://example.org/r.git") == "local"
        assert fabpromote_local.fabpromote_detect_git_host(url="/srv/r.git") == "local"

    def test_cheap_entry_point(self) -> None:
        """The entry-point module does not import the host (nor dulwich's merge code) until asked."""
        import subprocess
        import sys

        code = "import sys, fabpromote_local; print('fabpromote_local._host' in sys.modules, 'fabpromote._gitops' in sys.modules)"
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


def _parameters(function: Callable[..., Any]) -> list[tuple[str, Any, bool]]:
    """Names, kinds and whether each has a default: what callers rely on."""
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(function).parameters.values()
    ]
