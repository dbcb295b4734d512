"""The ``local`` Git host, built in: any repository dulwich reaches, every change done here.

Paths, ``file://``, ``git://`` and smart ``http(s)://`` remotes: reads, commits
and merges are done locally with dulwich and pushed with compare-and-swap. It
is the host of every URL no Git host plugin claims
(:meth:`fabpromote.Plugins.detect_git_host`), so a core-only install
materializes, publishes and promotes on such repositories.

Pull requests do not exist here: :meth:`LocalHost.open_change` only reports
whether a merge would succeed, and :meth:`LocalHost.merge` performs it. The
branch protection a hosted service would enforce is enforced by the host
itself, on its own writes, from the :class:`~fabpromote.git.BranchPolicy` it is built with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs

from fabpromote._sources.githost import BranchPolicy, ChangeRequest, CommitInfo, CommitStatus, Comparison, MergeResult
from fabpromote._sources.gitops import GitOps
from fabpromote._sources.sources import Sources
from fabpromote._sources.statusnotes import StatusNotes
from fabpromote._util.credentials import redact
from fabpromote.exceptions import MergeConflictError, RefNotFoundError, StaleBranchError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["LocalHost"]


def _sources(value: Sources | None) -> Sources:
    return value if value is not None else Sources()


@attrs.define(kw_only=True)
class LocalHost:
    """A :class:`fabpromote.typing.GitHost` for any URL dulwich reaches.

    Args:
        sources: The mirrors and cache to work through; a new
            :class:`~fabpromote.git.Sources` by default.
        protected: The :class:`~fabpromote.git.BranchPolicy` (or a mapping of
            branch name -> the purposes it accepts, e.g.
            ``{"prod": ("promote", "rollback")}``); branches not named accept
            every change. Purposes: ``publish``, ``set-image`` (and others
            callers give :meth:`commit_files`), ``promote`` (:meth:`merge`),
            ``rollback`` (:meth:`revert_to`).
        token_env: The environment variable holding the token for the
            repositories this host handles (``https``, or ``http`` on the
            loopback interface); when unset, the credentials of ``sources``
            apply.
    """

    name: ClassVar[str] = "local"
    #: No change request body: promotions merge at once, and the merge commit has its own message.
    change_body_limit: ClassVar[int] = 0

    _sources: Sources = attrs.field(default=None, converter=_sources)
    _protected: BranchPolicy = attrs.field(default=None, converter=BranchPolicy)
    _token_env: str = ""
    _ops: GitOps = attrs.field(init=False, repr=False)

    @_ops.default
    def _make_ops(self) -> GitOps:
        return GitOps(self._sources)

    @property
    def protected(self) -> BranchPolicy:
        """The branch policy: branch name -> the purposes it accepts (read-only)."""
        return self._protected

    # Reading

    def read_branch(self, repo_url: str, branch: str) -> str | None:
        """Where ``branch`` is now; ``None`` when it does not exist."""
        return self._ops.branch_sha(self._url(repo_url), branch)

    def compare(self, repo_url: str, base: str, head: str) -> Comparison:
        """How ``head`` relates to ``base`` now (branches, tags or SHAs)."""
        return self._ops.compare(self._url(repo_url), base, head)

    def read_file(self, repo_url: str, ref: str, path: str) -> bytes | None:
        """File ``path`` at ``ref``; ``None`` when it is not a file there."""
        return self._ops.read_file(self._url(repo_url), ref, path)

    def log(self, repo_url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first."""
        return self._ops.log(self._url(repo_url), branch, limit=limit)

    def resolve_commit(self, repo_url: str, rev: str) -> str:
        """The full SHA of commit ``rev`` (a SHA, 7+ of its first hex digits, a branch or a tag).

        Raises:
            RefNotFoundError: ``rev`` names nothing in the repository.
            AmbiguousCommitError: ``rev`` abbreviates several commits' SHAs.
        """
        return self._ops.resolve_commit(self._url(repo_url), rev)

    def commit_statuses(self, repo_url: str, sha: str) -> list[CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context.

        Read from the repository's notes ref ``refs/notes/fabpromote/statuses``
        as the remote has it now (see :mod:`fabpromote._sources.statusnotes`).

        Raises:
            RefNotFoundError: The repository has no commit ``sha``.
        """
        return StatusNotes(self._ops).statuses(self._url(repo_url), sha)

    # Writing

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatus) -> None:
        """Record ``status`` on commit ``sha``: a line appended to its note, pushed with compare-and-swap.

        A status without ``updated_at`` is dated now. Writers racing on the
        notes ref retry on its new head; no branch changes, so no branch
        protection applies.

        Raises:
            RefNotFoundError: The repository has no commit ``sha``.
            StaleBranchError: The notes ref moved under every attempt.
            PushRejectedError: The server refused.
        """
        StatusNotes(self._ops).add(self._url(repo_url), sha, status)

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
        """Commit ``files`` onto ``branch`` directly (see :meth:`GitOps.commit_files`).

        Raises:
            ProtectedBranchError: ``branch`` does not accept ``purpose``.
            StaleBranchError: ``branch`` is not at ``expected``.
        """
        self._guard(repo_url, branch, purpose)
        return self._ops.commit_files(
            self._url(repo_url), branch, files, message, expected=expected, replace=replace, start=start
        )

    def open_change(self, repo_url: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """Describe merging ``head`` into ``base``: nothing is opened here.

        ``mergeable`` comes from a dry-run merge of the two branches as they are now.

        Raises:
            RefNotFoundError: ``base`` or ``head`` does not exist.
        """
        del title, body  # Nothing to show them on: the merge commit gets its own message.
        url = self._url(repo_url)
        refs = self._sources.refresh(url)
        head_sha = _tip(refs, head, repo_url)
        base_sha = _tip(refs, base, repo_url)
        conflicts = self._ops.conflicts(url, base_sha, head_sha)
        return ChangeRequest(base=base, head=head, head_sha=head_sha, mergeable=not conflicts)

    def merge(
        self, repo_url: str, change: ChangeRequest, *, expected_head_sha: str, message: str, fast_forward: bool = True
    ) -> MergeResult:
        """Merge ``change.head`` into ``change.base`` now, with purpose ``promote``.

        A fast-forward where one is possible, unless ``fast_forward`` is false:
        then always a merge commit, which carries ``message``.

        Returns:
            ``merged`` or ``up-to-date``; ``not-mergeable`` (with the
            conflicting paths in ``message``) when the merge conflicts.

        Raises:
            ProtectedBranchError: ``change.base`` does not accept promotions.
            StaleBranchError: ``change.head`` is no longer at
                ``expected_head_sha``, or ``change.base`` moved while merging.
            RefNotFoundError: ``change.base`` does not exist.
        """
        self._guard(repo_url, change.base, "promote")
        url = self._url(repo_url)
        refs = self._sources.refresh(url)
        base_sha = _tip(refs, change.base, repo_url)
        head_sha = refs.get(f"refs/heads/{change.head.removeprefix('refs/heads/')}")
        if head_sha != expected_head_sha:
            raise StaleBranchError(change.head, expected_head_sha, head_sha, url=redact(repo_url))
        try:
            return self._ops.merge(
                url,
                base=change.base,
                head=change.head,
                expected_base=base_sha,
                expected_head=expected_head_sha,
                message=message,
                fast_forward=fast_forward,
            )
        except MergeConflictError as exc:
            return MergeResult(status="not-mergeable", message=f"conflicts in {', '.join(exc.paths)}")

    def revert_to(
        self, repo_url: str, branch: str, target: str, *, expected: str, message: str
    ) -> ChangeRequest | str | None:
        """Commit ``target``'s tree onto ``branch`` directly, with purpose ``rollback``.

        Returns:
            The new commit; ``None`` when ``branch`` already has that tree.
            (Hosts with reviews return the ChangeRequest they opened.)

        Raises:
            ProtectedBranchError: ``branch`` does not accept rollbacks.
            StaleBranchError: ``branch`` is not at ``expected``.
        """
        self._guard(repo_url, branch, "rollback")
        return self._ops.revert_to(self._url(repo_url), branch, target, expected=expected, message=message)

    def _url(self, repo_url: str) -> str:
        """``repo_url``, its token variable (``token_env``) made known to the sources for it alone.

        Keyed by repository, never by host nor put in the URL: repositories on
        one host keep their own tokens, and a refused token is reported with
        the variable it came from.
        """
        if self._token_env:
            self._sources.credentials.assign(repo_url, self._token_env)
        return repo_url

    def _guard(self, repo_url: str, branch: str, purpose: str) -> None:
        self._protected.check(branch, purpose, url=redact(repo_url))


def _tip(refs: Mapping[str, str], branch: str, repo_url: str) -> str:
    sha = refs.get(f"refs/heads/{branch.removeprefix('refs/heads/')}")
    if sha is None:
        branches = sorted(name.removeprefix("refs/heads/") for name in refs if name.startswith("refs/heads/"))
        raise RefNotFoundError(branch, url=redact(repo_url), branches=branches)
    return sha
