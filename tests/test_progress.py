"""A progress line on a terminal while generate renders; nothing of it in pipelines."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

APPS = 1500


def _hld(root: Path) -> Path:
    root.mkdir()
    entries = "".join(f"  - name: app{i}\n    type: static\n    path: ./apps/app{i}\n" for i in range(APPS))
    (root / "component.yaml").write_text(f"name: fleet\nsubcomponents:\n{entries}")
    for i in range(APPS):
        (root / "apps" / f"app{i}").mkdir(parents=True)
        (root / "apps" / f"app{i}" / "cm.yaml").write_text(f"kind: ConfigMap\nmetadata:\n  name: app{i}\n")
    return root


def _generate(root: Path, tmp_path: Path, *, stderr: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FABPROMOTE_CACHE_DIR": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "fabpromote", "generate", "prod", "--path", str(root)]
    return subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=stderr)


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_terminal_sees_the_progress_line(tmp_path: Path) -> None:
    root = _hld(tmp_path / "hld")
    main, terminal = pty.openpty()
    process = _generate(root, tmp_path, stderr=terminal)
    os.close(terminal)
    shown = _read_all(main).decode().replace("\r\n", "\n")  # the terminal sends newlines as CR LF
    os.close(main)
    assert process.wait() == 0
    lines = shown.split("\r")
    drawn = [line for line in lines if line.startswith("fabpromote: rendering: ")]
    assert drawn, shown
    assert drawn[0].startswith("fabpromote: rendering: 1 components visited")
    width = len(drawn[-1].rstrip())
    assert lines[-2] == " " * width  # cleared at the end, before the result line
    assert lines[-1].startswith(f"wrote {APPS + 1} files in ")


def test_a_pipe_sees_only_the_result(tmp_path: Path) -> None:
    root = _hld(tmp_path / "hld")
    process = _generate(root, tmp_path, stderr=subprocess.PIPE)
    _, err = process.communicate()
    assert process.returncode == 0
    assert err.decode().splitlines() == [err.decode().strip()]
    assert err.startswith(b"wrote ")
