"""The native engine: tree walk, names, disabled, namespaces, static output, hooks."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fabpromote
from fabpromote import RenderRequest, generate, hookimpl
from fabpromote.exceptions import (
    GeneratorError,
    HLDError,
    HookError,
    HooksNotAllowedError,
    UnknownBackendError,
    UnsafePathError,
)

if TYPE_CHECKING:
    from tests.conftest import WriteTree


class Recorder:
    """A generator plugin that records what it is asked to render."""

    def __init__(self) -> None:
        self.requests: list[RenderRequest] = []

    @hookimpl
    def fabpromote_register_generators(self, register) -> None:
        register("recorded", lambda: self)

    def generate(self, request: RenderRequest) -> bytes:
        self.requests.append(request)
        # Sorted, like a real generator's values file: key order must not matter.
        return (
            f"ns={request.config.namespace} config={json.dumps(dict(request.config.config), sort_keys=True)}\n".encode()
        )


class SlowMarker:
    """A generator plugin (``slow``) that takes its time, then leaves a file a hook can read."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    @hookimpl
    def fabpromote_register_generators(self, register) -> None:
        register("slow", lambda: self)

    def generate(self, request: RenderRequest) -> bytes:
        time.sleep(0.3)
        self.marker.write_text("rendered: true\n")
        return b""


class ThreadRecorder:
    """A generator plugin that records the thread each of its renders ran in."""

    def __init__(self, name: str, *, parallel: bool) -> None:
        self.name = name
        self.parallel = parallel
        self.threads: list[threading.Thread] = []

    @hookimpl
    def fabpromote_register_generators(self, register) -> None:
        register(self.name, lambda: self)

    def generate(self, request: RenderRequest) -> bytes:
        self.threads.append(threading.current_thread())
        return b""


def plugins_with(*extra: object) -> fabpromote.Plugins:
    return fabpromote.Plugins.load(autoload=False, plugins=extra)


class TestWalk:
    def test_local_nesting_and_names(self, write_tree: WriteTree) -> None:
        """Files go to <entry names>/<own name>.yaml; components render empty."""
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: infra\n  source: ./infra\n",
                "infra/component.yaml": "name: infra-own-name\nsubcomponents:\n- name: deep\n  source: ./d\n",
                "infra/d/component.json": '{"name": "deepest"}',
            }
        )
        manifests = generate(root, plugins=plugins_with())
        assert dict(manifests) == {
            "root.yaml": b"",
            "infra/infra-own-name.yaml": b"",
            "infra/deep/deepest.yaml": b"",
        }

    def test_static_and_inlined(self, write_tree: WriteTree) -> None:
        """Static files are framed, sorted by name; inlined children sit beside the parent."""
        root = write_tree(
            {
                "component.yaml": """
                name: app
                type: static
                path: ./manifests
                subcomponents:
                - name: extra
                  type: static
                  path: ./more
                """,
                "manifests/b.yaml": "kind: B\n",
                "manifests/a.yaml": "kind: A",
                "manifests/empty": "",
                "more/x.txt": "x: 1\n",
            }
        )
        manifests = generate(root, plugins=plugins_with())
        assert manifests["app.yaml"] == b"---\nkind: A\n---\nkind: B\n\n---\n\n"
        assert manifests["extra.yaml"] == b"---\nx: 1\n\n"

    def test_static_subdirectory_is_an_error(self, write_tree: WriteTree) -> None:
        """A folder inside a static path is a fatal error naming it."""
        root = write_tree({"component.yaml": "name: a\ntype: static\npath: m\n", "m/sub/x.yaml": "a: 1\n"})
        with pytest.raises(GeneratorError, match="is a directory"):
            generate(root, plugins=plugins_with())

    def test_http_static_reads_download(self, write_tree: WriteTree) -> None:
        """method: http reads components/<name>/, ignoring path."""
        root = write_tree(
            {
                "component.yaml": "name: a\nsubcomponents:\n- name: dl\n  type: static\n  method: http\n  source: https://x/y.yaml\n  path: ignored\n",
                "components/dl/dl.yaml": "kind: X\n",
            }
        )
        assert generate(root, plugins=plugins_with())["dl.yaml"] == b"---\nkind: X\n\n"

    def test_git_component_read_from_components(self, write_tree: WriteTree) -> None:
        """A method: git subcomponent is read from components/<entry>/<path>."""
        root = write_tree(
            {
                "component.yaml": "name: a\nsubcomponents:\n- name: app\n  method: git\n  source: https://x/app.git\n  path: hld\n",
                "components/app/hld/component.yaml": "name: app-hld\n",
            }
        )
        assert list(generate(root, plugins=plugins_with())) == ["a.yaml", "app/app-hld.yaml"]

    def test_missing_subcomponent(self, write_tree: WriteTree) -> None:
        """A subcomponent folder without a component file is an error naming the folder."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n- name: b\n  source: ./nowhere\n"})
        with pytest.raises(HLDError, match="nowhere"):
            generate(root, plugins=plugins_with())


class TestConfig:
    def test_parent_config_beats_child_files(self, write_tree: WriteTree) -> None:
        """A parent's config for a child beats the child's own files; env beats common."""
        recorder = Recorder()
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: app\n  source: ./app\n",
                "config/prod.yaml": "subcomponents:\n  app:\n    config: {a: root-prod}\n",
                "config/common.yaml": "subcomponents:\n  app:\n    config: {a: root-common, b: root-common}\n",
                "app/component.yaml": "name: app\ntype: recorded\n",
                "app/config/prod.yaml": "namespace: app-ns\nconfig: {a: app-prod, b: app-prod, c: app-prod}\n",
                "app/config/common.yaml": "config: {d: app-common}\n",
            }
        )
        generate(root, ["prod"], plugins=plugins_with(recorder))
        (request,) = recorder.requests
        assert dict(request.config.config) == {"a": "root-prod", "b": "root-common", "c": "app-prod", "d": "app-common"}
        assert request.config.namespace == "app-ns"

    def test_inlined_gets_only_parent_config(self, write_tree: WriteTree) -> None:
        """An inlined entry gets what the parent says under its name, nothing else."""
        recorder = Recorder()
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: inl\n  type: recorded\n",
                "config/common.yaml": "config: {top: 1}\nsubcomponents:\n  inl:\n    namespace: n\n    config: {x: 1}\n",
            }
        )
        manifests = generate(root, plugins=plugins_with(recorder))
        assert manifests["inl.yaml"] == b'ns=n config={"x": 1}\n'

    def test_disabled_skips_subtree(self, write_tree: WriteTree) -> None:
        """disabled: true skips the subcomponent and everything under it."""
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: off\n  method: git\n  source: https://x\n- name: on\n  source: ./on\n",
                "config/dev.yaml": "subcomponents:\n  off:\n    disabled: true\n",
                "on/component.yaml": "name: on\n",
            }
        )
        assert list(generate(root, ["dev"], plugins=plugins_with())) == ["on/on.yaml", "root.yaml"]

    def test_disabled_quirk_and_switch(self, write_tree: WriteTree) -> None:
        """A higher mention cancels a lower disabled; fix_disabled keeps it."""
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: x\n  source: ./x\n",
                "config/prod.yaml": "subcomponents:\n  x:\n    config: {a: 1}\n",
                "config/common.yaml": "subcomponents:\n  x:\n    disabled: true\n",
                "x/component.yaml": "name: x\n",
            }
        )
        assert "x/x.yaml" in generate(root, ["prod"], plugins=plugins_with())
        assert "x/x.yaml" not in generate(root, ["prod"], fix_disabled=True, plugins=plugins_with())

    def test_merge_clash_renders_nothing_below(self, write_tree: WriteTree, tmp_path: Path) -> None:
        """A merge error fails the render; the component it concerns is never rendered.

        Components visited before it may have started rendering (renders run
        during the walk); no output is assembled.
        """
        recorder = Recorder()
        root = write_tree(
            {
                "component.yaml": "name: root\ntype: recorded\nsubcomponents:\n- name: x\n  source: ./x\n",
                "x/component.yaml": "name: x\n",
                "x/config/prod.yaml": "config: {a: {b: 1}}\n",
                "x/config/common.yaml": "config: {a: 2}\n",
            }
        )
        with pytest.raises(HLDError, match=r"config\.a"):
            generate(root, ["prod"], plugins=plugins_with(recorder))
        assert [request.component.name for request in recorder.requests] in ([], ["root"])


class TestSafety:
    def test_unknown_type_is_an_error(self, write_tree: WriteTree) -> None:
        """An unknown type is an error listing the installed generators (Fabrikate renders it empty)."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n- name: b\n  type: jsonnet\n"})
        with pytest.raises(UnknownBackendError, match=r"no generator named 'jsonnet'.*static"):
            generate(root, plugins=plugins_with())

    def test_helm_without_plugin_names_plugin(self, write_tree: WriteTree) -> None:
        """A helm component without the helm plugin says which plugin to install."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n- name: b\n  type: helm\n"})
        with pytest.raises(UnknownBackendError, match="fabpromote-helm"):
            generate(root, plugins=plugins_with())

    @pytest.mark.parametrize("name", ["../escape", "a/../../b", ".."])
    def test_names_cannot_escape(self, write_tree: WriteTree, name: str) -> None:
        """A component name that would write outside the output folder is refused."""
        root = write_tree(
            {"component.yaml": f"name: root\nsubcomponents:\n- name: '{name}'\n  type: static\n  path: m\n", "m/a": "x"}
        )
        with pytest.raises(UnsafePathError):
            generate(root, plugins=plugins_with())

    @pytest.mark.parametrize("env", ["../x", "a/b", "", ".."])
    def test_environment_names_checked(self, write_tree: WriteTree, env: str) -> None:
        """An environment name that is not a file name is refused."""
        root = write_tree({"component.yaml": "name: a\n"})
        with pytest.raises(UnsafePathError):
            generate(root, [env], plugins=plugins_with())

    def test_duplicate_names(self, write_tree: WriteTree) -> None:
        """Two subcomponents writing the same file are an error."""
        root = write_tree(
            {
                "component.yaml": "name: a\nsubcomponents:\n- {name: b, type: static, path: m}\n- {name: b, type: static, path: m}\n",
                "m/x": "y",
            }
        )
        with pytest.raises(UnsafePathError, match="duplicate"):
            generate(root, plugins=plugins_with())


class TestHooks:
    def test_hooks_refused_without_permission(self, write_tree: WriteTree) -> None:
        """A component with generate hooks is an error that says how to allow them."""
        root = write_tree({"component.yaml": "name: a\nhooks:\n  before-generate: [touch ran]\n"})
        with pytest.raises(HooksNotAllowedError, match="--allow-hooks"):
            generate(root, plugins=plugins_with())
        assert not (root / "ran").exists()

    def test_hooks_run_around_generate(self, write_tree: WriteTree) -> None:
        """before-generate runs before and after-generate after, in the component folder."""
        root = write_tree(
            {
                "component.yaml": """
                name: a
                type: static
                path: m
                hooks:
                  before-generate: [echo made > m/made.yaml]
                  after-generate: [rm m/made.yaml, touch after]
                """,
                "m/x.yaml": "x: 1\n",
            }
        )
        manifests = generate(root, allow_hooks=True, plugins=plugins_with())
        assert manifests["a.yaml"] == b"---\nmade\n\n---\nx: 1\n\n"
        assert (root / "after").exists()
        assert not (root / "m" / "made.yaml").exists()

    @pytest.mark.parametrize("cpus", [1, 2])
    def test_hook_runs_after_the_renders_before_it(
        self, write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch, cpus: int
    ) -> None:
        """A hook sees what the components visited before it rendered (renders run in parallel)."""
        monkeypatch.setattr(os, "cpu_count", lambda: cpus)
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: first\n  type: slow\n"
                "- name: second\n  source: ./second\n",
                "second/component.yaml": "name: second\ntype: static\npath: m\n"
                "hooks:\n  before-generate: [cp ../rendered.yaml m/seen.yaml]\n",
                "second/m/x.yaml": "x: 1\n",
            }
        )
        manifests = generate(root, allow_hooks=True, plugins=plugins_with(SlowMarker(root / "rendered.yaml")))
        assert manifests["second/second.yaml"] == b"---\nrendered: true\n\n---\nx: 1\n\n"

    def test_failing_hook(self, write_tree: WriteTree) -> None:
        """A failing hook is an error naming the stage, component and command."""
        root = write_tree({"component.yaml": "name: a\nhooks:\n  before-generate: ['echo boom; exit 3']\n"})
        with pytest.raises(HookError, match=r"before-generate hook of component 'a' failed \(exit 3\).*boom"):
            generate(root, allow_hooks=True, plugins=plugins_with())


class TestThreads:
    def test_parallel_false_renders_in_the_walking_thread(
        self, write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Generators render in worker threads unless they say ``parallel = False``."""
        monkeypatch.setattr(os, "cpu_count", lambda: 2)
        inline, pooled = ThreadRecorder("inline", parallel=False), ThreadRecorder("pooled", parallel=True)
        root = write_tree(
            {
                "component.yaml": "name: root\nsubcomponents:\n"
                + "".join(f"- name: {kind}-{n}\n  type: {kind}\n" for kind in ("inline", "pooled") for n in range(3))
            }
        )
        generate(root, plugins=plugins_with(inline, pooled))
        assert inline.threads == [threading.main_thread()] * 3
        assert len(pooled.threads) == 3
        assert threading.main_thread() not in pooled.threads


class TestDeterminism:
    def test_twice_identical(self, write_tree: WriteTree) -> None:
        """Rendering twice gives the same bytes and digest."""
        root = write_tree(
            {
                "component.yaml": "name: a\nsubcomponents:\n"
                + "".join(f"- {{name: s{i}, type: static, path: m}}\n" for i in range(20)),
                "m/x.yaml": "x: 1\n",
            }
        )
        first, second = generate(root, plugins=plugins_with()), generate(root, plugins=plugins_with())
        assert first == second
        assert first.digest == second.digest
        assert len(first) == 21


class TestHostileInput:
    def test_cycle_of_local_components(self, write_tree: WriteTree) -> None:
        """A component that includes an ancestor is an error naming the cycle."""
        root = write_tree(
            {
                "component.yaml": "name: a\nsubcomponents:\n- name: b\n  source: ./b\n",
                "b/component.yaml": "name: b\nsubcomponents:\n- name: back\n  source: ..\n",
            }
        )
        with pytest.raises(HLDError, match=r"b/component\.yaml \(subcomponents\.back\): cycle of local components"):
            generate(root, plugins=plugins_with())

    def test_self_cycle(self, write_tree: WriteTree) -> None:
        """A component listing its own folder is a cycle too."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n- name: me\n  source: ./\n"})
        with pytest.raises(HLDError, match="cycle"):
            generate(root, plugins=plugins_with())

    @pytest.mark.parametrize("depth", [201, 100_000])
    def test_deep_nesting(self, write_tree: WriteTree, depth: int) -> None:
        """YAML nested thousands of levels deep is refused, naming the file."""
        root = write_tree(
            {"component.yaml": "name: a\n", "config/common.yaml": "config:\n  x: " + "[" * depth + "]" * depth + "\n"}
        )
        with pytest.raises(HLDError, match=r"common\.yaml.*(nested more than 200 levels|maximum nesting depth)"):
            generate(root, plugins=plugins_with())

    def test_missing_static_path(self, write_tree: WriteTree) -> None:
        """A static path that does not exist is an error naming it."""
        root = write_tree({"component.yaml": "name: a\ntype: static\npath: ./nowhere\n"})
        with pytest.raises(GeneratorError, match="nowhere"):
            generate(root, plugins=plugins_with())


class TestOrderIndependence:
    @given(
        st.permutations(["name: app", "type: static", "path: ./m", "subcomponents: [{name: s, source: ./s}]"]),
        st.permutations(["a: 1", "b: [p, q]", "c: {d: 2}"]),
    )
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def test_key_order_does_not_matter(self, write_tree: WriteTree, fields: list[str], config: list[str]) -> None:
        """The output does not depend on the order of keys in the YAML files."""
        root = write_tree(
            {
                "component.yaml": "\n".join(fields) + "\n",
                "m/x.yaml": "x: 1\n",
                "s/component.yaml": "name: s\ntype: recorded\n",
                "config/common.yaml": "subcomponents:\n  s:\n    config:\n"
                + "".join(f"      {line}\n" for line in config),
            }
        )
        manifests = generate(root, plugins=plugins_with(Recorder()))
        assert manifests["s/s.yaml"] == b'ns= config={"a": 1, "b": ["p", "q"], "c": {"d": 2}}\n'
        assert manifests["app.yaml"] == b"---\nx: 1\n\n"

    @pytest.mark.parametrize("seed", range(5))
    def test_listing_order_does_not_matter(
        self, write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch, seed: int
    ) -> None:
        """Static output is the same whatever order the file system lists files in."""
        root = write_tree(
            {"component.yaml": "name: a\ntype: static\npath: m\n", **{f"m/{c}.yaml": f"{c}: 1\n" for c in "qazwsx"}}
        )
        expected = generate(root, plugins=plugins_with())
        real, rnd = os.listdir, random.Random(seed)

        def shuffled(path: str | os.PathLike[str]) -> list[str]:
            names = real(path)
            rnd.shuffle(names)
            return names

        monkeypatch.setattr(os, "listdir", shuffled)
        assert generate(root, plugins=plugins_with()) == expected


class TestCheckInside:
    def test_inside_and_outside(self, tmp_path: Path) -> None:
        """The boundary itself and what lies below it pass; a sibling sharing its name's prefix does not."""
        from fabpromote._engine.walk import check_inside

        snapshot, sibling = tmp_path / "snap", tmp_path / "snap-evil"
        (snapshot / "a" / "b").mkdir(parents=True)
        sibling.mkdir()
        (snapshot / "out").symlink_to(sibling)
        assert check_inside(snapshot, snapshot, "x") == snapshot
        assert check_inside(snapshot, snapshot / "a" / "b", "x") == snapshot / "a" / "b"
        assert check_inside(None, sibling, "x") == sibling
        for outside in (sibling, snapshot / "out", snapshot / ".." / "snap-evil", tmp_path):
            with pytest.raises(UnsafePathError, match=r"component 'x' points outside"):
                check_inside(snapshot, outside, "x")

    def test_root_boundary(self, tmp_path: Path) -> None:
        """A boundary of / holds every path."""
        from fabpromote._engine.walk import check_inside

        assert check_inside(Path("/"), tmp_path, "x") == tmp_path
