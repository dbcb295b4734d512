"""Checks of the ``hosts:`` settings every REST-API Git host takes: its API URL, its
token variable, and numbers (timeouts, retries). Public in :mod:`fabpromote.network`.

Each raises the plugin's own error (``error``, called with the message), so a
user sees the setting named in the host's terms, in one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fabpromote._util.credentials import redact

__all__ = ["api_url_setting", "number_setting", "token_env_setting"]

N = TypeVar("N", int, float)
Error = Callable[[str], Exception]


def api_url_setting(value: Any, error: Error) -> str:
    """An ``api_url``: an http(s) URL without credentials (the token comes from ``token_env``), no trailing slash."""
    url = str(value).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise error(f"api_url must be an http(s) URL, not {redact(url)!r}")
    if parts.username is not None or parts.password is not None:
        raise error("api_url must not carry credentials: the token comes from token_env")
    return url


def number_setting(name: str, value: Any, kind: type[N], error: Error) -> N:
    """A number of ``kind``, not negative; a ``timeout`` above 0."""
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        raise error(f"{name} must be a number, not {value!r}") from None
    if converted < 0 or (name == "timeout" and converted == 0):
        raise error(f"{name} must be positive, not {value!r}")
    return converted


def token_env_setting(value: Any, default: str, error: Error) -> str:
    """A ``token_env``: the name of an environment variable (``default`` when empty)."""
    name = str(value or default).strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise error(f"token_env must name an environment variable, not {name!r}")
    return name
