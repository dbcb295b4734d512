"""Every speed trick names its case in bench/tricks.py, whose plain code does the trick's work without it.

The bench (``python bench/run.py --only tricks``) times each trick against
the plain code it replaces; these tests time nothing. They check that the
comments at the tricks and the bench's cases match one for one, and that
each plain variant does the same work as the trick, so that the bench
compares like with like.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType

import pytest
from dulwich.repo import Repo

from fabpromote._plugins import entry_points as entry_points_module
from fabpromote._sources import mirrors

ROOT = Path(__file__).resolve().parents[1]
MARK = re.compile(r"#:? Earns its place: bench/tricks\.py::(\w+)")


@pytest.fixture(scope="module")
def tricks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tricks", ROOT / "bench" / "tricks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _marks() -> dict[str, list[str]]:
    """case -> the product files whose comments name it."""
    found: dict[str, list[str]] = {}
    sources = [*(ROOT / "fabpromote").rglob("*.py"), *(ROOT / "plugins").glob("*/fabpromote_*/**/*.py")]
    for path in sources:
        for case in MARK.findall(path.read_text(encoding="utf-8")):
            found.setdefault(case, []).append(str(path.relative_to(ROOT)))
    return found


def test_each_trick_names_a_case_and_each_case_a_trick(tricks: ModuleType) -> None:
    """The comments at the tricks and the bench's cases are the same set, one comment each."""
    cases = {case.__name__ for case in tricks.CASES}
    marks = _marks()
    assert set(marks) == cases
    assert set(tricks.PLAIN) == cases
    assert all(len(files) == 1 for files in marks.values()), marks


def test_plain_replaces_an_existing_attribute_and_restores_it(tricks: ModuleType) -> None:
    """Each case patches what the product calls, and puts it back after the block."""
    for case, (module_name, attribute, _replacement) in tricks.PLAIN.items():
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)
        with tricks.plain(case):
            assert getattr(module, attribute) is not original, case
        assert getattr(module, attribute) is original, case


def test_plain_entry_points_are_the_same(tricks: ModuleType) -> None:
    """importlib.metadata finds the entry points the hand-written reader finds."""
    with tricks.plain("entry_points"):
        from fabpromote._plugins import manager

        plain = manager.entry_points("fabpromote")
    assert {(e.name, e.value, e.distribution) for e in plain} == {
        (e.name, e.value, e.distribution) for e in entry_points_module.entry_points("fabpromote")
    }
    assert ("helm", "fabpromote_helm") in {(e.name, e.value) for e in plain}


def test_plain_mirror_is_a_bare_repository_too(tricks: ModuleType, tmp_path: Path) -> None:
    """dulwich's init_bare and the hand-made mirror are both empty bare repositories dulwich opens."""
    for name, init in (("hand", mirrors._init_mirror), ("dulwich", tricks._dulwich_init_mirror)):
        init(tmp_path / name)
        with Repo(os.fspath(tmp_path / name)) as repo:
            assert repo.bare
            assert repo.refs.as_dict() == {}
    assert sorted(os.listdir(tmp_path)) == ["dulwich", "hand"]  # no staging folder left


@pytest.mark.parametrize(
    ("case", "names"), [("helm_locale", ("LC_ALL",)), ("helm_go_runtime", ("GOGC", "GOMEMLIMIT", "GOMAXPROCS"))]
)
def test_plain_helm_environment_is_the_users(
    tricks: ModuleType, monkeypatch: pytest.MonkeyPatch, case: str, names: tuple[str, ...]
) -> None:
    """Without the trick, helm gets the user's own settings of the trick's variables; the rest is unchanged."""
    pytest.importorskip("fabpromote_helm")
    from fabpromote_helm import _helm

    for name in ("LC_ALL", "GOGC", "GOMEMLIMIT", "GOMAXPROCS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    trick = _helm._template_env()
    assert all(name in trick for name in names)
    with tricks.plain(case):
        plain = _helm._template_env()
    assert {name: value for name, value in trick.items() if name not in names} == plain
    monkeypatch.setenv(names[0], "user-value")
    with tricks.plain(case):
        assert _helm._template_env()[names[0]] == "user-value"


def test_plain_parse_cache_parses_every_file(
    tricks: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the parse cache, generate gives the same manifests and keeps no parsed files."""
    from fabpromote import generate
    from fabpromote._hld import parsed

    hld = tmp_path / "hld"
    (hld / "manifests").mkdir(parents=True)
    (hld / "component.yaml").write_text("name: app\ntype: static\npath: ./manifests\n")
    (hld / "manifests" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n")
    monkeypatch.setattr(parsed, "changed_recently", lambda *_: False)  # files just written are kept too
    caches = {"trick": tmp_path / "cache-trick", "plain": tmp_path / "cache-plain"}
    outputs = {}
    for side, cache in caches.items():
        monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
        with tricks._variant("parse_cache", side):
            outputs[side] = generate(hld, ["prod"])
    assert outputs["trick"] == outputs["plain"]
    assert any((caches["trick"] / parsed.FOLDER).iterdir())
    assert not (caches["plain"] / parsed.FOLDER).exists()


def test_plain_components_go_through_go_yaml(
    tricks: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the plain reader, a plain component file is read by go-yaml's rules, into the same component."""
    from fabpromote import load_component
    from fabpromote._hld import convert

    (tmp_path / "component.yaml").write_text("name: fleet\nsubcomponents:\n  - name: app\n    source: ./app\n")
    full_path = convert.component_from_file
    calls: list[str] = []

    def counted(file: Path, data: bytes | None = None) -> object:
        calls.append(file.name)
        return full_path(file, data)

    monkeypatch.setattr(convert, "component_from_file", counted)
    components = {}
    for side in ("trick", "plain"):
        with tricks._variant("plain_components", side):
            components[side] = load_component(tmp_path)
        assert calls == ([] if side == "trick" else ["component.yaml"])
    assert components["trick"] == components["plain"]
    assert components["plain"].subcomponents[0].source == "./app"


def test_plain_exit_leaves_the_objects_to_the_collector(tricks: ModuleType) -> None:
    """The trick freezes the collector's objects before the CLI exits; the plain code leaves them to the teardown."""
    import gc

    from fabpromote._cli import console

    try:
        for side, frozen in (("plain", False), ("trick", True)):
            gc.unfreeze()
            with tricks._variant("exit_freeze", side):
                console._spare_the_exit()
            assert (gc.get_freeze_count() > 0) is frozen
    finally:
        gc.unfreeze()
