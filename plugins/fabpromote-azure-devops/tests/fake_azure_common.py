"""What the fake Azure DevOps' modules share: the error answer, a list answer, Azure's dates."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ApiError", "listing", "now"]


class ApiError(Exception):
    """An error answer: its status, Azure's message and the exception's type key."""

    def __init__(self, status: int, message: str, type_key: str = "InvalidArgumentValueException") -> None:
        self.status, self.message, self.type_key = status, message, type_key
        super().__init__(message)


def now() -> str:
    # Azure writes seven digits of fractions of a second.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1e7) % 10**7:07d}Z"


def listing(items: list[Any]) -> dict[str, Any]:
    """A list as Azure DevOps answers one."""
    return {"count": len(items), "value": items}
