"""``generate``: render a local HLD tree into :class:`Manifests` (writes nothing)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from fabpromote._engine.manifests import Manifests
from fabpromote._engine.walk import RenderOptions, output_dir_name
from fabpromote._hld import parsed as _parsed
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.cache import Cache
from fabpromote._sources.fetch import Fetcher

__all__ = ["generate", "output_directory"]


def generate(
    path: str | Path = ".",
    environments: tuple[str, ...] | list[str] = (),
    *,
    allow_hooks: bool = False,
    engine: str = "native",
    fix_disabled: bool = False,
    plugins: Plugins | None = None,
    keep_parsed: bool = True,
) -> Manifests:
    """Render the HLD in directory ``path`` as ``fab generate`` would.

    Args:
        path: The directory of the root component.
        environments: Environment names, highest priority first; ``common``
            always applies last.
        allow_hooks: Run component hooks (shell commands). Without it a
            component with generate hooks is an error.
        engine: ``native`` (built in) or another registered engine.
        fix_disabled: Fix Fabrikate's ``disabled`` quirk (see the docs).
        plugins: The plugin facade; by default one is loaded.
        keep_parsed: Use and keep the tree's parse cache: component and config
            files parsed by an earlier run, and unchanged since, are not parsed
            again (see :mod:`fabpromote._hld.parsed`). Off, every file is
            parsed and nothing is kept: for a tree rendered once (a fresh
            checkout in CI, whose files no cache entry can match), keeping it
            would cost about a sixth of the render.

    Returns:
        The files of ``generated/<envs>/``, relative to that folder.

    Raises:
        FabpromoteError: Any bad input or failed render, naming the file.
    """
    environments = tuple(environments)
    output_dir_name(environments)  # reject unusable names before any work
    plugins = plugins or Plugins.load()
    options = RenderOptions(allow_hooks=allow_hooks, fix_disabled=fix_disabled)
    fetcher = Fetcher(prefer_installed=True, cache=Cache.from_settings())
    # A local tree is generated again and again: what it parsed last time is kept (see _parsed).
    parsed = _parsed.remembered(fetcher.cache, path) if keep_parsed else contextlib.nullcontext()
    with parsed as fetcher.parsed, fetcher.user_terms():
        manifests: Manifests = plugins.engine(engine).render(Path(path), environments, options, fetcher=fetcher)
    plugins.after_generate(path=str(path), environments=environments, manifests=manifests)
    return manifests


def output_directory(path: str | Path, environments: tuple[str, ...] | list[str]) -> Path:
    """Where ``fab generate`` writes: ``<path>/generated/<envs joined by "-">``."""
    return Path(path) / "generated" / output_dir_name(tuple(environments))
