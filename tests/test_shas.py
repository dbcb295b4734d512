"""Commit SHAs are checked in one place: ``fabpromote.git.is_sha`` and ``is_abbreviated_sha``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fabpromote
from fabpromote.exceptions import MIN_SHA_PREFIX
from fabpromote.git import is_abbreviated_sha, is_sha

ROOT = Path(__file__).parents[1]
CORE = Path(fabpromote.__file__).parent
FULL = "0123456789abcdef0123456789ABCDEF01234567"


@pytest.mark.parametrize(
    ("text", "full", "abbreviated"),
    [
        (FULL, True, False),
        (FULL.lower(), True, False),
        (FULL[:39], False, True),
        (FULL[:MIN_SHA_PREFIX], False, True),
        (FULL[: MIN_SHA_PREFIX - 1], False, False),
        (FULL + "8", False, False),
        ("g" + FULL[1:], False, False),
        (f" {FULL}", False, False),
        (f"{FULL}\n", False, False),
        ("", False, False),
        ("dev", False, False),
    ],
)
def test_sha_checks(text: str, full: bool, abbreviated: bool) -> None:
    """Full: 40 hex digits in either case; abbreviated: 7 to 39, as git abbreviates; nothing around them."""
    assert is_sha(text) is full
    assert is_abbreviated_sha(text) is abbreviated


def test_no_other_sha_pattern() -> None:
    """No module of the core or of a first-party plugin spells a commit-SHA pattern of its own."""
    pattern = re.compile(r"\{40\}|\{7,(39|40)\}|\{\{MIN_SHA_PREFIX\}")
    shas = CORE / "_util" / "shas.py"
    modules = [*CORE.rglob("*.py"), *(ROOT / "plugins").glob("*/fabpromote_*/**/*.py")]
    assert len(modules) > 100
    found = [
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}: {line.strip()}"
        for path in modules
        if path != shas
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
    assert pattern.search(shas.read_text())  # the pattern is still able to find one
