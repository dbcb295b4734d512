"""Hypothesis strategies for HLD trees and config maps.

Importing this module needs hypothesis (``pip install hypothesis``); the rest of
:mod:`fabpromote.testing`, and its pytest plugin, do not. Every strategy draws
plain data (dicts of text), ready for the ``hld_tree`` fixture or for
:func:`~fabpromote.merge_values`::

    from hypothesis import given
    from fabpromote.testing.strategies import hld_trees

    @given(tree=hld_trees())
    def test_renders(tree, tmp_path_factory): ...

Config maps drawn for several environments share one *shape*: a key holds a
map, a list or a scalar in every environment alike, as the merge rules
require (a map meeting a list is a :class:`~fabpromote.exceptions.ConfigMergeError`).
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = ["config_maps", "config_shapes", "environment_configs", "hld_trees", "names", "static_manifests"]

#: Names of components, keys and environments: short, lowercase, valid everywhere.
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
_scalars = st.one_of(
    st.booleans(), st.integers(min_value=-1000, max_value=1000), st.text(alphabet="abcdefxyz0123456789", max_size=8)
)

#: A shape is ``"scalar"``, ``"list"`` or a dict of key -> shape.
Shape = Any


def config_shapes(*, max_depth: int = 2) -> st.SearchStrategy[dict[str, Shape]]:
    """Shapes of config maps: for each key, whether it holds a map, a list or a scalar."""
    leaf = st.sampled_from(["scalar", "list"])
    shape: st.SearchStrategy[Shape] = leaf
    for _ in range(max_depth):
        shape = st.one_of(leaf, st.dictionaries(names, shape, min_size=1, max_size=3))
    return st.dictionaries(names, shape, max_size=4)


@st.composite
def _fill(draw: st.DrawFn, shape: dict[str, Shape]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for key, kind in shape.items():
        if not draw(st.booleans()):
            continue  # each environment sets only some of the keys
        if kind == "scalar":
            config[key] = draw(_scalars)
        elif kind == "list":
            config[key] = draw(st.lists(_scalars, max_size=3))
        else:
            config[key] = draw(_fill(kind))
    return config


def config_maps(shape: dict[str, Shape] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Config maps (the ``config:`` of a component) of ``shape``; any shape by default."""
    if shape is not None:
        return _fill(shape)
    return config_shapes().flatmap(_fill)


@st.composite
def environment_configs(
    draw: st.DrawFn, environments: tuple[str, ...] = ("common", "prod"), *, shape: dict[str, Shape] | None = None
) -> dict[str, dict[str, Any]]:
    """A config map per environment, all of one shape, so any order merges without a clash."""
    shape = shape if shape is not None else draw(config_shapes())
    return {env: draw(_fill(shape)) for env in environments}


@st.composite
def static_manifests(draw: st.DrawFn, component: str) -> dict[str, str]:
    """YAML files of ConfigMaps for a static component: ``{file name: text}``."""
    files = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    out = {}
    for name in files:
        data = draw(st.dictionaries(names, st.text(alphabet="abcxyz012", max_size=6), max_size=3))
        document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{component}-{name}"}, "data": data}
        out[f"{name}.yaml"] = yaml.safe_dump(document, sort_keys=False)
    return out


@st.composite
def hld_trees(
    draw: st.DrawFn, environments: tuple[str, ...] = ("common", "prod"), *, max_subcomponents: int = 3
) -> dict[str, str]:
    """HLD trees: ``{relative path: text}`` with a root ``component.yaml`` and its subcomponents.

    Each subcomponent is either inline (``type: static`` with a ``path`` in the
    root's folder) or a component of its own in a subfolder (``source: ./<name>``,
    itself static). Config files ``config/<env>.yaml`` set a root ``config``
    map and per-subcomponent ``config`` maps and namespaces, one shape per
    subcomponent across environments. Nothing needs helm or the network.
    """
    subs = draw(st.lists(names, min_size=1, max_size=max_subcomponents, unique=True).map(sorted))
    files: dict[str, str] = {}
    entries = []
    for sub in subs:
        if draw(st.booleans()):
            entries.append({"name": sub, "type": "static", "path": f"./static/{sub}"})
            prefix = f"static/{sub}/"
        else:
            entries.append({"name": sub, "source": f"./{sub}"})
            files[f"{sub}/component.yaml"] = yaml.safe_dump(
                {"name": sub, "type": "static", "path": "./manifests"}, sort_keys=False
            )
            prefix = f"{sub}/manifests/"
        for name, text in draw(static_manifests(sub)).items():
            files[prefix + name] = text
    files["component.yaml"] = yaml.safe_dump({"name": "root", "subcomponents": entries}, sort_keys=False)
    root_shape = draw(config_shapes())
    sub_shapes = {sub: draw(config_shapes()) for sub in subs}
    for env in environments:
        config: dict[str, Any] = {"config": draw(_fill(root_shape)), "subcomponents": {}}
        for sub in subs:
            entry: dict[str, Any] = {"config": draw(_fill(sub_shapes[sub]))}
            if draw(st.booleans()):
                entry["namespace"] = draw(names)
            config["subcomponents"][sub] = entry
        files[f"config/{env}.yaml"] = yaml.safe_dump(config, sort_keys=False)
    return files
