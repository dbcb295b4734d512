"""The settings of one run, read in one place.

A setting comes from the caller (an argument), else the cluster file
(``settings:`` in ``fabpromote.yaml``), else the environment, else its
default. This module is where the core reads its settings from the
environment: :meth:`RunSettings.load` for what a run is made with (the
:class:`~fabpromote._sources.cache.Cache` of a run is made from a :class:`RunSettings`
and never reads the environment itself), :func:`positive_number` and
:func:`whole_number` for the timeouts and limits, which are read when they
are checked so that one run (a CI job, a test) may set them.

``FABPROMOTE_CACHE_DIR``
    The cache root; else ``$XDG_CACHE_HOME/fabpromote``, else ``~/.cache/fabpromote``.
``FABPROMOTE_NETWORK_TIMEOUT``
    Seconds one network operation may wait (default 60).
``FABPROMOTE_MAX_*``
    Size limits on untrusted input (see :mod:`fabpromote._util.limits`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from fabpromote._util.cachedir import ENV_CACHE_DIR, cache_root
from fabpromote.exceptions import HLDError

__all__ = [
    "ENV_CACHE_DIR",
    "ENV_NETWORK_TIMEOUT",
    "RunSettings",
    "default_cache_dir",
    "positive_number",
    "whole_number",
]

ENV_NETWORK_TIMEOUT = "FABPROMOTE_NETWORK_TIMEOUT"
DEFAULT_NETWORK_TIMEOUT = 60.0


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The cache root the environment names: ``$FABPROMOTE_CACHE_DIR``, else the XDG cache, else ``~/.cache``."""
    return Path(cache_root(_environ(environ)))


def positive_number(variable: str, default: float, unit: str, environ: Mapping[str, str] | None = None) -> float:
    """``$variable`` as a positive finite number, else ``default`` when unset or empty.

    Raises:
        HLDError: The variable holds something else.
    """
    text = _environ(environ).get(variable, "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not 0 < number < float("inf"):
        raise HLDError(f"${variable} must be a positive number of {unit}, not {text!r}")
    return number


def whole_number(variable: str, default: int, unit: str, environ: Mapping[str, str] | None = None) -> int:
    """``$variable`` as a positive whole number, else ``default`` when unset or empty.

    Raises:
        HLDError: The variable holds something else.
    """
    text = _environ(environ).get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) <= 0:
        raise HLDError(f"${variable} must be a positive number of {unit}, not {text!r}")
    return int(text)


@attrs.frozen(kw_only=True)
class RunSettings:
    """The core's settings for one run.

    Attributes:
        cache_dir: The cache root: every cache of the run (mirrors,
            snapshots, downloads, parsed files, and what plugins keep, such
            as helm's home, charts and renders) lives under it.
    """

    cache_dir: Path = attrs.field(converter=Path)

    @classmethod
    def load(
        cls, cache_dir: str | os.PathLike[str] | None = None, *, environ: Mapping[str, str] | None = None
    ) -> RunSettings:
        """The settings: ``cache_dir`` (the caller's or the cluster file's) if given, else the environment's."""
        return cls(cache_dir=Path(cache_dir) if cache_dir else default_cache_dir(environ))
