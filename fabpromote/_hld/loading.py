"""Reading a component's files: its ``component.yaml``/``.json`` and ``config/<env>.yaml``.

The named constructors of the model (:mod:`fabpromote._hld.model`); each goes
through the run's parse cache (:mod:`fabpromote._hld.parsed`) when one is given.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from fabpromote._hld import parsed as parsed_files
from fabpromote._hld.merge import merge_component_config
from fabpromote._hld.model import COMMON, COMPONENT_FILES, ComponentConfig
from fabpromote.exceptions import HLDError

if TYPE_CHECKING:
    from fabpromote._hld.model import Component
    from fabpromote._hld.parsed import ParsedFiles

__all__ = ["config_file", "find_component_file", "load_component", "load_config", "load_environments"]


def find_component_file(directory: Path) -> Path | None:
    """The component file of ``directory``: YAML wins over JSON."""
    found = _component_file(os.fspath(directory))
    return Path(found[0]) if found is not None else None


def _component_file(directory: str) -> tuple[str, os.stat_result] | None:
    """The component file of ``directory`` and its stat (which the parse cache takes as its signature)."""
    for name in COMPONENT_FILES:
        candidate = os.path.join(directory, name)
        try:
            info = os.stat(candidate)
        except (OSError, ValueError):  # as os.path.isfile
            continue
        if stat.S_ISREG(info.st_mode):
            return candidate, info
    return None


def load_component(path: str | Path, *, parsed: ParsedFiles | None = None) -> Component:
    """Read the component in directory ``path`` (or the component file itself).

    ``parsed``: the run's parse cache (see :mod:`fabpromote._hld.parsed`); None parses the file.

    Raises:
        HLDError: No component file, or a malformed one.
    """
    path = path if isinstance(path, Path) else Path(path)
    # A folder first: the usual case costs one stat. Strings from here on: a walk loads thousands.
    found = _component_file(os.fspath(path))
    if found is not None:
        return parsed_files.component(found[0], parsed, found[1])
    if not path.is_file():
        raise HLDError(f"error loading component in {path}: no {' or '.join(COMPONENT_FILES)}")
    return parsed_files.component(path, parsed)


def config_file(directory: Path, environment: str) -> Path | None:
    """The config file of ``environment`` in ``directory/config``: YAML wins."""
    for suffix in (".yaml", ".json"):
        candidate = os.path.join(directory, "config", f"{environment}{suffix}")
        if os.path.isfile(candidate):
            return Path(candidate)
    return None


def load_config(directory: str | Path, environment: str, *, parsed: ParsedFiles | None = None) -> ComponentConfig:
    """Read ``config/<environment>.yaml`` (else ``.json``) of a component (through ``parsed``, if given).

    A missing file gives an empty config; a malformed one is an error.
    """
    file = config_file(Path(directory), environment)
    if file is None:
        return ComponentConfig()
    return parsed_files.config(file, parsed)


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
    merged = above if above is not None else ComponentConfig()
    if not os.path.isdir(os.path.join(directory, "config")):
        return merged  # most components have no config: one stat instead of four
    for environment in (*environments, COMMON):
        merged = merge_component_config(
            merged, load_config(directory, environment, parsed=parsed), fix_disabled=fix_disabled
        )
    return merged
