"""The fabrikate engine: runs when `fab` is on PATH, skips with a reason otherwise."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from fabpromote_fabrikate._engine import FabNotFoundError, redact

import fabpromote
from fabpromote.exceptions import HooksNotAllowedError
from fabpromote.testing import assert_engines_agree

needs_fab = pytest.mark.skipif(shutil.which("fab") is None, reason="the Fabrikate binary `fab` is not on PATH")


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(home / "cache"))


@pytest.fixture(name="hld")
def _hld(tmp_path: Path) -> Path:
    root = tmp_path / "hld"
    files = {
        "component.yaml": "name: root\ntype: static\npath: ./m\nsubcomponents:\n- name: app\n  source: ./app\n",
        "m/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n",
        "app/component.yaml": "name: app\ntype: static\npath: ./m\n",
        "app/m/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        "app/config/prod.yaml": "namespace: x\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


class TestWithoutFab:
    def test_missing_fab_is_clear(self, hld: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """Without fab the engine says what is missing and where to get it."""
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        monkeypatch.delenv("FABPROMOTE_FAB", raising=False)
        with pytest.raises(FabNotFoundError, match="needs the `fab` binary"):
            fabpromote.generate(hld, ["prod"], engine="fabrikate")

    def test_hooks_need_permission(self, hld: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """fab always runs hooks, so a tree with hooks needs allow_hooks."""
        monkeypatch.setenv("FABPROMOTE_FAB", "/bin/true")
        (hld / "app" / "component.yaml").write_text("name: app\nhooks:\n  before-generate: [touch x]\n")
        with pytest.raises(HooksNotAllowedError, match="--allow-hooks"):
            fabpromote.generate(hld, ["prod"], engine="fabrikate")

    def test_redaction(self) -> None:
        """Credentials in URLs and known tokens never reach an error message."""
        text = "cloning https://user:s3cret@github.com/a/b.git with tok123"
        assert redact(text, ("tok123",)) == "cloning https://***@github.com/a/b.git with ***"

    def test_registered(self) -> None:
        """The plugin registers the fabrikate engine through its entry point."""
        assert "fabrikate" in fabpromote.Plugins.load().engines.names()


@needs_fab
class TestWithFab:
    def test_engines_agree(self, hld: Path) -> None:
        """The native engine and the real fab render the same bytes."""
        assert_engines_agree(hld, ["prod"])

    def test_source_untouched(self, hld: Path) -> None:
        """Rendering with fab never writes into the user's HLD folder."""
        fabpromote.generate(hld, ["prod"], engine="fabrikate")
        assert not (hld / "generated").exists()
