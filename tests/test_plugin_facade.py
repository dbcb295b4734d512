"""The plugin facade: typed answers, hooks through pluggy's call loop, notifications, host settings.

Plugins here are real: registered through the facade's registration API
(``Plugins.load(plugins=[...])``) or installed as a distribution with an entry
point in group ``fabpromote`` (a ``*.dist-info`` folder on ``sys.path``) and
loaded by the CLI as a user's would be.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote import Cluster, Plugins, hookimpl, make_plugin_manager, materialize, promote, publish
from fabpromote.cli import main
from fabpromote.exceptions import HostSettingsError, PluginError
from fabpromote.testing.fleet import LocalFleet
from fabpromote.typing import Engine, Generator, GitHost, HostSettings

# ---------------------------------------------------------------- typed answers


def test_the_facade_returns_protocol_types_not_any() -> None:
    """No public method of the facade or its registries returns or takes ``Any``."""
    from fabpromote import PluginInfo, Registry

    for owner in (Plugins, Registry, PluginInfo):
        for name, method in inspect.getmembers(owner, inspect.isfunction):
            if name.startswith("_"):
                continue
            signature = inspect.signature(method)
            annotations = [
                str(signature.return_annotation),
                *(str(p.annotation) for p in signature.parameters.values()),
            ]
            assert not [text for text in annotations if "Any" in text], f"{owner.__name__}.{name}: {signature}"
    plugins = Plugins.load()
    assert isinstance(plugins.generator("static"), Generator)
    assert isinstance(plugins.engine("native"), Engine)
    assert isinstance(plugins.git_host("local", HostSettings()), GitHost)
    assert inspect.signature(Plugins.generator).return_annotation == "Generator"
    assert inspect.signature(Plugins.engine).return_annotation == "Engine"
    assert inspect.signature(Plugins.git_host).return_annotation == "GitHost"


# ---------------------------------------------------------------- pluggy's call loop


class _Wrappers:
    """Wraps registration and notification hooks, new style and old style."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def fabpromote_register_git_hosts(self, register: object) -> Iterator[None]:
        self.seen.append("register_git_hosts")
        return (yield)

    @hookimpl(hookwrapper=True)
    def fabpromote_register_generators(self, register: object) -> Iterator[None]:
        self.seen.append("register_generators")
        yield

    @hookimpl(wrapper=True)
    def fabpromote_detect_git_host(self, url: str) -> Iterator[str | None]:
        answer = yield
        self.seen.append(f"detect {url} -> {answer}")
        return "local" if answer is None else answer

    @hookimpl(wrapper=True)
    def fabpromote_after_materialize(self, cluster: Cluster, materialization: object) -> Iterator[None]:
        self.seen.append(f"after_materialize {cluster.name}")
        return (yield)


class _Hosts:
    @hookimpl
    def fabpromote_register_git_hosts(self, register: object) -> None:
        register("extra", lambda settings: Plugins.load(autoload=False).git_host("local", settings))  # type: ignore[operator]


def test_a_wrapper_sees_every_call() -> None:
    """Hook wrappers see the registration calls (one per registering plugin) and the facade's calls."""
    wrappers = _Wrappers()
    plugins = Plugins.load(autoload=False, plugins=[wrappers, _Hosts()])
    # The built-ins register generators and a host; _Hosts registers a host; each call passes the wrappers.
    assert wrappers.seen == ["register_generators", "register_git_hosts", "register_git_hosts"]
    assert plugins.git_hosts.names() == ["extra", "local"]
    assert plugins.git_hosts.owner("extra") != "fabpromote.builtins"
    assert plugins.detect_git_host("/srv/repo.git") == "local"
    assert wrappers.seen[-1] == "detect /srv/repo.git -> None"


def test_pluggy_tracing_records_the_calls() -> None:
    """pluggy's tracing, enabled before the facade is built, records registrations and later calls."""
    manager = make_plugin_manager(autoload=False, plugins=[_Hosts()])
    lines: list[str] = []
    manager.trace.root.setwriter(lines.append)
    undo = manager.enable_tracing()
    try:
        plugins = Plugins.from_manager(manager)
        plugins.detect_git_host("/srv/repo.git")
    finally:
        undo()
    traced = "".join(lines)
    for hook in (
        "fabpromote_register_generators",
        "fabpromote_register_engines",
        "fabpromote_register_git_hosts",
        "fabpromote_detect_git_host",
    ):
        assert f"{hook} " in traced or f"{hook}\n" in traced, (hook, traced)
    assert "url: /srv/repo.git" in traced


def test_duplicate_names_still_name_both_plugins() -> None:
    """Called one plugin at a time, registration still knows who registered what."""

    class Again:
        @hookimpl
        def fabpromote_register_git_hosts(self, register: object) -> None:
            register("extra", lambda settings: None)  # type: ignore[operator]

    with pytest.raises(Exception, match=r"Git host 'extra' is registered by both '.+' and '.+'"):
        Plugins.load(autoload=False, plugins=[_Hosts(), Again()])


# ---------------------------------------------------------------- notification hooks


class _Recorder:
    """Records each notification with its payload."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, object]] = []

    @hookimpl
    def fabpromote_after_materialize(self, cluster: Cluster, materialization: object) -> None:
        self.calls.append(("materialize", cluster, materialization))

    @hookimpl
    def fabpromote_after_publish(self, cluster: Cluster, result: object) -> None:
        self.calls.append(("publish", cluster, result))

    @hookimpl
    def fabpromote_after_promote(self, cluster: Cluster, result: object) -> None:
        self.calls.append(("promote", cluster, result))

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path) -> tuple[LocalFleet, Path]:
    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    return fleet, fleet.config(base)


def test_materialize_and_publish_notify_once_with_their_results(fleet: tuple[LocalFleet, Path]) -> None:
    """Each call notifies exactly once, with the cluster and the very result it returns."""
    _, config = fleet
    cluster = Cluster.from_file(config)
    recorder = _Recorder()
    plugins = Plugins.load(plugins=[recorder])
    done = materialize(cluster, "dev", plugins=plugins)
    assert recorder.calls == [("materialize", cluster, done)]
    published = publish(done, cluster, plugins=plugins)
    assert published.commit is not None
    assert recorder.calls[1:] == [("publish", cluster, published)]
    again = publish(done, cluster, plugins=plugins)  # unchanged: no commit, still a publish that returned
    assert again.commit is None
    assert recorder.calls[2:] == [("publish", cluster, again)]


def test_promote_notifies_after_its_publish(fleet: tuple[LocalFleet, Path]) -> None:
    """promote --publish: one materialize, one publish, then one promote, each with its result."""
    local, config = fleet
    local.push_app("dev", "v2")
    cluster = Cluster.from_file(config)
    publish(materialize(cluster, "dev"), cluster)  # what stage's published gate needs
    recorder = _Recorder()
    plugins = Plugins.load(plugins=[recorder])
    assert promote(cluster, "app", source="dev", target="stage", dry_run=True, plugins=plugins).dry_run
    assert recorder.calls == []  # a dry run did nothing: nothing to tell
    result = promote(cluster, "app", source="dev", target="stage", publish_after=True, plugins=plugins)
    assert result.publish is not None
    assert result.publish.commit
    assert recorder.names() == ["materialize", "publish", "promote"]
    assert recorder.calls[1] == ("publish", cluster, result.publish)
    assert recorder.calls[2] == ("promote", cluster, result)
    assert recorder.calls[0][2] is result.publish.materialization


def test_a_failing_observer_says_the_work_was_done(fleet: tuple[LocalFleet, Path]) -> None:
    """An observer's crash is a PluginError that says the publish happened (so nobody redoes it)."""
    _, config = fleet
    cluster = Cluster.from_file(config)

    class Broken:
        @hookimpl
        def fabpromote_after_publish(self, cluster: Cluster, result: object) -> None:
            raise RuntimeError("chat server down")

    plugins = Plugins.load(plugins=[Broken()])
    with pytest.raises(PluginError, match=r"fabpromote_after_publish failed after the work was done.*chat server"):
        publish(materialize(cluster, "dev", plugins=plugins), cluster, plugins=plugins)


_NOTES_PLUGIN = """
import json
import os

from fabpromote import hookimpl


def _note(hook, cluster, **fields):
    with open(os.environ["NOTES_FILE"], "a") as out:
        out.write(json.dumps({"hook": hook, "cluster": cluster.name, **fields}) + "\\n")


@hookimpl
def fabpromote_after_materialize(cluster, materialization):
    _note("materialize", cluster, env=materialization.environment, digest=materialization.manifests.digest)


@hookimpl
def fabpromote_after_publish(cluster, result):
    _note("publish", cluster, branch=result.branch, commit=result.commit)


@hookimpl
def fabpromote_after_promote(cluster, result):
    _note("promote", cluster, app=result.app, target=result.target, merged=result.merge.sha)
"""


def _install_notes_plugin(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the notes plugin as a distribution with an entry point; return its notes file."""
    module = f"notes_plugin_{abs(hash(str(site)))}"  # a fresh module per test: imports are cached
    info = site / f"{module}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fabpromote]\nnotes = {module}\n")
    (site / f"{module}.py").write_text(_NOTES_PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    notes = site / "notes.jsonl"
    monkeypatch.setenv("NOTES_FILE", str(notes))
    return notes


def _read(notes: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in notes.read_text().splitlines()] if notes.exists() else []


def test_the_cli_notifies_an_installed_plugin(
    fleet: tuple[LocalFleet, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI: materialize --publish and promote --publish notify once per step, with the results."""
    local, config = fleet
    notes = _install_notes_plugin(tmp_path / "site", monkeypatch)
    assert main(["materialize", "dev", "--publish", "--json", "--config", str(config)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert _read(notes) == [
        {"hook": "materialize", "cluster": "test", "env": "dev", "digest": printed["digest"]},
        {"hook": "publish", "cluster": "test", "branch": "dev", "commit": printed["publish"]["commit"]},
    ]
    local.push_app("dev", "v2")
    assert main(["materialize", "dev", "--publish", "--config", str(config)]) == 0  # stage's published gate
    capsys.readouterr()
    notes.unlink()
    assert (
        main(["promote", "app", "--from", "dev", "--to", "stage", "--publish", "--json", "--config", str(config)]) == 0
    )
    printed = json.loads(capsys.readouterr().out)
    recorded = _read(notes)
    assert [note["hook"] for note in recorded] == ["materialize", "publish", "promote"]
    assert recorded[1] == {
        "hook": "publish",
        "cluster": "test",
        "branch": "stage",
        "commit": printed["publish"]["commit"],
    }
    assert recorded[2] == {
        "hook": "promote",
        "cluster": "test",
        "app": "app",
        "target": "stage",
        "merged": printed["merge"]["sha"],
    }


# ---------------------------------------------------------------- host settings


@pytest.mark.parametrize("host", ["local", "github", "gitlab", "azure-devops"])
def test_an_unknown_host_option_names_its_field(host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt option in ``hosts:`` is a one-line error naming ``hosts.NAME.OPTION``; nothing is read."""
    if host not in Plugins.load().git_hosts.names():
        pytest.skip(f"the {host} plugin is not installed")
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            name: east
            hld: https://git.example.com/org/cluster-hld.git
            manifests: https://git.example.com/org/manifests.git
            hosts:
              git.example.com: {{type: {host}, colour: blue}}
            """)
    )
    assert main(["history", "dev", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"unknown option(s) of the {host} Git host: hosts.git.example.com.colour" in err
    assert "Traceback" not in err


def test_host_settings_refuse_only_unknown_options() -> None:
    """check_options passes known options and lists the known ones when refusing."""
    settings = HostSettings(options={"api_url": "https://x", "colour": "blue"}, field="hosts.x")
    settings.check_options("mine", ("api_url", "colour"))
    with pytest.raises(HostSettingsError, match=r"hosts\.x\.colour \(known: api_url\)$"):
        settings.check_options("mine", ("api_url",))
    assert isinstance(HostSettingsError("x"), ValueError)
