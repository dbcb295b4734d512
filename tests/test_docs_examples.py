"""Every example in README.md and docs/ runs, so no example can rot.

Each page's fenced blocks run in order, as a reader would run them, from the root
of a fresh copy of the repository: a ``sh``/``bash``/``console`` block in a fresh
``bash -e``, a ``python`` block in a fresh Python process, with this virtualenv's
``bin`` and helm first on ``PATH``. Each must exit 0 and print no traceback.
Markers in an HTML comment on the lines just above a block change that:

- ``<!-- not-run: REASON -->``: the block is not run (REASON is required);
- ``<!-- expect-exit: N -->``: the block shows a refusal and must exit N;
- ``<!-- run: pytest -->``: a Python block that is a test module runs under pytest;
- ``<!-- file: fabpromote.yaml -->``: a YAML block is read with fabpromote's reader;
- ``<!-- write: PATH -->``: the block is not run but written to PATH (relative to the
  copy of the repository), in turn with the runs; a later block writing the same PATH
  appends to it, so a tutorial can build a file piece by piece and then run it.

Every other YAML, JSON and TOML block must at least parse.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest
import yaml

from fabpromote import Fleet, Plugins

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELLS = {"sh", "bash", "shell", "console"}
MARKERS = {"not-run", "expect-exit", "run", "file", "write"}
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<key>[\w-]+):\s*(?P<value>.*?)\s*-->\s*$")
#: How long one block may take (the quickstart's block creates a virtualenv).
BLOCK_TIMEOUT = 600


@attrs.frozen
class Block:
    """One fenced block of a page, with the markers written just above it."""

    page: Path
    line: int
    lang: str
    text: str
    markers: dict[str, str]

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.lang})"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    lines = page.read_text().splitlines()
    found = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        start = index
        indent = len(fence["indent"])
        index += 1
        body = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][indent:])
            index += 1
        found.append(Block(page, start + 1, fence["lang"], "\n".join(body) + "\n", _markers(lines, start)))
        index += 1
    return found


def _markers(lines: list[str], fence: int) -> dict[str, str]:
    markers = {}
    above = fence - 1
    while above >= 0 and (marker := _MARKER.match(lines[above])):
        markers[marker["key"]] = marker["value"]
        above -= 1
    return markers


def _all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def _runnable(page: Path) -> list[Block]:
    """The blocks of ``page`` that run or are written, in order."""
    return [
        block
        for block in blocks(page)
        if "write" in block.markers or (block.lang in SHELLS | {"python"} and "not-run" not in block.markers)
    ]


RUN_PAGES = [page for page in PAGES if _runnable(page)]


def test_pages_have_examples_to_run() -> None:
    """The extraction finds the blocks (a broken parser would make every page pass)."""
    names = {str(page.relative_to(ROOT)) for page in RUN_PAGES}
    assert {"README.md", "docs/quickstart.md", "docs/workflow.md", "docs/testing.md"} <= names


def test_markers_are_known_and_give_reasons() -> None:
    """A misspelt marker must not silently skip or pass a block; a skipped block says why."""
    problems = []
    for block in _all_blocks():
        for key in block.markers:
            if key not in MARKERS:
                problems.append(f"{block}: unknown marker {key!r} (known: {', '.join(sorted(MARKERS))})")
        if "not-run" in block.markers and len(block.markers["not-run"]) < 10:
            problems.append(f"{block}: not-run needs a reason")
        if "expect-exit" in block.markers and not re.fullmatch(r"[1-9]\d*", block.markers["expect-exit"]):
            problems.append(f"{block}: expect-exit takes a non-zero exit status")
        if "not-run" in block.markers and block.lang not in SHELLS | {"python"}:
            problems.append(f"{block}: not-run on a block that is never run")
    assert problems == []


def test_exceptions_are_few() -> None:
    """Blocks that do not run are the exception, not the rule."""
    skipped = [block for block in _all_blocks() if "not-run" in block.markers]
    run = [block for page in PAGES for block in _runnable(page)]
    assert len(skipped) <= 5, [str(block) for block in skipped]
    assert len(run) >= 3 * len(skipped)


@pytest.mark.parametrize("block", [b for b in _all_blocks() if b.lang in {"yaml", "yml", "json", "toml"}], ids=str)
def test_data_blocks_parse(block: Block, tmp_path: Path) -> None:
    """YAML, JSON and TOML examples parse; cluster files load with fabpromote's reader."""
    if block.lang == "toml":
        tomllib.loads(block.text)
    elif block.lang == "json":
        json.loads(block.text)
    else:
        list(yaml.safe_load_all(block.text))
    kind = block.markers.get("file")
    if kind == "fabpromote.yaml":
        config = tmp_path / "fabpromote.yaml"
        config.write_text(block.text)
        assert Fleet.from_file(config).clusters
    elif kind is not None:
        pytest.fail(f"{block}: no reader for file kind {kind!r}")


def _copy_of_repository(target: Path) -> Path:
    """The working tree as git sees it (tracked and new files), without .venv, caches and outputs."""
    if not (ROOT / ".git").exists():
        pytest.skip("the examples run in a copy of a git checkout of fabpromote")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _helm_dir() -> Path:
    helm = shutil.which("helm")
    if helm is None or "helm" not in Plugins.load().generators.names():
        pytest.skip("the examples render helm charts: needs helm on PATH and the fabpromote-helm plugin")
    return Path(helm).parent


def reader_environment(tmp: Path) -> dict[str, str]:
    """A reader's shell: their machine's settings, this virtualenv and helm first on PATH, fresh caches."""
    helm = _helm_dir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FABPROMOTE_", "GIT_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
    }
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "tmp").mkdir(exist_ok=True)
    env.update(
        PATH=os.pathsep.join([str(helm), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        HOME=str(tmp / "home"),
        TMPDIR=str(tmp / "tmp"),
        FABPROMOTE_CACHE_DIR=str(tmp / "cache"),
    )
    if helm.name.startswith("helm-v"):
        # scripts/install-helm.sh finds the helm already installed instead of downloading it again.
        env["FABPROMOTE_TOOLS_DIR"] = str(helm.parent)
    return env


def _command(block: Block, folder: Path) -> list[str]:
    if block.lang in SHELLS:
        text = block.text
        if block.lang == "console":  # only the lines after a prompt are commands
            text = "".join(line[2:] + "\n" for line in text.splitlines() if line.startswith("$ "))
        return ["bash", "-e", "-o", "pipefail", "-c", text]
    script = folder / f"{block.page.stem}_{block.line}.py"
    if block.markers.get("run") == "pytest":
        script = script.with_name(f"test_{script.name}")
        script.write_text(block.text)
        return ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), str(script)]
    script.write_text(block.text)
    return ["python", str(script)]


@pytest.mark.parametrize("page", RUN_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_examples_run(page: Path, tmp_path: Path) -> None:
    """Every shell and Python block of the page runs from a copy of the repository and exits as documented."""
    env = reader_environment(tmp_path)
    clone = _copy_of_repository(tmp_path / "repository")
    scripts = tmp_path / "blocks"
    scripts.mkdir()
    written: set[Path] = set()
    for block in _runnable(page):
        if "write" in block.markers:
            _write(block, clone, written)
            continue
        done = subprocess.run(
            _command(block, scripts),
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        expected = int(block.markers.get("expect-exit", "0"))
        shown = f"{block} exited {done.returncode}, expected {expected}:\n{block.text}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == expected, shown
        assert "Traceback (most recent call last)" not in done.stderr, shown
        if not expected:
            # `a && b` does not stop `bash -e` when `a` fails: its error line must not pass unseen.
            assert "fabpromote: error:" not in done.stderr, shown


def _write(block: Block, clone: Path, written: set[Path]) -> None:
    """Write (or, after an earlier block of the page wrote it, extend) the block's file."""
    path = clone / block.markers["write"]
    assert path.resolve().is_relative_to(clone.resolve()), f"{block}: writes outside the repository"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if path in written else "w") as file:
        file.write(block.text)
    written.add(path)


def test_the_host_tutorial_uses_public_names_only() -> None:
    """The tutorial's plugin (docs/githosts.md) imports no private module of fabpromote, as a third party's."""
    written = [b for b in blocks(ROOT / "docs" / "githosts.md") if b.markers.get("write", "").endswith(".py")]
    assert len(written) >= 5
    imported = []
    for name in {b.markers["write"] for b in written}:
        source = "".join(b.text for b in written if b.markers["write"] == name)
        for node in ast.walk(ast.parse(source, name)):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                imported += [alias.name for alias in node.names]
    ours = [name for name in imported if name.split(".")[0] == "fabpromote"]
    assert len(ours) >= 10
    assert [name for name in ours if any(part.startswith("_") for part in name.split("."))] == []


def test_written_blocks_extend_their_file(tmp_path: Path) -> None:
    """``write:`` makes the file, then each later block of the page with the same path appends to it."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- write: pkg/a.py -->\n```python\nx = 1\n```\n\n<!-- write: pkg/a.py -->\n```python\ny = 2\n```\n"
    )
    written: set[Path] = set()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("left over from before\n")
    for block in _runnable(page):
        _write(block, tmp_path, written)
    assert (tmp_path / "pkg" / "a.py").read_text() == "x = 1\ny = 2\n"


def test_demo_script_hint_works_in_a_fresh_shell(tmp_path: Path) -> None:
    """scripts/demo.sh ends with a command that works as printed, pasted into a new shell.

    The script runs from a copy of the repository with a relative folder given from
    elsewhere; the hint then runs with a clean environment: no virtualenv, no
    fabpromote on PATH, another working directory.
    """
    env = reader_environment(tmp_path)
    clone = _copy_of_repository(tmp_path / "repository")
    caller = tmp_path / "work"
    caller.mkdir()
    done = subprocess.run(
        ["bash", str(clone / "scripts" / "demo.sh"), "demo"],
        cwd=caller,
        env=env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (caller / "demo" / "fabpromote.yaml").is_file()
    hint = done.stdout.strip().splitlines()[-1].strip()
    fresh = subprocess.run(
        ["bash", "-c", hint],
        cwd=tmp_path,
        env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert fresh.returncode == 0, f"{hint!r}: {fresh.stdout}{fresh.stderr}"
    # The stage publish of the promotion, newest first, rendered from cat-application's new commit.
    newest = fresh.stdout.splitlines()[0]
    assert "cat-application@" in newest
    assert "dog-application@" in newest
