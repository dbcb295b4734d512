"""The parse cache: a warm generate reads no YAML, and never an outdated record."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote import Component, ComponentConfig, Hooks, generate, load_component
from fabpromote._cli.cachecheck import check_cache
from fabpromote._hld import parsed as _parsed
from fabpromote._util import racy as _racy
from fabpromote.exceptions import HLDError, UnknownBackendError

if TYPE_CHECKING:
    from tests.conftest import WriteTree

ROOT = """\
name: root
subcomponents:
  - name: app
    source: ./app
    unknown: kept as a warning
"""
APP = """\
name: app
type: static
path: ./manifests
hooks: {}
"""
PROD = """\
namespace: team-a
config:
  replicas: 2
  nested: {1: one, 2.5: two, true: yes, ~: null, list: [1, 2.0, "3", false]}
subcomponents:
  app:
    config: {image: v1}
"""


@pytest.fixture(name="parses")
def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from YAML (not taken from the cache), in order; no file counts as racy."""
    monkeypatch.setattr(_racy, "RACY_NS", -(10**12))
    seen: list[str] = []
    parse = _parsed._parse

    def counting(file: Path, kind: str) -> object:
        seen.append(Path(file).name)
        return parse(file, kind)

    monkeypatch.setattr(_parsed, "_parse", counting)
    return seen


@pytest.fixture(name="hld")
def _hld(write_tree: WriteTree) -> Path:
    return write_tree(
        {
            "component.yaml": ROOT,
            "config/prod.yaml": PROD,
            "app/component.yaml": APP,
            "app/manifests/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
        }
    )


def test_a_second_run_parses_nothing(hld: Path, parses: list[str]) -> None:
    """Unchanged files come from the cache, and the manifests are the same."""
    first = generate(hld, ["prod"])
    assert sorted(parses) == ["component.yaml", "component.yaml", "prod.yaml"]
    parses.clear()
    second = generate(hld, ["prod"])
    assert parses == []
    assert dict(second) == dict(first)


def test_records_come_back_equal() -> None:
    """Every field survives the trip through the cache: hooks, nested components, maps of every kind of key."""
    component = Component(
        name="a",
        type="helm",
        source="https://example.com/x.git",
        method="git",
        path="charts/x",
        branch="main",
        version="1.0",
        hooks=Hooks(before_generate=("echo hi",), after_install=("a", "b")),
        subcomponents=[Component(name="b", generator="static", repositories={"r": "https://r"})],
        repositories={"stable": "https://charts"},
    )
    config = ComponentConfig(
        namespace="ns",
        inject_namespace=True,
        disabled=False,
        config={"n": {1: "one", 2.5: [None, True, "x"]}, "s": "\udcff"},
        subcomponents={"b": ComponentConfig(disabled=None, config={"k": 1})},
        files=("a.yaml", "b.yaml"),
    )
    for kind, record in (("component", component), ("config", config)):
        assert _parsed._load(kind, _parsed._dump(record)) == record
    assert _parsed._load("config", _parsed._dump(config)).files == config.files  # type: ignore[union-attr]


def test_a_changed_file_is_parsed_again(hld: Path, parses: list[str]) -> None:
    """A new size, or a new time with the same size, is a new signature."""
    generate(hld, ["prod"])
    parses.clear()
    (hld / "config" / "prod.yaml").write_text(PROD.replace("replicas: 2", "replicas: 3"))
    app = hld / "app" / "component.yaml"
    app.write_text(APP.replace("static", "stati2"))  # same size
    os.utime(app, ns=(1_000_000_000, 1_000_000_000))
    with pytest.raises(UnknownBackendError, match="stati2"):
        generate(hld, ["prod"])
    assert sorted(parses) == ["component.yaml", "prod.yaml"]


def test_files_changed_just_before_the_read_are_not_kept(hld: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within two seconds of a change, a second change in the same clock tick could go unseen: parsed every time."""
    generate(hld, ["prod"])  # the files were just written
    parsed: list[str] = []
    parse = _parsed._parse
    monkeypatch.setattr(_parsed, "_parse", lambda file, kind: (parsed.append(Path(file).name), parse(file, kind))[1])
    generate(hld, ["prod"])
    assert len(parsed) == 3


def test_warnings_are_logged_again(hld: Path, parses: list[str], caplog: pytest.LogCaptureFixture) -> None:
    """A warning of a cached file is logged on every run, as when it was parsed."""
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="fabpromote"):
            generate(hld, ["prod"])
        assert f"{hld / 'component.yaml'}: ignoring unknown field subcomponents[0].unknown" in caplog.messages
    assert parses == ["component.yaml", "prod.yaml", "component.yaml"]


def test_errors_are_never_kept(hld: Path, parses: list[str]) -> None:
    """A file that fails to parse fails again (and is read again) on the next run."""
    (hld / "config" / "prod.yaml").write_text("config: [unclosed\n")
    for _ in range(2):
        with pytest.raises(HLDError, match=r"prod\.yaml"):
            generate(hld, ["prod"])
    assert parses.count("prod.yaml") == 2


def test_only_within_remembered(hld: Path, parses: list[str]) -> None:
    """Library calls outside generate parse every time, and write no cache."""
    for _ in range(2):
        load_component(hld)
    assert parses == ["component.yaml", "component.yaml"]
    assert not (Path(os.environ["FABPROMOTE_CACHE_DIR"]) / _parsed.FOLDER).exists()


def test_a_damaged_cache_file_is_ignored_and_reported(hld: Path, parses: list[str]) -> None:
    """A cache file that does not check out is parsed around, reported by cache check, and rewritten."""
    generate(hld, ["prod"])
    (cache_file,) = (Path(os.environ["FABPROMOTE_CACHE_DIR"]) / _parsed.FOLDER).iterdir()
    cache_file.write_bytes(cache_file.read_bytes()[:-5])
    assert [problem.startswith(str(cache_file)) for problem in map(str, check_cache())] == [True]
    parses.clear()
    generate(hld, ["prod"])
    assert len(parses) == 3
    assert _parsed.is_sound(cache_file.read_bytes())
    assert check_cache() == []


def test_at_most_64_cache_files(write_tree: WriteTree, tmp_path: Path, parses: list[str]) -> None:
    """One cache file per HLD folder, the oldest dropped past 64."""
    folder = Path(os.environ["FABPROMOTE_CACHE_DIR"]) / _parsed.FOLDER
    folder.mkdir(parents=True)
    for index in range(70):
        (folder / f"{index:064x}").write_bytes(b"old")
        os.utime(folder / f"{index:064x}", ns=(index * 10**9, index * 10**9))
    generate(write_tree({"component.yaml": "name: lone\n"}), ["prod"])
    kept = sorted(path.name for path in folder.iterdir())
    assert len(kept) == 64
    assert f"{6:064x}" not in kept  # 70 old ones and the new one: the 7 oldest go
    assert f"{7:064x}" in kept


def test_materialize_parses_an_unchanged_fleet_once(tmp_path: Path, parses: list[str]) -> None:
    """Snapshots never change: a second materialize takes every record from the cache."""
    from fabpromote import Cluster, materialize
    from fabpromote.testing.fleet import LocalFleet

    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    cluster = Cluster.from_file(fleet.config(base))
    first = materialize(cluster, "dev")
    assert parses
    parses.clear()
    second = materialize(cluster, "dev")
    assert parses == []
    assert dict(second.manifests) == dict(first.manifests)
