"""The exceptions fabpromote raises.

Every expected failure is a :class:`FabpromoteError`. Leaves also subclass the
matching builtin, so callers may catch ``ValueError`` or ``LookupError`` too.
The CLI prints a ``FabpromoteError`` as one line and exits non-zero; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigMergeError",
    "DuplicateBackendError",
    "FabpromoteError",
    "GenerateError",
    "GeneratorError",
    "GitHostError",
    "HLDError",
    "HookError",
    "HooksNotAllowedError",
    "UnknownBackendError",
    "UnsafePathError",
]


class FabpromoteError(Exception):
    """The root of every error fabpromote raises on purpose."""


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
    """No plugin registered a backend (generator, engine, Git host) by that name."""

    def __init__(self, kind: str, name: str, known: list[str], hint: str = "") -> None:
        self.kind = kind
        self.name = name
        self.known = known
        listed = ", ".join(sorted(known)) or "none"
        message = f"no {kind} named {name!r} is installed (installed: {listed})"
        super().__init__(f"{message}; {hint}" if hint else message)


class DuplicateBackendError(FabpromoteError, ValueError):
    """Two plugins registered a backend under the same name."""


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
