"""The ``github`` Git host: pull requests, merges, statuses and protection over GitHub's REST API.

Reads (branches, comparisons, files, history) and the proposals (pull
requests, their merges) go through the REST API. Git content that must be
written (``commit_files``, the commit of a rollback) goes through git itself,
over HTTPS with the same token: :class:`fabpromote.git.GitOps` builds the
commit in fabpromote's mirror and pushes it with compare-and-swap.

The protection a hosted branch enforces on the server is enforced by the host
too, on its own writes, from the :class:`~fabpromote.git.BranchPolicy` it is
built with (``protected``): a write whose purpose a branch does not accept raises
:class:`~fabpromote.exceptions.ProtectedBranchError` before anything is sent.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import attrs
from dulwich.trailers import parse_trailers

from fabpromote import git
from fabpromote.exceptions import (
    AuthenticationError,
    RefNotFoundError,
    StaleBranchError,
    UnsafePathError,
)
from fabpromote.git import (
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    Comparison,
    GitOps,
    MergeResult,
    Sources,
    is_abbreviated_sha,
    is_sha,
    redact,
)
from fabpromote.network import Clock
from fabpromote.rest import ClientsByApi, client_settings, error_message, sources_setting
from fabpromote_github._client import (
    CHECKS,
    DEFAULT_BACKOFF,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_WAIT,
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_ENV,
    GitHubClient,
    _backoff,
    _max_retries,
    _max_wait,
    _timeout,
    _token_env,
)
from fabpromote_github._errors import (
    GitHubAuthenticationError,
    GitHubError,
    GitHubNotFoundError,
    GitHubSettingsError,
    RepositoryNotFoundError,
)
from fabpromote_github._protection import ProtectionPolicy
from fabpromote_github._statuses import DESCRIPTION_LENGTH, STATES, CombinedStatus, CommitStatus
from fabpromote_github._urls import RepoRef, default_api_url, parse_repo

__all__ = ["MERGE_METHODS", "ROLLBACK_PREFIX", "SETTINGS", "GitHubHost"]

MERGE_METHODS = ("merge", "squash", "rebase")
#: Rollback branches are named ``fabpromote/rollback-<branch>-<target sha, 12 digits>``.
ROLLBACK_PREFIX = "fabpromote/rollback-"
#: The options a cluster file's ``hosts:`` entry may give a github host.
OPTIONS = (
    "api_url",
    "merge_method",
    "timeout",
    "max_retries",
    "backoff",
    "max_wait",
    "required_contexts",
    "required_reviews",
    "strict",
    "enforce_admins",
)
#: The settings :meth:`GitHubHost.from_settings` takes: core's, then the options.
SETTINGS = ("sources", "protected", "token_env", *OPTIONS)
#: Commits per page when walking history; the first-parent chain may skip merged-in commits.
LOG_PAGE = 100


def _protection(value: Mapping[str, Iterable[str]] | None) -> BranchPolicy:
    return CHECKS.branch_policy(value)


def _optional_api_url(value: Any) -> str | None:
    return CHECKS.optional_api_url(value)


def _merge_method(value: str) -> str:
    method = str(value or "merge").strip().lower()
    if method not in MERGE_METHODS:
        raise GitHubSettingsError(f"merge_method must be one of {', '.join(MERGE_METHODS)}, not {value!r}")
    return method


@attrs.define
class GitHubHost:
    """A :class:`fabpromote.typing.GitHost` for github.com and GitHub Enterprise Server.

    Args:
        sources: The mirrors and cache git content goes through; a new
            :class:`~fabpromote.git.Sources` by default.
        protected: The :class:`~fabpromote.git.BranchPolicy` (or a mapping of
            branch name -> the purposes it accepts, e.g.
            ``{"prod": ("promote", "rollback")}``); branches not named accept
            every change.
        api_url: The REST API base. By default derived from each
            repository's host: ``https://api.github.com`` for github.com,
            ``https://HOST/api/v3`` for a GitHub Enterprise Server.
        token_env: The environment variable holding the token (``GITHUB_TOKEN``).
        merge_method: How pull requests are merged: ``merge``, ``squash`` or ``rebase``.
        timeout: Seconds every request may wait for the connection and each read.
        max_retries: Retries of a request that failed on the network or with a 5xx.
        backoff: The first retry's delay in seconds (doubling after).
        max_wait: The longest rate-limit wait before giving up, in seconds.
        policy: The branch protection :meth:`protect` sets up and checks.
        clock: What retries wait on (:mod:`time`); not a cluster-file setting:
            tests give a :class:`fabpromote.testing.clock.FakeClock`.
    """

    name: ClassVar[str] = "github"

    _sources: Sources = attrs.field(default=None, converter=sources_setting, repr=False)
    _protected: BranchPolicy = attrs.field(default=None, converter=_protection)
    api_url: str | None = attrs.field(default=None, converter=_optional_api_url, kw_only=True)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=_token_env, kw_only=True)
    merge_method: str = attrs.field(default="merge", converter=_merge_method, kw_only=True)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, converter=_timeout, kw_only=True)
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, converter=_max_retries, kw_only=True)
    backoff: float = attrs.field(default=DEFAULT_BACKOFF, converter=_backoff, kw_only=True)
    max_wait: float = attrs.field(default=DEFAULT_MAX_WAIT, converter=_max_wait, kw_only=True)
    policy: ProtectionPolicy = attrs.field(factory=ProtectionPolicy, kw_only=True)
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    _clients: ClientsByApi[GitHubClient] = attrs.field(init=False, repr=False)
    _ops: GitOps = attrs.field(init=False, repr=False)

    @_clients.default
    def _make_clients(self) -> ClientsByApi[GitHubClient]:
        return ClientsByApi(lambda api_url: GitHubClient(api_url, **client_settings(self)))

    @_ops.default
    def _make_ops(self) -> GitOps:
        return GitOps(self._sources)

    @classmethod
    def from_settings(cls, **settings: Any) -> GitHubHost:
        """Build the host from settings as a cluster file gives them (strings are converted).

        Raises:
            GitHubSettingsError: An unknown setting, or a bad value.
        """
        CHECKS.known(settings, SETTINGS, "github")
        policy = CHECKS.take(
            settings,
            renamed={"required_contexts": "contexts"},
            counts=("required_reviews",),
            booleans=("strict", "enforce_admins"),
        )
        return cls(policy=ProtectionPolicy(**policy), **settings)

    @property
    def protected(self) -> BranchPolicy:
        """The branch policy: branch name -> the purposes it accepts (read-only)."""
        return self._protected

    def client(self, repo_url: str) -> GitHubClient:
        """The REST client (one ``requests.Session``) of ``repo_url``'s API."""
        return self._api(parse_repo(repo_url))

    # Reading

    def read_branch(self, repo: str, branch: str) -> str | None:
        """Where ``branch`` is now; None when it does not exist.

        Raises:
            RepositoryNotFoundError: The repository does not exist, or the token cannot see it.
        """
        ref, client = self._repo(repo)
        data = client.get(_repo_path(ref, "branches", _ref(branch)), expect=(200, 404))
        if data is None:
            self._check_repo(ref, client)
            return None
        return str(data["commit"]["sha"])

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        ref, client = self._repo(repo)
        path = _repo_path(ref, "compare", f"{_ref(base)}...{_ref(head)}")
        with self._not_found(ref, client, f"cannot compare {base}...{head}: no such branch, tag or commit"):
            data = client.get(path, params={"per_page": 1})
        return Comparison(ahead=int(data["ahead_by"]), behind=int(data["behind_by"]))

    def read_file(self, repo: str, ref: str, path: str) -> bytes | None:
        """The bytes of file ``path`` at ``ref``; None when it is not a file there.

        Raises:
            GitHubNotFoundError: No branch, tag or commit is named ``ref``.
            UnsafePathError: ``path`` is absolute or leaves the repository.
        """
        repo_ref, client = self._repo(repo)
        response = client.request(
            "GET", _repo_path(repo_ref, "contents", _file_path(path)), params={"ref": ref}, expect=(200, 404)
        )
        if response.status_code == 404:
            message = error_message(response)
            if message.lower().startswith("no commit found"):
                raise GitHubNotFoundError(
                    client.redact(f"{repo_ref.full_name}: no branch, tag or commit named {ref!r}"), status=404
                )
            self._check_repo(repo_ref, client)
            return None
        data = response.json()
        if not isinstance(data, dict):
            return None  # A directory.
        kind = data.get("type")
        if kind == "symlink":
            return str(data.get("target", "")).encode()
        if kind != "file":
            return None  # A submodule.
        if data.get("encoding") == "base64" and (data.get("content") or not data.get("size")):
            return base64.b64decode(data.get("content") or "")
        # Files over 1 MB come without content: the blob API serves them up to 100 MB.
        blob = client.get(_repo_path(repo_ref, "git", "blobs", str(data["sha"])))
        return base64.b64decode(blob["content"])

    def log(self, repo: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first, at most ``limit`` commits.

        GitHub lists every commit reachable from the branch; the first-parent
        chain is followed through those pages.
        """
        ref, client = self._repo(repo)
        if limit <= 0:
            return []
        history: list[CommitInfo] = []
        listed: dict[str, Mapping[str, Any]] = {}
        wanted: str | None = None
        params = {"sha": branch, "per_page": LOG_PAGE}
        with self._not_found(ref, client, f"no branch, tag or commit named {branch!r}"):
            try:
                for item in client.paginate(_repo_path(ref, "commits"), params=params):
                    listed[item["sha"]] = item
                    if wanted is None and not history:
                        wanted = item["sha"]
                    while wanted is not None and wanted in listed:
                        commit = listed.pop(wanted)
                        history.append(_commit_info(commit))
                        parents = commit.get("parents") or []
                        wanted = parents[0]["sha"] if parents else None
                        if len(history) >= limit or wanted is None:
                            return history
            except GitHubError as exc:
                if exc.status == 409:  # "Git Repository is empty."
                    return []
                raise
        return history

    # Writing

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
        start: str | None = None,
    ) -> str | None:
        """Commit ``files`` onto ``branch`` with git, if it is still at ``expected``.

        See :meth:`fabpromote.git.GitOps.commit_files`.

        Raises:
            ProtectedBranchError: ``branch`` does not accept ``purpose``.
            StaleBranchError: ``branch`` is not at ``expected``.
            PushRejectedError: GitHub refused the push (its own branch protection).
        """
        self._guard(repo, branch, purpose)
        ref, client = self._repo(repo)
        with self._git(ref, client):
            return self._ops.commit_files(
                self._git_url(ref, client), branch, files, message, expected=expected, replace=replace, start=start
            )

    def open_change(self, repo: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """Find the open pull request of ``head`` into ``base``, or open one.

        Returns:
            The pull request, with its number, web URL, head SHA and whether
            GitHub finds it mergeable (None while GitHub is still computing).

        Raises:
            GitHubError: GitHub refused to open it (e.g. no commits between the branches).
        """
        ref, client = self._repo(repo)
        head_sha = self._existing_branch(repo, head)
        self._existing_branch(repo, base)
        if self.compare(repo, base, head).ahead == 0:
            # GitHub refuses a pull request without commits: there is nothing to merge.
            return ChangeRequest(base=base, head=head, head_sha=head_sha, number=0, mergeable=True)
        pulls = _repo_path(ref, "pulls")
        number = self._find_pull(ref, client, base=base, head=head)
        if number is None:
            with self._not_found(ref, client, f"cannot open a pull request of {head} into {base}"):
                response = client.request(
                    "POST", pulls, json={"title": title, "head": head, "base": base, "body": body}, expect=(201, 422)
                )
            if response.status_code == 201:
                number = int(response.json()["number"])
            else:
                reason = error_message(response)
                # Another run may have opened it since we looked.
                number = self._find_pull(ref, client, base=base, head=head) if "already exists" in reason else None
                if number is None:
                    raise GitHubError(
                        client.redact(f"{ref.full_name}: cannot open a pull request of {head} into {base}: {reason}"),
                        status=422,
                    )
        return _change(client.get(_repo_path(ref, "pulls", str(number))))

    def _existing_branch(self, repo: str, branch: str) -> str:
        sha = self.read_branch(repo, branch)
        if sha is None:
            raise RefNotFoundError(branch, url=redact(repo), branches=[])
        return sha

    def merge(
        self,
        repo: str,
        change: ChangeRequest,
        *,
        expected_head_sha: str,
        message: str,
        purpose: str = "promote",
        fast_forward: bool = True,  # noqa: ARG002 (the merge method decides; see the docstring)
    ) -> MergeResult:
        """Merge pull request ``change`` if its head is still ``expected_head_sha``.

        It merges as ``merge_method`` says, whatever ``fast_forward`` asks:
        the pull request's body already records what a merge commit would.

        Returns:
            ``merged`` with the new commit of the base branch, or
            ``not-mergeable`` (conflicts, required checks or reviews missing)
            with GitHub's reason in ``message``.

        Raises:
            ProtectedBranchError: ``change.base`` does not accept ``purpose``.
            StaleBranchError: The head branch moved (GitHub's 409).
        """
        self._guard(repo, change.base, purpose)
        if change.number <= 0:  # open_change found no commit to merge
            return MergeResult(status="up-to-date", message=f"{change.base} already has every commit of {change.head}")
        ref, client = self._repo(repo)
        title, _, rest = message.strip().partition("\n")
        with self._not_found(ref, client, f"no pull request #{change.number}"):
            response = client.request(
                "PUT",
                _repo_path(ref, "pulls", str(change.number), "merge"),
                json={
                    "sha": expected_head_sha,
                    "merge_method": self.merge_method,
                    "commit_title": title,
                    "commit_message": rest.strip(),
                },
                expect=(200, 405, 409),
            )
        if response.status_code == 200:
            data = response.json()
            sha = str(data["sha"])
            return MergeResult(
                status="merged", sha=sha, fast_forward=sha == expected_head_sha, message=str(data.get("message", ""))
            )
        if response.status_code == 409:
            actual = self.read_branch(repo, change.head)
            raise StaleBranchError(change.head, expected_head_sha, actual, url=redact(repo))
        reason = error_message(response)
        pull = client.get(_repo_path(ref, "pulls", str(change.number)))
        if pull.get("merged") and pull["head"]["sha"] == expected_head_sha:
            # A retried PUT whose first attempt went through: it is merged.
            sha = str(pull.get("merge_commit_sha") or "")
            return MergeResult(status="merged", sha=sha, fast_forward=sha == expected_head_sha)
        state = pull.get("mergeable_state")
        detail = f" (mergeable state: {state})" if state and state != "unknown" else ""
        return MergeResult(
            status="not-mergeable", message=client.redact(f"pull request #{change.number}: {reason}{detail}")
        )

    def resolve_commit(self, repo: str, rev: str) -> str:
        """The full SHA of commit ``rev``: a SHA, 7+ of its first hex digits, a branch or a tag.

        Raises:
            GitHubNotFoundError: ``rev`` names no commit, or abbreviates several
                (GitHub answers both alike).
        """
        ref, client = self._repo(repo)
        return self._commit(ref, client, rev)[0]

    def revert_to(self, repo: str, branch: str, target: str, *, expected: str, message: str) -> ChangeRequest | None:
        """Propose restoring ``branch`` to the tree of ``target``: a rollback pull request.

        Pushes ``fabpromote/rollback-<branch>-<target sha, 12>`` holding one
        commit on top of ``expected`` whose tree is ``target``'s, and opens
        (or finds) its pull request into ``branch``.

        Returns:
            The pull request; None when ``branch`` already has that tree.

        Raises:
            ProtectedBranchError: ``branch`` does not accept rollbacks.
            StaleBranchError: ``branch`` is not at ``expected``.
            GitHubNotFoundError: ``target`` names no commit.
        """
        self._guard(repo, branch, "rollback")
        ref, client = self._repo(repo)
        current = self.read_branch(repo, branch)
        if current != expected:
            raise StaleBranchError(branch, expected, current, url=redact(repo))
        target_sha, target_tree, _ = self._commit(ref, client, target)
        _, expected_tree, _ = self._commit(ref, client, expected)
        if target_tree == expected_tree:
            return None
        rollback = f"{ROLLBACK_PREFIX}{branch}-{target_sha[:12]}"
        existing = self.read_branch(repo, rollback)
        if existing is not None:
            _, tree, parents = self._commit(ref, client, existing)
            if tree != target_tree or parents[:1] != (expected,):
                # A rollback branch of an earlier attempt, made on another head: start again.
                client.request("DELETE", _repo_path(ref, "git", "refs", "heads", _ref(rollback)), expect=(204, 422))
                existing = None
        if existing is None:
            url = self._git_url(ref, client)
            with self._git(ref, client):
                self._ops.commit_files(url, rollback, {}, message, expected=None, start=expected)
                self._ops.revert_to(url, rollback, target_sha, expected=expected, message=message)
        title = message.strip().partition("\n")[0]
        body = (
            f"Restores `{branch}` to the tree of {target_sha} (it is at {expected}).\n\n"
            "Opened by `fabpromote rollback`: history is kept, the rollback is a new commit."
        )
        return self.open_change(repo, base=branch, head=rollback, title=title, body=body)

    # Commit statuses

    def set_status(
        self, repo: str, sha: str, context: str, state: str, description: str = "", *, target_url: str = ""
    ) -> CommitStatus:
        """Set the status ``context`` of commit ``sha`` (``fabpromote/guard``, ...).

        Args:
            state: ``error``, ``failure``, ``pending`` or ``success``.
            description: A short line; GitHub keeps 140 characters.
            target_url: A link shown with the status (the CI job).
        """
        if state not in STATES:
            raise GitHubSettingsError(f"a commit status is one of {', '.join(STATES)}, not {state!r}")
        if not is_sha(sha):
            raise GitHubSettingsError(f"a commit status needs a full 40-hex commit SHA, not {sha!r}")
        ref, client = self._repo(repo)
        body = {"state": state, "context": context, "description": description[:DESCRIPTION_LENGTH]}
        if target_url:
            body["target_url"] = target_url
        with _no_commit(client, ref, sha), self._not_found(ref, client, f"no commit {sha}"):
            response = client.request("POST", _repo_path(ref, "statuses", sha), json=body, expect=(201,))
        return CommitStatus.from_json(response.json())

    def get_statuses(self, repo: str, ref: str) -> CombinedStatus:
        """The combined status of ``ref`` (a branch, tag or SHA): its latest status per context."""
        repo_ref, client = self._repo(repo)
        statuses: list[CommitStatus] = []
        sha = state = ""
        with (
            self._not_found(repo_ref, client, f"no branch, tag or commit named {ref!r}"),
            _no_commit(client, repo_ref, ref),
        ):
            for page in client.pages(_repo_path(repo_ref, "commits", _ref(ref), "status")):
                sha, state = sha or str(page["sha"]), state or str(page["state"])
                statuses += [CommitStatus.from_json(item) for item in page.get("statuses") or ()]
                if not page.get("statuses"):
                    break
        return CombinedStatus(sha=sha, state=state, statuses=statuses)

    def commit_statuses(self, repo_url: str, sha: str) -> list[git.CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context (the combined status).

        Raises:
            GitHubNotFoundError: The repository has no commit ``sha``.
        """
        if not is_sha(sha):
            raise GitHubSettingsError(f"commit statuses are read for a full 40-hex commit SHA, not {sha!r}")
        statuses = [status.to_git() for status in self.get_statuses(repo_url, sha).statuses]
        return sorted(statuses, key=lambda status: status.context)

    def set_commit_status(self, repo_url: str, sha: str, status: git.CommitStatus) -> None:
        """Set ``status`` on commit ``sha`` (``POST /repos/{owner}/{repo}/statuses/{sha}``); GitHub dates it.

        Raises:
            GitHubNotFoundError: The repository has no commit ``sha``.
        """
        self.set_status(repo_url, sha, status.context, status.state, status.description, target_url=status.target_url)

    # Branch protection

    def protection(self, repo: str, branch: str) -> dict[str, Any] | None:
        """GitHub's protection of ``branch`` (its GET answer), or None when unprotected.

        Raises:
            GitHubNotFoundError: There is no such branch.
        """
        ref, client = self._repo(repo)
        response = client.request(
            "GET", _repo_path(ref, "branches", _ref(branch), "protection"), expect=(200, 403, 404)
        )
        if response.status_code == 200:
            data: dict[str, Any] = response.json()
            return data
        if response.status_code == 403:
            raise GitHubError(
                client.redact(
                    f"{ref.full_name}: cannot read the protection of {branch!r} (HTTP 403: {error_message(response)}); "
                    f"it needs a token with admin rights on the repository in ${client.token_env}"
                ),
                status=403,
            )
        if error_message(response).lower().startswith("branch not protected"):
            return None
        if self.read_branch(repo, branch) is None:
            raise GitHubNotFoundError(client.redact(f"{ref.full_name} has no branch {branch!r}"), status=404)
        return None

    def protect(
        self,
        repo: str,
        branches: Iterable[str] | None = None,
        *,
        check_only: bool = False,
        policy: ProtectionPolicy | None = None,
    ) -> list[str]:
        """Check, and unless ``check_only`` fix, the protection of ``branches``.

        Args:
            branches: The branches; by default those of ``protected`` that
                change only through pull requests (``promote``,
                ``rollback``). Branches that take direct pushes
                (``publish``, ``set-image``) are left out: required reviews
                would refuse those pushes.
            check_only: Only report; change nothing.
            policy: What to require; by default the host's :attr:`policy`.

        Returns:
            The differences found, one line each (``owner/repo prod: ...``);
            empty when every branch is protected at least as the policy asks.
            Without ``check_only`` they have been fixed when this returns.
        """
        policy = policy or self.policy
        ref, client = self._repo(repo)
        report: list[str] = []
        if branches is None:
            branches = sorted(self._protected.change_request_branches())
        for branch in branches:
            current = self.protection(repo, branch)
            differences = policy.differences(current)
            report += [f"{ref.full_name} {branch}: {difference}" for difference in differences]
            if differences and not check_only:
                client.request(
                    "PUT", _repo_path(ref, "branches", _ref(branch), "protection"), json=policy.payload(current)
                )
        return report

    # Helpers

    def _repo(self, repo_url: str) -> tuple[RepoRef, GitHubClient]:
        ref = parse_repo(repo_url)
        return ref, self._api(ref)

    def _api(self, ref: RepoRef) -> GitHubClient:
        return self._clients.get(self.api_url or default_api_url(ref))

    def _check_repo(self, ref: RepoRef, client: GitHubClient) -> None:
        """Raise :class:`RepositoryNotFoundError` when the repository itself answers 404."""
        if client.get(_repo_path(ref), expect=(200, 404)) is None:
            raise RepositoryNotFoundError(
                f"repository {ref.full_name} not found (or the token cannot see it); "
                f"GitHub at {ref.host} answered 404, the token comes from ${client.token_env}",
                status=404,
            )

    @contextlib.contextmanager
    def _not_found(self, ref: RepoRef, client: GitHubClient, what: str) -> Iterator[None]:
        """Turn a 404 into "repository not found" when it is that, else into ``what``."""
        try:
            yield
        except GitHubNotFoundError as exc:
            if isinstance(exc, RepositoryNotFoundError):
                raise
            self._check_repo(ref, client)
            raise GitHubNotFoundError(client.redact(f"{ref.full_name}: {what}"), status=404) from exc

    def _commit(self, ref: RepoRef, client: GitHubClient, rev: str) -> tuple[str, str, tuple[str, ...]]:
        """The SHA, tree and parents of the commit ``rev`` names."""
        with self._not_found(ref, client, f"no branch, tag or commit named {rev!r}"):
            response = client.request("GET", _repo_path(ref, "commits", _ref(rev)), expect=(200, 422))
        if response.status_code == 422:  # "No commit found for SHA: ...", for an ambiguous abbreviation too
            ambiguous = " (or several commits start so: give more digits)" if is_abbreviated_sha(rev) else ""
            raise GitHubNotFoundError(client.redact(f"{ref.full_name}: no commit named {rev!r}{ambiguous}"), status=422)
        data = response.json()
        parents = tuple(str(parent["sha"]) for parent in data.get("parents") or ())
        return str(data["sha"]), str(data["commit"]["tree"]["sha"]), parents

    def _find_pull(self, ref: RepoRef, client: GitHubClient, *, base: str, head: str) -> int | None:
        with self._not_found(ref, client, "cannot list pull requests"):
            for pull in client.paginate(
                _repo_path(ref, "pulls"),
                params={"state": "open", "head": f"{ref.owner}:{head}", "base": base},
                limit=1,
            ):
                return int(pull["number"])
        return None

    def _git_url(self, ref: RepoRef, client: GitHubClient) -> str:
        """The clone URL carrying the token: git pushes with the same token as the API."""
        token = client.token()
        if token is None:
            return ref.git_url
        # Any user name goes with a token; the sources layer redacts URL user info everywhere.
        return f"{ref.scheme}://x-access-token:{quote(token, safe='')}@{ref.host}/{ref.owner}/{ref.name}.git"

    @contextlib.contextmanager
    def _git(self, ref: RepoRef, client: GitHubClient) -> Iterator[None]:
        try:
            yield
        except AuthenticationError as exc:
            token = "no token is set" if client.token() is None else "the token was refused or lacks access"
            raise GitHubAuthenticationError(
                client.redact(
                    f"git over HTTPS to {ref.host}/{ref.full_name} failed (HTTP {exc.status}): {token}; "
                    f"set ${client.token_env} to a token that may {'push to' if exc.status == 403 else 'read'} it"
                ),
                status=exc.status,
                variable=client.token_env,
            ) from None

    def _guard(self, repo: str, branch: str, purpose: str) -> None:
        self._protected.check(branch, purpose, url=redact(repo))


def _repo_path(ref: RepoRef, *parts: str) -> str:
    """``/repos/OWNER/REPO/part/...``; ``parts`` are quoted already."""
    return "/".join([f"/repos/{quote(ref.owner, safe='')}/{quote(ref.name, safe='')}", *parts]).rstrip("/")


@contextlib.contextmanager
def _no_commit(client: GitHubClient, ref: RepoRef, sha: str) -> Iterator[None]:
    """GitHub's 422 "No commit found for SHA" (a SHA of no commit of the repository) as not found."""
    try:
        yield
    except GitHubError as exc:
        if exc.status == 422 and "no commit found" in str(exc).lower():
            raise GitHubNotFoundError(
                client.redact(f"{ref.full_name}: no commit {sha} (GitHub: No commit found for SHA)"), status=422
            ) from None
        raise


def _ref(name: str) -> str:
    """A branch, tag or SHA quoted for a URL path (slashes kept: GitHub takes ``feature/x``)."""
    return quote(name.removeprefix("refs/heads/"), safe="/")


def _file_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or "\0" in path or any(part in ("", ".", "..") for part in parts):
        raise UnsafePathError(f"{path!r} must be a relative path inside the repository (no '..' or '//')")
    return quote(path, safe="/")


def _change(pull: Mapping[str, Any]) -> ChangeRequest:
    mergeable = pull.get("mergeable")
    return ChangeRequest(
        base=str(pull["base"]["ref"]),
        head=str(pull["head"]["ref"]),
        head_sha=str(pull["head"]["sha"]),
        number=int(pull["number"]),
        url=str(pull.get("html_url") or ""),
        mergeable=None if mergeable is None else bool(mergeable),
    )


def _commit_info(item: Mapping[str, Any]) -> CommitInfo:
    commit = item["commit"]
    author = commit.get("author") or {}
    committer = commit.get("committer") or {}
    message = str(commit.get("message") or "")
    _, parsed = parse_trailers(message.encode())
    parents: tuple[str, ...] = tuple(str(parent["sha"]) for parent in item.get("parents") or ())
    trailers: tuple[tuple[str, str], ...] = tuple((trailer.key, trailer.value) for trailer in parsed)
    # mypy's attrs plugin cannot type core's `converter=tuple` fields of an installed package.
    return CommitInfo(
        sha=str(item["sha"]),
        parents=parents,  # type: ignore[arg-type]
        message=message,
        author=f"{author.get('name', '')} <{author.get('email', '')}>",
        time=_timestamp(committer.get("date") or author.get("date")),
        trailers=trailers,  # type: ignore[arg-type]
    )


def _timestamp(value: str | None) -> int:
    if not value:
        return 0
    # Python 3.10's fromisoformat does not take the "Z" GitHub writes.
    return int(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
