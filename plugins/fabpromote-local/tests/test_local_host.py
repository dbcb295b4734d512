"""The local Git host: the Git host contract over real servers, plus what only ``local`` does.

:class:`GitHostContract` is written to move to ``fabpromote.testing.contracts``
as it is: it needs only a ``host`` fixture (the backend under test, with no
branch protection) and a ``repo`` fixture following :class:`RepoHandle`.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import fabpromote_local
import pytest
from fabpromote_local import LocalHost

from fabpromote import Plugins, hookimpl
from fabpromote._githost import ChangeRequest
from fabpromote._gitops import ProtectedBranchError, StaleBranchError
from fabpromote._sources import AuthenticationError, Sources
from fabpromote.exceptions import FabpromoteError
from fabpromote.testing.gitservers import SmartHTTPServer

DOCS = Path(__file__).parents[3] / "docs" / "githosts.md"


class RepoHandle(Protocol):
    """What the contract needs to know about the repository behind the host."""

    url: str

    def commit(self, branch: str, files: dict[str, str], message: str, *, start: str = "master") -> str: ...
    def sha(self, branch: str) -> str | None: ...
    def show(self, rev: str, path: str) -> str: ...
    def files(self, rev: str) -> list[str]: ...
    def parents(self, rev: str) -> list[str]: ...
    def tree(self, rev: str) -> str: ...


class GitHostContract:
    """What every Git host backend does; subclasses provide ``host`` and ``repo`` fixtures."""

    # Reading

    def test_read_branch(self, host: Any, repo: RepoHandle) -> None:
        """The branch's current commit; None for a missing branch."""
        assert host.read_branch(repo.url, "master") == repo.sha("master")
        assert host.read_branch(repo.url, "prod") is None

    def test_reads_are_fresh(self, host: Any, repo: RepoHandle) -> None:
        """A change pushed by someone else is seen by the next read of the same host."""
        assert host.read_file(repo.url, "master", "README.md") == b"hello\n"
        moved = repo.commit("master", {"README.md": "changed\n"}, "Change")
        assert host.read_branch(repo.url, "master") == moved
        assert host.read_file(repo.url, "master", "README.md") == b"changed\n"

    def test_read_file(self, host: Any, repo: RepoHandle) -> None:
        """Files at a branch or SHA; None for a missing file or a directory."""
        first = repo.sha("master")
        repo.commit("master", {"hld/config/common.yaml": "config: {x: 1}\n"}, "x")
        assert host.read_file(repo.url, "master", "hld/config/common.yaml") == b"config: {x: 1}\n"
        assert host.read_file(repo.url, first, "hld/config/common.yaml") == b"config: {}\n"
        assert host.read_file(repo.url, "master", "missing.yaml") is None
        assert host.read_file(repo.url, "master", "hld/config") is None

    def test_compare(self, host: Any, repo: RepoHandle) -> None:
        """ahead: commits waiting to be promoted; behind: commits the head lacks."""
        repo.commit("stage", {}, "stage")
        repo.commit("dev", {"a": "a\n"}, "a", start="stage")
        repo.commit("dev", {"b": "b\n"}, "b")
        comparison = host.compare(repo.url, "stage", "dev")
        assert (comparison.ahead, comparison.behind) == (2, 0)
        repo.commit("stage", {"h": "h\n"}, "hotfix")
        comparison = host.compare(repo.url, "stage", "dev")
        assert (comparison.ahead, comparison.behind) == (2, 1)

    def test_log(self, host: Any, repo: RepoHandle) -> None:
        """Newest first, with trailers in order (a key may repeat), at most ``limit``."""
        message = "Publish dev\n\nFabpromote-Component: app a1\nFabpromote-Component: db d1\n"
        head = repo.sha("master")
        new = host.commit_files(repo.url, "master", {"a.yaml": b"a\n"}, message, expected=head, purpose="publish")
        log = host.log(repo.url, "master")
        assert [info.sha for info in log] == [new, head]
        assert log[0].trailers == (("Fabpromote-Component", "app a1"), ("Fabpromote-Component", "db d1"))
        assert log[0].parents == (head,)
        assert [info.sha for info in host.log(repo.url, "master", limit=1)] == [new]

    # Committing

    def test_commit_files(self, host: Any, repo: RepoHandle) -> None:
        """Add, change and delete files on top of ``expected``."""
        head = repo.sha("master")
        new = host.commit_files(
            repo.url, "master", {"a.yaml": b"a\n", "README.md": None}, "Edit", expected=head, purpose="set-image"
        )
        assert repo.sha("master") == new
        assert repo.parents("master") == [head]
        assert repo.files("master") == ["a.yaml", "hld/config/common.yaml"]

    def test_publish_replaces(self, host: Any, repo: RepoHandle) -> None:
        """replace=True: the tree is exactly the files; publishing them again makes no commit."""
        files = {"prod/app.yaml": b"kind: Deployment\n"}
        new = host.commit_files(
            repo.url, "master", files, "Publish", expected=repo.sha("master"), replace=True, purpose="publish"
        )
        assert repo.files("master") == ["prod/app.yaml"]
        assert (
            host.commit_files(repo.url, "master", files, "Publish", expected=new, replace=True, purpose="publish")
            is None
        )
        assert repo.sha("master") == new

    def test_new_branch(self, host: Any, repo: RepoHandle) -> None:
        """expected=None creates the branch: from ``start``, or with no parent."""
        new = host.commit_files(repo.url, "prod", {"app.yaml": b"a\n"}, "First", expected=None, purpose="publish")
        assert repo.parents("prod") == []
        assert repo.sha("prod") == new
        host.commit_files(repo.url, "dev", {"d": b"d\n"}, "Dev", expected=None, purpose="publish", start="master")
        assert repo.parents("dev") == [repo.sha("master")]

    def test_commit_stale(self, host: Any, repo: RepoHandle) -> None:
        """A branch moved since it was read: StaleBranchError, the other change intact."""
        head = host.read_branch(repo.url, "master")
        theirs = repo.commit("master", {"theirs": "t\n"}, "Theirs")
        with pytest.raises(StaleBranchError):
            host.commit_files(repo.url, "master", {"ours": b"o\n"}, "Ours", expected=head, purpose="set-image")
        assert repo.sha("master") == theirs
        assert "ours" not in repo.files("master")

    # Promoting

    def test_change_and_fast_forward(self, host: Any, repo: RepoHandle) -> None:
        """open_change names the head's commit; merging a head ahead of base fast-forwards."""
        repo.commit("stage", {}, "stage")
        dev = repo.commit("dev", {"d": "d\n"}, "dev", start="stage")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote dev", body="")
        assert isinstance(change, ChangeRequest)
        assert (change.base, change.head, change.head_sha, change.mergeable) == ("stage", "dev", dev, True)
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote dev to stage")
        assert (result.status, result.sha, result.fast_forward) == ("merged", dev, True)
        assert repo.sha("stage") == dev

    def test_merge_commit(self, host: Any, repo: RepoHandle) -> None:
        """Diverged branches merge into a commit with parents (base, head)."""
        stage = repo.commit("stage", {"hotfix": "h\n"}, "hotfix")
        dev = repo.commit("dev", {"feature": "f\n"}, "feature")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote dev to stage")
        assert (result.status, result.fast_forward) == ("merged", False)
        assert repo.sha("stage") == result.sha
        assert repo.parents("stage") == [stage, dev]
        assert {"hotfix", "feature"} <= set(repo.files("stage"))

    def test_conflict_is_not_mergeable(self, host: Any, repo: RepoHandle) -> None:
        """Conflicts: open_change says not mergeable; merge answers not-mergeable and changes nothing."""
        stage = repo.commit("stage", {"README.md": "stage\n"}, "stage")
        dev = repo.commit("dev", {"README.md": "dev\n"}, "dev")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        assert change.mergeable is False
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "not-mergeable"
        assert "README.md" in result.message
        assert (repo.sha("stage"), repo.sha("dev")) == (stage, dev)

    def test_up_to_date(self, host: Any, repo: RepoHandle) -> None:
        """A head already in base: up-to-date, nothing changes."""
        dev = repo.commit("dev", {}, "dev")
        stage = repo.commit("stage", {"more": "m\n"}, "more", start="dev")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        result = host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert result.status == "up-to-date"
        assert repo.sha("stage") == stage

    def test_head_moved_since_change(self, host: Any, repo: RepoHandle) -> None:
        """A head that moved after the change was opened is not merged: StaleBranchError."""
        repo.commit("stage", {}, "stage")
        dev = repo.commit("dev", {"d": "d\n"}, "dev", start="stage")
        change = host.open_change(repo.url, base="stage", head="dev", title="Promote", body="")
        repo.commit("dev", {"late": "l\n"}, "late")
        with pytest.raises(StaleBranchError):
            host.merge(repo.url, change, expected_head_sha=dev, message="Promote")
        assert repo.sha("stage") != dev

    def test_open_change_missing_branch(self, host: Any, repo: RepoHandle) -> None:
        """A change from or to a missing branch is a RefNotFoundError (a LookupError)."""
        with pytest.raises(LookupError):
            host.open_change(repo.url, base="master", head="nope", title="t", body="")

    # Rolling back

    def test_revert_to(self, host: Any, repo: RepoHandle) -> None:
        """The branch gets the target's tree in a new commit; history is kept."""
        good = repo.sha("master")
        bad = repo.commit("master", {"README.md": "broken\n"}, "bad")
        outcome = host.revert_to(repo.url, "master", good, expected=bad, message="Roll back")
        sha = outcome.head_sha if isinstance(outcome, ChangeRequest) else outcome
        assert repo.tree(sha) == repo.tree(good)
        assert repo.parents(sha) == [bad]


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
            assert "http://***@127.0.0.1" in str(stale.value)


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
        host = plugins.git_hosts.factory("local")(sources=Sources(), protected=PROTECTED)
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
