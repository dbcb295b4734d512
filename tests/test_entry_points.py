"""Entry points read without importlib.metadata, as importlib.metadata reads them."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from fabpromote._plugins.entry_points import EntryPoint, entry_points


def _dist(folder: Path, name: str, text: str, *, suffix: str = "-1.0.dist-info") -> None:
    metadata = folder / f"{name}{suffix}"
    metadata.mkdir(parents=True)
    (metadata / "entry_points.txt").write_text(text)


@pytest.mark.parametrize("group", ["fabpromote", "console_scripts", "pytest11"])
def test_same_as_importlib_metadata(group: str) -> None:
    """On this interpreter's sys.path, the same entry points as importlib.metadata finds."""
    theirs = {(entry.name, entry.value) for entry in importlib.metadata.entry_points(group=group)}
    ours = {(entry.name, entry.value) for entry in entry_points(group)}
    assert ours == theirs
    if group == "fabpromote":
        assert ("helm", "fabpromote_helm") in ours


def test_sections_comments_and_egg_info(tmp_path: Path) -> None:
    """Only the group's section counts; comments and blank lines are skipped; egg-info folders too."""
    _dist(
        tmp_path,
        "alpha",
        "[console_scripts]\nalpha = alpha:main\n\n[fabpromote]\n# a comment\n; another\n a = x.y:z \n",
    )
    _dist(tmp_path, "Beta.Plugin", "[ fabpromote ]\nb = beta\n", suffix=".egg-info")
    (tmp_path / "gamma-2.0.dist-info").mkdir()  # no entry_points.txt
    found = entry_points("fabpromote", [str(tmp_path)])
    assert found == [  # folders in name order
        EntryPoint(name="b", value="beta", distribution="beta_plugin"),
        EntryPoint(name="a", value="x.y:z", distribution="alpha"),
    ]


def test_first_distribution_on_the_path_wins(tmp_path: Path) -> None:
    """A distribution installed in two folders counts once: the first on the path."""
    _dist(tmp_path / "first", "my_plugin", "[fabpromote]\nmine = new_module\n", suffix="-2.0.dist-info")
    _dist(tmp_path / "second", "My.Plugin", "[fabpromote]\nmine = old_module\n")
    (tmp_path / "archive.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    path = [str(tmp_path / "missing"), str(tmp_path / "archive.zip"), str(tmp_path / "first"), str(tmp_path / "second")]
    assert [entry.value for entry in entry_points("fabpromote", path)] == ["new_module"]


def test_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """module, module:attr and module:attr.attr load what they name; a malformed value is a ValueError."""
    (tmp_path / "ep_target.py").write_text("class Outer:\n    class Inner:\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = EntryPoint(name="m", value="ep_target", distribution="d").load()
    assert module is sys.modules["ep_target"]
    assert EntryPoint(name="m", value="ep_target:Outer.Inner [extra]", distribution="d").load() is module.Outer.Inner
    with pytest.raises(ValueError, match=r"entry point 'bad' of d: malformed value 'not a module'"):
        EntryPoint(name="bad", value="not a module", distribution="d").load()
