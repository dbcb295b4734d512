"""Fabrikate's config merge rules.

The higher-priority config is the *target*, the lower one the *source*:

- a scalar present in the target wins, even ``""`` or ``false``; a ``null`` or
  missing target value takes the source value; a ``null`` source is skipped;
- maps merge key by key; lists concatenate, target items first;
- a map or list in the target meeting a value of another kind in the source
  is an error (a scalar in the target simply wins);
- ``namespace`` and ``injectNamespace`` travel as a pair: both come from the
  source when the target has no namespace;
- ``disabled``: a target that mentions a subcomponent at all decides it, so a
  lower ``disabled: true`` is cancelled by a higher mention without
  ``disabled`` (Fabrikate's behaviour). ``fix_disabled=True`` lets an unset
  ``disabled`` fall through to the lower file instead.

Inputs are never mutated; merged maps are new objects that may share
unchanged values with the inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from fabpromote._hld.model import ComponentConfig
from fabpromote.exceptions import ConfigMergeError

__all__ = ["merge_component_config", "merge_values"]


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"the scalar {value!r}"


def merge_values(target: Any, source: Any, field: str = "config") -> Any:
    """Merge ``source`` under ``target`` (``target`` has priority).

    Raises:
        ConfigMergeError: A map or list in the target meets another kind.
    """
    if target is None:
        return source
    if source is None:
        return target
    if isinstance(target, Mapping):
        if not isinstance(source, Mapping):
            raise _clash(field, target, source)
        merged = dict(target)
        for key, value in source.items():
            merged[key] = merge_values(target[key], value, f"{field}.{key}") if key in target else value
        return merged
    if isinstance(target, list):
        if not isinstance(source, list):
            raise _clash(field, target, source)
        return target + source
    return target


def _clash(field: str, target: Any, source: Any) -> ConfigMergeError:
    return ConfigMergeError(
        f"cannot merge {_kind(source)} from a lower-priority config into {_kind(target)}",
        field=field,
    )


def merge_component_config(
    target: ComponentConfig,
    source: ComponentConfig,
    *,
    fix_disabled: bool = False,
    field: str = "",
) -> ComponentConfig:
    """Merge two component configs; ``target`` has priority.

    Raises:
        ConfigMergeError: Two values of kinds that cannot be merged; the error
            names the field, and the files when the configs know them.
    """
    if target.namespace:
        namespace, inject = target.namespace, target.inject_namespace
    else:
        namespace, inject = source.namespace, source.inject_namespace
    disabled = target.disabled
    if fix_disabled and disabled is None:
        disabled = source.disabled
    try:
        config = merge_values(dict(target.config), dict(source.config), f"{field}config")
    except ConfigMergeError as exc:
        files = ", ".join((*target.files, *source.files))
        raise ConfigMergeError(exc.reason + (f" (files: {files})" if files else ""), field=exc.field) from None
    subcomponents = dict(target.subcomponents)
    for name, lower in source.subcomponents.items():
        higher = subcomponents.get(name)
        subcomponents[name] = (
            lower
            if higher is None
            else merge_component_config(higher, lower, fix_disabled=fix_disabled, field=f"{field}subcomponents.{name}.")
        )
    return attrs.evolve(
        target,
        namespace=namespace,
        inject_namespace=inject,
        disabled=disabled,
        config=config,
        subcomponents=subcomponents,
        files=(*target.files, *source.files),
    )
