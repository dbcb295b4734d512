"""`fabpromote generate` with nothing changed is answered from its stamp, without importing the engine,
and anything that could change the output (an input, an output, the command, the settings) is rendered.

The stamp trusts no file changed less than two seconds before a render: the HLDs are written
once for the module and the tests wait that long once, then each test takes its own copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fabpromote import Manifests, generate
from fabpromote.testing.plugin import install_plugin
from fabpromote.testing.unavailable import unavailable

APPS = 3
COPIES = 48
#: The console script: as users run it (``python -m`` puts the working folder on sys.path).
CLI = Path(sys.executable).parent / "fabpromote"


def _write_hld(root: Path) -> None:
    entries = "".join(f"  - name: app{i}\n    type: static\n    path: ./apps/app{i}\n" for i in range(APPS))
    (root / "component.yaml").parent.mkdir(parents=True)
    (root / "component.yaml").write_text(f"name: fleet\nsubcomponents:\n{entries}")
    for i in range(APPS):
        folder = root / "apps" / f"app{i}"
        folder.mkdir(parents=True)
        (folder / "cm.yaml").write_text(f"kind: ConfigMap\nmetadata:\n  name: app{i}\ndata:\n  tag: v1\n")
    shared = root.parent / "shared"
    shared.mkdir()
    (shared / "cm.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: shared\n")


@pytest.fixture(scope="module")
def _aged(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("aged")
    roots = [base / f"copy{n}" / "hld" for n in range(COPIES)]
    for root in roots:
        _write_hld(root)
    time.sleep(2.1)  # older than the stamp's two seconds of distrust
    return roots


@pytest.fixture
def hld(_aged: list[Path]) -> Path:
    """An HLD of three static apps whose files are more than two seconds old (each test its own)."""
    return _aged.pop()


def _run(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, bool]:
    """``fabpromote generate prod --path ROOT ARGS``: (exit status, what it printed, whether it rendered the HLD).

    A render imports the engine's walk; the stamp's answers import at most the engine's formats.
    """
    command = [sys.executable, "-X", "importtime", str(CLI), "generate", "prod", "--path", str(root), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = done.stderr.splitlines()
    printed = "\n".join(line for line in lines if not line.startswith("import time:"))
    return done.returncode, printed, any(line.endswith("fabpromote._engine.walk") for line in lines)


def _stamped(root: Path) -> str:
    """Write the output, find nothing to write (which stamps), be answered from the stamp; the line printed."""
    status, printed, engine = _run(root)
    assert (status, engine) == (0, True), printed
    assert printed.startswith("wrote ")
    status, printed, engine = _run(root)
    assert (status, engine) == (0, True), printed
    status, answered, engine = _run(root)
    assert (status, engine, answered) == (0, False, printed)
    return printed


def _output(root: Path) -> Manifests:
    return Manifests.read(root / "generated" / "prod")


def _changed_after_stamp(root: Path, change: Callable[[], object], *, rendered: bool) -> None:
    """Stamp, make ``change``, run again: rendered or not, as said, and the output is the render's."""
    _stamped(root)
    change()
    status, printed, engine = _run(root)
    assert (status, engine) == (0, rendered), printed
    assert _output(root) == generate(root, ["prod"])


def test_nothing_changed_is_answered_without_the_engine(hld: Path) -> None:
    printed = _stamped(hld)
    assert printed.startswith(f"unchanged: 4 files in {hld}/generated/prod (sha256 ")
    # The full path says the same.
    status, full, engine = _run(hld, "--engine", "native")
    assert (status, engine, full) == (0, True, printed)
    assert _output(hld) == generate(hld, ["prod"])


def _edit(file: Path, old: str, new: str) -> None:
    file.write_text(file.read_text().replace(old, new))


def _saved_by_rename(file: Path, old: str, new: str) -> None:
    """As editors save: a new file renamed over the old one (a new inode; the folder's times move)."""
    temporary = file.with_name(f".{file.name}.swp")
    temporary.write_text(file.read_text().replace(old, new))
    os.replace(temporary, file)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda root: (root / "apps/app1/extra.yaml").write_text("kind: Secret\n"), id="file-added"),
        pytest.param(lambda root: (root / "apps/app1/cm.yaml").unlink(), id="file-removed"),
        pytest.param(
            lambda root: (root / "config").mkdir() or (root / "config/prod.yaml").write_text("config: {}\n"),
            id="config-added",
        ),
        pytest.param(lambda root: _edit(root / "component.yaml", "fleet", "fleet2"), id="component-edited"),
        pytest.param(
            lambda root: [_edit(root / f"apps/app{i}/cm.yaml", "v1", "v2") for i in (0, 1)], id="two-apps-edited"
        ),
        pytest.param(
            lambda root: (root / "apps/app1/cm.yaml").unlink() or (root / "apps/app1/cm.yaml").mkdir(),
            id="file-became-folder",
        ),
    ],
)
def test_a_changed_input_is_rendered(hld: Path, change: Callable[[Path], object]) -> None:
    """Anything but the files of one static component changed: the HLD is rendered again."""
    _stamped(hld)
    change(hld)
    status, printed, engine = _run(hld)
    assert engine, printed
    if status == 0:
        assert _output(hld) == generate(hld, ["prod"])
    else:
        assert f"{hld}/apps/app1/cm.yaml is a directory" in printed


@pytest.mark.parametrize(
    ("change", "verb"),
    [
        pytest.param(lambda root: _edit(root / "apps/app1/cm.yaml", "v1", "v2"), "wrote", id="edited-same-size"),
        pytest.param(lambda root: _edit(root / "apps/app1/cm.yaml", "v1", "v1.2.3"), "wrote", id="edited-longer"),
        pytest.param(
            lambda root: _saved_by_rename(root / "apps/app1/cm.yaml", "v1", "v2"), "wrote", id="saved-by-rename"
        ),
        pytest.param(lambda root: os.chmod(root / "apps/app1/cm.yaml", 0o600), "unchanged:", id="mode-changed"),
    ],
)
def test_one_static_component_changed_is_rewritten_without_a_render(
    hld: Path, change: Callable[[Path], object], verb: str
) -> None:
    """Its manifest is joined again and renamed into place; the line, the output and its record are the render's."""
    _stamped(hld)
    before = {p.name: p.stat().st_ino for p in (hld / "generated" / "prod").iterdir()}
    change(hld)
    status, printed, engine = _run(hld)
    expected = generate(hld, ["prod"])
    assert (status, engine, printed) == (
        0,
        False,
        f"{verb} 4 files in {hld}/generated/prod (sha256 {expected.digest[:12]})",
    )
    assert _output(hld) == expected
    after = {p.name: p.stat().st_ino for p in (hld / "generated" / "prod").iterdir()}
    assert [name for name in after if after[name] != before[name]] == (["app1.yaml"] if verb == "wrote" else [])
    # The full path finds the output it would write (its record accepts the folder) and the stamp answers after.
    status, full, engine = _run(hld, "--engine", "native")
    assert (status, engine, full) == (0, True, f"unchanged: {printed.split(' ', 1)[1]}")
    assert _run(hld) == (0, f"unchanged: {printed.split(' ', 1)[1]}", False)


def test_edits_in_quick_succession_are_each_rewritten(hld: Path) -> None:
    """Each edit lands less than two seconds before the run: the renewed stamp keeps the file as it was read."""
    _stamped(hld)
    for tag in ("v2", "v3", "v4", "v4b"):
        (hld / "apps/app1/cm.yaml").write_text(f"kind: ConfigMap\nmetadata:\n  name: app1\ndata:\n  tag: {tag}\n")
        status, printed, engine = _run(hld)
        assert (status, engine) == (0, False), (tag, printed)
        assert _output(hld) == generate(hld, ["prod"])


def test_a_component_folder_holding_its_own_file_is_rendered(hld: Path) -> None:
    """A static component listing the folder of its component.yaml: its files are definitions too."""
    solo = hld / "solo"
    solo.mkdir()
    (solo / "component.yaml").write_text("name: solo\ntype: static\npath: ./\n")
    (solo / "cm.yaml").write_text("kind: ConfigMap\n")
    _edit(hld / "component.yaml", "subcomponents:\n", "subcomponents:\n  - name: solo\n    source: ./solo\n")
    time.sleep(2.1)
    _changed_after_stamp(hld, lambda: _edit(solo / "cm.yaml", "ConfigMap", "Secret"), rendered=True)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda out: (out / "app1.yaml").unlink(), id="removed"),
        pytest.param(shutil.rmtree, id="folder-removed"),
    ],
)
def test_a_lost_output_is_written_again(hld: Path, change: Callable[[Path], object]) -> None:
    _stamped(hld)
    change(hld / "generated" / "prod")
    status, printed, engine = _run(hld)
    assert (status, engine) == (0, True), printed
    assert _output(hld) == generate(hld, ["prod"])


@pytest.mark.parametrize("name", ["app1.yaml", "stray.yaml"])
@pytest.mark.parametrize("edited", [False, True])
def test_a_file_written_in_the_output_is_not_lost(hld: Path, name: str, edited: bool) -> None:
    """As without a stamp: generate refuses to replace a folder someone else wrote in (an app edited or not)."""
    _stamped(hld)
    (hld / "generated" / "prod" / name).write_text("kind: Mine\n")
    if edited:
        _edit(hld / "apps/app1/cm.yaml", "v1", "v2")
    status, printed, engine = _run(hld)
    assert (status, engine) == (1, True)
    assert f"{name} would be lost" in printed
    assert (hld / "generated" / "prod" / name).read_text() == "kind: Mine\n"


def test_another_command_line_or_setting_is_not_answered(hld: Path) -> None:
    _stamped(hld)
    status, printed, engine = _run(hld, "--fix-disabled")
    assert (status, engine) == (0, True), printed
    status, printed, engine = _run(hld, env={**os.environ, "FABPROMOTE_NETWORK_TIMEOUT": "5"})
    assert (status, engine) == (0, True), printed


def test_a_component_outside_the_tree_gets_no_stamp(hld: Path) -> None:
    component = hld / "component.yaml"
    component.write_text(component.read_text() + "  - name: shared\n    type: static\n    path: ../shared\n")
    time.sleep(2.1)  # the edit is older than the stamp's distrust: only the folder outside keeps it away
    for _ in range(3):
        status, printed, engine = _run(hld)
        assert (status, engine) == (0, True), printed
    (hld.parent / "shared" / "cm.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: changed\n")
    assert _run(hld)[0] == 0
    assert b"name: changed" in _output(hld)["shared.yaml"]


def test_hooks_allowed_once_are_not_allowed_from_the_stamp(hld: Path) -> None:
    component = hld / "component.yaml"
    component.write_text(component.read_text() + "hooks:\n  before-generate:\n    - 'true'\n")
    time.sleep(2.1)
    for _ in range(2):
        assert _run(hld, "--allow-hooks")[0] == 0
    status, printed, _ = _run(hld)
    assert status == 1
    assert "hooks" in printed


def test_a_working_folder_since_removed_is_an_error_not_a_crash(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    script = f'cd "{gone}" && rmdir "{gone}" && exec "{sys.executable}" "{CLI}" generate prod'
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr == (
        "fabpromote: error: the working folder (removed since the shell entered it): No such file or directory\n"
    )


def test_a_damaged_stamp_is_not_trusted_and_cache_check_reports_it(hld: Path) -> None:
    """A stamp cut short (as a damaged restored cache may hold it) is no answer; cache check finds and removes it."""
    from fabpromote._cli.cachecheck import check_cache

    _stamped(hld)
    (stamp,) = (Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "stamps").iterdir()
    assert stamp.stat().st_mode & 0o777 == 0o600  # as every cache file: it holds paths and output
    sound = stamp.read_bytes()
    stamp.write_bytes(sound[:-5])
    assert [str(problem).startswith(f"{stamp}: damaged generate stamp") for problem in check_cache()] == [True]
    status, printed, engine = _run(hld)
    assert (status, engine) == (0, True), printed
    assert _output(hld) == generate(hld, ["prod"])
    assert check_cache() == []  # the run found nothing to write and stamped again
    stamp.write_bytes(sound[:-5])
    assert check_cache(repair=True) == []  # what remains: nothing
    assert not stamp.exists()


def _add(root: Path, entries: str) -> None:
    """Append subcomponent ``entries`` to the root component file, then let the files age."""
    component = root / "component.yaml"
    component.write_text(component.read_text() + entries)
    time.sleep(2.1)


def test_a_component_folder_named_two_ways_is_still_a_component_folder(hld: Path) -> None:
    """A static component lists a folder that another component, reached by an absolute path, is defined in."""
    sub = hld / "sub"
    sub.mkdir()
    (sub / "component.yaml").write_text(
        "name: sub\nsubcomponents:\n  - name: inner\n    type: static\n    path: ../apps/app0\n"
    )
    _add(hld, f"  - name: sub\n    source: {sub}\n  - name: listing\n    type: static\n    path: ./sub\n")
    _stamped(hld)
    (sub / "component.yaml").write_text(
        (sub / "component.yaml").read_text() + "  - name: inner2\n    type: static\n    path: ../apps/app1\n"
    )
    status, printed, engine = _run(hld)
    assert (status, engine) == (0, True), printed
    assert _output(hld) == generate(hld, ["prod"])
    assert "sub/inner2.yaml" in _output(hld)


def test_a_static_folder_under_generated_is_seen(hld: Path) -> None:
    """generated/ is left out of the stamp for the outputs' sake: a component reading there gets no stamp."""
    crds = hld / "generated" / "crds"
    crds.mkdir(parents=True)
    (crds / "crd.yaml").write_text("kind: CustomResourceDefinition\n")
    _add(hld, "  - name: crds\n    type: static\n    path: ./generated/crds\n")
    _stamped_or_rendered = [_run(hld) for _ in range(3)]
    assert all(engine for _, _, engine in _stamped_or_rendered)
    _edit(crds / "crd.yaml", "CustomResourceDefinition", "Changed")
    status, printed, _ = _run(hld)
    assert status == 0, printed
    assert _output(hld)["crds.yaml"] == b"---\nkind: Changed\n\n"


def test_a_file_named_like_a_skipped_folder_is_an_input(hld: Path) -> None:
    """A ``.git`` file (a submodule's) or a ``__pycache__`` file in a static folder is a manifest like any other."""
    for name in (".git", "__pycache__"):
        (hld / "apps/app2" / name).write_text(f"kind: {name}\n")
    time.sleep(2.1)
    _changed_after_stamp(hld, lambda: _edit(hld / "apps/app2/.git", ".git", "Edited"), rendered=False)
    assert b"kind: Edited" in _output(hld)["app2.yaml"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda out: os.rename(out, out.parent / "moved") or os.symlink(out.parent / "moved", out),
            id="folder-a-link",
        ),
        pytest.param(lambda out: (out / ".git").mkdir() or (out / ".git/HEAD").write_text("x\n"), id="git-folder"),
        pytest.param(
            lambda out: (out / "__pycache__").mkdir() or (out / "__pycache__/x").write_text("x\n"), id="cache"
        ),
        pytest.param(lambda out: (out / "generated").write_text("x\n"), id="file-named-generated"),
        pytest.param(
            lambda _: shutil.rmtree(Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "outputs"), id="record-removed"
        ),
    ],
)
@pytest.mark.parametrize("edited", [False, True], ids=["nothing-edited", "app-edited"])
def test_what_the_render_refuses_the_stamp_refuses(hld: Path, change: Callable[[Path], object], edited: bool) -> None:
    """The stamp answers only where the render would: an output folder it would not replace is not written."""
    _stamped(hld)
    change(hld / "generated" / "prod")
    if edited:
        _edit(hld / "apps/app1/cm.yaml", "v1", "v2")
    status, printed, engine = _run(hld)
    full_status, full, _ = _run(hld, "--engine", "native")
    assert (status, engine, printed) == (1, True, full)
    assert full_status == 1
    assert b"tag: v1" in (hld / "generated" / "prod" / "app1.yaml").read_bytes()


def test_a_render_racing_a_rewrite_waits_for_it(hld: Path) -> None:
    """Another command line renders the same folder while a rewrite from the stamp is under way.

    strace slows the rewrite's renames by a second each, so that the render starts during
    the rewrite; both take the folder's lock, the render goes second, and the folder is
    left as the render made it, which every later run accepts.
    """
    strace = shutil.which("strace")
    if strace is None:
        unavailable("strace is not installed: run scripts/install-debian-tools.sh")
    (hld / "config").mkdir()
    (hld / "config" / "dev.yaml").write_text("subcomponents:\n  app0:\n    disabled: true\n")
    time.sleep(2.1)
    for _ in range(2):
        subprocess.run([str(CLI), "generate", "dev", "prod", "--path", str(hld)], check=True, capture_output=True)
    _edit(hld / "apps/app1/cm.yaml", "v1", "v2")
    slowed = [strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2"]
    slowed += ["-e", "inject=rename,renameat,renameat2:delay_enter=1000000"]
    rewrite = subprocess.Popen(
        [*slowed, str(CLI), "generate", "dev", "prod", "--path", str(hld)], stderr=subprocess.PIPE
    )
    time.sleep(0.5)
    render = subprocess.run(
        [str(CLI), "generate", "dev-prod", "--path", str(hld), "--engine", "native"], capture_output=True, text=True
    )
    _, errors = rewrite.communicate()
    assert rewrite.returncode == 0, errors
    assert render.returncode == 0, render.stderr
    out = hld / "generated" / "dev-prod"
    assert Manifests.read(out) == generate(hld, ["dev-prod"])
    for command in (["dev-prod", "--engine", "native"], ["dev", "prod"]):
        again = subprocess.run([str(CLI), "generate", *command, "--path", str(hld)], capture_output=True, text=True)
        assert again.returncode == 0, again.stderr


def test_a_first_generate_into_a_new_folder_keeps_no_parse_cache(hld: Path) -> None:
    """What a CI runner does with a fresh checkout keeps nothing no later run could use; the next run keeps it."""
    parsed = Path(os.environ["FABPROMOTE_CACHE_DIR"]) / "parsed"
    before = set(parsed.iterdir()) if parsed.exists() else set()
    assert _run(hld)[0] == 0
    assert (set(parsed.iterdir()) if parsed.exists() else set()) == before
    assert _run(hld)[0] == 0
    assert len(set(parsed.iterdir()) - before) == 1


# Plugin generators: answered from the stamp only when they name what they read outside the tree.

PROBE_PLUGIN = '''
import logging
import os

from fabpromote.hookspecs import hookimpl
from fabpromote.typing import RenderInputs


class Unnamed:
    """Reads a file outside the tree (PROBE_TOOL), the static component's file and a variable; names none of it."""

    parallel = False

    def generate(self, request):
        if os.environ.get("PROBE_WARN"):
            logging.getLogger("fabpromote.probe").warning("careful")
        with open(os.environ["PROBE_TOOL"]) as tool:
            seen = tool.read()
        shared = os.path.join(request.directory, "plain", "cm.yaml")
        with open(shared) as file:
            plain = file.read()
        if os.environ.get("PROBE_EDIT"):  # an edit that lands between this read and the static generator's
            with open(shared, "w") as file:
                file.write(plain.replace("name: plain", "name: edited"))
        setting = os.environ.get("PROBE_SETTING", "")
        return f"kind: ConfigMap\\ndata:\\n  tool: {seen!r}\\n  plain: {plain!r}\\n  setting: {setting!r}\\n".encode()


class Named(Unnamed):
    def inputs(self, request):
        return RenderInputs(
            paths=(os.environ["PROBE_TOOL"], os.path.join(os.environ["PROBE_BIN"], "tool")),  # the second is absent
            environment=("PROBE_SETTING", "PROBE_WARN*"),
        )


@hookimpl
def fabpromote_register_generators(register):
    register("unnamed", Unnamed)
    register("named", Named)
'''


@pytest.fixture(scope="module")
def _probe_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``named`` and ``unnamed`` generators, as an installed plugin (an entry point on PYTHONPATH)."""
    site = tmp_path_factory.mktemp("probe-site")
    install_plugin(site, "fabpromote_stamp_probe", PROBE_PLUGIN)
    return site


@pytest.fixture(scope="module")
def _probe_hlds(tmp_path_factory: pytest.TempPathFactory, _probe_site: Path) -> list[Path]:
    base = tmp_path_factory.mktemp("probes")
    roots = []
    for n in range(10):  # more than the tests of either kind: each takes its own
        for kind in ("named", "unnamed"):
            root = base / f"{kind}{n}" / "hld"
            (root / "app").mkdir(parents=True)
            (root / "component.yaml").write_text(
                f"name: fleet\nsubcomponents:\n  - name: app\n    type: {kind}\n    path: ./app\n"
                "  - name: plain\n    type: static\n    path: ./plain\n"
            )
            (root / "plain").mkdir()
            (root / "plain" / "cm.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: plain\n")
            (root.parent / "tool").write_text("v1")
            (root.parent / "bin").mkdir()
            roots.append(root)
    time.sleep(2.1)  # older than the stamp's two seconds of distrust
    return roots


@pytest.fixture
def probe(_probe_hlds: list[Path], _probe_site: Path) -> Callable[[str], tuple[Path, dict[str, str]]]:
    """An HLD of one ``named`` or ``unnamed`` component, and the environment its runs need."""

    def make(kind: str) -> tuple[Path, dict[str, str]]:
        root = next(root for root in _probe_hlds if root.parent.name.startswith(kind))
        _probe_hlds.remove(root)
        env = {
            **os.environ,
            "PYTHONPATH": str(_probe_site),
            "PROBE_TOOL": str(root.parent / "tool"),
            "PROBE_BIN": str(root.parent / "bin"),
        }
        env.pop("PROBE_SETTING", None)
        return root, env

    return make


def test_a_plugin_generator_naming_its_inputs_is_answered(probe: Callable[[str], tuple[Path, dict[str, str]]]) -> None:
    root, env = probe("named")
    for engine in (True, True, False):  # written, found unchanged (stamped), answered
        status, printed, rendered = _run(root, env=env)
        assert (status, rendered) == (0, engine), printed
    assert printed.startswith("unchanged: 3 files in ")


@pytest.mark.parametrize(
    "change",
    [
        lambda root, env: (root.parent / "tool").write_text("v2"),
        lambda root, env: env.update(PROBE_SETTING="on"),
        lambda root, env: env.update(PROBE_WARNING_FREE="1"),  # a variable the prefix names
        lambda root, env: (root.parent / "bin" / "tool").write_text("another"),  # a path that was absent
        lambda root, env: (root / "plain" / "cm.yaml").write_text("kind: ConfigMap\nmetadata:\n  name: edited\n"),
    ],
    ids=["its-file", "its-variable", "a-variable-of-its-prefix", "a-path-that-was-absent", "a-static-file"],
)
def test_a_change_a_plugin_generator_named_is_rendered(
    probe: Callable[[str], tuple[Path, dict[str, str]]], change: Callable[[Path, dict[str, str]], object]
) -> None:
    root, env = probe("named")
    for _ in range(3):
        assert _run(root, env=env)[0] == 0
    change(root, env)
    status, printed, rendered = _run(root, env=env)
    assert (status, rendered) == (0, True), printed
    output = (root / "generated" / "prod" / "app.yaml").read_text()
    assert output.endswith(f"setting: {env.get('PROBE_SETTING', '')!r}\n")
    assert f"tool: {(root.parent / 'tool').read_text()!r}" in output
    assert f"plain: {(root / 'plain' / 'cm.yaml').read_text()!r}" in output
    # With a plugin generator in the render, even a static component's edit is rendered, not patched:
    # the plugin may read that file too.
    assert (root / "plain" / "cm.yaml").read_text() in (root / "generated" / "prod" / "plain.yaml").read_text()


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("unnamed", {}), ("named", {"PROBE_WARN": "1"})],
    ids=["names-nothing", "logs-a-warning"],
)
def test_a_plugin_generator_is_rendered_every_time(
    probe: Callable[[str], tuple[Path, dict[str, str]]], kind: str, extra: dict[str, str]
) -> None:
    """Without ``inputs`` it may read anything; a warning logged would not be logged again by an answer."""
    root, env = probe(kind)
    env.update(extra)
    for _ in range(3):
        status, printed, rendered = _run(root, env=env)
        assert (status, rendered) == (0, True), printed
    assert ("careful" in printed) == bool(extra)


def test_a_file_a_plugin_read_then_changed_keeps_no_stamp(probe: Callable[[str], tuple[Path, dict[str, str]]]) -> None:
    """Changed between the plugin's read and the static generator's: what the static one saw proves nothing."""
    root, env = probe("named")
    assert _run(root, env=env)[0] == 0  # the output folder, which a stamp needs
    status, printed, rendered = _run(root, env={**env, "PROBE_EDIT": "1"})
    assert (status, rendered) == (0, True), printed
    status, printed, rendered = _run(root, env=env)
    assert (status, rendered) == (0, True), printed
    assert "plain: 'kind: ConfigMap\\nmetadata:\\n  name: edited\\n'" in (root / "generated/prod/app.yaml").read_text()
