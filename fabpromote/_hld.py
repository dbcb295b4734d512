"""The HLD model: components, their hooks and their per-environment config.

The records are immutable. Reading files is done by the named constructors
(:func:`load_component`, :func:`load_config`); turning parsed documents into
records is done by :mod:`fabpromote._convert`.
"""

from __future__ import annotations

import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from fabpromote._parsed import ParsedFiles

__all__ = [
    "COMPONENT_FILES",
    "Component",
    "ComponentConfig",
    "Hooks",
    "config_file",
    "load_component",
    "load_config",
    "load_environments",
]

#: Component file names, in the order Fabrikate tries them.
COMPONENT_FILES = ("component.yaml", "component.json")

#: The environment whose config always applies, with the lowest priority.
COMMON = "common"


def _str_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value)


def _frozen_map(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value or {}))


@attrs.frozen(kw_only=True)
class Hooks:
    """Shell commands a component runs around install and generate."""

    before_install: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    after_install: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    before_generate: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    after_generate: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def __bool__(self) -> bool:
        return any(attrs.astuple(self, recurse=False))


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
    subcomponents: tuple[Component, ...] = attrs.field(default=(), converter=tuple)
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


def find_component_file(directory: Path) -> Path | None:
    """The component file of ``directory``: YAML wins over JSON."""
    for name in COMPONENT_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def load_component(path: str | Path, *, parsed: ParsedFiles | None = None) -> Component:
    """Read the component in directory ``path`` (or the component file itself).

    ``parsed``: the run's parse cache (see :mod:`fabpromote._parsed`); None parses the file.

    Raises:
        HLDError: No component file, or a malformed one.
    """
    from fabpromote import _parsed
    from fabpromote.exceptions import HLDError

    path = Path(path)
    file = path if path.is_file() else find_component_file(path)
    if file is None:
        raise HLDError(f"error loading component in {path}: no {' or '.join(COMPONENT_FILES)}")
    return _parsed.component(file, parsed)


def config_file(directory: Path, environment: str) -> Path | None:
    """The config file of ``environment`` in ``directory/config``: YAML wins."""
    for suffix in (".yaml", ".json"):
        candidate = directory / "config" / f"{environment}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_config(directory: str | Path, environment: str, *, parsed: ParsedFiles | None = None) -> ComponentConfig:
    """Read ``config/<environment>.yaml`` (else ``.json``) of a component (through ``parsed``, if given).

    A missing file gives an empty config; a malformed one is an error.
    """
    from fabpromote import _parsed

    file = config_file(Path(directory), environment)
    if file is None:
        return ComponentConfig()
    return _parsed.config(file, parsed)


def load_environments(
    directory: str | Path,
    environments: tuple[str, ...],
    *,
    fix_disabled: bool = False,
    above: ComponentConfig | None = None,
    parsed: ParsedFiles | None = None,
) -> ComponentConfig:
    """Merge a component's own config files: ``above > e1 > e2 > ... > common``.

    Like Fabrikate, ``common`` is read last even when it is also named among
    ``environments``. ``above`` is the config that ranks over the files (a
    parent's config for this child): as in Fabrikate's ``LoadConfig``, each
    file in turn is merged under what is merged so far, so a scalar above
    silences every file below it, whatever kinds those files hold.
    ``parsed`` is the run's parse cache, if any.
    """
    from fabpromote._merge import merge_component_config

    merged = above if above is not None else ComponentConfig()
    if not os.path.isdir(os.path.join(directory, "config")):
        return merged  # most components have no config: one stat instead of four
    for environment in (*environments, COMMON):
        merged = merge_component_config(
            merged, load_config(directory, environment, parsed=parsed), fix_disabled=fix_disabled
        )
    return merged
