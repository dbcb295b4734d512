"""Commit SHAs as users and remotes write them: full (40 hex digits) or abbreviated."""

from __future__ import annotations

import re

from fabpromote.exceptions import MIN_SHA_PREFIX

__all__ = ["is_abbreviated_sha", "is_sha"]

_SHA = re.compile(r"[0-9a-fA-F]{40}")
_ABBREVIATED = re.compile(rf"[0-9a-fA-F]{{{MIN_SHA_PREFIX},39}}")


def is_sha(text: str) -> bool:
    """Whether ``text`` is a full commit SHA: 40 hex digits, in either case."""
    return _SHA.fullmatch(text) is not None


def is_abbreviated_sha(text: str) -> bool:
    """Whether ``text`` may be an abbreviated commit SHA: 7 to 39 hex digits (as git abbreviates)."""
    return _ABBREVIATED.fullmatch(text) is not None
