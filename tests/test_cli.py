"""The `fabpromote` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote._cli import build_parser, main

if TYPE_CHECKING:
    from tests.conftest import WriteTree

STATIC_APP = {
    "component.yaml": "name: app\ntype: static\npath: m\nsubcomponents:\n- name: sub\n  source: ./sub\n",
    "m/a.yaml": "kind: A\n",
    "sub/component.yaml": "name: sub\n",
}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabpromote", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


class TestGenerate:
    def test_writes_fabrikate_layout(self, write_tree: WriteTree) -> None:
        """generate ENV... writes generated/<envs joined by '-'>."""
        root = write_tree(STATIC_APP)
        assert main(["generate", "prod", "east", "--path", str(root)]) == 0
        out = root / "generated" / "prod-east"
        assert (out / "app.yaml").read_bytes() == b"---\nkind: A\n\n"
        assert (out / "sub" / "sub.yaml").read_bytes() == b""

    def test_common_without_env(self, write_tree: WriteTree) -> None:
        """Without environments the output goes to generated/common."""
        root = write_tree(STATIC_APP)
        assert main(["generate", "--path", str(root)]) == 0
        assert (root / "generated" / "common" / "app.yaml").is_file()

    def test_error_is_one_line_and_writes_nothing(self, write_tree: WriteTree) -> None:
        """A bad file gives one line naming it and the line, exit 1, old output kept."""
        root = write_tree(STATIC_APP)
        assert main(["generate", "prod", "--path", str(root)]) == 0
        before = (root / "generated" / "prod" / "app.yaml").read_bytes()
        (root / "sub" / "config").mkdir()
        (root / "sub" / "config" / "prod.yaml").write_text("config:\n  a: [1,\n")
        done = run_cli("generate", "prod", "--path", str(root), cwd=root)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("fabpromote: error: ")
        assert "sub/config/prod.yaml:" in lines[0]
        assert "Traceback" not in done.stderr
        assert (root / "generated" / "prod" / "app.yaml").read_bytes() == before
        assert sorted(p.name for p in (root / "generated").iterdir()) == ["prod"]

    def test_hooks_hint(self, write_tree: WriteTree, capsys: pytest.CaptureFixture[str]) -> None:
        """A component with hooks fails with a hint to pass --allow-hooks."""
        root = write_tree({"component.yaml": "name: a\nhooks:\n  after-generate: [true]\n"})
        assert main(["generate", "--path", str(root)]) == 1
        assert "--allow-hooks" in capsys.readouterr().err
        assert not (root / "generated").exists()
        assert main(["generate", "--path", str(root), "--allow-hooks"]) == 0

    def test_cwd_default(self, write_tree: WriteTree) -> None:
        """--path defaults to the current folder, like fab generate."""
        root = write_tree(STATIC_APP)
        done = run_cli("generate", "dev", cwd=root)
        assert done.returncode == 0, done.stderr
        assert (root / "generated" / "dev" / "app.yaml").is_file()


class TestPlugins:
    def test_lists_builtins(self, capsys: pytest.CaptureFixture[str]) -> None:
        """plugins --json lists at least the built-in plugin."""
        assert main(["plugins", "--json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert "fabpromote.builtins" in [row["name"] for row in rows]

    def test_text(self, capsys: pytest.CaptureFixture[str]) -> None:
        """plugins prints each plugin with what it provides."""
        assert main(["plugins"]) == 0
        assert "provides generator static" in capsys.readouterr().out


def test_parser_documents_every_command() -> None:
    """Every command has help text (the CLI reference is generated from it)."""
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"generate", "plugins"} <= set(commands)
    assert all(sub.description or sub.format_help() for sub in commands.values())
