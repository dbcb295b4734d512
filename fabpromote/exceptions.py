"""The exceptions fabpromote raises.

Every expected failure is a :class:`FabpromoteError`. Leaves also subclass the
matching builtin, so callers may catch ``ValueError`` or ``LookupError`` too.
The CLI prints a ``FabpromoteError`` as one line and exits non-zero; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

#: How many branch names a "no such branch" error lists.
BRANCHES_SHOWN = 10
#: How many conflicting paths a merge conflict error lists.
SHOWN_CONFLICTS = 10
#: The fewest hex digits of a commit SHA a command takes (what ``git log --oneline`` shows, at least).
MIN_SHA_PREFIX = 7
_HEX = re.compile(r"[0-9a-fA-F]{1,40}")

__all__ = [
    "AmbiguousCommitError",
    "ArchiveError",
    "AuthenticationError",
    "BranchNameError",
    "BranchPolicyError",
    "CommitStatusError",
    "ConfigMergeError",
    "DownloadError",
    "DuplicateBackendError",
    "FabpromoteError",
    "GatesRefused",
    "GenerateError",
    "GeneratorError",
    "GitHostError",
    "HLDError",
    "HookError",
    "HooksNotAllowedError",
    "HostSettingsError",
    "ImageConflictError",
    "LockMismatchError",
    "MergeConflictError",
    "MissingBranchError",
    "NothingToPromoteError",
    "OlderLockError",
    "OutputRefusedError",
    "OutputWriteError",
    "PluginError",
    "PromotionRefused",
    "ProtectedBranchError",
    "PublishError",
    "PushAuthenticationError",
    "PushRejectedError",
    "RefNotFoundError",
    "SourceError",
    "StaleBranchError",
    "UnknownBackendError",
    "UnknownNameError",
    "UnsafePathError",
    "ValidationError",
]


class FabpromoteError(Exception):
    """The root of every error fabpromote raises on purpose.

    Its text never shows a credential: whoever built the message, it is
    redacted as it is read (:func:`fabpromote._util.credentials.redact`).
    """

    def __str__(self) -> str:
        from fabpromote._util.credentials import redact

        return redact(super().__str__())


class HLDError(FabpromoteError, ValueError):
    """A component or config file is missing, malformed or of the wrong shape.

    Attributes:
        file: The file at fault, when there is one.
        line: The 1-based line in that file, when known.
        field: The dotted path of the offending field, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        super().__init__(_locate(message, file, line, field))


def _locate(message: str, file: str | None, line: int | None, field: str | None) -> str:
    where = file or ""
    if file and line is not None:
        where += f":{line}"
    if field:
        where += f" ({field})" if where else field
    return f"{where}: {message}" if where else message


class ConfigMergeError(HLDError):
    """Two config files give one key values of kinds that cannot be merged."""


class UnsafePathError(HLDError):
    """A name or path would read or write outside the place it must stay in."""


class HooksNotAllowedError(FabpromoteError, PermissionError):
    """A component declares hooks, and running hooks was not allowed."""


class HookError(FabpromoteError, RuntimeError):
    """A hook command exited non-zero."""


class GenerateError(FabpromoteError, RuntimeError):
    """Rendering the HLD tree failed."""


class GeneratorError(GenerateError):
    """A generator failed to render one component."""


class UnknownBackendError(FabpromoteError, LookupError):
    """No plugin registered a backend (generator, engine, Git host) by that name.

    Attributes:
        where: Where the name was written (``component.yaml:3 (type)``), when known.
    """

    def __init__(self, kind: str, name: str, known: list[str], hint: str = "", *, where: str = "") -> None:
        self.kind = kind
        self.name = name
        self.known = known
        self.hint = hint
        self.where = where
        listed = ", ".join(sorted(known)) or "none"
        message = f"no {kind} named {name!r} is installed (installed: {listed})"
        message = f"{message}; {hint}" if hint else message
        super().__init__(f"{where}: {message}" if where else message)

    def written_at(self, where: str) -> UnknownBackendError:
        """The same error, saying where the name was written."""
        return UnknownBackendError(self.kind, self.name, self.known, self.hint, where=where)


class DuplicateBackendError(FabpromoteError, ValueError):
    """Two plugins registered a backend under the same name."""


class PluginError(FabpromoteError, RuntimeError):
    """A plugin failed where it must not: it could not be loaded, or a backend factory raised."""


class HostSettingsError(FabpromoteError, ValueError):
    """A Git host's settings (the cluster file's ``hosts:`` entry) name an option it does not know."""


class GitHostError(FabpromoteError, RuntimeError):
    """A Git host refused or failed an operation.

    Attributes:
        host: The name of the Git host backend.
        status: The HTTP status, for hosts spoken to over HTTP.
    """

    def __init__(self, message: str, *, host: str, status: int | None = None) -> None:
        self.host = host
        self.status = status
        super().__init__(message)


class SourceError(FabpromoteError, RuntimeError):
    """A remote could not be read, or did not have what was asked of it.

    Attributes:
        url: The remote, with credentials redacted.
    """

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class RefNotFoundError(SourceError, LookupError):
    """No branch or tag of the remote has the name asked for.

    Attributes:
        ref: The name asked for.
        branches: The remote's branch names, sorted.
    """

    def __init__(self, ref: str, *, url: str, branches: list[str]) -> None:
        self.ref = ref
        self.branches = branches
        shown = ", ".join(branches[:BRANCHES_SHOWN]) or "none"
        if len(branches) > BRANCHES_SHOWN:
            shown += f", ... ({len(branches)} in all)"
        if not _HEX.fullmatch(ref):
            message = f"no branch or tag named {ref!r} (branches: {shown})"
        elif len(ref) < MIN_SHA_PREFIX:
            message = (
                f"no branch or tag named {ref!r} (branches: {shown}); "
                f"a commit SHA needs at least {MIN_SHA_PREFIX} hex digits"
            )
        else:
            message = f"no branch, tag or commit named {ref!r} (branches: {shown})"
        super().__init__(message, url=url)


class AmbiguousCommitError(SourceError, LookupError):
    """An abbreviated commit SHA that starts the SHAs of several commits of the remote.

    Attributes:
        prefix: The abbreviation asked for.
        candidates: The full SHAs it matches, sorted.
    """

    def __init__(self, prefix: str, *, url: str, candidates: Iterable[str]) -> None:
        self.prefix = prefix
        self.candidates = tuple(sorted(candidates))
        shown = ", ".join(sha[: len(prefix) + 4] for sha in self.candidates[:BRANCHES_SHOWN])
        super().__init__(f"commit {prefix!r} is ambiguous: it starts {shown}; give more digits", url=url)


class AuthenticationError(SourceError, PermissionError):
    """The remote refused the request for want of valid credentials (HTTP 401/403).

    Attributes:
        status: The HTTP status.
        variable: The environment variable that supplies the token for the
            remote's host, or ``None`` when none is configured.
    """

    def __init__(self, message: str, *, url: str, status: int, variable: str | None) -> None:
        self.status = status
        self.variable = variable
        super().__init__(message, url=url)


class PushRejectedError(SourceError):
    """The server refused the push (a hook, a protection rule, missing rights).

    Attributes:
        branch: The branch that was to move.
        reason: What the server said, redacted.
    """

    def __init__(self, reason: str, *, url: str, branch: str) -> None:
        self.branch = branch
        self.reason = reason
        # Named, not super(): in PushAuthenticationError the next class is AuthenticationError.
        SourceError.__init__(self, f"push to {branch!r} refused: {reason}", url=url)


class PushAuthenticationError(PushRejectedError, AuthenticationError):
    """The server refused the push for want of (write) credentials (HTTP 401/403)."""

    def __init__(self, reason: str, *, url: str, branch: str, status: int, variable: str | None) -> None:
        self.status = status
        self.variable = variable
        PushRejectedError.__init__(self, reason, url=url, branch=branch)


class StaleBranchError(FabpromoteError, RuntimeError):
    """A branch is no longer where the caller saw it: read it again and retry.

    Attributes:
        branch: The branch name.
        expected: Where the caller expected it (``None``: that it did not exist).
        actual: Where it is (``None``: it does not exist), when known.
        url: The remote, redacted.
    """

    def __init__(self, branch: str, expected: str | None, actual: str | None, *, url: str) -> None:
        self.branch = branch
        self.expected = expected
        self.actual = actual
        self.url = url
        was = f"at {expected[:12]}" if expected else "absent"
        now = f"at {actual[:12]}" if actual else "absent"
        super().__init__(f"{url}: branch {branch!r} moved: expected it {was}, it is {now}; read it again and retry")


class MergeConflictError(FabpromoteError, RuntimeError):
    """A merge would conflict; nothing was pushed.

    Attributes:
        base: The branch merged into.
        head: The branch merged.
        paths: The conflicting paths, sorted.
        url: The remote, redacted.
    """

    def __init__(self, *, base: str, head: str, paths: Iterable[str], url: str) -> None:
        self.base = base
        self.head = head
        self.paths = tuple(sorted(paths))
        self.url = url
        shown = ", ".join(self.paths[:SHOWN_CONFLICTS])
        if len(self.paths) > SHOWN_CONFLICTS:
            shown += f", ... ({len(self.paths)} in all)"
        super().__init__(f"{url}: merging {head!r} into {base!r} conflicts in {shown}")


class ProtectedBranchError(FabpromoteError, PermissionError):
    """A protected branch does not accept a change made for that purpose.

    Attributes:
        branch: The branch.
        purpose: What the change was for (``set-image``, ``promote``, ...).
        allowed: The purposes the branch accepts.
    """

    def __init__(self, branch: str, purpose: str, allowed: Iterable[str], *, url: str) -> None:
        self.branch = branch
        self.purpose = purpose
        self.allowed = tuple(allowed)
        self.url = url
        accepts = ", ".join(self.allowed) or "nothing"
        super().__init__(f"{url}: branch {branch!r} is protected: it accepts only {accepts}, not {purpose!r}")


class BranchNameError(FabpromoteError, ValueError):
    """A branch name git does not allow."""


class CommitStatusError(FabpromoteError, ValueError):
    """A commit status that cannot be: an unknown state, an empty context, a naive time."""


class BranchPolicyError(FabpromoteError, TypeError):
    """A branch protection (``protected``) that is not a mapping of branch name -> purposes."""


class DownloadError(FabpromoteError, RuntimeError):
    """An HTTP download failed, or was larger than allowed."""


class ArchiveError(FabpromoteError, ValueError):
    """An archive (a chart's ``.tgz``) has more entries or expanded bytes than allowed."""


class LockMismatchError(FabpromoteError, ValueError):
    """A lock does not fit: content differs from its digest, or it was made for another environment."""


class UnknownNameError(FabpromoteError, LookupError):
    """An environment, cluster or app name that the configuration does not know."""


class PromotionRefused(FabpromoteError, PermissionError):
    """The pipeline does not allow merging that branch into that one."""


class GatesRefused(PromotionRefused):
    """A gate of the target environment does not hold (``--ignore-gates --reason`` overrides).

    Attributes:
        unmet: Each unmet gate's reason (``soak: 1h12m left``), all of them.
    """

    def __init__(self, message: str, unmet: list[str]) -> None:
        super().__init__(message)
        self.unmet = list(unmet)


class OlderLockError(FabpromoteError, ValueError):
    """A publish would put an environment back to older commits than it runs, without saying so."""


class OutputRefusedError(FabpromoteError, FileExistsError):
    """An output folder holds something fabpromote did not write (or is ``/``, a repository, the working directory).

    Replacing it would lose a user's file; the message names that file.
    """


class OutputWriteError(FabpromoteError, OSError):
    """An output folder could not be written (permissions, space); it was left as it was."""


class PublishError(FabpromoteError, RuntimeError):
    """The manifests branch kept moving under every attempt to publish."""


class ImageConflictError(FabpromoteError, RuntimeError):
    """While setting an image, someone set it to another value on the same branch; it was not overwritten."""


class NothingToPromoteError(FabpromoteError, LookupError):
    """The source branch has no commit the target branch lacks."""


class MissingBranchError(FabpromoteError, LookupError):
    """A branch the pipeline needs does not exist."""


class ValidationError(FabpromoteError, ValueError):
    """Manifests that the Kubernetes schemas reject.

    Attributes:
        errors: Every problem, each ``<file>, document <n>: <field>: <what>``;
            the message shows the first and counts the rest.
    """

    def __init__(self, errors: Iterable[str]) -> None:
        self.errors = tuple(errors)
        message = self.errors[0] if self.errors else "invalid manifests"
        if len(self.errors) > 1:
            message += f" (and {len(self.errors) - 1} more)"
        super().__init__(message)
