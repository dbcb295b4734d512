"""The pause of a writer that lost a compare-and-swap race, before it reads the branch again."""

from __future__ import annotations

import random
import time

__all__ = ["pause_after_lost_race"]


def pause_after_lost_race(attempt: int, jitter: float) -> None:
    """Sleep a random time up to ``jitter * attempt`` seconds.

    Random, so that writers which collided do not collide again in step; growing
    with the attempt, so that a crowd of writers spreads out.
    """
    time.sleep(random.uniform(0, jitter * attempt))  # noqa: S311 - jitter, not crypto
