"""The contracts that backends follow (``typing.Protocol`` classes).

Plugins return objects that follow these from their factories; the contract
test suites in :mod:`fabpromote.testing` check them.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from fabpromote._sources.githost import BranchPolicy
from fabpromote.exceptions import HostSettingsError

if TYPE_CHECKING:
    from pathlib import Path

    from fabpromote._engine.manifests import Manifests
    from fabpromote._engine.walk import RenderOptions, RenderRequest
    from fabpromote._plugins.manager import Plugins
    from fabpromote._sources.fetch import Fetcher
    from fabpromote._sources.githost import ChangeRequest, CommitInfo, CommitStatus, Comparison, MergeResult
    from fabpromote._sources.sources import Sources

__all__ = [
    "Engine",
    "EngineFactory",
    "Generator",
    "GeneratorFactory",
    "GitHost",
    "GitHostFactory",
    "HostSettings",
    "ProtectingHost",
    "RenderInputs",
]


@runtime_checkable
class Generator(Protocol):
    """Renders one component (a ``type`` such as ``static`` or ``helm``).

    A generator may also have a ``parallel`` attribute (True when absent):
    its renders then run in worker threads, one per CPU, while the engine
    goes on walking and fetching. Set it to False for a generator that
    computes in Python rather than waiting on a process or the network: its
    renders run in the walking thread, as threads would only take turns
    holding Python's lock (for 1000 static components that halves the time).

    It may also have a ``cached(request) -> bytes | None`` method, asked in
    the walking thread before a render is scheduled: the manifest when it is
    known without rendering (a cache hit), else None. It must run nothing
    and fetch nothing, and leave every error to ``generate``.

    And an ``inputs(request) -> RenderInputs | None`` method, asked in the
    walking thread while ``fabpromote generate`` records what its render read,
    so that the same command can later be answered without rendering when
    none of it changed (see :class:`RenderInputs`). None (or no such method):
    the render may read more than it can name (the network, fetched content),
    and the command is never answered that way. It must run nothing and
    fetch nothing; on any error it returns None.
    """

    def generate(self, request: RenderRequest) -> bytes:
        """Return the manifest bytes of ``request.component``.

        Called once per visited component of that type, possibly from several
        threads at once. Must not write into the HLD tree.

        Raises:
            GeneratorError: The component cannot be rendered.
        """
        ...


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class RenderInputs:
    """What a generator's render of one component reads besides the HLD tree.

    The HLD tree (every file under the folder ``generate`` renders, the
    component's files and its chart or manifests among them) and the
    ``FABPROMOTE_*`` variables are watched already; a render that reads
    nothing else returns ``RenderInputs()``.

    Attributes:
        paths: Absolute paths of the files and folders outside the tree it
            reads or runs: the tool it starts, a library it loads, its own
            code. A folder stands for every file under it (``__pycache__``
            left out). A path that does not exist counts too, as one that
            must still not exist: the places a tool was looked for before
            the one it was found in (one put there would be found instead).
        environment: Names of the environment variables it reads, besides
            ``FABPROMOTE_*``; a name ending in ``*`` stands for every
            variable that begins with what precedes it (``HELM_*``).
    """

    paths: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    environment: tuple[str, ...] = attrs.field(default=(), converter=_strings)


@runtime_checkable
class Engine(Protocol):
    """Renders a whole HLD tree, as ``fab generate`` does."""

    def render(
        self,
        path: Path,
        environments: tuple[str, ...],
        options: RenderOptions,
        *,
        fetcher: Fetcher | None = None,
        boundary: Path | None = None,
    ) -> Manifests:
        """Render the HLD in directory ``path`` for ``environments``.

        Args:
            fetcher: Fetches remote parts that are not installed in the tree,
                and records what it used (the lock).
            boundary: A folder no path of the HLD may lead out of (set when
                the HLD itself was fetched).

        Returns the files of ``generated/<envs>/``, relative to that folder.
        """
        ...


@runtime_checkable
class GitHost(Protocol):
    """Reads and changes the branches of repositories on one kind of Git host.

    Reads see the repository as it is now (nothing is memoized between calls).
    Writes are compare-and-swap: each names where the branch must be
    (``expected``) and raises StaleBranchError, changing nothing, when it is
    elsewhere. Nothing is ever force-pushed.
    """

    @property
    def name(self) -> str:
        """The name the backend is registered under (``local``, ``github``, ...)."""
        ...

    def read_branch(self, repo_url: str, branch: str) -> str | None:
        """The commit ``branch`` points at now; None when it does not exist."""
        ...

    def compare(self, repo_url: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        ...

    def read_file(self, repo_url: str, ref: str, path: str) -> bytes | None:
        """File ``path`` at ``ref`` (branch, tag or 40-hex SHA); None when it is not a file there.

        Raises RefNotFoundError (a LookupError) when ``ref`` names nothing.
        """
        ...

    def log(self, repo_url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """First-parent history of ``branch``, newest first, with each message's git trailers."""
        ...

    def resolve_commit(self, repo_url: str, rev: str) -> str:
        """The full 40-hex SHA of the commit ``rev`` names: a SHA, an unambiguous
        abbreviation of one (7 hex digits or more), a branch or a tag.

        Raises RefNotFoundError (a LookupError) when ``rev`` names nothing, and
        a LookupError naming the repository when an abbreviation is ambiguous.
        """
        ...

    def commit_statuses(self, repo_url: str, sha: str) -> list[CommitStatus]:
        """The latest status of each context of commit ``sha`` (40 hex), sorted by context.

        Raises a LookupError naming ``sha`` when the repository has no such commit.
        """
        ...

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatus) -> None:
        """Set the status ``status.context`` of commit ``sha`` (40 hex) to ``status``.

        It becomes the latest of its context; ``updated_at`` is the host's
        (the time it is set). Raises a LookupError naming ``sha`` when the
        repository has no such commit.
        """
        ...

    def commit_files(
        self,
        repo_url: str,
        branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        *,
        expected: str | None,
        replace: bool = False,
        purpose: str,
        start: str | None = None,
    ) -> str | None:
        """Commit ``files`` (POSIX relative path -> bytes, None deletes) directly onto ``branch``.

        The parent is ``expected``; ``expected=None`` creates the branch, from
        ``start`` (a commit or branch) or with no parent. With ``replace`` the
        tree is exactly ``files``. ``purpose`` (``publish``, ``set-image``, ...)
        is checked against the branch's protection.

        Returns the commit the branch now points at; None when the tree would
        not change (no commit is made).

        Raises StaleBranchError, ProtectedBranchError, UnsafePathError,
        PushRejectedError.
        """
        ...

    def open_change(self, repo_url: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """Propose merging branch ``head`` into ``base``: a pull/merge request, or
        (hosts without reviews) a description of it with ``number`` 0.

        ``head_sha`` is the head's commit now; ``mergeable`` whether the merge
        would succeed without conflict (None while the host does not know yet).
        """
        ...

    def merge(
        self, repo_url: str, change: ChangeRequest, *, expected_head_sha: str, message: str, fast_forward: bool = True
    ) -> MergeResult:
        """Merge ``change`` (purpose ``promote``), only if its head is still at ``expected_head_sha``.

        Returns ``merged`` (``fast_forward`` when base moved to the head's
        commit), ``up-to-date``, or ``not-mergeable`` with the reason in
        ``message`` (conflicts, checks pending): those are answers, not errors.

        ``fast_forward=False`` asks for a merge commit even where a
        fast-forward is possible, so that ``message`` is recorded (a promotion
        that overrode its gates says why). Hosts that merge directly must honour
        it; hosts with change requests keep the reason in the request's body
        and may merge as their merge method says. fabpromote passes it only as
        ``False``, so a host written before it existed keeps working until then.

        Raises StaleBranchError (the head or base moved), ProtectedBranchError.
        """
        ...

    def revert_to(
        self, repo_url: str, branch: str, target: str, *, expected: str, message: str
    ) -> ChangeRequest | str | None:
        """Give ``branch`` the tree of commit ``target`` in a new commit (purpose ``rollback``):
        history is kept, nothing is reset.

        Returns the new commit's SHA when committed directly, the ChangeRequest
        opened for it on hosts that require reviews, or None when ``branch``
        already has that tree.

        Raises StaleBranchError, ProtectedBranchError.
        """
        ...


@runtime_checkable
class ProtectingHost(Protocol):
    """A Git host that can configure branch protection itself (GitHub, GitLab).

    ``fabpromote protect`` uses it so that environment branches change only
    through pull/merge requests that passed the ``fabpromote/guard`` check.
    """

    def protect(self, repo_url: str, branches: list[str], *, check_only: bool = False) -> list[str]:
        """Configure (or with ``check_only`` only verify) protection of ``branches``.

        Returns one line per difference found between the repository's
        settings and what fabpromote needs (fixed unless ``check_only``).
        """
        ...


def _frozen_options(value: Mapping[str, str]) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class HostSettings:
    """What a Git host factory is built from: the one argument it receives.

    Core builds it for every repository (see docs/plugins.md, "Git host
    settings"): the protection the pipeline gives the repository's branches,
    the sources layer of the run, the token variable, and the host's own
    options from the cluster file's ``hosts:`` entry.

    Attributes:
        protected: The branch policy (:class:`fabpromote.git.BranchPolicy`):
            branch name -> the purposes that may change it (``publish``,
            ``promote``, ``rollback``, ...); branches not named accept every
            change. Apply it with ``protected.check``; do not restate its rules.
        sources: The mirrors and cache of the run; None outside a run (the
            host then makes its own).
        token_env: The environment variable holding the token: the
            repository's ``token_env``, else its ``hosts:`` entry's; "" when
            neither is set (the host's default applies).
        options: The other keys of the repository's ``hosts:`` entry
            (``api_url``, ``merge_method``...), as written (strings).
        field: Where ``options`` were written (``hosts.git.example.com``), for
            errors; "" when they were not read from a cluster file.
    """

    protected: BranchPolicy = attrs.field(factory=BranchPolicy, converter=BranchPolicy)
    sources: Sources | None = None
    token_env: str = ""
    options: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_options)
    field: str = ""

    def check_options(self, host: str, known: Iterable[str]) -> None:
        """Refuse options the host does not know, naming where they were written.

        Raises:
            HostSettingsError: An option not in ``known``; the message names
                the cluster file's field (``hosts.NAME.OPTION``) and lists the
                known options.
        """
        allowed = sorted(set(known))
        unknown = sorted(set(self.options) - set(allowed))
        if not unknown:
            return
        where = ", ".join(f"{self.field}.{name}" if self.field else name for name in unknown)
        choices = ", ".join(allowed) if allowed else "none besides type and token_env"
        raise HostSettingsError(f"unknown option(s) of the {host} Git host: {where} (known: {choices})")


#: Builds a generator (registered with ``fabpromote_register_generators``).
GeneratorFactory = Callable[[], Generator]
#: Builds an engine bound to the plugin facade (``fabpromote_register_engines``).
EngineFactory = Callable[["Plugins"], Engine]
#: Builds a Git host from its settings (``fabpromote_register_git_hosts``).
GitHostFactory = Callable[[HostSettings], GitHost]
