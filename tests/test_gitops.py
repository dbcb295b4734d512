"""The git write layer: compare-and-swap commits, merges and rollbacks over real Git servers."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fabpromote import Sources
from fabpromote.exceptions import (
    AuthenticationError,
    BranchNameError,
    FabpromoteError,
    MergeConflictError,
    PushAuthenticationError,
    PushRejectedError,
    RefNotFoundError,
    StaleBranchError,
    UnsafePathError,
)
from fabpromote.git import GitOps
from fabpromote.testing.contracts import ServedRepo
from fabpromote.testing.gitrepos import GIT_ENV, WorkRepo, git
from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer

TRANSPORTS = ["path", "git", "http"]
_names = itertools.count()


class Remote(ServedRepo):
    """A bare repository that is served, and a clone for changing it behind fabpromote's back."""

    def __init__(self, bare: Path, work: Path) -> None:
        super().__init__(bare, work, str(bare))

    @classmethod
    def create(cls, root: Path, files: dict[str, str] | None = None) -> Remote:
        name = f"repo{next(_names)}"
        bare = root / "served" / f"{name}.git"
        work = root / "work" / name
        git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
        git("clone", "-q", str(bare), str(work))
        remote = cls(bare, work)
        remote.commit("master", files or {"README.md": "hello\n"}, "initial")
        return remote

    def count(self, rev: str) -> int:
        return int(git("--git-dir", str(self.bare), "rev-list", "--count", rev))

    def fsck(self) -> None:
        self.check()


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home and cache in tmp_path, and git that ignores the user's configuration."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")


@pytest.fixture(name="root", scope="module")
def _root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("remotes")
    (root / "served").mkdir()
    return root


@pytest.fixture(name="servers", scope="module")
def _servers(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, GitDaemon | SmartHTTPServer]]:
    """One git daemon and one smart HTTP server for the module, both accepting pushes."""
    with pytest.MonkeyPatch.context() as patch:
        # The servers keep the environment they start with: make it the isolated one.
        patch.setenv("HOME", str(tmp_path_factory.mktemp("server-home")))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        with GitDaemon(root / "served") as daemon, SmartHTTPServer(root / "served") as http:
            yield {"git": daemon, "http": http}


@pytest.fixture(name="make_remote")
def _make_remote(root: Path) -> Iterator[Callable[..., Remote]]:
    """Make served bare repositories; each is checked with ``git fsck --strict`` at the end."""
    made: list[Remote] = []

    def make(files: dict[str, str] | None = None) -> Remote:
        made.append(Remote.create(root, files))
        return made[-1]

    yield make
    for remote in made:
        remote.fsck()


@pytest.fixture(name="remote")
def _remote(make_remote: Callable[..., Remote]) -> Remote:
    """master with README.md and hld/config/common.yaml."""
    return make_remote({"README.md": "hello\n", "hld/config/common.yaml": "config: {}\n"})


@pytest.fixture(name="transport", params=TRANSPORTS)
def _transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def url_of(remote: Remote, transport: str, servers: dict[str, GitDaemon | SmartHTTPServer]) -> str:
    if transport == "path":
        return str(remote.bare)
    if transport == "file":
        return remote.bare.as_uri()
    return servers[transport].url + remote.bare.name


@pytest.fixture(name="url")
def _url(remote: Remote, transport: str, servers: dict[str, GitDaemon | SmartHTTPServer]) -> str:
    """The remote's URL over each transport: path, git://, http://."""
    return url_of(remote, transport, servers)


@pytest.fixture(name="ops")
def _ops() -> GitOps:
    return GitOps(Sources())


class TestCommitFiles:
    def test_adds_and_changes(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Files are written over the parent's tree; the new commit's parent is expected."""
        head = remote.sha("master")
        new = ops.commit_files(url, "master", {"a.yaml": b"a: 1\n", "README.md": b"changed\n"}, "Add a", expected=head)
        assert new == remote.sha("master")
        assert remote.parents("master") == [head]
        assert remote.files("master") == ["README.md", "a.yaml", "hld/config/common.yaml"]
        assert remote.show("master", "README.md") == "changed"
        assert git("--git-dir", str(remote.bare), "log", "-1", "--format=%s", "master") == "Add a"

    def test_deletes_files_and_directories(self, ops: GitOps, url: str, remote: Remote) -> None:
        """None deletes a file, or a whole directory; deleting what is missing is no change."""
        remote.commit("master", {"hld/config/dev.yaml": "x\n", "keep.txt": "k\n"}, "more")
        ops.commit_files(url, "master", {"hld": None, "missing.txt": None}, "Remove hld", expected=remote.sha("master"))
        assert remote.files("master") == ["README.md", "keep.txt"]

    def test_replace(self, ops: GitOps, url: str, remote: Remote) -> None:
        """With replace, the tree is exactly the files given: the others disappear."""
        ops.commit_files(
            url,
            "master",
            {"prod/app.yaml": b"kind: Deployment\n"},
            "Publish",
            expected=remote.sha("master"),
            replace=True,
        )
        assert remote.files("master") == ["prod/app.yaml"]

    def test_unchanged_is_none(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A commit that would not change the tree is not made: None, the branch stays."""
        head = remote.sha("master")
        assert ops.commit_files(url, "master", {"README.md": b"hello\n"}, "Same", expected=head) is None
        assert (
            ops.commit_files(
                url,
                "master",
                {"README.md": b"hello\n", "hld/config/common.yaml": b"config: {}\n"},
                "Same",
                expected=head,
                replace=True,
            )
            is None
        )
        assert remote.sha("master") == head

    def test_creates_branch_without_parent(self, ops: GitOps, url: str, remote: Remote) -> None:
        """expected=None makes a new branch; without start, its first commit has no parent."""
        new = ops.commit_files(url, "prod", {"app.yaml": b"a\n"}, "First", expected=None)
        assert remote.sha("prod") == new
        assert remote.parents("prod") == []
        assert remote.files("prod") == ["app.yaml"]

    def test_creates_branch_from_start(self, ops: GitOps, url: str, remote: Remote) -> None:
        """start gives a new branch its parent: a branch name or a SHA."""
        master = remote.sha("master")
        assert master is not None
        new = ops.commit_files(url, "dev", {"dev.yaml": b"d\n"}, "Dev", expected=None, start="master")
        assert remote.parents("dev") == [master]
        assert "dev.yaml" in remote.files("dev")
        assert ops.commit_files(url, "stage", {}, "Nothing", expected=None, start=master) == master
        assert remote.sha("stage") == master
        assert new != master

    def test_empty_remote(
        self, ops: GitOps, root: Path, transport: str, servers: dict[str, GitDaemon | SmartHTTPServer]
    ) -> None:
        """The first commit of an empty repository creates its branch."""
        bare = root / "served" / f"empty{next(_names)}.git"
        git("-c", "init.defaultBranch=master", "init", "-q", "--bare", str(bare))
        url = str(bare) if transport == "path" else servers[transport].url + bare.name
        assert ops.branch_sha(url, "master") is None
        new = ops.commit_files(url, "master", {"dev/app.yaml": b"a\n"}, "First publish", expected=None)
        assert git("--git-dir", str(bare), "rev-parse", "master") == new
        assert ops.read_file(url, "master", "dev/app.yaml") == b"a\n"
        Remote(bare, bare).fsck()

    def test_overwriting_keeps_executable_bit(self, ops: GitOps, url: str, remote: Remote) -> None:
        """New files are 100644; an executable file overwritten stays executable."""
        (remote.work / "run.sh").write_text("#!/bin/sh\n")
        os.chmod(remote.work / "run.sh", 0o755)
        remote.commit("master", {}, "script")
        ops.commit_files(
            url, "master", {"run.sh": b"#!/bin/sh\necho\n", "new.txt": b"n\n"}, "Edit", expected=remote.sha("master")
        )
        listing = git("--git-dir", str(remote.bare), "ls-tree", "-r", "master")
        assert "100755 blob" in next(line for line in listing.splitlines() if line.endswith("run.sh"))
        assert "100644 blob" in next(line for line in listing.splitlines() if line.endswith("new.txt"))

    def test_file_gives_way_to_directory(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Writing a/b where a is a file replaces the file by a directory."""
        ops.commit_files(url, "master", {"README.md/inner.txt": b"i\n"}, "Dir", expected=remote.sha("master"))
        assert "README.md/inner.txt" in remote.files("master")

    @pytest.mark.parametrize(
        "path", ["../x", "/etc/passwd", "a/../../b", "a//b", "./a", ".git/config", "sub/.GIT/x", ""]
    )
    def test_unsafe_paths(self, ops: GitOps, remote: Remote, path: str) -> None:
        """Absolute paths, '..', '.git' and empty parts are refused before anything is pushed."""
        head = remote.sha("master")
        with pytest.raises(UnsafePathError):
            ops.commit_files(str(remote.bare), "master", {path: b"x"}, "Bad", expected=head)
        assert remote.sha("master") == head

    def test_file_and_directory_at_once(self, ops: GitOps, remote: Remote) -> None:
        """One path cannot be written both as a file and as a directory."""
        with pytest.raises(UnsafePathError, match="both a file and a directory"):
            ops.commit_files(str(remote.bare), "master", {"a": b"1", "a/b": b"2"}, "Bad", expected=remote.sha("master"))

    def test_bad_branch_name(self, ops: GitOps, remote: Remote) -> None:
        """A branch name git refuses is a BranchNameError (a ValueError)."""
        with pytest.raises(BranchNameError):
            ops.commit_files(str(remote.bare), "bad..name", {"a": b"1"}, "Bad", expected=None)

    def test_start_only_for_new_branch(self, ops: GitOps, remote: Remote) -> None:
        """start with an expected head is a programming error."""
        with pytest.raises(ValueError, match="start"):
            ops.commit_files(
                str(remote.bare), "master", {"a": b"1"}, "Bad", expected=remote.sha("master"), start="master"
            )

    def test_identity_from_environment(self, ops: GitOps, remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
        """Author and committer come from GIT_* variables, else fabpromote <fabpromote@localhost>."""
        ops.commit_files(str(remote.bare), "master", {"a": b"1"}, "One", expected=remote.sha("master"))
        assert (
            git("--git-dir", str(remote.bare), "log", "-1", "--format=%an <%ae>|%cn <%ce>", "master")
            == "Test Author <author@example.com>|Test Committer <committer@example.com>"
        )
        for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            monkeypatch.delenv(name)
        ops.commit_files(str(remote.bare), "master", {"a": b"2"}, "Two", expected=remote.sha("master"))
        assert (
            git("--git-dir", str(remote.bare), "log", "-1", "--format=%an <%ae>|%cn <%ce>", "master")
            == "fabpromote <fabpromote@localhost>|fabpromote <fabpromote@localhost>"
        )


class TestCompareAndSwap:
    def test_stale_expected(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A concurrent push between reading and writing: StaleBranchError, the other commit intact."""
        head = ops.branch_sha(url, "master")
        theirs = remote.commit("master", {"theirs.txt": "t\n"}, "Theirs")
        with pytest.raises(StaleBranchError) as caught:
            ops.commit_files(url, "master", {"ours.txt": b"o\n"}, "Ours", expected=head)
        assert (caught.value.expected, caught.value.actual, caught.value.branch) == (head, theirs, "master")
        assert isinstance(caught.value, FabpromoteError)
        assert isinstance(caught.value, RuntimeError)
        assert remote.sha("master") == theirs
        assert remote.files("master") == ["README.md", "hld/config/common.yaml", "theirs.txt"]

    def test_new_branch_must_not_exist(self, ops: GitOps, url: str, remote: Remote) -> None:
        """expected=None means "absent": a branch created meanwhile makes the write stale."""
        theirs = remote.commit("prod", {"p": "p\n"}, "Theirs")
        with pytest.raises(StaleBranchError, match="expected it absent"):
            ops.commit_files(url, "prod", {"ours.txt": b"o\n"}, "Ours", expected=None)
        assert remote.sha("prod") == theirs

    def test_expected_branch_missing(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A branch expected at a commit but absent is stale too."""
        with pytest.raises(StaleBranchError, match="it is absent"):
            ops.commit_files(url, "nope", {"a": b"1"}, "A", expected=remote.sha("master"))
        assert remote.sha("nope") is None

    def test_race_after_advertisement(
        self, ops: GitOps, make_remote: Callable[..., Remote], servers: dict[str, GitDaemon | SmartHTTPServer]
    ) -> None:
        """A push landing between the server's advertisement and our update: the server's own check refuses ours."""
        remote = make_remote()
        http = servers["http"]
        assert isinstance(http, SmartHTTPServer)
        url = http.url + remote.bare.name
        head = remote.sha("master")
        landed: list[str] = []

        def push_first(method: str, path: str) -> int | None:
            if method == "POST" and path.endswith("git-receive-pack") and not landed:
                landed.append(remote.commit("master", {"theirs.txt": "t\n"}, "Theirs"))
            return None

        http.before_request = push_first
        try:
            with pytest.raises(StaleBranchError):
                ops.commit_files(url, "master", {"ours.txt": b"o\n"}, "Ours", expected=head)
        finally:
            http.before_request = None
        assert remote.sha("master") == landed[0]
        assert "ours.txt" not in remote.files("master")

    def test_threads_retrying(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Threads sharing one GitOps, each retrying on stale: every commit lands."""

        def work(worker: int) -> None:
            for step in range(3):
                while True:
                    head = ops.branch_sha(url, "master")
                    try:
                        ops.commit_files(
                            url, "master", {f"t{worker}-{step}": b"x\n"}, f"t{worker}-{step}", expected=head
                        )
                        break
                    except StaleBranchError:
                        continue

        threads = [threading.Thread(target=work, args=(worker,)) for worker in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(name for name in remote.files("master") if name.startswith("t")) == sorted(
            f"t{w}-{s}" for w in range(3) for s in range(3)
        )
        assert remote.count("master") == 1 + 9

    def test_urls_redacted(self, ops: GitOps, remote: Remote, servers: dict[str, GitDaemon | SmartHTTPServer]) -> None:
        """Errors name the remote without the credentials in its URL."""
        url = servers["http"].url.replace("http://", "http://user:s3cret-token@") + remote.bare.name
        with pytest.raises(StaleBranchError) as caught:
            ops.commit_files(url, "master", {"a": b"1"}, "A", expected="0" * 40)
        assert "s3cret-token" not in str(caught.value)
        assert "***@127.0.0.1" in str(caught.value)


PROCESS_SCRIPT = textwrap.dedent(
    """
    import sys
    from fabpromote.exceptions import StaleBranchError
    from fabpromote.git import GitOps
    from fabpromote import Sources

    url, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ops = GitOps(Sources())
    for step in range(count):
        while True:
            head = ops.branch_sha(url, "master")
            try:
                ops.commit_files(url, "master", {f"w{worker}/{step}.txt": f"{worker} {step}\\n".encode()}, f"{worker}-{step}", expected=head)
                break
            except StaleBranchError:
                continue
    """
)


class TestProcesses:
    @pytest.mark.parametrize(("transport", "shared_cache"), [("path", True), ("git", False), ("http", False)])
    def test_four_processes(
        self,
        make_remote: Callable[..., Remote],
        servers: dict[str, GitDaemon | SmartHTTPServer],
        tmp_path: Path,
        transport: str,
        shared_cache: bool,
    ) -> None:
        """Four processes commit to one branch, retrying on stale: all commits land, none lost."""
        remote = make_remote()
        url = url_of(remote, transport, servers)
        workers, count = 4, 5
        processes = []
        for worker in range(workers):
            env = dict(os.environ, FABPROMOTE_CACHE_DIR=str(tmp_path / ("cache" if shared_cache else f"cache{worker}")))
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", PROCESS_SCRIPT, url, str(worker), str(count)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
        expected = sorted(f"w{w}/{s}.txt" for w in range(workers) for s in range(count))
        assert sorted(name for name in remote.files("master") if name.startswith("w")) == expected
        assert remote.count("master") == 1 + workers * count
        # Linear: every commit has one parent, so none was merged over or lost.
        assert git("--git-dir", str(remote.bare), "rev-list", "--min-parents=2", "master") == ""


class TestMerge:
    def test_fast_forward(self, ops: GitOps, url: str, remote: Remote) -> None:
        """stage behind dev: stage moves to dev's commit itself."""
        stage = remote.commit("stage", {}, "stage")
        dev = remote.commit("dev", {"dev.txt": "d\n"}, "dev work", start="stage")
        result = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert (result.status, result.sha, result.fast_forward) == ("merged", dev, True)
        assert remote.sha("stage") == dev

    def test_merge_commit(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Diverged branches: a merge commit with parents (base, head) holding both sides."""
        remote.commit("dev", {}, "branch point")
        stage = remote.commit("stage", {"hotfix.txt": "h\n"}, "hotfix")
        dev = remote.commit("dev", {"feature.txt": "f\n"}, "feature")
        result = ops.merge(
            url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote dev to stage"
        )
        assert (result.status, result.fast_forward) == ("merged", False)
        assert remote.sha("stage") == result.sha
        assert remote.parents("stage") == [stage, dev]
        assert {"hotfix.txt", "feature.txt"} <= set(remote.files("stage"))
        assert remote.sha("dev") == dev

    def test_merges_lines_of_one_file(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Changes to different lines of one file merge (with merge3)."""
        pytest.importorskip("merge3")
        remote.commit("master", {"config.yaml": "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n"}, "base")
        remote.commit("dev", {}, "branch point")
        stage = remote.commit("stage", {"config.yaml": "a: 10\nb: 2\nc: 3\nd: 4\ne: 5\n"}, "stage a")
        dev = remote.commit("dev", {"config.yaml": "a: 1\nb: 2\nc: 3\nd: 4\ne: 50\n"}, "dev e")
        result = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert result.status == "merged"
        assert remote.show("stage", "config.yaml") == "a: 10\nb: 2\nc: 3\nd: 4\ne: 50"

    def test_mode_changed_on_one_side(self, ops: GitOps, url: str, remote: Remote) -> None:
        """chmod +x on one branch, another file changed on the other: merges, keeping the new mode."""
        remote.commit("master", {"run.sh": "#!/bin/sh\n"}, "script")
        remote.commit("dev", {}, "branch point")
        stage = remote.commit("stage", {"other.txt": "o\n"}, "other")
        git("checkout", "-q", "dev", cwd=remote.work)
        os.chmod(remote.work / "run.sh", 0o755)
        dev = remote.commit("dev", {}, "executable")
        result = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert result.status == "merged"
        listing = git("--git-dir", str(remote.bare), "ls-tree", "stage", "run.sh")
        assert listing.startswith("100755 blob")

    def test_mode_changed_on_one_side_in_a_folder(self, ops: GitOps, url: str, remote: Remote) -> None:
        """chmod +x two folders deep on one branch, a file beside it changed on the other: both kept."""
        remote.commit("master", {"ci/bin/run.sh": "#!/bin/sh\n", "ci/bin/env.txt": "a\n"}, "script")
        remote.commit("dev", {}, "branch point")
        stage = remote.commit("stage", {"ci/bin/env.txt": "b\n"}, "env")
        git("checkout", "-q", "dev", cwd=remote.work)
        os.chmod(remote.work / "ci" / "bin" / "run.sh", 0o755)
        dev = remote.commit("dev", {"ci/other.txt": "o\n"}, "executable")
        result = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert result.status == "merged"
        assert git("--git-dir", str(remote.bare), "ls-tree", "stage", "ci/bin/run.sh").startswith("100755 blob")
        assert remote.show("stage", "ci/bin/env.txt") == "b"
        assert remote.show("stage", "ci/other.txt") == "o"
        assert git("--git-dir", str(remote.bare), "fsck", "--strict", "--no-dangling") == ""

    def test_without_merge3_both_sides_conflict(
        self, ops: GitOps, remote: Remote, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without merge3, a file changed on both sides is a conflict, never a wrong merge."""
        import dulwich.merge

        monkeypatch.setattr(dulwich.merge, "merge3", None)
        remote.commit("master", {"config.yaml": "a: 1\nb: 2\nc: 3\n"}, "base")
        remote.commit("dev", {}, "branch point")
        stage = remote.commit("stage", {"config.yaml": "a: 10\nb: 2\nc: 3\n"}, "stage a")
        dev = remote.commit("dev", {"config.yaml": "a: 1\nb: 2\nc: 30\n"}, "dev c")
        with pytest.raises(MergeConflictError) as caught:
            ops.merge(
                str(remote.bare), base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote"
            )
        assert caught.value.paths == ("config.yaml",)

    def test_conflict(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Conflicting changes: MergeConflictError listing every path; nothing pushed."""
        remote.commit("dev", {}, "branch point")
        stage = remote.commit(
            "stage",
            {"README.md": "stage\n", "hld/config/common.yaml": "config: {stage: 1}\n", "same.txt": "s\n"},
            "stage",
        )
        dev = remote.commit(
            "dev", {"README.md": "dev\n", "hld/config/common.yaml": "config: {dev: 1}\n", "same.txt": "s\n"}, "dev"
        )
        with pytest.raises(MergeConflictError) as caught:
            ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert caught.value.paths == ("README.md", "hld/config/common.yaml")
        assert "README.md, hld/config/common.yaml" in str(caught.value)
        assert (remote.sha("stage"), remote.sha("dev")) == (stage, dev)
        assert ops.conflicts(url, "stage", "dev") == ("README.md", "hld/config/common.yaml")

    def test_up_to_date(self, ops: GitOps, url: str, remote: Remote) -> None:
        """head already in base: nothing to merge, nothing pushed."""
        dev = remote.commit("dev", {}, "dev")
        stage = remote.commit("stage", {"more.txt": "m\n"}, "stage ahead", start="dev")
        result = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Promote")
        assert (result.status, result.sha) == ("up-to-date", stage)
        same = ops.merge(url, base="stage", head="stage", expected_base=stage, expected_head=stage, message="Promote")
        assert same.status == "up-to-date"
        assert remote.sha("stage") == stage

    def test_stale_heads(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Either branch moved since it was read: StaleBranchError before anything is built."""
        stage = remote.commit("stage", {}, "stage")
        dev = remote.commit("dev", {"d": "d\n"}, "dev")
        with pytest.raises(StaleBranchError, match="'dev'"):
            ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=stage, message="Promote")
        with pytest.raises(StaleBranchError, match="'stage'"):
            ops.merge(url, base="stage", head="dev", expected_base=dev, expected_head=dev, message="Promote")
        assert remote.sha("stage") == stage

    def test_no_conflicts_when_fast_forward(self, ops: GitOps, url: str, remote: Remote) -> None:
        """conflicts() of a fast-forward or an up-to-date pair is empty."""
        remote.commit("stage", {}, "stage")
        remote.commit("dev", {"x": "x\n"}, "dev", start="stage")
        assert ops.conflicts(url, "stage", "dev") == ()
        assert ops.conflicts(url, "dev", "stage") == ()


class TestRevertTo:
    def test_keeps_history(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A new commit on top whose tree is the target's: history is kept."""
        good = remote.sha("master")
        remote.commit("master", {"bad.txt": "b\n"}, "bad 1")
        bad = remote.commit("master", {"README.md": "broken\n"}, "bad 2")
        new = ops.revert_to(url, "master", good, expected=bad, message="Roll back")  # type: ignore[arg-type]
        assert remote.sha("master") == new
        assert remote.parents("master") == [bad]
        assert git("--git-dir", str(remote.bare), "rev-parse", "master^{tree}") == git(
            "--git-dir", str(remote.bare), "rev-parse", f"{good}^{{tree}}"
        )
        assert remote.count("master") == 4

    def test_already_there(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Reverting to a commit with the same tree makes no commit."""
        head = remote.sha("master")
        assert head is not None
        assert ops.revert_to(url, "master", head, expected=head, message="Nothing") is None
        assert remote.sha("master") == head

    def test_target_by_name_and_stale(self, ops: GitOps, url: str, remote: Remote) -> None:
        """The target may be a branch; a moved branch is stale."""
        good = remote.commit("good", {}, "good")
        head = remote.commit("master", {"x": "x\n"}, "x")
        assert ops.revert_to(url, "master", "good", expected=head, message="Back") is not None
        with pytest.raises(StaleBranchError):
            ops.revert_to(url, "master", good, expected=head, message="Again")
        with pytest.raises(RefNotFoundError):
            ops.revert_to(url, "master", "nope", expected=remote.sha("master") or "", message="No")


class TestReading:
    def test_branch_sha_is_fresh(self, ops: GitOps, url: str, remote: Remote) -> None:
        """branch_sha reads the remote every time, not a memoized listing."""
        assert ops.branch_sha(url, "master") == remote.sha("master")
        assert ops.branch_sha(url, "prod") is None
        moved = remote.commit("master", {"x": "x\n"}, "x")
        assert ops.branch_sha(url, "master") == moved

    def test_read_file(self, ops: GitOps, url: str, remote: Remote) -> None:
        """Files at a branch, tag or SHA; None for missing paths and directories."""
        first = remote.sha("master")
        assert first is not None
        assert ops.read_file(url, "master", "hld/config/common.yaml") == b"config: {}\n"
        remote.commit("master", {"hld/config/common.yaml": "config: {x: 1}\n"}, "x")
        assert ops.read_file(url, "master", "hld/config/common.yaml") == b"config: {x: 1}\n"
        assert ops.read_file(url, first, "hld/config/common.yaml") == b"config: {}\n"
        git("tag", "v1", first, cwd=remote.work)
        git("push", "-q", "origin", "v1", cwd=remote.work)
        assert ops.read_file(url, "v1", "README.md") == b"hello\n"
        assert ops.read_file(url, "master", "hld/config") is None
        assert ops.read_file(url, "master", "missing.yaml") is None
        assert ops.read_file(url, "master", "README.md/below") is None
        with pytest.raises(RefNotFoundError):
            ops.read_file(url, "nope", "README.md")

    def test_compare(self, ops: GitOps, url: str, remote: Remote) -> None:
        """ahead counts head's commits base lacks; behind the reverse."""
        remote.commit("stage", {}, "stage")
        remote.commit("dev", {"a": "a\n"}, "a", start="stage")
        remote.commit("dev", {"b": "b\n"}, "b")
        assert (c := ops.compare(url, "stage", "dev")).ahead == 2
        assert c.behind == 0
        remote.commit("stage", {"h": "h\n"}, "hotfix")
        assert (c := ops.compare(url, "stage", "dev")).ahead == 2
        assert c.behind == 1
        assert (c := ops.compare(url, "dev", "stage")).ahead == 1
        assert c.behind == 2

    def test_log_with_trailers(self, ops: GitOps, url: str, remote: Remote) -> None:
        """First-parent history, newest first, with trailers parsed in order, repeated keys kept."""
        message = "Publish prod\n\nBody text: not a trailer here.\n\nFabpromote-Component: app https://x/app.git abc\nFabpromote-Component: db https://x/db.git def\nFabpromote-Environment: prod\n"
        head = remote.sha("master")
        new = ops.commit_files(url, "master", {"a": b"1"}, message, expected=head)
        log = ops.log(url, "master")
        assert [info.sha for info in log] == [new, head]
        assert log[0].parents == (head,)
        assert log[0].message == message
        assert log[0].author == "Test Author <author@example.com>"
        assert log[0].trailers == (
            ("Fabpromote-Component", "app https://x/app.git abc"),
            ("Fabpromote-Component", "db https://x/db.git def"),
            ("Fabpromote-Environment", "prod"),
        )
        assert log[1].trailers == ()
        assert len(ops.log(url, "master", limit=1)) == 1

    def test_log_follows_first_parent(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A merge's second parent's commits are not listed."""
        remote.commit("dev", {}, "point")
        stage = remote.commit("stage", {"s": "s\n"}, "s")
        dev = remote.commit("dev", {"d": "d\n"}, "d")
        merged = ops.merge(url, base="stage", head="dev", expected_base=stage, expected_head=dev, message="Merge")
        assert [info.sha for info in ops.log(url, "stage")][:2] == [merged.sha, stage]
        assert dev not in [info.sha for info in ops.log(url, "stage")]

    def test_is_ancestor(self, ops: GitOps, url: str, remote: Remote) -> None:
        """A commit is its own ancestor; history runs one way."""
        old = remote.sha("master")
        assert old is not None
        new = remote.commit("master", {"x": "x\n"}, "x")
        assert ops.is_ancestor(url, old, "master")
        assert ops.is_ancestor(url, new, new)
        assert not ops.is_ancestor(url, "master", old)


class TestRefusals:
    @pytest.mark.parametrize("transport", ["git", "http"])
    def test_hook_refuses(
        self, ops: GitOps, remote: Remote, servers: dict[str, GitDaemon | SmartHTTPServer], transport: str
    ) -> None:
        """A pre-receive hook's refusal is a PushRejectedError with the hook's words; the branch stays."""
        hook = remote.bare / "hooks" / "pre-receive"
        hook.write_text("#!/bin/sh\necho 'policy: prod is frozen' >&2\nexit 1\n")
        hook.chmod(0o755)
        url = url_of(remote, transport, servers)
        head = remote.sha("master")
        with pytest.raises(PushRejectedError) as caught:
            ops.commit_files(url, "master", {"a": b"1"}, "A", expected=head)
        assert "policy: prod is frozen" in str(caught.value)
        assert "pre-receive hook declined" in caught.value.reason
        assert caught.value.branch == "master"
        assert remote.sha("master") == head

    def test_checked_out_branch_of_work_tree(self, ops: GitOps, tmp_path: Path) -> None:
        """Like git's receive.denyCurrentBranch: a work tree's checked-out branch is not moved."""
        work = WorkRepo.create(tmp_path / "work", {"a": "a\n"}).path
        head = git("rev-parse", "HEAD", cwd=work)
        with pytest.raises(PushRejectedError, match="checked out"):
            ops.commit_files(str(work), "master", {"b": b"b"}, "B", expected=head)
        assert git("rev-parse", "HEAD", cwd=work) == head
        assert ops.commit_files(str(work), "other", {"b": b"b"}, "B", expected=None, start=head)

    def test_push_needs_credentials(
        self, ops: GitOps, remote: Remote, servers: dict[str, GitDaemon | SmartHTTPServer]
    ) -> None:
        """A server refusing the push for credentials: both a PushRejectedError and an AuthenticationError."""
        http = servers["http"]
        assert isinstance(http, SmartHTTPServer)
        url = http.url + remote.bare.name
        head = remote.sha("master")
        http.before_request = lambda method, path: 403 if "receive-pack" in path else None
        try:
            with pytest.raises(PushAuthenticationError) as caught:
                ops.commit_files(url, "master", {"a": b"1"}, "A", expected=head)
        finally:
            http.before_request = None
        assert isinstance(caught.value, PushRejectedError)
        assert isinstance(caught.value, AuthenticationError)
        assert caught.value.status == 403
        assert remote.sha("master") == head
