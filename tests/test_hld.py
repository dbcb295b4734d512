"""Reading component and config files into the HLD model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fabpromote import Component, ComponentConfig, Hooks, load_component, load_config, load_environments
from fabpromote.exceptions import HLDError

if TYPE_CHECKING:
    from tests.conftest import WriteTree


class TestLoadComponent:
    def test_every_field(self, write_tree: WriteTree) -> None:
        """Every field Fabrikate knows is read, subcomponents recursively."""
        root = write_tree(
            {
                "component.yaml": """
                name: app
                type: static
                source: https://example.com/repo.git
                method: git
                path: ./manifests
                branch: dev
                version: 1.10
                hooks:
                  before-install: [echo a]
                  after-install: [echo b]
                  before-generate: [echo c]
                  after-generate: [echo d]
                repositories:
                  stable: https://charts.example.com
                subcomponents:
                - name: child
                  type: helm
                  method: helm
                  source: https://charts.example.com
                  path: chart
                """
            }
        )
        component = load_component(root)
        assert component == Component(
            name="app",
            type="static",
            source="https://example.com/repo.git",
            method="git",
            path="./manifests",
            branch="dev",
            version="1.10",
            hooks=Hooks(
                before_install=["echo a"],
                after_install=["echo b"],
                before_generate=["echo c"],
                after_generate=["echo d"],
            ),
            repositories={"stable": "https://charts.example.com"},
            subcomponents=[
                Component(name="child", type="helm", method="helm", source="https://charts.example.com", path="chart")
            ],
        )

    def test_yaml_wins_over_json(self, write_tree: WriteTree) -> None:
        """With both files present, component.yaml is read."""
        root = write_tree({"component.yaml": "name: from-yaml\n", "component.json": '{"name": "from-json"}'})
        assert load_component(root).name == "from-yaml"

    def test_json(self, write_tree: WriteTree) -> None:
        """component.json is read when there is no YAML file."""
        root = write_tree({"component.json": '{"name": "j", "subcomponents": [{"name": "c", "source": "./c"}]}'})
        assert load_component(root) == Component(name="j", subcomponents=[Component(name="c", source="./c")])

    def test_generator_beats_type(self, write_tree: WriteTree) -> None:
        """The deprecated generator field wins over type; the default is component."""
        root = write_tree({"component.yaml": "name: a\ntype: static\ngenerator: helm\n"})
        assert load_component(root).kind == "helm"
        assert Component(name="b").kind == "component"
        assert not Component(name="b").inlined

    def test_missing_file(self, tmp_path) -> None:
        """A directory without a component file is an error naming it."""
        with pytest.raises(HLDError, match="error loading component in"):
            load_component(tmp_path)

    def test_yaml_syntax_error_names_file_and_line(self, write_tree: WriteTree) -> None:
        """Malformed YAML names the file and the line."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n  - name: [b\n"})
        with pytest.raises(HLDError) as info:
            load_component(root)
        assert info.value.file is not None
        assert info.value.file.endswith("component.yaml")
        assert info.value.line is not None
        assert "component.yaml:" in str(info.value)

    def test_json_syntax_error_names_line(self, write_tree: WriteTree) -> None:
        """Malformed JSON names the file and the line."""
        root = write_tree({"component.json": '{\n  "name": "a",\n}\n'})
        with pytest.raises(HLDError, match=r"component\.json:3"):
            load_component(root)

    def test_wrong_type_names_field_path(self, write_tree: WriteTree) -> None:
        """A field of the wrong shape is named by its path, with the line."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n- name: b\n- name: c\n  source: [x]\n"})
        with pytest.raises(HLDError, match=r"component\.yaml:5 \(subcomponents\[1\]\.source\): expected a string"):
            load_component(root)

    def test_subcomponents_must_be_a_list(self, write_tree: WriteTree) -> None:
        """subcomponents as a map is an error."""
        root = write_tree({"component.yaml": "name: a\nsubcomponents:\n  b: {}\n"})
        with pytest.raises(HLDError, match=r"\(subcomponents\): expected a list"):
            load_component(root)

    def test_json_is_strict_about_strings(self, write_tree: WriteTree) -> None:
        """JSON numbers do not fill string fields (Go's json refuses them too)."""
        root = write_tree({"component.json": '{"name": "a", "version": 1}'})
        with pytest.raises(HLDError, match=r"\(version\): expected a string"):
            load_component(root)

    def test_null_fields_are_unset(self, write_tree: WriteTree) -> None:
        """A null field reads as unset."""
        root = write_tree({"component.yaml": "name: a\nsource:\nsubcomponents:\n"})
        assert load_component(root) == Component(name="a")

    def test_unknown_field_warns(self, write_tree: WriteTree, caplog: pytest.LogCaptureFixture) -> None:
        """An unknown field is ignored, as in Fabrikate, with a warning naming it."""
        root = write_tree({"component.yaml": "name: a\nsourec: x\n"})
        assert load_component(root) == Component(name="a")
        assert "sourec" in caplog.text

    def test_not_utf8(self, write_tree: WriteTree) -> None:
        """A file that is not UTF-8 is an HLD error, not a crash."""
        root = write_tree({"component.yaml": b"name: \xff\xfe\n"})
        with pytest.raises(HLDError, match=r"component\.yaml"):
            load_component(root)


class TestLoadConfig:
    def test_missing_is_empty(self, tmp_path) -> None:
        """A missing config file is an empty config, not an error."""
        assert load_config(tmp_path, "prod") == ComponentConfig()

    def test_fields(self, write_tree: WriteTree) -> None:
        """namespace, injectNamespace, disabled, config and nested subcomponents are read."""
        root = write_tree(
            {
                "config/prod.yaml": """
                namespace: ns
                injectNamespace: true
                disabled: false
                config:
                  image: {tag: v1}
                subcomponents:
                  a:
                    disabled: true
                    subcomponents:
                      b:
                        config: {x: 1}
                """
            }
        )
        config = load_config(root, "prod")
        assert config.namespace == "ns"
        assert config.inject_namespace
        assert config.disabled is False
        assert dict(config.config) == {"image": {"tag": "v1"}}
        assert config.subcomponents["a"].is_disabled
        assert dict(config.subcomponents["a"].subcomponents["b"].config) == {"x": 1}

    def test_yaml_wins_over_json(self, write_tree: WriteTree) -> None:
        """config/<env>.yaml is read before config/<env>.json."""
        root = write_tree({"config/prod.yaml": "namespace: y\n", "config/prod.json": '{"namespace": "j"}'})
        assert load_config(root, "prod").namespace == "y"

    def test_json_config(self, write_tree: WriteTree) -> None:
        """A JSON config file keeps its values."""
        root = write_tree({"config/prod.json": '{"config": {"n": 5, "f": 1.5, "b": false, "s": "x"}}'})
        assert dict(load_config(root, "prod").config) == {"n": 5, "f": 1.5, "b": False, "s": "x"}

    def test_go_yaml_values(self, write_tree: WriteTree) -> None:
        """Config values are read as Go's YAML library reads them (yes is true)."""
        root = write_tree({"config/common.yaml": "config:\n  a: yes\n  b: 'yes'\n  c: 010\n"})
        assert dict(load_config(root, "common").config) == {"a": True, "b": "yes", "c": 8}

    def test_parse_error_is_fatal(self, write_tree: WriteTree) -> None:
        """A malformed config file is an error naming it and the line."""
        root = write_tree({"config/prod.yaml": "config:\n  a: [1, 2\n"})
        with pytest.raises(HLDError, match=r"prod\.yaml:\d+"):
            load_config(root, "prod")

    def test_inject_namespace_must_be_bool(self, write_tree: WriteTree) -> None:
        """A quoted "true" is not a boolean."""
        root = write_tree({"config/prod.yaml": "injectNamespace: 'true'\n"})
        with pytest.raises(HLDError, match=r"prod\.yaml:1 \(injectNamespace\): expected true or false"):
            load_config(root, "prod")

    def test_config_must_be_a_map(self, write_tree: WriteTree) -> None:
        """config as a list is an error naming the field."""
        root = write_tree({"config/prod.yaml": "subcomponents:\n  a:\n    config: [1]\n"})
        with pytest.raises(HLDError, match=r"\(subcomponents\.a\.config\): expected a map"):
            load_config(root, "prod")


class TestEnvironments:
    def test_precedence(self, write_tree: WriteTree) -> None:
        """e1 beats e2 beats common; lists concatenate in that order."""
        root = write_tree(
            {
                "config/prod.yaml": "config: {a: prod, l: [p1]}\n",
                "config/east.yaml": "config: {a: east, b: east, l: [e1]}\n",
                "config/common.yaml": "config: {a: common, b: common, c: common, l: [c1, c2]}\n",
            }
        )
        config = load_environments(root, ("prod", "east"))
        assert dict(config.config) == {"a": "prod", "b": "east", "c": "common", "l": ["p1", "e1", "c1", "c2"]}

    def test_no_environment_is_common(self, write_tree: WriteTree) -> None:
        """Without environments only common applies."""
        root = write_tree({"config/common.yaml": "namespace: c\n", "config/prod.yaml": "namespace: p\n"})
        assert load_environments(root, ()).namespace == "c"
