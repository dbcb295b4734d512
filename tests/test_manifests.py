"""Manifests: an immutable ordered mapping with digest, diff and one-step write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fabpromote import Manifests
from fabpromote.exceptions import UnsafePathError


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

    @pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "a\0b", ""])
    def test_paths_stay_inside(self, path: str) -> None:
        """A path that would leave the output folder is refused."""
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
        assert files == ["new/x.yaml", "y.yaml"]
        assert (target / "new" / "x.yaml").read_bytes() == b"x"
        assert sorted(os.listdir(target.parent)) == ["prod"]

    def test_failure_keeps_old_tree(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A write that fails half way leaves the previous tree and no debris."""
        target = tmp_path / "out"
        Manifests({"keep.yaml": b"keep"}).write(target)
        real = Path.write_bytes
        calls = []

        def failing(self: Path, data: bytes) -> int:
            calls.append(self)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return real(self, data)

        monkeypatch.setattr(Path, "write_bytes", failing)
        with pytest.raises(OSError, match="No space"):
            Manifests({"a.yaml": b"a", "b.yaml": b"b"}).write(target)
        monkeypatch.undo()
        assert (target / "keep.yaml").read_bytes() == b"keep"
        assert sorted(os.listdir(tmp_path)) == ["out"]


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
        (target / "extra.yaml").write_bytes(b"x")
        Manifests({"a.yaml": b"changed"}).write(target)
        assert sorted(os.listdir(target)) == ["a.yaml"]
