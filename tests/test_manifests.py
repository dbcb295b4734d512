"""Manifests: an immutable ordered mapping with digest, diff and one-step write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabpromote import Manifests
from fabpromote.exceptions import OutputRefusedError, OutputWriteError, UnsafePathError

#: The record fabpromote keeps in a folder it wrote (documented in docs/cli.md).
MARKER = ".fabpromote-output"


class TestMapping:
    def test_ordered_and_immutable(self) -> None:
        """Paths iterate sorted; there is no way to assign."""
        manifests = Manifests({"b.yaml": b"b", "a/x.yaml": b"x"})
        assert list(manifests) == ["a/x.yaml", "b.yaml"]
        with pytest.raises(TypeError):
            manifests["c"] = b"c"  # type: ignore[index]

    def test_digest_depends_on_paths_and_bytes(self) -> None:
        """Equal contents share a digest; a moved or changed byte changes it."""
        base = Manifests({"a": b"1", "b": b"2"})
        assert base.digest == Manifests({"b": b"2", "a": b"1"}).digest
        assert base.digest != Manifests({"a": b"1", "c": b"2"}).digest
        assert base.digest != Manifests({"a": b"12", "b": b""}).digest

    @pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "a\0b", "", "a//b", "a/./b", ".", "a/", "a\\b"])
    def test_paths_stay_inside(self, path: str) -> None:
        """A path that would leave the output folder, or that no file read back from it has, is refused."""
        with pytest.raises(UnsafePathError):
            Manifests({path: b""})

    def test_diff(self) -> None:
        """diff is a unified diff of changed, added and removed files."""
        old = Manifests({"a.yaml": b"x: 1\n", "gone.yaml": b"g\n"})
        new = Manifests({"a.yaml": b"x: 2\n", "new.yaml": b"n\n"})
        text = old.diff(new)
        assert "--- a/a.yaml\n+++ b/a.yaml\n" in text
        assert "-x: 1\n+x: 2\n" in text
        assert "--- a/gone.yaml\n+++ /dev/null\n" in text
        assert "--- /dev/null\n+++ b/new.yaml\n" in text
        assert old.diff(old) == ""


class TestWrite:
    def test_replaces_directory(self, tmp_path: Path) -> None:
        """write leaves exactly the manifests' files, old ones removed."""
        target = tmp_path / "generated" / "prod"
        Manifests({"old.yaml": b"old"}).write(target)
        Manifests({"new/x.yaml": b"x", "y.yaml": b""}).write(target)
        files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
        assert files == [MARKER, "new/x.yaml", "y.yaml"]
        assert (target / "new" / "x.yaml").read_bytes() == b"x"
        assert sorted(os.listdir(target.parent)) == ["prod"]

    def test_failure_keeps_old_tree(self, tmp_path: Path) -> None:
        """A write that fails half way (the file system refuses the second file) leaves the previous tree and no debris."""
        target = tmp_path / "out"
        Manifests({"keep.yaml": b"keep"}).write(target)
        too_long = "b" * 300 + ".yaml"  # longer than any file system takes (255 bytes)
        with pytest.raises(OutputWriteError, match=f"cannot write {target}: File name too long"):
            Manifests({"a.yaml": b"a", too_long: b"b"}).write(target)
        assert (target / "keep.yaml").read_bytes() == b"keep"
        assert sorted(os.listdir(tmp_path)) == ["out"]
        assert Manifests.read(target) == Manifests({"keep.yaml": b"keep"})


class TestReadAndUnchanged:
    def test_read_round_trip(self, tmp_path: Path) -> None:
        """read gives back what write wrote."""
        manifests = Manifests({"a/b.yaml": b"b", "c.yaml": b""})
        manifests.write(tmp_path / "out")
        assert Manifests.read(tmp_path / "out") == manifests

    def test_identical_tree_left_alone(self, tmp_path: Path) -> None:
        """Writing the same files again changes nothing on disk; other files replace the tree."""
        target = tmp_path / "out"
        Manifests({"a.yaml": b"a"}).write(target)
        inode = os.stat(target).st_ino
        Manifests({"a.yaml": b"a"}).write(target)
        assert os.stat(target).st_ino == inode
        Manifests({"a.yaml": b"changed"}).write(target)
        assert os.stat(target).st_ino != inode
        assert (target / "a.yaml").read_bytes() == b"changed"
        os.unlink(target / "a.yaml")
        assert Manifests({"a.yaml": b"changed"}).write(target)
        assert sorted(os.listdir(target)) == [MARKER, "a.yaml"]


class TestOnlyOwnOutputReplaced:
    """A folder is replaced only when absent, empty or an unchanged earlier output: never a user's file."""

    def test_user_file_refused_and_kept(self, tmp_path: Path) -> None:
        """A folder holding a file fabpromote did not write is refused, naming the file; nothing changes."""
        target = tmp_path / "out"
        target.mkdir()
        (target / "notes.txt").write_text("mine")
        with pytest.raises(OutputRefusedError, match=r"out/notes.txt would be lost: it is not fabpromote's"):
            Manifests({"a.yaml": b"a"}).write(target)
        assert sorted(os.listdir(tmp_path)) == ["out"]
        assert sorted(os.listdir(target)) == ["notes.txt"]

    def test_file_added_to_earlier_output_refused(self, tmp_path: Path) -> None:
        """A file the user added to an earlier output is named and kept."""
        target = tmp_path / "out"
        Manifests({"a.yaml": b"a"}).write(target)
        (target / "sub").mkdir()
        (target / "sub" / "extra.yaml").write_bytes(b"x")
        with pytest.raises(OutputRefusedError, match=r"out/sub/extra.yaml would be lost: it is not a file fabpromote"):
            Manifests({"b.yaml": b"b"}).write(target)
        assert (target / "sub" / "extra.yaml").read_bytes() == b"x"
        assert (target / "a.yaml").read_bytes() == b"a"

    def test_edited_output_refused(self, tmp_path: Path) -> None:
        """A written file the user edited since is not overwritten."""
        target = tmp_path / "out"
        Manifests({"a.yaml": b"a"}).write(target)
        (target / "a.yaml").write_bytes(b"edited")
        with pytest.raises(OutputRefusedError, match=r"out/a.yaml would be lost: it was changed since"):
            Manifests({"a.yaml": b"new"}).write(target)
        assert (target / "a.yaml").read_bytes() == b"edited"

    def test_empty_folder_replaced(self, tmp_path: Path) -> None:
        """An empty folder is fine."""
        target = tmp_path / "out"
        target.mkdir()
        assert Manifests({"a.yaml": b"a"}).write(target)
        assert Manifests.read(target) == Manifests({"a.yaml": b"a"})

    @pytest.mark.parametrize("kind", ["worktree", "bare"])
    def test_repository_refused(self, tmp_path: Path, kind: str) -> None:
        """A git repository (work tree or bare) is never an output folder, even when empty of files."""
        import subprocess

        repo = tmp_path / "repo"
        subprocess.run(["git", "init", "-q", *(["--bare"] if kind == "bare" else []), str(repo)], check=True)
        with pytest.raises(OutputRefusedError, match="is a git repository"):
            Manifests({"a.yaml": b"a"}).write(repo)

    def test_root_and_working_directory_refused(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """``/``, ``.`` and a folder holding the working directory are refused, even when empty."""
        work = tmp_path / "empty" / "here"
        work.mkdir(parents=True)
        monkeypatch.chdir(work)
        for target in ("/", ".", "..", str(tmp_path / "empty")):
            with pytest.raises(OutputRefusedError):
                Manifests({"a.yaml": b"a"}).write(target)
        assert os.listdir(work) == []

    def test_file_in_place_of_folder_refused(self, tmp_path: Path) -> None:
        """A file where the folder should be is not replaced."""
        target = tmp_path / "out"
        target.write_text("mine")
        with pytest.raises(OutputRefusedError, match="is not a folder"):
            Manifests({"a.yaml": b"a"}).write(target)
        assert target.read_text() == "mine"

    def test_unwritable_parent(self, tmp_path: Path) -> None:
        """A folder where nothing may be created gives an OutputWriteError naming the path."""
        if os.geteuid() == 0:
            target = Path("/proc/fabpromote-out")  # root may write anywhere else
        else:
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o500)
            target = locked / "out"
        with pytest.raises(OutputWriteError, match=f"cannot write {target}"):
            Manifests({"a.yaml": b"a"}).write(target)

    def test_cache_record(self, tmp_path: Path) -> None:
        """With ``record="cache"`` the folder holds only the manifests, and is still known as fabpromote's."""
        target, cache = tmp_path / "generated" / "prod", tmp_path / "cache"
        Manifests({"a.yaml": b"a"}).write(target, record="cache", cache_dir=cache)
        assert os.listdir(target) == ["a.yaml"]
        assert Manifests({"b.yaml": b"b"}).write(target, record="cache", cache_dir=cache)
        assert os.listdir(target) == ["b.yaml"]
        (target / "b.yaml").write_bytes(b"edited")
        with pytest.raises(OutputRefusedError, match=r"b\.yaml would be lost"):
            Manifests({"c.yaml": b"c"}).write(target, record="cache", cache_dir=cache)
        with pytest.raises(OutputRefusedError, match="no record of an earlier fabpromote output"):
            Manifests({"c.yaml": b"c"}).write(target, record="cache", cache_dir=tmp_path / "other-cache")


def test_folders_at_any_depth_in_any_order_are_written(tmp_path: Path) -> None:
    """A folder's file sorts before a deeper folder's, whose parent has files of its own after it."""
    files = {"a/A.yaml": b"1", "a/b/c/y.yaml": b"2", "a/b/z.yaml": b"3", "x.yaml": b"4", "q/r/s/t.yaml": b"5"}
    manifests = Manifests(files)
    assert manifests.write(tmp_path / "out") is True
    assert Manifests.read(tmp_path / "out") == manifests
