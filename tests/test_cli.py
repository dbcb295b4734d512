"""The `fabpromote` command line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote._cli.parser import build_parser
from fabpromote.cli import main

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
        data = json.loads(capsys.readouterr().out)
        assert data["outcome"] == "done"
        assert "fabpromote.builtins" in [row["name"] for row in data["plugins"]]

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


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """The top-level parser and every command's, nested ones included."""
    found = [("fabpromote", build_parser())]
    for _, parser in found:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                found += [(sub.prog, sub) for sub in dict.fromkeys(action.choices.values())]
    return found


def test_every_option_has_help() -> None:
    """Every argument and option of every command has a help line, and every command a summary."""
    missing = [
        f"{prog} {'/'.join(action.option_strings) or action.dest}"
        for prog, parser in _parsers()
        for action in parser._actions
        if not (action.help or "").strip()
    ]
    assert missing == []
    for parser in (p for _, p in _parsers()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                summaries = {choice.dest: choice.help for choice in action._choices_actions}
                assert set(summaries) == set(action.choices)
                assert all(summaries.values()), summaries


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed version and exits 0."""
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"fabpromote {version('fabpromote')}\n"


def test_plugins_show_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """plugins shows each plugin's distribution and version (the installed one)."""
    from importlib.metadata import version

    assert main(["plugins", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["plugins"]
    assert rows
    for row in rows:
        assert row["version"] == version(row["distribution"]), row
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert all(f"{row['name']} ({row['distribution']} {row['version']})" in out for row in rows)


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "dev", "--limit", "0"],
        ["history", "dev", "--limit", "-3"],
        ["rollback", "app", "dev", "--steps", "0"],
        ["rollback", "app", "dev", "--steps", "-1"],
    ],
)
def test_counts_below_one_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """--limit and --steps count something: 0 and negative numbers are refused before anything runs."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_one_file_is_singular(write_tree: WriteTree, capsys: pytest.CaptureFixture[str]) -> None:
    """Counts printed agree with their noun: "1 file"."""
    root = write_tree({"component.yaml": "name: app\ntype: static\npath: m\n", "m/a.yaml": "kind: A\n"})
    assert main(["generate", "--path", str(root)]) == 0
    assert "wrote 1 file in" in capsys.readouterr().err
