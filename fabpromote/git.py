"""The Git types a Git host plugin works with (public: plugins import these).

A Git host backend (see :class:`fabpromote.typing.GitHost` and docs/githosts.md)
is built by its factory with a :class:`BranchPolicy` (``protected``) and a
:class:`Sources` (``sources``), reads and writes branches, and answers with the
records below. Git-based hosts can do all their Git work through
:class:`GitOps`, which pushes with compare-and-swap. Errors are in
:mod:`fabpromote.exceptions`.

- Records a host returns: :class:`Comparison`, :class:`CommitInfo`,
  :class:`ChangeRequest`, :class:`MergeResult`, :class:`CommitStatus` (one
  of :data:`COMMIT_STATES`).
- Branch policy: :class:`BranchPolicy` (which purposes each protected branch
  accepts, checked by :meth:`BranchPolicy.check`) and the purposes it is
  made of (:data:`CHANGE_REQUEST_PURPOSES`, :data:`MANIFESTS_PURPOSES`,
  :data:`HLD_PURPOSES`). The rules live here; a host only translates them.
- Remotes and their tokens: :class:`Sources` (mirrors in the cache),
  :class:`Credentials` (which variable holds the token of each host or
  repository) and :func:`redact` (tokens and URL user info out of any text).
- Commit SHAs as users write them: :func:`is_sha` (40 hex digits) and
  :func:`is_abbreviated_sha` (7 to 39), the checks the core makes.
- A complete host: :class:`LocalHost`, the built-in ``local`` Git host (any
  repository dulwich reaches), to use as it is or to wrap.

This module stays at the sources layer: the host of a repository as a
cluster file configures it is :func:`fabpromote.host_for`, above.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fabpromote._sources.githost import (
    CHANGE_REQUEST_PURPOSES,
    COMMIT_STATES,
    HLD_PURPOSES,
    MANIFESTS_PURPOSES,
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    CommitStatus,
    Comparison,
    MergeResult,
)
from fabpromote._util.credentials import Credentials, redact
from fabpromote._util.shas import is_abbreviated_sha, is_sha

if TYPE_CHECKING:
    from fabpromote._sources.gitops import GitOps
    from fabpromote._sources.localhost import LocalHost
    from fabpromote._sources.sources import Sources

#: Imported on first use: they bring dulwich and urllib3 (70 ms), which a
#: plugin that only redacts or reads records (the helm generator) never needs.
_LAZY = {
    "GitOps": "fabpromote._sources.gitops",
    "LocalHost": "fabpromote._sources.localhost",
    "Sources": "fabpromote._sources.sources",
}

__all__ = [
    "CHANGE_REQUEST_PURPOSES",
    "COMMIT_STATES",
    "HLD_PURPOSES",
    "MANIFESTS_PURPOSES",
    "BranchPolicy",
    "ChangeRequest",
    "CommitInfo",
    "CommitStatus",
    "Comparison",
    "Credentials",
    "GitOps",
    "LocalHost",
    "MergeResult",
    "Sources",
    "is_abbreviated_sha",
    "is_sha",
    "redact",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fabpromote.git' has no attribute {name!r}")
