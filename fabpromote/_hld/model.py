"""The HLD model: components, their hooks and their per-environment config.

The records are immutable and know nothing of files: reading them is done by
:mod:`fabpromote._hld.model.loading`, turning parsed documents into records by
:mod:`fabpromote._hld.model.convert`.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["COMMON", "COMPONENT_FILES", "NO_HOOKS", "Component", "ComponentConfig", "Hooks"]

#: Component file names, in the order Fabrikate tries them.
COMPONENT_FILES = ("component.yaml", "component.json")

#: The environment whose config always applies, with the lowest priority.
COMMON = "common"


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _components(value: Any) -> tuple[Component, ...]:
    # A function, not the builtin ``tuple``: attrs reads a converter's signature, and for a builtin that
    # means tokenizing its text signature, which compiles tokenize's regular expressions on every start.
    return tuple(value)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    # One empty view serves every empty field: most components and configs have them all empty.
    return types.MappingProxyType(dict(value)) if value else _EMPTY_MAP


_EMPTY_MAP: Mapping[str, Any] = types.MappingProxyType({})


@attrs.frozen(kw_only=True)
class Hooks:
    """Shell commands a component runs around install and generate."""

    before_install: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    after_install: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    before_generate: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    after_generate: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def __bool__(self) -> bool:
        return any(attrs.astuple(self, recurse=False))


#: The hooks of a component without any (frozen: one serves them all, where a new one per component
#: is a tenth of reading a small component file).
NO_HOOKS = Hooks()


@attrs.frozen(kw_only=True)
class Component:
    """One node of an HLD: a ``component.yaml``/``.json`` or an inline entry.

    Fields keep what the file says; the properties give Fabrikate's reading
    of them (``generator`` beats ``type``; the default type is ``component``).
    """

    name: str = ""
    type: str = ""
    generator: str = ""
    source: str = ""
    method: str = ""
    path: str = ""
    branch: str = ""
    version: str = ""
    hooks: Hooks = attrs.field(factory=Hooks)
    subcomponents: tuple[Component, ...] = attrs.field(default=(), converter=_components)
    #: Deprecated in Fabrikate and ignored there; kept so nothing read is lost.
    repositories: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)

    @property
    def kind(self) -> str:
        """The type that picks the generator: ``generator`` wins, then ``type``."""
        return self.generator or self.type or "component"

    @property
    def inlined(self) -> bool:
        """True when this entry is rendered where its parent is (helm, static, ...)."""
        return self.kind != "component"


@attrs.frozen(kw_only=True)
class ComponentConfig:
    """The config of a component for some environments, or one config file.

    ``disabled`` is None when no file set it. ``config`` is the free map (for
    helm components, the values file). Nested values are plain dicts and
    lists; merging never mutates them, it builds new ones.
    """

    namespace: str = ""
    inject_namespace: bool = False
    disabled: bool | None = None
    config: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_map)
    subcomponents: Mapping[str, ComponentConfig] = attrs.field(factory=dict, converter=_frozen_map)
    #: The files this config was read from, for error messages; not compared.
    files: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, eq=False, repr=False)

    @property
    def is_disabled(self) -> bool:
        """Whether the component is skipped, with everything under it."""
        return bool(self.disabled)
