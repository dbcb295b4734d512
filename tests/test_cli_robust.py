"""No traceback, ever, for bad input or a broken environment: one line, a documented status, nothing left half-written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fabpromote import Plugins, generate
from fabpromote._cli.app import BROKEN_PIPE
from fabpromote._cli.demo import build_demo
from fabpromote.cli import main
from fabpromote.exceptions import PluginError
from fabpromote.hookspecs import hookimpl

FABPROMOTE = str(Path(sys.executable).with_name("fabpromote"))
needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def one_error_line(err: str) -> str:
    """The single line of an error: ends with a newline, no traceback."""
    assert "Traceback" not in err
    assert err.endswith("\n"), repr(err)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fabpromote: error: "), err
    return lines[0]


class TestDemo:
    def test_onto_a_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """demo onto an existing file: one line, the file untouched."""
        target = tmp_path / "taken"
        target.write_text("mine\n")
        assert main(["demo", str(target)]) == 1
        line = one_error_line(capsys.readouterr().err)
        assert f"{target} is a file" in line
        assert target.read_text() == "mine\n"

    def test_colon_in_path(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A folder whose path holds ':' (read by git as host:path) is refused before anything is written."""
        assert main(["demo", str(tmp_path / "a:b")]) == 1
        assert "a ':' in the folder's path" in one_error_line(capsys.readouterr().err)
        assert list(tmp_path.iterdir()) == []

    def test_without_helm_writes_nothing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without helm the demo fails before writing anything and says how to get helm."""
        empty = tmp_path / "bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
        monkeypatch.delenv("FABPROMOTE_HELM", raising=False)
        for target in (tmp_path / "new" / "demo", tmp_path / "existing"):
            if target.name == "existing":
                target.mkdir()
            assert main(["demo", str(target)]) == 1
            line = one_error_line(capsys.readouterr().err)
            assert "helm was not found on PATH" in line
            assert "scripts/install-helm.sh" in line
            assert "nothing was written" in line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "existing"]
        assert list((tmp_path / "existing").iterdir()) == []

    @needs_helm
    @pytest.mark.parametrize("existing", [False, True], ids=["missing", "empty"])
    def test_interrupted_leaves_nothing(self, tmp_path: Path, existing: bool) -> None:
        """Ctrl-C in the middle of the demo: what it wrote is removed (an empty folder given stays, empty)."""
        target = tmp_path / "a" / "demo"
        if existing:
            target.mkdir(parents=True)
        steps = build_demo(target)
        assert next(steps).startswith("created app repo")
        assert (target / "repos").is_dir()
        with pytest.raises(KeyboardInterrupt):
            steps.throw(KeyboardInterrupt())
        if existing:
            assert list(target.iterdir()) == []
        else:
            assert not (tmp_path / "a").exists()

    def test_unwritable_folder(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A folder that cannot be created: one line naming it."""
        if shutil.which("helm") is None:
            pytest.skip("the rendering check comes first and needs helm")
        assert main(["demo", "/proc/fabpromote-demo"]) == 1
        assert "/proc/fabpromote-demo" in one_error_line(capsys.readouterr().err)


@needs_helm
def test_out_unwritable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """materialize --out somewhere that cannot be written: one line naming the folder asked for."""
    assert main(["demo", str(tmp_path / "demo")]) == 0
    config = str(tmp_path / "demo" / "fabpromote.yaml")
    assert main(["materialize", "dev", "--config", config, "--out", "/proc/fabpromote-out"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("fabpromote: error: cannot write /proc/fabpromote-out: ")


class _BrokenFactory:
    """A plugin whose generator factory raises."""

    @staticmethod
    @hookimpl
    def fabpromote_register_generators(register: Any) -> None:
        def factory() -> object:
            raise RuntimeError("no licence key")

        register("broken", factory)


def test_factory_that_raises_names_the_plugin(write_tree: Any) -> None:
    """A generator factory that raises is a PluginError naming the backend and the plugin."""
    plugins = Plugins.load(autoload=False, plugins=[_BrokenFactory()])
    root = write_tree({"component.yaml": "name: x\ntype: broken\n"})
    with pytest.raises(PluginError) as caught:
        generate(root, plugins=plugins)
    message = str(caught.value)
    assert f"generator 'broken' of plugin {plugins.generators.owner('broken')!r} failed to start" in message
    assert message.endswith("RuntimeError: no licence key")


def test_plugin_that_cannot_load(tmp_path: Path) -> None:
    """An installed plugin whose import fails: one line naming it and how to skip it; blocking it works."""
    site = tmp_path / "site"
    (site / "broken_plugin.py").parent.mkdir()
    (site / "broken_plugin.py").write_text("raise ImportError('needs libfoo')\n")
    dist = site / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[fabpromote]\nbroken = broken_plugin\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([FABPROMOTE, "plugins"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "plugin 'broken' (broken_plugin) cannot be loaded: ImportError: needs libfoo" in line
    assert "FABPROMOTE_BLOCK_PLUGINS=broken" in line
    env["FABPROMOTE_BLOCK_PLUGINS"] = "broken"
    assert subprocess.run([FABPROMOTE, "plugins"], capture_output=True, env=env, check=False).returncode == 0


@pytest.mark.parametrize(
    ("argv", "status"),
    [(["plugins"], BROKEN_PIPE), (["--version"], BROKEN_PIPE), (["--help"], 0), (["status", "--help"], 0)],
)
def test_reader_gone(argv: list[str], status: int) -> None:
    """Output piped into a reader that went away (`| head`): exit 141 quietly (help: argparse's 0), no traceback."""
    read, write = os.pipe()
    with subprocess.Popen([FABPROMOTE, *argv], stdout=write, stderr=subprocess.PIPE) as process:
        os.close(write)
        os.close(read)  # long before the interpreter has started: the first write finds no reader
        _, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (status, b"")


def test_hook_output_ends_its_line(write_tree: Any) -> None:
    """A failing hook's output without a final newline does not run into the error line."""
    root = write_tree({"component.yaml": "name: a\nhooks:\n  before-generate: ['printf oops; exit 1']\n"})
    done = subprocess.run(
        [FABPROMOTE, "generate", "--allow-hooks", "--path", str(root)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "oops"
    assert done.stderr.splitlines()[1].startswith("fabpromote: error: before-generate hook of component 'a' failed")
    assert done.stderr.endswith("\n")
