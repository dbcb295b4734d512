"""Size limits on untrusted input: files parsed, downloads, archives expanded.

Each limit has a default and an environment variable that overrides it,
read through :func:`fabpromote._util.settings.whole_number` (where the core's
settings are read) when the limit is checked, so one run (a CI job, a test)
may set it without touching the code.
"""

from __future__ import annotations

import attrs

from fabpromote._util.settings import whole_number
from fabpromote.exceptions import ArchiveError

__all__ = ["ARCHIVE_BYTES", "ARCHIVE_MEMBERS", "DOWNLOAD_BYTES", "FILE_BYTES", "ArchiveBudget", "Limit"]


@attrs.frozen
class Limit:
    """A positive whole number, ``$variable`` if set, else ``default``.

    Attributes:
        variable: The environment variable that overrides the default.
        default: The limit when the variable is unset or empty.
        unit: What is counted, for messages (``bytes``, ``entries``).
    """

    variable: str
    default: int
    unit: str = "bytes"

    def value(self) -> int:
        """The limit in force.

        Raises:
            HLDError: The variable is set to something other than a positive whole number.
        """
        return whole_number(self.variable, self.default, self.unit)

    def shown(self, limit: int) -> str:
        """``limit`` for an error message, saying how to raise it."""
        return f"{limit} {self.unit} (the limit is set by ${self.variable})"


#: Component, config and cluster files larger than this are refused unread.
FILE_BYTES = Limit("FABPROMOTE_MAX_FILE_BYTES", 16 * 1024 * 1024)
#: ``method: http`` downloads (after content decoding) and pulled chart archives.
DOWNLOAD_BYTES = Limit("FABPROMOTE_MAX_DOWNLOAD_BYTES", 256 * 1024 * 1024)
#: The bytes of the files in an archive, expanded; helm's own MaxDecompressedChartSize.
ARCHIVE_BYTES = Limit("FABPROMOTE_MAX_ARCHIVE_BYTES", 100 * 1024 * 1024)
#: Entries of an archive. Empty entries cost no bytes but a file (and memory) each.
ARCHIVE_MEMBERS = Limit("FABPROMOTE_MAX_ARCHIVE_MEMBERS", 10_000, unit="entries")


@attrs.define
class ArchiveBudget:
    """Counts the entries and expanded bytes of one archive while it is read.

    Call :meth:`take` for every entry before reading it: the first entry past
    a limit raises, so a tar bomb stops before it fills memory or the disk.

    Args:
        archive: What to call the archive in messages (a file name, a URL).
    """

    archive: str
    max_bytes: int = attrs.field(factory=ARCHIVE_BYTES.value)
    max_members: int = attrs.field(factory=ARCHIVE_MEMBERS.value)
    members: int = attrs.field(default=0, init=False)
    size: int = attrs.field(default=0, init=False)

    def take(self, size: int) -> None:
        """Count one entry of ``size`` expanded bytes (0 for folders and links).

        Raises:
            ArchiveError: The archive now has too many entries or bytes.
        """
        self.members += 1
        if self.members > self.max_members:
            raise ArchiveError(f"archive {self.archive} has more than {ARCHIVE_MEMBERS.shown(self.max_members)}")
        self.size += max(size, 0)
        if self.size > self.max_bytes:
            raise ArchiveError(f"archive {self.archive} expands to more than {ARCHIVE_BYTES.shown(self.max_bytes)}")
