"""No command loses a user's file by writing its output (generate, install, materialize --out)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote.cli import main
from fabpromote.testing.gitrepos import GIT_ENV

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabpromote", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (symlinks as their targets)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            files[str(path.relative_to(folder))] = os.readlink(path).encode()
        elif path.is_file():
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 1 with one error line holding ``words``, no traceback."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("fabpromote: error: "), done.stderr
    assert all(word in lines[0] for word in words), lines[0]


@pytest.fixture(name="demo", scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safety")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FABPROMOTE_CACHE_DIR", str(root / "cache"))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        assert main(["demo", str(root / "demo")]) == 0
    return root / "demo"


@needs_helm
class TestMaterializeOut:
    """``materialize --out`` replaces only its own earlier output."""

    def test_user_file_kept(self, demo: Path, tmp_path: Path) -> None:
        """A folder holding the user's file is refused, naming the file; the file stays."""
        out = tmp_path / "out"
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        refused(run_cli("materialize", "dev", "--out", str(out), cwd=demo), f"{out}/notes.txt would be lost")
        assert snapshot(out) == {"notes.txt": b"mine"}
        assert sorted(os.listdir(tmp_path)) == ["out"]

    def test_earlier_output_replaced_until_edited(self, demo: Path, tmp_path: Path) -> None:
        """A second run replaces the first's output; once a file in it is edited, the run is refused."""
        out = tmp_path / "out"
        assert run_cli("materialize", "dev", "--out", str(out), cwd=demo).returncode == 0
        first = snapshot(out)
        assert ".fabpromote-output" in first
        assert any(name.endswith(".yaml") for name in first)
        assert run_cli("materialize", "stage", "--out", str(out), cwd=demo).returncode == 0
        edited = next(name for name in sorted(snapshot(out)) if name.endswith(".yaml"))
        (out / edited).write_text("edited: by hand\n")
        before = snapshot(out)
        refused(run_cli("materialize", "dev", "--out", str(out), cwd=demo), f"{out / edited} would be lost")
        assert snapshot(out) == before

    @pytest.mark.parametrize("where", [".", "..", "/", "config", "repo"])
    def test_refused_places(self, demo: Path, tmp_path: Path, where: str) -> None:
        """``--out`` at the working directory (or above), ``/``, the config's folder or a repository is refused."""
        cwd = tmp_path / "empty"
        cwd.mkdir()
        target = {"config": str(demo), "repo": str(demo / "repos" / "manifests.git")}.get(where, where)
        config = str(demo / "fabpromote.yaml")
        before = snapshot(demo)
        done = run_cli("materialize", "dev", "--config", config, "--out", target, cwd=cwd)
        words = {"config": ["fabpromote.yaml would be lost"], "repo": ["is a git repository"]}
        refused(done, *words.get(where, []))
        assert os.listdir(cwd) == []
        assert sorted(os.listdir(tmp_path)) == ["empty"]
        assert snapshot(demo) == before


class TestGenerate:
    """``generate`` replaces ``generated/<envs>`` only when it wrote it (its record is in the cache)."""

    def test_user_file_kept(self, tmp_path: Path) -> None:
        """A file of the user's in generated/prod stops generate; an earlier output does not."""
        root = tmp_path / "hld"
        (root / "m").mkdir(parents=True)
        (root / "component.yaml").write_text("name: app\ntype: static\npath: m\n")
        (root / "m" / "a.yaml").write_text("kind: A\n")
        assert run_cli("generate", "prod", cwd=root).returncode == 0
        (root / "m" / "a.yaml").write_text("kind: B\n")
        done = run_cli("generate", "prod", cwd=root)
        assert done.returncode == 0, done.stderr
        assert (root / "generated" / "prod" / "app.yaml").read_text() == "---\nkind: B\n\n"
        assert os.listdir(root / "generated" / "prod") == ["app.yaml"]
        (root / "generated" / "prod" / "keep.md").write_text("mine")
        refused(run_cli("generate", "prod", cwd=root), "generated/prod/keep.md would be lost")
        assert sorted(os.listdir(root / "generated" / "prod")) == ["app.yaml", "keep.md"]

    def test_unchanged_output_not_rewritten(self, tmp_path: Path) -> None:
        """Generating the same files again writes nothing and says so."""
        root = tmp_path / "hld"
        root.mkdir()
        (root / "component.yaml").write_text("name: app\n")
        assert run_cli("generate", cwd=root).returncode == 0
        inode = os.stat(root / "generated" / "common").st_ino
        done = run_cli("generate", cwd=root)
        assert done.returncode == 0, done.stderr
        assert "unchanged:" in done.stderr
        assert os.stat(root / "generated" / "common").st_ino == inode


@needs_helm
def test_paths_with_spaces(tmp_path: Path) -> None:
    """A demo in a folder whose path holds a space: status and history read the publish trailers back."""
    import json

    root = tmp_path / "my demo"
    assert main(["demo", str(root)]) == 0
    done = run_cli("status", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    assert all(row["materialized"] for row in json.loads(done.stdout)["rows"])
    done = run_cli("history", "dev", "--json", cwd=root)
    sources = json.loads(done.stdout)["publishes"][0]["sources"]
    assert {entry["url"] for entry in sources} >= {str(root / "repos" / "cat.git"), str(root / "repos" / "dog.git")}
