"""Property: whatever the command line, the CLI ends with a documented exit status and never a traceback.

Argument lists are generated from the parser's own command and option names
mixed with plausible and random values, and run through the CLI entry point
in a scratch folder, with and without the demo's cluster file in it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fabpromote import Plugins
from fabpromote._cli.app import EXIT_STATUS, USAGE
from fabpromote._cli.demo import build_demo
from fabpromote._cli.parser import build_parser
from fabpromote.cli import main

#: What docs/cli.md documents for a command that ran to its end (signals aside).
DOCUMENTED = {*EXIT_STATUS.values(), USAGE}


def _names() -> tuple[list[str], list[str]]:
    """Every command name (nested ones too) and every option string of the parser."""
    commands: list[str] = []
    options: list[str] = []
    parsers = [build_parser()]
    while parsers:
        parser = parsers.pop()
        for action in parser._actions:
            options += action.option_strings
            if isinstance(action, argparse._SubParsersAction):
                commands += list(action.choices)
                parsers += list(dict.fromkeys(action.choices.values()))
    return sorted(set(commands)), sorted(set(options) - {"--help", "-h", "--version"})


COMMANDS, OPTIONS = _names()
#: Names of what the scratch folder holds (with the demo: a file, folders, repositories).
EXISTING = ["fabpromote.yaml", "demo", "demo/fabpromote.yaml", "demo/repos", "demo/repos/cat.git", "."]
#: Values a user might type; relative paths only, so that every write stays in the scratch folder.
PLAUSIBLE = [
    "dev", "stage", "prod", "common", "cat-application", "dog-application", "nope",
    "0", "1", "-1", "3", "abc1234", "0000000", "v1.2.3", "fabpromote.yaml", "demo/fabpromote.yaml",
    ".", "out", "generated", "demo", "x y", "", "--", "-",
]  # fmt: skip
RANDOM = st.text(alphabet=string.ascii_letters + string.digits + "-_.:@ ", max_size=10)
WORD = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(OPTIONS), st.sampled_from(PLAUSIBLE), RANDOM)
VALUE = st.one_of(st.sampled_from(EXISTING), st.sampled_from(PLAUSIBLE), RANDOM)


def _command_line(path: list[str], parser: argparse.ArgumentParser) -> st.SearchStrategy[list[str]]:
    """Command lines of one command that argparse mostly accepts: its positionals, some of its options."""
    positionals: list[st.SearchStrategy[list[str]]] = []
    options: list[st.SearchStrategy[list[str]]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.option_strings in (["-h", "--help"],):
            continue
        if not action.option_strings:
            many = action.nargs in ("*", "?")
            positionals.append(st.lists(VALUE, min_size=0 if many else 1, max_size=2 if action.nargs == "*" else 1))
        elif action.nargs == 0:
            options.append(st.just([action.option_strings[-1]]))
        else:
            options.append(st.tuples(st.just(action.option_strings[-1]), VALUE).map(list))
    chosen = (
        st.lists(st.sampled_from(options), max_size=4).flatmap(lambda picks: st.tuples(*picks))
        if options
        else st.just(())
    )
    return st.tuples(st.tuples(*positionals), chosen).map(
        lambda parts: [*path, *(word for group in parts[0] for word in group), *(w for o in parts[1] for w in o)]
    )


def _commands() -> dict[str, st.SearchStrategy[list[str]]]:
    """A strategy per command (``cache check`` included), by name."""
    found = {}
    todo = [([], build_parser())]
    while todo:
        path, parser = todo.pop()
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for sub in subs:
            todo += [([*path, name], child) for name, child in sub.choices.items()]
        if path and not subs:
            found[" ".join(path)] = _command_line(path, parser)
    return found


COMMAND_LINES = _commands()
#: Anything at all: mostly usage errors.
ANY = st.lists(WORD, max_size=7)

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def run(argv: list[str]) -> tuple[int, str]:
    """Run the entry point; returns its status and everything it wrote to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(argv)
        except SystemExit as exc:  # argparse: usage errors, --help
            status = exc.code if isinstance(exc.code, int) else 1
    return status, err.getvalue()


def check(argv: list[str]) -> None:
    status, err = run(argv)
    assert "Traceback" not in err, (argv, err)
    assert status in DOCUMENTED, (argv, status, err)
    assert not err or err.endswith("\n"), (argv, err)


@pytest.fixture(name="scratch")
def _scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FABPROMOTE_CONFIG", raising=False)
    return tmp_path


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("command", [*COMMAND_LINES, "anything"])
@SETTINGS
@given(data=st.data())
def test_no_config(scratch: Path, command: str, data: st.DataObject) -> None:
    """In an empty folder: no cluster file, nothing to render."""
    del scratch
    check(data.draw(COMMAND_LINES.get(command, ANY)))


@needs_helm
@pytest.mark.parametrize("command", [*COMMAND_LINES, "anything"])
@SETTINGS
@given(data=st.data())
def test_with_demo(demo_scratch: Path, command: str, data: st.DataObject) -> None:
    """Beside the demo's cluster file (./fabpromote.yaml), with its repositories."""
    del demo_scratch
    check(data.draw(COMMAND_LINES.get(command, ANY)))


@pytest.fixture(name="demo_scratch")
def _demo_scratch(scratch: Path) -> Path:
    for line in build_demo(scratch / "demo"):
        del line
    shutil.copy(scratch / "demo" / "fabpromote.yaml", scratch / "fabpromote.yaml")
    return scratch
