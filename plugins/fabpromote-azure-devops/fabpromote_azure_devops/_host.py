"""The ``azure-devops`` Git host: Azure Repos' pull requests, commit statuses and branch policies.

Git content goes through git itself, over HTTPS with the personal access
token (:class:`fabpromote.git.GitOps`: fresh reads, compare-and-swap pushes);
pull requests, their completion, commit statuses and branch policies go
through the REST API (``api-version`` 7.1). The branch policy the host is
built with (``protected``) is checked before every write: a write whose
purpose a branch does not accept raises
:class:`~fabpromote.exceptions.ProtectedBranchError` before anything is sent.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import attrs

from fabpromote import git
from fabpromote.exceptions import AuthenticationError, RefNotFoundError, StaleBranchError
from fabpromote.git import (
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    Comparison,
    GitOps,
    MergeResult,
    Sources,
    is_sha,
    redact,
)
from fabpromote.network import Clock
from fabpromote.rest import (
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
    ClientsByApi,
    client_settings,
    sources_setting,
)
from fabpromote_azure_devops import _pulls
from fabpromote_azure_devops._client import (
    CHECKS,
    DEFAULT_TOKEN_ENV,
    AzureClient,
    token_env,
)
from fabpromote_azure_devops._errors import (
    AzureDevOpsAuthenticationError,
    AzureDevOpsNotFoundError,
    AzureDevOpsSettingsError,
)
from fabpromote_azure_devops._policies import ProtectionPolicy
from fabpromote_azure_devops._settings import (
    DEFAULT_COMPLETION_WAIT,
    OPTIONS,
    SETTINGS,
    to_backoff,
    to_completion_wait,
    to_count,
    to_max_wait,
    to_optional_api_url,
    to_protection,
    to_strategy,
    to_timeout,
)
from fabpromote_azure_devops._statuses import latest, to_azure
from fabpromote_azure_devops._urls import RepoRef, parse_repo

__all__ = ["OPTIONS", "ROLLBACK_PREFIX", "AzureDevOpsHost"]


#: Rollback branches are named ``fabpromote/rollback-<branch>-<target sha, 12 digits>``.
ROLLBACK_PREFIX = "fabpromote/rollback-"
ZERO = "0" * 40


@attrs.define
class AzureDevOpsHost:
    """A :class:`fabpromote.typing.GitHost` (and ``ProtectingHost``) for Azure Repos.

    Args:
        sources: The mirrors and cache git content goes through; a new
            :class:`~fabpromote.git.Sources` by default.
        protected: The :class:`~fabpromote.git.BranchPolicy` (or a mapping
            of branch name -> the purposes it accepts).
        api_url: The organization's (collection's) URL, the base of the REST
            API; by default the one in each repository's URL
            (``https://dev.azure.com/ORG``).
        token_env: The variable holding the personal access token (``AZURE_DEVOPS_EXT_PAT``).
        merge_strategy: How pull requests complete: ``noFastForward`` (a merge
            commit), ``squash``, ``rebase`` or ``rebaseMerge``.
        completion_wait: Seconds to wait for Azure to finish completing a pull request.
        timeout, max_retries, backoff, max_wait: Of every REST request (see the README).
        policy: The branch policies :meth:`protect` sets up and checks.
        clock: What retries and polls wait on (tests give a ``FakeClock``).
    """

    name: ClassVar[str] = "azure-devops"
    #: Azure keeps at most 4000 characters of a pull request's description.
    change_body_limit: ClassVar[int] = 4000

    _sources: Sources = attrs.field(default=None, converter=sources_setting, repr=False)
    _protected: BranchPolicy = attrs.field(default=None, converter=to_protection)
    api_url: str | None = attrs.field(default=None, converter=to_optional_api_url, kw_only=True)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=token_env, kw_only=True)
    merge_strategy: str = attrs.field(default="noFastForward", converter=to_strategy, kw_only=True)
    completion_wait: float = attrs.field(default=DEFAULT_COMPLETION_WAIT, converter=to_completion_wait, kw_only=True)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, converter=to_timeout, kw_only=True)
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, converter=to_count, kw_only=True)
    backoff: float = attrs.field(default=DEFAULT_BACKOFF, converter=to_backoff, kw_only=True)
    max_wait: float = attrs.field(default=DEFAULT_MAX_WAIT, converter=to_max_wait, kw_only=True)
    policy: ProtectionPolicy = attrs.field(factory=ProtectionPolicy, kw_only=True)
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    _clients: ClientsByApi[AzureClient] = attrs.field(init=False, repr=False)
    _ops: GitOps = attrs.field(init=False, repr=False)

    @_clients.default
    def _make_clients(self) -> ClientsByApi[AzureClient]:
        return ClientsByApi(lambda api_url: AzureClient(api_url, **client_settings(self)))

    @_ops.default
    def _make_ops(self) -> GitOps:
        return GitOps(self._sources)

    @classmethod
    def from_settings(cls, **settings: Any) -> AzureDevOpsHost:
        """Build the host from settings as a cluster file gives them (strings are converted).

        Raises:
            AzureDevOpsSettingsError: An unknown setting, or a bad value.
        """
        CHECKS.known(settings, SETTINGS, "azure-devops")
        policy = CHECKS.take(settings, renamed={"required_statuses": "contexts"}, counts=("required_reviews",))
        return cls(policy=ProtectionPolicy(**policy), **settings)

    @property
    def protected(self) -> BranchPolicy:
        """The branch policy: branch name -> the purposes it accepts (read-only)."""
        return self._protected

    def client(self, repo_url: str) -> AzureClient:
        """The REST client of ``repo_url``'s organization."""
        return self._repo(repo_url)[1]

    # Reading: git, fresh each time

    def read_branch(self, repo_url: str, branch: str) -> str | None:
        """Where ``branch`` is now; None when it does not exist."""
        with self._git(repo_url) as url:
            return self._ops.branch_sha(url, branch)

    def compare(self, repo_url: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        with self._git(repo_url) as url:
            return self._ops.compare(url, base, head)

    def read_file(self, repo_url: str, ref: str, path: str) -> bytes | None:
        """File ``path`` at ``ref``; None when it is not a file there."""
        with self._git(repo_url) as url:
            return self._ops.read_file(url, ref, path)

    def log(self, repo_url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first."""
        with self._git(repo_url) as url:
            return self._ops.log(url, branch, limit=limit)

    def resolve_commit(self, repo_url: str, rev: str) -> str:
        """The full SHA of commit ``rev``: a SHA, 7+ of its first hex digits, a branch or a tag."""
        with self._git(repo_url) as url:
            return self._ops.resolve_commit(url, rev)

    # Writing

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
        """Commit ``files`` onto ``branch`` with git, if it is still at ``expected``.

        Raises:
            ProtectedBranchError: ``branch`` does not accept ``purpose``.
            StaleBranchError: ``branch`` is not at ``expected``.
            PushRejectedError: Azure refused the push (a branch policy: TF402455).
        """
        self._protected.check(branch, purpose, url=redact(repo_url))
        with self._git(repo_url) as url:
            return self._ops.commit_files(url, branch, files, message, expected=expected, replace=replace, start=start)

    def open_change(self, repo_url: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """Find the active pull request of ``head`` into ``base``, or open one.

        A head with no commit missing from base needs none: ``number`` 0.
        """
        ref, client = self._repo(repo_url)
        head_sha = self._branch(repo_url, head)
        self._branch(repo_url, base)
        if self.compare(repo_url, base, head).ahead == 0:
            return ChangeRequest(base=base, head=head, head_sha=head_sha, number=0, mergeable=True)
        with self._missing_repo(ref, client):
            pull = _pulls.find_or_open(client, ref, base=base, head=head, title=title, body=body)
            pull = _pulls.get(client, ref, int(pull["pullRequestId"]))
        return _pulls.change_of(ref, pull, head_sha=head_sha)

    def merge(
        self,
        repo_url: str,
        change: ChangeRequest,
        *,
        expected_head_sha: str,
        message: str,
        purpose: str = "promote",
        fast_forward: bool = True,
    ) -> MergeResult:
        """Complete pull request ``change`` if its source branch is still at ``expected_head_sha``.

        It merges as ``merge_strategy`` says; ``fast_forward=False`` (a
        promotion that overrode its gates) turns ``rebase``, the one strategy
        that may leave no commit of its own, into ``rebaseMerge``, so that
        ``message`` is recorded in a merge commit.

        Returns:
            ``merged`` with the target's new commit; ``up-to-date`` for a
            change with nothing to merge; ``not-mergeable`` (conflicts, a
            blocking policy not yet approved, an abandoned pull request)
            with the reason.

        Raises:
            ProtectedBranchError: ``change.base`` does not accept ``purpose``.
            StaleBranchError: The source branch moved.
        """
        self._protected.check(change.base, purpose, url=redact(repo_url))
        if change.number <= 0:
            return MergeResult(status="up-to-date", message=f"{change.base} already has every commit of {change.head}")
        ref, client = self._repo(repo_url)
        with self._missing_repo(ref, client):
            pull = _pulls.get(client, ref, change.number)
        done = _pulls.outcome(client, pull, expected_head_sha=expected_head_sha)
        if done is not None:
            merged_at = (pull.get("lastMergeSourceCommit") or {}).get("commitId")
            if done.status == "merged" and merged_at != expected_head_sha:
                raise StaleBranchError(change.head, expected_head_sha, merged_at, url=redact(repo_url))
            return done  # a retried merge whose first try went through, or one that cannot be made
        actual = self.read_branch(repo_url, change.head)
        if actual != expected_head_sha:
            raise StaleBranchError(change.head, expected_head_sha, actual, url=redact(repo_url))
        waiting = _pulls.blocking_policies(client, ref, pull)
        if waiting:
            return MergeResult(
                status="not-mergeable",
                message=f"pull request #{change.number}: policies not met: {', '.join(waiting)}",
            )
        result = _pulls.complete(
            client,
            ref,
            pull,
            expected_head_sha=expected_head_sha,
            message=message,
            strategy="rebaseMerge" if not fast_forward and self.merge_strategy == "rebase" else self.merge_strategy,
            wait=self.completion_wait,
        )
        if result.status == "not-mergeable":
            # Azure refuses a lastMergeSourceCommit that is no longer the source's head: a race lost.
            actual = self.read_branch(repo_url, change.head)
            if actual != expected_head_sha:
                raise StaleBranchError(change.head, expected_head_sha, actual, url=redact(repo_url))
        return result

    def revert_to(
        self, repo_url: str, branch: str, target: str, *, expected: str, message: str
    ) -> ChangeRequest | None:
        """Propose restoring ``branch`` to the tree of ``target``: a rollback pull request.

        Pushes ``fabpromote/rollback-<branch>-<target sha, 12>`` holding one
        commit on top of ``expected`` with ``target``'s tree, and opens (or
        finds) its pull request into ``branch``. None when ``branch``
        already has that tree.

        Raises:
            ProtectedBranchError: ``branch`` does not accept rollbacks.
            StaleBranchError: ``branch`` is not at ``expected``.
        """
        self._protected.check(branch, "rollback", url=redact(repo_url))
        ref, client = self._repo(repo_url)
        current = self.read_branch(repo_url, branch)
        if current != expected:
            raise StaleBranchError(branch, expected, current, url=redact(repo_url))
        target_sha = self.resolve_commit(repo_url, target)
        if self._check_commit(ref, client, target_sha)["treeId"] == self._check_commit(ref, client, expected)["treeId"]:
            return None
        rollback = f"{ROLLBACK_PREFIX}{branch}-{target_sha[:12]}"
        existing = self.read_branch(repo_url, rollback)
        if existing is not None and not self._is_rollback(ref, client, existing, target_sha, expected):
            # A rollback branch of an earlier attempt, made on another head: start again.
            self._delete_branch(ref, client, rollback, existing)
            existing = None
        if existing is None:
            with self._git(repo_url) as url:
                self._ops.commit_files(url, rollback, {}, message, expected=None, start=expected)
                self._ops.revert_to(url, rollback, target_sha, expected=expected, message=message)
        title = message.strip().partition("\n")[0]
        body = (
            f"Restores `{branch}` to the tree of {target_sha} (it is at {expected}).\n\n"
            "Opened by `fabpromote rollback`: history is kept, the rollback is a new commit."
        )
        return self.open_change(repo_url, base=branch, head=rollback, title=title, body=body)

    # Commit statuses

    def commit_statuses(self, repo_url: str, sha: str) -> list[git.CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context.

        Raises:
            AzureDevOpsNotFoundError: The repository has no commit ``sha``.
        """
        ref, client = self._repo(repo_url)
        self._full_sha(sha)
        with self._no_commit(ref, client, sha):
            found = client.values(_pulls.repo_path(ref, "commits", sha, "statuses"), params={"latestOnly": "true"})
        if not found:
            self._check_commit(ref, client, sha)  # an empty list is also Azure's answer for no such commit
        return latest(found)

    def set_commit_status(self, repo_url: str, sha: str, status: git.CommitStatus) -> None:
        """Post ``status`` on commit ``sha`` (``POST .../commits/{sha}/statuses``); Azure dates it.

        Raises:
            AzureDevOpsNotFoundError: The repository has no commit ``sha``.
        """
        ref, client = self._repo(repo_url)
        self._full_sha(sha)
        self._check_commit(ref, client, sha)
        with self._no_commit(ref, client, sha):
            client.request(
                "POST", _pulls.repo_path(ref, "commits", sha, "statuses"), json=to_azure(status), expect=(201, 200)
            )

    # Branch policies

    def protect(
        self,
        repo_url: str,
        branches: Iterable[str] | None = None,
        *,
        check_only: bool = False,
        policy: ProtectionPolicy | None = None,
    ) -> list[str]:
        """Check, and unless ``check_only`` fix, the branch policies of ``branches``.

        Args:
            branches: By default those of ``protected`` that change only
                through pull requests (``promote``, ``rollback``).
            policy: What to require; by default the host's :attr:`policy`.

        Returns:
            The differences found, one line each (``project/repo prod: ...``).
        """
        policy = policy or self.policy
        ref, client = self._repo(repo_url)
        with self._missing_repo(ref, client):
            repository_id = str(client.get(_pulls.repo_path(ref))["id"])
        path = f"/{quote(ref.project, safe='')}/_apis/policy/configurations"
        configs = client.values(path)
        report: list[str] = []
        for branch in sorted(self._protected.change_request_branches()) if branches is None else branches:
            differences = policy.differences(configs, repository_id, branch)
            report += [f"{ref.full_name} {branch}: {difference}" for difference in differences]
            if differences and not check_only:
                for config_id, body in policy.changes(configs, repository_id, branch):
                    if config_id is None:
                        client.request("POST", path, json=body)
                    else:
                        client.request("PUT", f"{path}/{config_id}", json=body)
        return report

    # Helpers

    def _repo(self, repo_url: str) -> tuple[RepoRef, AzureClient]:
        ref = parse_repo(repo_url)
        return ref, self._clients.get(self.api_url or ref.collection_url)

    @contextlib.contextmanager
    def _git(self, repo_url: str) -> Iterator[str]:
        """The clone URL carrying the token (HTTP Basic, any user name), and git's refusals in Azure's terms."""
        ref, client = self._repo(repo_url)
        token = client.token()
        url = ref.git_url
        if token is not None:
            url = url.replace("://", f"://pat:{quote(token, safe='')}@", 1)
        try:
            yield url
        except AuthenticationError as exc:
            why = "no token is set" if token is None else "the token was refused or lacks the Code scope"
            raise AzureDevOpsAuthenticationError(
                client.redact(
                    f"git over HTTPS to {ref.git_url} failed (HTTP {exc.status}): {why}; set ${client.token_env}"
                ),
                status=exc.status,
                variable=client.token_env,
            ) from None

    def _branch(self, repo_url: str, branch: str) -> str:
        sha = self.read_branch(repo_url, branch)
        if sha is None:
            raise RefNotFoundError(branch, url=redact(repo_url), branches=[])
        return sha

    @contextlib.contextmanager
    def _missing_repo(self, ref: RepoRef, client: AzureClient) -> Iterator[None]:
        """A 404 of the project or repository (TF200016, TF401019) named as such."""
        try:
            yield
        except AzureDevOpsNotFoundError as exc:
            raise AzureDevOpsNotFoundError(
                client.redact(f"{ref.full_name} at {client.api_url}: {exc}"), status=exc.status
            ) from None

    @contextlib.contextmanager
    def _no_commit(self, ref: RepoRef, client: AzureClient, sha: str) -> Iterator[None]:
        try:
            yield
        except AzureDevOpsNotFoundError as exc:
            raise AzureDevOpsNotFoundError(
                client.redact(f"{ref.full_name}: no commit {sha} ({exc})"), status=404
            ) from None

    def _check_commit(self, ref: RepoRef, client: AzureClient, sha: str) -> dict[str, Any]:
        with self._no_commit(ref, client, sha):
            data: dict[str, Any] = client.get(_pulls.repo_path(ref, "commits", sha))
        return data

    def _is_rollback(self, ref: RepoRef, client: AzureClient, sha: str, target: str, expected: str) -> bool:
        """Whether commit ``sha`` has ``target``'s tree and ``expected`` as its only parent."""
        commit, wanted = self._check_commit(ref, client, sha), self._check_commit(ref, client, target)
        return commit.get("treeId") == wanted.get("treeId") and list(commit.get("parents") or ()) == [expected]

    def _delete_branch(self, ref: RepoRef, client: AzureClient, branch: str, sha: str) -> None:
        """Delete ``branch`` if it is still at ``sha`` (``POST .../refs``, compare-and-swap)."""
        update = [{"name": f"refs/heads/{branch}", "oldObjectId": sha, "newObjectId": ZERO}]
        client.request("POST", _pulls.repo_path(ref, "refs"), json=update)

    @staticmethod
    def _full_sha(sha: str) -> None:
        if not is_sha(sha):
            raise AzureDevOpsSettingsError(f"commit statuses are kept for a full 40-hex commit SHA, not {sha!r}")
