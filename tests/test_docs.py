"""The documentation keeps up with the code."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fabpromote
from fabpromote import exceptions, hookspecs

DOCS = Path(__file__).parent.parent / "docs"


def test_every_hook_is_documented() -> None:
    """Each hook in hookspecs has a section in docs/plugins.md."""
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("fabpromote_")]
    assert hooks
    assert [hook for hook in hooks if f"### `{hook}(" not in text] == []


def test_every_command_is_documented() -> None:
    """Each CLI command has a section in docs/cli.md."""
    from fabpromote._cli.parser import build_parser

    text = (DOCS / "cli.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert [name for name in commands if f"## `fabpromote {name}" not in text] == []


# The plugin-author docs against the code: signatures, where things live, what factories get.

_SIGNATURE = re.compile(r"`(?P<name>[A-Za-z_][\w.]*)\((?P<params>[^`]*)\)(?: -> [^`]*)?`")
_PARAM = re.compile(r"\*{0,2}|\*{0,2}[A-Za-z_]\w*(=.*)?", re.DOTALL)
PLUGIN_PAGES = ("plugins.md", "githosts.md", "testing.md", "sources.md")


def _split(params: str) -> list[str]:
    """Top-level comma-separated parts (defaults may hold brackets and strings)."""
    parts, depth, current, quote = [], 0, "", ""
    for char in params:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _documented(params: str) -> list[str] | None:
    """The parameters as written (``name``, ``name=default``, ``*``), or None for a call example."""
    parts = _split(params)
    return parts if all(_PARAM.fullmatch(part) for part in parts) else None


def _mismatch(obj: object, documented: list[str]) -> str | None:
    """How ``documented`` differs from ``obj``'s real signature (names, order, keyword-only, defaults)."""
    real = []
    for param in inspect.signature(obj).parameters.values():  # type: ignore[arg-type]
        if param.name == "self":
            continue
        if param.kind is param.KEYWORD_ONLY and not any(p.startswith("*") for p in real):
            real.append("*")
        prefix = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}.get(param.kind, "")
        real.append(prefix + param.name)
        if param.default is not param.empty:
            real[-1] += "=" + repr(param.default)
    names = [part.partition("=")[0] for part in documented]
    if names != [part.partition("=")[0] for part in real]:
        return f"documented ({', '.join(documented)}), real ({', '.join(real)})"
    for doc, code in zip(documented, real, strict=True):
        value = doc.partition("=")[2]
        if value and value != "..." and ast.literal_eval(value) != ast.literal_eval(code.partition("=")[2] or "None"):
            return f"default of {doc}: the code has {code}"
    return None


def _resolve(name: str) -> object | None:
    """``module.attr...`` imported, or None when ``name`` is not such a path."""
    parts = name.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)  # an AttributeError is a wrong doc: let it fail
        return target
    return None


def _signature_spans(page: str) -> list[tuple[str, str, str]]:
    """(section heading, name, params) of every ``name(params)`` code span of a docs page."""
    spans, section = [], ""
    for line in (DOCS / page).read_text().splitlines():
        if line.startswith("#"):
            section = line
        spans.extend((section, m["name"], m["params"]) for m in _SIGNATURE.finditer(line))
    return spans


def test_documented_exceptions_match_the_code() -> None:
    """Every ``XError(...)`` written in the docs has the class's real parameters."""
    checked, problems = 0, []
    for page in sorted(path.name for path in DOCS.glob("*.md")):
        for _, name, params in _signature_spans(page):
            short = name.rpartition(".")[2]
            documented = _documented(params)
            if short in exceptions.__all__ and documented is not None:
                checked += 1
                if problem := _mismatch(getattr(exceptions, short), documented):
                    problems.append(f"{page}: {name}: {problem}")
    assert problems == []
    assert checked >= 7


def test_error_tables_name_the_real_base_classes() -> None:
    """In the error tables (``| `Error...` | `Base`, ... |``), each base is one the class has."""
    problems, checked = [], 0
    row = re.compile(r"^\| `(?P<name>\w+)(\([^`]*\))?`[^|]* \| (?P<bases>[^|]+) \|")
    for page in PLUGIN_PAGES:
        for line in (DOCS / page).read_text().splitlines():
            match = row.match(line)
            if match is None or match["name"] not in exceptions.__all__:
                continue
            error = getattr(exceptions, match["name"])
            for base in re.findall(r"`(\w+)`", match["bases"]):
                checked += 1
                known = getattr(exceptions, base, None) or getattr(builtins, base)
                if not issubclass(error, known):
                    problems.append(f"{page}: {match['name']} is not a {base}")
    assert problems == []
    assert checked >= 10


def _fixtures() -> dict[str, object]:
    """What the fixtures of ``fabpromote.testing`` hand a test, by the name a test calls it."""
    from fabpromote.testing.gitrepos import WorkRepo
    from fabpromote.testing.plugin import GitDaemonUrl, GitRepoFactory, HldTree, SmartHttpUrl

    return {
        "hld_tree": HldTree.__call__,
        "git_repo": GitRepoFactory.__call__,
        "git_repo.bare": GitRepoFactory.bare,
        "git_daemon_url": GitDaemonUrl.__call__,
        "smart_http_url": SmartHttpUrl.__call__,
        "WorkRepo": WorkRepo,
    }


def _namespaces(page: str, section: str) -> list[object]:
    """Where the undotted names of a page's section live (dotted ones are imported as written)."""
    from fabpromote import Sources
    from fabpromote.git import GitOps
    from fabpromote.typing import Engine, Generator

    if page == "githosts.md" and "`GitOps`" in section:
        return [GitOps]
    if page == "sources.md" and section == "## API":
        return [Sources, fabpromote]
    return {
        "api.md": [fabpromote],
        "plugins.md": [hookspecs, {"generate": Generator.generate, "render": Engine.render}],
        "githosts.md": [hookspecs],
        "testing.md": [
            _fixtures(),
            importlib.import_module("fabpromote.testing"),
            importlib.import_module("fabpromote.testing.strategies"),
        ],
    }.get(page, [])


def _lookup(name: str, namespaces: list[object]) -> object | None:
    for namespace in namespaces:
        if isinstance(namespace, dict) and name in namespace:
            return namespace[name]
        target = namespace
        for part, attribute in enumerate(name.split(".")):
            is_key = part == 0 and isinstance(target, dict)
            target = target.get(attribute) if is_key else getattr(target, attribute, None)  # type: ignore[union-attr]
        if target is not None:
            return target
    return _resolve(name) if "." in name else None


def test_documented_signatures_match_the_code() -> None:
    """``name(params)`` spans of the API and plugin-author pages have the real parameters and defaults."""
    checked, problems = 0, []
    for page in ("api.md", *PLUGIN_PAGES):
        for section, name, params in _signature_spans(page):
            documented = _documented(params)
            target = _lookup(name, _namespaces(page, section))
            if documented is None or target is None or name.rpartition(".")[2] in exceptions.__all__:
                continue
            checked += 1
            if problem := _mismatch(target, documented):
                problems.append(f"{page}: {name}: {problem}")
    assert problems == []
    assert checked >= 60


def test_githost_protocol_on_the_page_is_the_one_in_fabpromote_typing() -> None:
    """The Protocol printed in docs/githosts.md has the methods and signatures of ``fabpromote.typing.GitHost``."""
    from fabpromote.typing import GitHost

    text = (DOCS / "githosts.md").read_text()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(block, "docs/githosts.md", "exec"), namespace)  # our own docs page
    documented = namespace["GitHost"]
    members = sorted(name for name in vars(GitHost) if not name.startswith("_"))
    assert sorted(name for name in vars(documented) if not name.startswith("_")) == members
    for name in members:
        if callable(getattr(GitHost, name)):
            assert inspect.signature(getattr(documented, name)) == inspect.signature(getattr(GitHost, name)), name


_RECORDER = """
import json
import os

from fabpromote import hookimpl
from fabpromote.git import LocalHost


@hookimpl
def fabpromote_register_git_hosts(register):
    def recorder(settings):
        seen = {
            "protected": sorted(settings.protected),
            "sources": settings.sources is not None,
            "token_env": settings.token_env,
            "options": dict(settings.options),
            "field": settings.field,
        }
        with open(os.environ["RECORDED_SETTINGS"], "a") as out:
            out.write(json.dumps(seen) + "\\n")
        return LocalHost(sources=settings.sources, protected=settings.protected, token_env=settings.token_env)

    register("recorder", recorder)
"""


def test_git_host_factories_get_the_documented_settings(tmp_path: Path, git_daemon_url: Any) -> None:
    """An installed host plugin's factory gets the HostSettings docs/plugins.md describes.

    ``protected`` and ``sources`` always; ``token_env`` when configured; the other
    keys of the ``hosts:`` entry of the URL's host as ``options``, and where they were written. Run as a user would: a plugin
    installed (an entry point), then ``fabpromote materialize --publish``.
    """
    if shutil.which("helm") is None:
        pytest.skip("the demo renders helm charts: needs helm on PATH")
    fabpromote = Path(sys.executable).with_name("fabpromote")
    demo = tmp_path / "demo"
    subprocess.run([fabpromote, "demo", demo], check=True, capture_output=True)
    plugin = tmp_path / "plugin"
    (plugin / "recorder_host-1.0.dist-info").mkdir(parents=True)
    (plugin / "recorder_host-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: recorder-host\nVersion: 1.0\n"
    )
    (plugin / "recorder_host-1.0.dist-info" / "entry_points.txt").write_text("[fabpromote]\nrecorder = recorder_host\n")
    (plugin / "recorder_host.py").write_text(_RECORDER)
    repos = demo / "repos"
    daemon = git_daemon_url(repos)
    branches = ["dev", "prod", "stage"]
    plain = {"protected": branches, "sources": True, "token_env": "", "options": {}, "field": ""}
    cases = {
        "manifests: {url: %s, host: recorder}" % (repos / "manifests.git"): plain,
        "manifests: {url: %s, host: recorder, token_env: DEMO_TOKEN}" % (repos / "manifests.git"): {
            **plain,
            "token_env": "DEMO_TOKEN",
        },
        (
            f"manifests: {daemon}manifests.git\n"
            "hosts:\n  127.0.0.1: {type: recorder, api_url: 'https://git.example.com/api', token_env: DEMO_TOKEN}"
        ): {
            **plain,
            "token_env": "DEMO_TOKEN",
            "options": {"api_url": "https://git.example.com/api"},
            "field": "hosts.127.0.0.1",
        },
    }
    for manifests, expected in cases.items():
        config = demo / "fabpromote.yaml"
        config.write_text(
            f"name: demo\nhld: {repos / 'cluster-hld.git'}\n{manifests}\nenvironments: [dev, stage, prod]\n"
        )
        record = tmp_path / "recorded.jsonl"
        record.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": str(plugin), "RECORDED_SETTINGS": str(record)}
        done = subprocess.run(
            [fabpromote, "materialize", "dev", "--publish", "--config", config],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        recorded = [json.loads(line) for line in record.read_text().splitlines()]
        assert recorded, f"the recorder host was never built for {manifests!r}"
        assert all(seen == expected for seen in recorded), (manifests, recorded)
    section = (DOCS / "plugins.md").read_text().split("### `fabpromote_register_git_hosts(register)`")[1]
    section = section.split("\n### ")[0]
    assert all(
        f"`{key}`" in section for key in ("HostSettings", "protected", "sources", "token_env", "options", "hosts:")
    )


def test_documented_trailers_are_the_ones_publish_writes(tmp_path: Path) -> None:
    """Every ``Fabpromote-Key`` trailer the docs name is in a real publish commit, with the documented fields.

    The publishes of the demo, then one of an older lock (``--allow-older``) and an
    emergency ``rollback --manifests``, which add trailers of their own, and an app's
    rollback (``Fabpromote-Restores``).
    """
    if shutil.which("helm") is None:
        pytest.skip("the demo renders helm charts: needs helm on PATH")
    demo = tmp_path / "demo"
    fabpromote = Path(sys.executable).with_name("fabpromote")

    def run(*args: object) -> str:
        return subprocess.run([fabpromote, *args], cwd=demo, check=True, capture_output=True, text=True).stdout

    def git(*args: object, repo: str = "manifests.git") -> str:
        command = ["git", "--git-dir", demo / "repos" / repo, *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    subprocess.run([fabpromote, "demo", demo], check=True, capture_output=True)
    first = git("rev-parse", "dev").strip()
    (tmp_path / "old.json").write_text(run("materialize", "dev", "--json"))
    run("set-image", "cat-application", "dev", "v1.1.0")
    run("materialize", "dev", "--publish")
    run("rollback", "dev", "--manifests", "--to", first)
    run("materialize", "dev", "--publish")
    run("materialize", "dev", "--lock", tmp_path / "old.json", "--publish", "--allow-older")
    run("promote", "cat-application", "--from", "dev", "--to", "stage")
    # A promotion overriding the gates (dev's new head is not published) records why in its merge
    # commit: stage got a commit of its own first, so that the promotion is a merge, not a fast-forward.
    work = tmp_path / "cat-stage"
    subprocess.run(["git", "clone", "-q", "--branch", "stage", demo / "repos" / "cat.git", work], check=True)
    (work / "NOTES.md").write_text("stage notes\n")
    subprocess.run(["git", "add", "NOTES.md"], cwd=work, check=True)
    subprocess.run(["git", "commit", "-qm", "stage notes"], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "stage"], cwd=work, check=True)
    run("set-image", "cat-application", "dev", "v1.2.0")
    run("promote", "cat-application", "--from", "dev", "--to", "stage", "--ignore-gates", "--reason", "hotfix")
    run("rollback", "cat-application", "stage", "--steps", "1")  # an app rollback marks what it restores
    written: dict[str, str] = {}
    for line in (git("log", "--format=%B", "dev") + git("log", "--format=%B", "stage", repo="cat.git")).splitlines():
        key, colon, value = line.partition(": ")
        if colon and key.startswith("Fabpromote-"):
            written[key] = value
    pattern = re.compile(r"Fabpromote-[A-Z][\w-]*[A-Za-z]")
    documented = {key for page in DOCS.glob("*.md") for key in pattern.findall(page.read_text())}
    assert {"Fabpromote-Source", "Fabpromote-Older-Than", "Fabpromote-Rollback-Of", "Fabpromote-Restores"} <= documented
    assert sorted(documented - written.keys()) == []
    # <component> <kind> <url> <ref> <sha>
    assert len(written["Fabpromote-Source"].split(" ")) == 5
