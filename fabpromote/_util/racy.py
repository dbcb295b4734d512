"""Files changed too recently to trust their ``stat`` signature: the one rule, in standard-library code.

Caches keyed by signatures share it: the parse cache, the helm plugin's chart
digests (through :mod:`fabpromote.cache`) and the CLI's ``generate`` stamps,
which run before anything else is imported, hence a module of its own.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: see fabpromote._cli.stamps
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["RACY_NS", "changed_recently"]

#: A file changed this recently may be written again within the same clock
#: tick and keep its stat signature (size, times, inode): caches keyed by
#: signatures do not trust it yet, as git does not for its index.
RACY_NS = 2_000_000_000


def changed_recently(times_ns: Iterable[int], now_ns: int) -> bool:
    """Whether one of the file times ``times_ns`` lies within :data:`RACY_NS` before ``now_ns`` (or after it)."""
    return any(time_ns >= now_ns - RACY_NS for time_ns in times_ns)
