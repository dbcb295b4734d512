"""A new user's walk: the README's commands, every --help, the demo, the seed story, then bad input.

Everything runs the installed ``fabpromote`` command in a subprocess, as a user
types it. Every bad input must end in one clear line and its documented exit
status (docs/cli.md), and leave every repository and folder as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote._cli.parser import build_parser

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

FABPROMOTE = str(Path(sys.executable).with_name("fabpromote"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FABPROMOTE, *args], cwd=cwd, capture_output=True, text=True, check=False)


def ok(*args: str, cwd: Path) -> str:
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def tree_state(root: Path, *, skip: str) -> dict[str, str]:
    """Every file under ``root`` (but the ``skip`` folder) with a digest of its bytes, and every folder."""
    state = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if os.path.join(folder, d) != skip)
        state[os.path.relpath(folder, root) + "/"] = ""
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                state[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return state


def commands() -> list[str]:
    subparsers = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    return list(subparsers.choices)  # type: ignore[attr-defined]


def test_new_user_walk(tmp_path: Path) -> None:
    """From --help to the seed story to every bad input, as a new user meets them."""
    home = tmp_path / "home"
    home.mkdir()

    # Help for everything, and the version.
    assert "usage: fabpromote" in ok("--help", cwd=home)
    assert ok("--version", cwd=home).strip().startswith("fabpromote ")
    for name in commands():
        assert f"usage: fabpromote {name}" in ok(name, "--help", cwd=home)

    # The README: a plain HLD, then the demo from a relative path, used from inside it.
    shutil.copytree(Path(__file__).parent.parent / "examples" / "hello", home / "hello")
    ok("generate", "prod", "--path", "hello", cwd=home)
    assert any((home / "hello" / "generated" / "prod").iterdir())
    ok("demo", "d", cwd=home)
    demo = home / "d"
    ok("status", cwd=demo)
    ok("plugins", cwd=demo)

    # The seed's story.
    ok("set-image", "cat-application", "dev", "v1.1.0", cwd=demo)
    ok("materialize", "dev", "--publish", cwd=demo)
    ok("promote", "cat-application", "--from", "dev", "--to", "stage", "--publish", cwd=demo)
    assert "v1.1.0" in ok("status", cwd=demo)
    ok("diff", "cat-application", "--from", "stage", "--to", "prod", cwd=demo)
    ok("rollback", "cat-application", "stage", "--steps", "1", cwd=demo)
    ok("promote", "cat-application", "--from", "dev", "--to", "stage", "--publish", cwd=demo)
    published = ok("history", "stage", cwd=demo).splitlines()
    assert len(published) >= 2
    ok("rollback", "stage", "--manifests", "--to", published[1].split()[0], cwd=demo)
    assert "emergency rollback" in ok("history", "stage", cwd=demo).splitlines()[0]
    ok("guard", "--base", "stage", "--head", "dev", cwd=demo)

    # Bad input: one line, the documented status, nothing changed.
    (home / "a-file").write_text("mine")
    out = home / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (home / "hello" / "config").mkdir(exist_ok=True)
    (home / "hello" / "config" / "broken.yaml").write_text("config: [1,\n")
    cache = os.environ["FABPROMOTE_CACHE_DIR"]
    rows = json.loads(ok("status", "--json", cwd=demo))["rows"]
    (dev_head,) = [row["sha"][:12] for row in rows if (row["app"], row["env"]) == ("cat-application", "dev")]
    dev_lock = home / "dev-lock.json"
    dev_lock.write_text(ok("materialize", "dev", "--json", cwd=demo))
    bad: list[tuple[tuple[str, ...], Path, int, str]] = [
        (("demo", "a-file"), home, 1, "a-file"),
        (("demo", "d"), home, 1, "d"),
        (("materialize", "dev", "--out", str(out)), demo, 1, "notes.txt"),
        (("materialize", "dev", "--out", "."), demo, 1, "working directory"),
        (("materialize", "dev", "--out", "/"), demo, 1, "root"),
        (("materialize", "dev", "--out", "/proc/fabpromote-out"), demo, 1, "cannot write /proc/fabpromote-out"),
        (("materialize", "nope"), demo, 1, "unknown environment 'nope'"),
        (("promote", "cat-application", "--from", "dev", "--to", "prod"), demo, 1, "dev may not be promoted into prod"),
        (("promote", "cow-application", "--from", "dev", "--to", "stage"), demo, 1, "cow-application"),
        (("guard", "--base", "prod", "--head", "dev"), demo, 1, "dev may not be promoted into prod"),
        (("rollback", "cat-application", "stage", "--to", "0000000"), demo, 1, "0000000"),
        (("rollback", "stage", "--manifests"), demo, 2, "--to"),
        (("history", "stage", "--limit", "0"), demo, 2, "--limit"),
        (("set-image", "cat-application", "stage", "v9"), demo, 1, "stage"),
        (("status",), home, 1, "fabpromote.yaml"),
        (("generate", "broken", "--path", "hello"), home, 1, "config/broken.yaml"),
        (("flux", "prod"), demo, 1, "Flux clones http(s) and ssh URLs only"),
        (("rollback", "cat-application", "prod", "--to", dev_head), demo, 1, "is not in the history of prod"),
        (("materialize", "prod", "--lock", str(dev_lock)), demo, 1, "was it made for another environment?"),
        (("set-image", "cat-application", "dev", "v2", "--repository", "not a repo!"), demo, 1, "image repository"),
        (("status", "--bogus"), demo, 2, "fabpromote status: error: unrecognized arguments: --bogus"),
        (("status", "--config", ""), demo, 2, "--config needs a file name"),
        (("no-such-command",), home, 2, "no-such-command"),
        (("generate", "--no-such-option"), home, 2, "--no-such-option"),
    ]
    for args, cwd, status, words in bad:
        before = tree_state(home, skip=cache)
        done = run(*args, cwd=cwd)
        lines = done.stderr.splitlines()
        assert done.returncode == status, f"{args}: {done.returncode} {done.stderr}"
        assert "Traceback" not in done.stderr, args
        assert lines, args
        assert lines[-1].startswith("fabpromote: error: ") or "usage:" in done.stderr, f"{args}: {done.stderr}"
        assert words in done.stderr, f"{args}: {done.stderr}"
        if status == 1:
            assert len(lines) == 1, f"{args}: {done.stderr}"
        assert tree_state(home, skip=cache) == before, args
