"""Where the cache is, from the environment alone: the standard library only.

:mod:`fabpromote._util.settings` (the run's settings) and the CLI's stamp check
(:mod:`fabpromote._cli.unchanged`, which runs before anything else is imported)
both find the cache here.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing's: see fabpromote._cli.stamps
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENV_CACHE_DIR", "cache_root"]

ENV_CACHE_DIR = "FABPROMOTE_CACHE_DIR"


def cache_root(environ: Mapping[str, str]) -> str:
    """``$FABPROMOTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fabpromote``, else ``~/.cache/fabpromote``."""
    if environ.get(ENV_CACHE_DIR):
        return environ[ENV_CACHE_DIR]
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fabpromote")
