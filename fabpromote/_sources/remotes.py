"""Remote repositories: which URLs (or paths) name the same one."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

__all__ = ["same_repo"]

_SCP_LIKE = re.compile(r"(?:[^@/:]+@)?(?P<host>[^/:]+):(?P<path>.+)")


def same_repo(first: str, second: str) -> bool:
    """Whether two URLs (or paths) name one repository, however each was spelled.

    User info, the scheme (``https://``, ``ssh://``, scp-like ``git@host:``),
    the case of the host name, a trailing ``/`` or ``.git`` do not matter.
    """
    return _identity(first) == _identity(second)


def _identity(url: str) -> str:
    scp = _SCP_LIKE.fullmatch(url)
    if scp and "://" not in url:  # git@host:org/repo is ssh://git@host/org/repo
        url = f"ssh://{scp['host']}/{scp['path'].lstrip('/')}"
    parts = urlsplit(url)
    if not parts.scheme or parts.scheme == "file":
        path = parts.path if parts.scheme == "file" else url
        return os.path.abspath(path).rstrip(os.sep).removesuffix(".git")
    host = parts.netloc.rpartition("@")[2].lower()
    return f"//{host}{parts.path.rstrip('/').removesuffix('.git')}"
