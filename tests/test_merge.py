"""The config merge rules of FABRIKATE.md, one by one, and their properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabpromote import ComponentConfig, merge_component_config, merge_values
from fabpromote.exceptions import ConfigMergeError, FabpromoteError

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=10,
)
configs = st.dictionaries(st.text(max_size=3), values, max_size=4)


class TestScalars:
    def test_target_scalar_wins(self) -> None:
        """A scalar in the higher config beats the lower one."""
        assert merge_values({"a": 1}, {"a": 2}) == {"a": 1}

    @pytest.mark.parametrize("empty", ["", False, 0])
    def test_empty_scalar_still_wins(self, empty: Any) -> None:
        """ "" and false in the higher config are values, not gaps."""
        assert merge_values({"a": empty}, {"a": "lower"}) == {"a": empty}

    def test_null_target_takes_source(self) -> None:
        """`key: null` in a higher file does not delete the lower value."""
        assert merge_values({"a": None}, {"a": "lower"}) == {"a": "lower"}

    def test_null_source_is_skipped(self) -> None:
        """A null in the lower file leaves the higher value."""
        assert merge_values({"a": "higher"}, {"a": None}) == {"a": "higher"}

    def test_missing_key_taken(self) -> None:
        """Keys only the lower config has are added."""
        assert merge_values({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}

    def test_target_scalar_beats_source_map(self) -> None:
        """A scalar in the higher config silently beats a map or list below."""
        assert merge_values({"a": "x"}, {"a": {"b": 1}}) == {"a": "x"}
        assert merge_values({"a": "x"}, {"a": [1]}) == {"a": "x"}


class TestCollections:
    def test_maps_merge_deeply(self) -> None:
        """Maps merge key by key at every depth."""
        assert merge_values({"a": {"b": {"c": 1}}}, {"a": {"b": {"d": 2}, "e": 3}}) == {
            "a": {"b": {"c": 1, "d": 2}, "e": 3}
        }

    def test_lists_concatenate_higher_first(self) -> None:
        """prod [p1], east [e1], common [c1, c2] gives [p1, e1, c1, c2]."""
        prod, east, common = {"l": ["p1"]}, {"l": ["e1"]}, {"l": ["c1", "c2"]}
        assert merge_values(merge_values(prod, east), common) == {"l": ["p1", "e1", "c1", "c2"]}

    @pytest.mark.parametrize(
        ("target", "source"),
        [
            ({"a": {"b": 1}}, {"a": "s"}),
            ({"a": [1]}, {"a": {"b": 1}}),
            ({"a": {"b": 1}}, {"a": [1]}),
            ({"a": [1]}, {"a": "s"}),
        ],
    )
    def test_clash_is_an_error(self, target: Any, source: Any) -> None:
        """A map or list above meeting another kind below is a hard error naming the key."""
        with pytest.raises(ConfigMergeError, match=r"config\.a") as info:
            merge_values(target, source)
        assert isinstance(info.value, FabpromoteError)
        assert isinstance(info.value, ValueError)

    def test_inputs_not_mutated(self) -> None:
        """Merging builds new maps and leaves its inputs alone."""
        target, source = {"a": {"b": [1]}}, {"a": {"b": [2], "c": 3}}
        merge_values(target, source)
        assert target == {"a": {"b": [1]}}
        assert source == {"a": {"b": [2], "c": 3}}


class TestComponentConfig:
    def test_namespace_pair_from_source_when_target_has_none(self) -> None:
        """namespace and injectNamespace come together from the lower file."""
        merged = merge_component_config(ComponentConfig(), ComponentConfig(namespace="low", inject_namespace=True))
        assert (merged.namespace, merged.inject_namespace) == ("low", True)

    def test_namespace_pair_stays_when_target_has_one(self) -> None:
        """A higher namespace keeps its own injectNamespace (false), not the lower true."""
        merged = merge_component_config(
            ComponentConfig(namespace="high"), ComponentConfig(namespace="low", inject_namespace=True)
        )
        assert (merged.namespace, merged.inject_namespace) == ("high", False)

    def test_disabled_quirk_compatible(self) -> None:
        """A higher mention of a subcomponent cancels a lower disabled: true (Fabrikate)."""
        higher = ComponentConfig(subcomponents={"x": ComponentConfig(config={"a": 1})})
        lower = ComponentConfig(subcomponents={"x": ComponentConfig(disabled=True)})
        assert not merge_component_config(higher, lower).subcomponents["x"].is_disabled

    def test_disabled_quirk_fixed(self) -> None:
        """With fix_disabled, an unset disabled falls through to the lower file."""
        higher = ComponentConfig(subcomponents={"x": ComponentConfig(config={"a": 1})})
        lower = ComponentConfig(subcomponents={"x": ComponentConfig(disabled=True)})
        assert merge_component_config(higher, lower, fix_disabled=True).subcomponents["x"].is_disabled

    def test_disabled_kept_when_not_mentioned_above(self) -> None:
        """A lower disabled: true stays when no higher file mentions the subcomponent."""
        lower = ComponentConfig(subcomponents={"x": ComponentConfig(disabled=True)})
        assert merge_component_config(ComponentConfig(), lower).subcomponents["x"].is_disabled

    def test_nested_subcomponents_merge(self) -> None:
        """Subcomponent configs merge recursively, config and namespace alike."""
        higher = ComponentConfig(subcomponents={"x": ComponentConfig(config={"a": 1})})
        lower = ComponentConfig(subcomponents={"x": ComponentConfig(namespace="n", config={"b": 2})})
        merged = merge_component_config(higher, lower).subcomponents["x"]
        assert (merged.namespace, dict(merged.config)) == ("n", {"a": 1, "b": 2})

    def test_clash_names_field_and_files(self) -> None:
        """A clash deep in a subcomponent names the field path and both files."""
        higher = ComponentConfig(
            subcomponents={"x": ComponentConfig(config={"a": {"b": 1}})}, files=("config/prod.yaml",)
        )
        lower = ComponentConfig(subcomponents={"x": ComponentConfig(config={"a": 2})}, files=("config/common.yaml",))
        with pytest.raises(ConfigMergeError, match=r"subcomponents\.x\.config\.a"):
            merge_component_config(higher, lower)


class TestProperties:
    @given(configs)
    def test_empty_source_is_identity(self, config: dict[str, Any]) -> None:
        """Merging an empty config under any config changes nothing."""
        assert merge_values(config, {}) == config

    @given(configs)
    def test_empty_target_takes_source(self, config: dict[str, Any]) -> None:
        """Merging any config under an empty one gives that config."""
        assert merge_values({}, config) == config

    @given(st.dictionaries(st.text(max_size=3), scalars.filter(lambda v: v is not None), max_size=4), configs)
    def test_higher_scalars_always_win(self, higher: dict[str, Any], lower: dict[str, Any]) -> None:
        """Every non-null scalar of the higher config survives the merge."""
        merged = merge_values(higher, lower)
        assert all(merged[key] == value for key, value in higher.items())

    @given(
        st.lists(st.integers(), max_size=4), st.lists(st.integers(), max_size=4), st.lists(st.integers(), max_size=4)
    )
    def test_list_concatenation_is_associative(self, a: list[int], b: list[int], c: list[int]) -> None:
        """Merging e1, e2 then common gives the same lists however grouped."""
        left = merge_values(merge_values({"l": a}, {"l": b}), {"l": c})
        right = merge_values({"l": a}, merge_values({"l": b}, {"l": c}))
        assert left == right == {"l": a + b + c}

    @given(configs, configs)
    def test_keys_are_the_union(self, higher: dict[str, Any], lower: dict[str, Any]) -> None:
        """The merged config has exactly the keys of both sides (when it merges)."""
        try:
            merged = merge_values(higher, lower)
        except ConfigMergeError:
            return
        assert set(merged) == set(higher) | set(lower)
