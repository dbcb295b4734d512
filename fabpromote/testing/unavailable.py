"""What a test needs is missing (a tool, a pinned description): a failure in CI, a skip elsewhere.

CI installs everything the tests need, so there a missing tool is a broken
setup that must not pass as a skip; on a developer's machine the test skips,
saying what to install.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["unavailable"]


def unavailable(why: str) -> NoReturn:
    """Stop the test for ``why``: ``pytest.fail`` when ``$CI`` is set, else ``pytest.skip``."""
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)
