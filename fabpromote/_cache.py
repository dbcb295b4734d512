"""The on-disk cache shared by sources and renders, and its atomic writes.

Root: ``$FABPROMOTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/fabpromote``, else
``~/.cache/fabpromote``. Several processes may share it: every entry is
written to a temporary name beside it and renamed into place, so a reader
sees a whole entry or none.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fabpromote import _signals

__all__ = ["atomic_write", "cache_root"]

ENV_CACHE_DIR = "FABPROMOTE_CACHE_DIR"


def cache_root(setting: str | Path | None = None) -> Path:
    """The cache directory: ``setting``, else the environment, else ``~/.cache``."""
    if setting:
        return Path(setting)
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "fabpromote"


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp: str | None = None
    try:
        # Made and named in one step: a signal between the two would leave it behind, unnamed.
        with _signals.deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
