"""The contracts that backends follow (``typing.Protocol`` classes).

Plugins return objects that follow these from their factories; the contract
test suites in :mod:`fabpromote.testing` check them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from fabpromote._engine import RenderOptions, RenderRequest
    from fabpromote._fetch import Fetcher
    from fabpromote._githost import ChangeRequest, CommitInfo, Comparison, MergeResult
    from fabpromote._manifests import Manifests

__all__ = ["Engine", "Generator", "GitHost"]


@runtime_checkable
class Generator(Protocol):
    """Renders one component (a ``type`` such as ``static`` or ``helm``)."""

    def generate(self, request: RenderRequest) -> bytes:
        """Return the manifest bytes of ``request.component``.

        Called once per visited component of that type, possibly from several
        threads at once. Must not write into the HLD tree.

        Raises:
            GeneratorError: The component cannot be rendered.
        """
        ...


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
    """A Git host backend: ``local`` git, GitHub, GitLab.

    Git content (reading trees, pushing commits) goes through git itself;
    the host adds what differs between hosts: how a merge is proposed and
    made (a direct merge, a pull or merge request), and branch protection.
    Every write names its ``purpose`` (``publish``, ``promote``, ``rollback``,
    ``set-image``) so that protection rules can be enforced.
    """

    def read_branch(self, repo: str, branch: str) -> str | None:
        """The commit ``branch`` points at now, or None when it does not exist."""
        ...

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` is ahead of and behind ``base``."""
        ...

    def read_file(self, repo: str, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``ref``, or None when it does not exist."""
        ...

    def log(self, repo: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first."""
        ...

    def commit_files(
        self,
        repo: str,
        branch: str,
        files: Mapping[str, bytes | None],
        message: str,
        *,
        expected: str | None,
        replace: bool = False,
        purpose: str,
    ) -> str | None:
        """Commit ``files`` (None deletes) on ``branch`` if it is still at ``expected``.

        ``replace`` makes the tree exactly ``files``. Returns the new commit,
        or None when the tree would not change.
        """
        ...

    def open_change(self, repo: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """Find or open the proposal to merge ``head`` into ``base``."""
        ...

    def merge(self, repo: str, change: ChangeRequest, *, expected_head_sha: str, message: str) -> MergeResult:
        """Merge ``change`` if its head is still ``expected_head_sha``."""
        ...

    def revert_to(self, repo: str, branch: str, target: str, *, expected: str, message: str) -> ChangeRequest | str:
        """Restore ``branch`` to the tree of ``target`` as a new commit (or a proposal of one)."""
        ...
