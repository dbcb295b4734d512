"""Every case of the hostile corpus ends in one clean error, fast, in bounded memory, writing nothing."""

from __future__ import annotations

import importlib.util
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import fabpromote.exceptions
from fabpromote._cli.parser import build_parser

_spec = importlib.util.spec_from_file_location("fabpromote_hostile_corpus", Path(__file__).with_name("corpus.py"))
assert _spec is not None
assert _spec.loader is not None
corpus = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = corpus
_spec.loader.exec_module(corpus)

#: Wall-clock limit of one CLI run, start-up included (FABPROMOTE_HOSTILE_SECONDS overrides, for slow machines).
SECONDS = float(os.environ.get("FABPROMOTE_HOSTILE_SECONDS", "5"))
#: Address-space limit of the child: an expanding document would hit it and crash instead of finishing.
ADDRESS_SPACE = 1 << 30
#: Peak resident memory allowed to the child.
MAX_RSS_BYTES = 256 << 20
CASES = [pytest.param(case, id=case.name) for case in corpus.CASES]


def test_corpus_size() -> None:
    """The corpus holds at least 40 distinct cases."""
    names = [case.name for case in corpus.CASES]
    assert len(names) >= 40
    assert len(set(names)) == len(names)


def _fill(text: str, work: Path) -> str:
    return text.replace("{work}", str(work))


@pytest.fixture(name="work")
def _work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder for one case, with git isolated from the user's configuration."""
    monkeypatch.delenv("FABPROMOTE_CONFIG", raising=False)
    monkeypatch.delenv("FABPROMOTE_MAX_FILE_BYTES", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    return work


def _prepare(case: corpus.Case, work: Path) -> tuple[list[str], dict[str, str]]:
    """Write the case's files, run its setup; return its argv and environment additions."""
    for name, content in case.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(_fill(content, work), encoding="utf-8")
    if case.setup is not None:
        case.setup(work)
    return [_fill(arg, work) for arg in case.argv], {key: _fill(value, work) for key, value in case.env.items()}


def _state(work: Path) -> dict[str, object]:
    """Every path under ``work`` with its content (or link target): nothing may change."""
    state: dict[str, object] = {}
    for directory, dirs, files in os.walk(work):
        for name in (*dirs, *files):
            path = Path(directory, name)
            if path.is_symlink():
                state[str(path)] = ("link", os.readlink(path))
            elif path.is_file():
                state[str(path)] = path.stat().st_size, path.read_bytes() if path.stat().st_size < 1 << 20 else None
            else:
                state[str(path)] = "dir"
    return state


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def _run_cli(argv: list[str], env: dict[str, str], cwd: Path, out: Path) -> tuple[int, str, str, float, int]:
    """Run ``python -m fabpromote`` under the limits; return status, stdout, stderr, seconds, peak RSS bytes."""
    with (out / "stdout").open("wb") as stdout, (out / "stderr").open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "fabpromote", *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=_limit_address_space,
        )
        timer = threading.Timer(SECONDS * 4, process.kill)  # a hang must not hang the suite
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return (
        process.returncode,
        (out / "stdout").read_text(errors="replace"),
        (out / "stderr").read_text(errors="replace"),
        elapsed,
        usage.ru_maxrss * 1024,  # kilobytes on Linux
    )


@pytest.mark.parametrize("case", CASES)
def test_cli(case: corpus.Case, work: Path, tmp_path: Path) -> None:
    """The CLI exits 1 with one `fabpromote: error:` line matching the case, in time and memory, changing nothing."""
    argv, extra = _prepare(case, work)
    env = {**os.environ, **extra, "PYTHONDONTWRITEBYTECODE": "1"}
    before = _state(work)
    status, stdout, stderr, elapsed, rss = _run_cli(argv, env, work, tmp_path)
    assert "Traceback" not in stderr, stderr
    assert status == 1, stderr
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("fabpromote: error: ")]
    assert len(errors) == 1, stderr
    assert lines[-1] == errors[0], stderr
    # Anything else on stderr is a log line of ours (a warning), never a continuation of the error.
    assert all(line.startswith("fabpromote: ") for line in lines), stderr
    assert re.search(_fill(case.match, work), errors[0]), errors[0]
    for secret in case.secrets:
        assert secret not in stderr + stdout
    assert elapsed < SECONDS, f"took {elapsed:.1f}s"
    assert rss < MAX_RSS_BYTES, f"peak RSS {rss >> 20} MiB"
    assert _state(work) == before  # no partial output, no generated/, no pwned file


@pytest.mark.parametrize("case", CASES)
def test_library(case: corpus.Case, work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The library call behind the command raises the case's FabpromoteError subclass."""
    argv, extra = _prepare(case, work)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(work)
    before = _state(work)
    args = build_parser().parse_args(argv)
    expected = getattr(fabpromote.exceptions, case.error)
    with pytest.raises(fabpromote.exceptions.FabpromoteError) as info:
        args.handler(args)
    assert type(info.value) is expected, repr(info.value)
    message = str(info.value)
    assert "\n" not in message
    assert re.search(_fill(case.match, work), message), message
    for secret in case.secrets:
        assert secret not in message
    assert _state(work) == before
