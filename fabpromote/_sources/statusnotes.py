"""Commit statuses of the ``local`` host, kept in a git notes ref of the repository itself.

The ref :data:`STATUS_NOTES_REF` is a notes tree as ``git notes`` writes it:
one blob per commit (named by the commit's SHA, or fanned out as ``ab/cdef...``)
holding one JSON object per line, one per status set, oldest first. A status
is appended with a compare-and-swap push of the notes ref, so two CI jobs
reporting at once both land (the loser reads the ref again and retries), and
every read lists the remote's refs again: a fresh clone or another process
with its own cache sees every status (the ref lives on the remote, not in a
cache). ``git log --notes=fabpromote/statuses`` shows them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import attrs

from fabpromote._sources.githost import CommitStatus
from fabpromote._util.credentials import redact
from fabpromote._util.races import pause_after_lost_race
from fabpromote._util.shas import is_sha
from fabpromote.exceptions import (
    AuthenticationError,
    CommitStatusError,
    RefNotFoundError,
    SourceError,
    StaleBranchError,
)

if TYPE_CHECKING:
    from fabpromote._sources.gitops import GitOps

__all__ = ["STATUS_ATTEMPTS", "STATUS_NOTES_REF", "StatusNotes"]

log = logging.getLogger("fabpromote.sources")

#: The notes ref holding the statuses (``git notes --ref=fabpromote/statuses``).
STATUS_NOTES_REF = "refs/notes/fabpromote/statuses"
#: Compare-and-swap attempts of one status write before the race is reported.
STATUS_ATTEMPTS = 10
#: Seconds of random pause, times the attempt, between attempts (writers that collided spread out).
STATUS_JITTER = 0.05


@attrs.define
class StatusNotes:
    """Reads and appends the statuses of commits in the notes ref of remotes."""

    ops: GitOps

    def statuses(self, url: str, sha: str) -> list[CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context.

        Raises:
            RefNotFoundError: The repository has no commit ``sha``.
        """
        commit = self._commit(url, sha)
        tip = self.ops.sources.refresh(url).get(STATUS_NOTES_REF)
        latest: dict[str, CommitStatus] = {}
        for status in _parse(self._note(url, tip, commit)[1], commit):
            latest[status.context] = status
        return [latest[context] for context in sorted(latest)]

    def add(self, url: str, sha: str, status: CommitStatus) -> None:
        """Append ``status`` (dated now when it has no ``updated_at``) to the note of commit ``sha``.

        Raises:
            RefNotFoundError: The repository has no commit ``sha``.
            StaleBranchError: Other writers moved the notes ref under every attempt.
            PushRejectedError: The server refused the push.
        """
        commit = self._commit(url, sha)
        if status.updated_at is None:
            status = attrs.evolve(status, updated_at=datetime.now(timezone.utc))
        line = json.dumps(status.to_json(), sort_keys=True).encode() + b"\n"
        message = f"Status {status.context}: {status.state} on {commit[:12]}"
        for attempt in range(1, STATUS_ATTEMPTS + 1):
            tip = self.ops.sources.refresh(url).get(STATUS_NOTES_REF)
            path, note = self._note(url, tip, commit)
            try:
                self.ops.commit_files(url, STATUS_NOTES_REF, {path: note + line}, message, expected=tip)
            except StaleBranchError:
                if attempt == STATUS_ATTEMPTS:
                    raise
                pause_after_lost_race(attempt, STATUS_JITTER)
                continue
            return

    def _commit(self, url: str, sha: str) -> str:
        """The full SHA of commit ``sha`` of the repository, which must have it."""
        if not is_sha(sha):
            raise CommitStatusError(f"a commit status is set on a full 40-hex commit SHA, not {sha!r}")
        try:
            return self.ops.resolve_commit(url, sha)
        except AuthenticationError:
            raise
        except SourceError as exc:
            if isinstance(exc, LookupError):
                raise
            # The server would not send it: no commit of this repository has that SHA. (Were
            # the server unreachable instead, listing its branches for the message raises that.)
            log.debug("cannot fetch %s: %s", sha, exc)
            raise RefNotFoundError(sha, url=redact(url), branches=_branches(self.ops, url)) from None

    def _note(self, url: str, tip: str | None, commit: str) -> tuple[str, bytes]:
        """Where the note of ``commit`` is in the notes tree at ``tip`` (flat or fanned out), and its bytes."""
        if tip is None:
            return commit, b""
        for path in (commit, f"{commit[:2]}/{commit[2:]}", f"{commit[:2]}/{commit[2:4]}/{commit[4:]}"):
            data = self.ops.read_file(url, tip, path)
            if data is not None:
                return path, data if data.endswith(b"\n") or not data else data + b"\n"
        return commit, b""


def _parse(note: bytes, commit: str) -> list[CommitStatus]:
    """The statuses of a note, oldest first; a line that is no status (a note someone
    wrote by hand) is skipped with a warning rather than hiding every other status."""
    statuses: list[CommitStatus] = []
    for number, line in enumerate(note.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            updated = data.get("updated_at")
            statuses.append(
                CommitStatus(
                    context=str(data["context"]),
                    state=str(data["state"]),
                    description=str(data.get("description") or ""),
                    target_url=str(data.get("target_url") or ""),
                    updated_at=datetime.fromisoformat(updated) if updated else None,
                )
            )
        except (ValueError, KeyError, TypeError, AttributeError, CommitStatusError) as exc:
            log.warning("%s: note of %s, line %d is not a status (%s): skipped", STATUS_NOTES_REF, commit, number, exc)
    return statuses


def _branches(ops: GitOps, url: str) -> list[str]:
    refs = ops.sources.refresh(url)
    return sorted(name.removeprefix("refs/heads/") for name in refs if name.startswith("refs/heads/"))
