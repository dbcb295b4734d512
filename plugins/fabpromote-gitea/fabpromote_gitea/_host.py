"""The ``gitea`` Git host (Gitea and Forgejo): pull requests, merges, statuses and protection over REST.

Content goes over git, as with any remote: branches, comparisons, files,
history and the commits fabpromote writes are read and pushed (with
compare-and-swap) through :class:`fabpromote.git.LocalHost`, over HTTPS with
the API's token as the password. Git answers those questions exactly
(first-parent history, trailers) on every Gitea and Forgejo version alike.
What only the server knows goes through its REST API (``/api/v1``): pull
requests, their merge at the head the caller expects (``head_commit_id``),
commit statuses and branch protection rules.

The protection the server enforces is enforced by the host too, on its own
writes, from the :class:`~fabpromote.git.BranchPolicy` it is built with: a
write whose purpose a branch does not accept raises
:class:`~fabpromote.exceptions.ProtectedBranchError` before anything is sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import attrs

from fabpromote.exceptions import RefNotFoundError, StaleBranchError
from fabpromote.git import (
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    CommitStatus,
    Comparison,
    GitOps,
    LocalHost,
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
from fabpromote_gitea import _settings as convert
from fabpromote_gitea._client import (
    CHECKS,
    DEFAULT_TOKEN_ENV,
    MESSAGE_LENGTH,
    GiteaClient,
    message,
    token_env,
)
from fabpromote_gitea._errors import GiteaError, GiteaNotFoundError, GiteaSettingsError, RepositoryNotFoundError
from fabpromote_gitea._protection import ProtectionPolicy
from fabpromote_gitea._settings import MERGE_METHODS, OPTIONS
from fabpromote_gitea._statuses import from_gitea, to_gitea
from fabpromote_gitea._urls import RepoRef, parse_repo

__all__ = ["MERGE_METHODS", "OPTIONS", "ROLLBACK_PREFIX", "GiteaHost"]

#: Gitea's 405 answer for a pull request it found conflicts in (or is still checking).
NOT_MERGEABLE = "Please try again later"
_REASON = re.compile(r"not allowed to merge \[reason: (.*)\]")
#: Statuses per page of a combined status (Gitea's default MAX_RESPONSE_ITEMS), and at most this many pages.
PAGE, MAX_PAGES = 50, 100
#: Rollback branches are named ``fabpromote/rollback-<branch>-<target sha, 12 digits>``.
ROLLBACK_PREFIX = "fabpromote/rollback-"


@attrs.define
class GiteaHost:
    """A :class:`fabpromote.typing.GitHost` for Gitea and Forgejo servers.

    Args:
        sources: The mirrors and cache git content goes through.
        protected: The branch policy (branch name -> the purposes it accepts).
        kind: ``gitea`` or ``forgejo``: the name the host is registered under.
        api_url: The REST API base; by default ``<web root>/api/v1`` of each repository's URL.
        token_env: The environment variable holding the token (``GITEA_TOKEN``).
        merge_method: Gitea's merge style for pull requests (``merge`` by default).
        timeout, max_retries, backoff, max_wait: How requests wait and are retried.
        policy: The branch protection :meth:`protect` sets up and checks.
        clock: What retries wait on; tests give a fake clock.
    """

    _sources: Sources = attrs.field(default=None, converter=sources_setting)
    _protected: BranchPolicy = attrs.field(default=None, converter=convert.branch_policy)
    kind: str = attrs.field(default="gitea", kw_only=True)
    api_url: str | None = attrs.field(default=None, converter=convert.optional_api_url, kw_only=True)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=token_env, kw_only=True)
    merge_method: str = attrs.field(default="merge", converter=convert.merge_method, kw_only=True)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, converter=convert.timeout, kw_only=True)
    max_retries: int = attrs.field(default=DEFAULT_MAX_RETRIES, converter=convert.max_retries, kw_only=True)
    backoff: float = attrs.field(default=DEFAULT_BACKOFF, converter=convert.backoff, kw_only=True)
    max_wait: float = attrs.field(default=DEFAULT_MAX_WAIT, converter=convert.max_wait, kw_only=True)
    policy: ProtectionPolicy = attrs.field(factory=ProtectionPolicy, kw_only=True)
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    _clients: ClientsByApi[GiteaClient] = attrs.field(init=False, repr=False)
    _git: LocalHost = attrs.field(init=False, repr=False)
    _ops: GitOps = attrs.field(init=False, repr=False)

    @_git.default
    def _make_git(self) -> LocalHost:
        return LocalHost(sources=self._sources, protected=self._protected, token_env=self.token_env)

    @_clients.default
    def _make_clients(self) -> ClientsByApi[GiteaClient]:
        return ClientsByApi(lambda api_url: GiteaClient(api_url, **client_settings(self), kind=self.kind))

    @_ops.default
    def _make_ops(self) -> GitOps:
        return GitOps(self._sources)

    @classmethod
    def from_settings(cls, kind: str = "gitea", **settings: Any) -> GiteaHost:
        """Build the host from settings as a cluster file gives them (strings are converted).

        Raises:
            GiteaSettingsError: A bad value.
        """
        policy = CHECKS.take(
            settings, renamed={"required_contexts": "contexts"}, counts=("required_approvals",), booleans=("strict",)
        )
        return cls(kind=kind, policy=ProtectionPolicy(**policy), **settings)

    @property
    def name(self) -> str:
        """``gitea`` or ``forgejo``."""
        return self.kind

    @property
    def protected(self) -> BranchPolicy:
        """The branch policy: branch name -> the purposes it accepts (read-only)."""
        return self._protected

    def client(self, repo_url: str) -> GiteaClient:
        """The REST client of ``repo_url``'s server."""
        return self._repo(repo_url)[1]

    # Content, over git

    def read_branch(self, repo_url: str, branch: str) -> str | None:
        """Where ``branch`` is now; None when it does not exist."""
        return self._git.read_branch(repo_url, branch)

    def compare(self, repo_url: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` has that ``base`` lacks (ahead), and the reverse (behind)."""
        return self._git.compare(repo_url, base, head)

    def read_file(self, repo_url: str, ref: str, path: str) -> bytes | None:
        """File ``path`` at ``ref``; None when it is not a file there."""
        return self._git.read_file(repo_url, ref, path)

    def log(self, repo_url: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """First-parent history of ``branch``, newest first, with trailers."""
        return self._git.log(repo_url, branch, limit=limit)

    def resolve_commit(self, repo_url: str, rev: str) -> str:
        """The full SHA of commit ``rev`` (a SHA, 7+ of its hex digits, a branch or a tag)."""
        return self._git.resolve_commit(repo_url, rev)

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
        """Commit ``files`` onto ``branch`` with a compare-and-swap push (see :class:`fabpromote.typing.GitHost`)."""
        return self._git.commit_files(
            repo_url, branch, files, message, expected=expected, replace=replace, purpose=purpose, start=start
        )

    # Pull requests

    def open_change(self, repo_url: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """The open pull request from ``head`` into ``base``: found, or opened.

        A head already in base has nothing to propose: the change then has
        ``number`` 0 and :meth:`merge` answers ``up-to-date``.

        Raises:
            RefNotFoundError: ``base`` or ``head`` does not exist.
        """
        ref, client = self._repo(repo_url)
        head_sha, base_sha = self._tip(repo_url, head), self._tip(repo_url, base)
        if self._git.compare(repo_url, base_sha, head_sha).ahead == 0:
            return ChangeRequest(base=base, head=head, head_sha=head_sha, mergeable=True)
        pull = self._find_pull(ref, client, base=base, head=head)
        if pull is None:
            response = client.request(
                "POST",
                _path(ref, "pulls"),
                json={"base": base, "head": head, "title": title, "body": body},
                expect=(201, 409),
            )
            # 409: opened meanwhile by another run; take that one.
            pull = (
                response.json() if response.status_code == 201 else self._find_pull(ref, client, base=base, head=head)
            )
            if pull is None:
                raise GiteaError(client.redact(f"{ref.full_name}: {message(response)}"), status=409, host=self.kind)
        return self._change(repo_url, pull, base_sha)

    def merge(
        self,
        repo_url: str,
        change: ChangeRequest,
        *,
        expected_head_sha: str,
        message: str,
        fast_forward: bool = True,  # noqa: ARG002 (the merge method decides; see the docstring)
    ) -> MergeResult:
        """Merge ``change`` at ``expected_head_sha`` (Gitea's ``head_commit_id``), purpose ``promote``.

        It merges as ``merge_method`` says, whatever ``fast_forward`` asks:
        the pull request's body already records what a merge commit would.

        Raises:
            ProtectedBranchError: ``change.base`` does not accept promotions.
            StaleBranchError: The head is not at ``expected_head_sha``, or the base moved while merging.
        """
        self._protected.check(change.base, "promote", url=redact(repo_url))
        if not change.number:
            current = self.read_branch(repo_url, change.head)
            if current != expected_head_sha:
                raise StaleBranchError(change.head, expected_head_sha, current, url=redact(repo_url))
            if self.compare(repo_url, change.base, expected_head_sha).ahead == 0:
                return MergeResult(status="up-to-date")
            change = self.open_change(repo_url, base=change.base, head=change.head, title=message, body="")
        ref, client = self._repo(repo_url)
        base_sha = self.read_branch(repo_url, change.base)
        title, _, rest = message.strip().partition("\n")
        response = client.request(
            "POST",
            _path(ref, "pulls", str(change.number), "merge"),
            json={
                "Do": self.merge_method,
                "head_commit_id": expected_head_sha,
                # Gitea's newer description spells these in snake case; older Gitea and Forgejo read the first.
                "MergeTitleField": title,
                "MergeMessageField": rest.strip(),
                "merge_title_field": title,
                "merge_message_field": rest.strip(),
            },
            expect=(200, 404, 405, 409),  # 404: closed (or gone) meanwhile
        )
        pull = client.get(_path(ref, "pulls", str(change.number)))
        if response.status_code == 200 or (pull.get("merged") and pull["head"]["sha"] == expected_head_sha):
            # A retried request whose first try went through is merged too.
            sha = str(pull.get("merge_commit_sha") or "")
            return MergeResult(status="merged", sha=sha, fast_forward=sha == expected_head_sha)
        shown = f"pull request #{change.number}"
        if pull.get("merged"):
            return MergeResult(status="not-mergeable", message=f"{shown} was merged at {pull['head']['sha']} meanwhile")
        if pull.get("state") == "closed":
            return MergeResult(status="not-mergeable", message=f"{shown} was closed without merging")
        reason = _merge_refusal(response)
        if reason == NOT_MERGEABLE:
            # Gitea says so of conflicts it found, and while it is still looking for them.
            conflicts = self._ops.conflicts(self._git_url(repo_url), base_sha or change.base, expected_head_sha)
            reason = f"conflicts in {', '.join(conflicts)}" if conflicts else "Gitea is still checking it; try again"
        if reason == "head out of date":
            actual = self.read_branch(repo_url, change.head)
            raise StaleBranchError(change.head, expected_head_sha, actual, url=redact(repo_url))
        if reason == "merge push out of date":
            actual = self.read_branch(repo_url, change.base)
            raise StaleBranchError(change.base, base_sha, actual, url=redact(repo_url))
        return MergeResult(status="not-mergeable", message=client.redact(f"{shown}: {reason}"))

    def revert_to(
        self, repo_url: str, branch: str, target: str, *, expected: str, message: str
    ) -> ChangeRequest | None:
        """Propose restoring ``branch`` to the tree of ``target``: a rollback pull request.

        Pushes ``fabpromote/rollback-<branch>-<target sha, 12>`` holding one
        commit on top of ``expected`` whose tree is ``target``'s, and opens
        (or finds) its pull request into ``branch``. None when ``branch``
        already has that tree.

        Raises:
            ProtectedBranchError: ``branch`` does not accept rollbacks.
            StaleBranchError: ``branch`` is not at ``expected``.
        """
        self._protected.check(branch, "rollback", url=redact(repo_url))
        current = self.read_branch(repo_url, branch)
        if current != expected:
            raise StaleBranchError(branch, expected, current, url=redact(repo_url))
        target_sha = self.resolve_commit(repo_url, target)
        rollback = f"{ROLLBACK_PREFIX}{branch}-{target_sha[:12]}"
        url = self._git_url(repo_url)
        existing = self.read_branch(repo_url, rollback)
        if existing is not None and not self._is_rollback(url, existing, expected):
            # A rollback branch of an earlier attempt, made on another head: start again from expected.
            self._delete_branch(repo_url, rollback)
            existing = None
        if existing is None:
            self._ops.commit_files(url, rollback, {}, message, expected=None, start=expected)
            if self._ops.revert_to(url, rollback, target_sha, expected=expected, message=message) is None:
                self._delete_branch(repo_url, rollback)
                return None  # branch already has the target's tree
        title = message.strip().partition("\n")[0]
        body = (
            f"Restores `{branch}` to the tree of {target_sha} (it is at {expected}).\n\n"
            "Opened by `fabpromote rollback`: history is kept, the rollback is a new commit."
        )
        return self.open_change(repo_url, base=branch, head=rollback, title=title, body=body)

    # Commit statuses

    def commit_statuses(self, repo_url: str, sha: str) -> list[CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context.

        Raises:
            GiteaNotFoundError: The repository has no commit ``sha``.
        """
        ref, client = self._commit_of(repo_url, sha)
        statuses = []
        for page in range(1, MAX_PAGES + 1):
            response = client.request("GET", _path(ref, "commits", sha, "status"), params={"page": page, "limit": PAGE})
            # Gitea before 1.21 answers a commit without statuses with an empty body; later ones with zero fields.
            items = (response.json() if response.content else {}).get("statuses") or []
            statuses += [from_gitea(item) for item in items]
            if len(items) < PAGE:
                break
        latest = {status.context: status for status in statuses}
        return sorted(latest.values(), key=lambda status: status.context)

    def set_commit_status(self, repo_url: str, sha: str, status: CommitStatus) -> None:
        """Set ``status`` on commit ``sha`` (``POST /repos/{owner}/{repo}/statuses/{sha}``); Gitea dates it.

        Raises:
            GiteaNotFoundError: The repository has no commit ``sha``.
        """
        ref, client = self._commit_of(repo_url, sha)
        client.request("POST", _path(ref, "statuses", sha), json=to_gitea(status), expect=(200, 201))

    # Branch protection

    def protection(self, repo_url: str, branch: str) -> dict[str, Any] | None:
        """Gitea's protection rule of ``branch``, or None when there is none."""
        ref, client = self._repo(repo_url)
        path = _path(ref, "branch_protections", quote(branch, safe=""))
        response = client.request("GET", path, expect=(200, 403, 404))
        if response.status_code == 403:
            raise GiteaError(
                client.redact(
                    f"{ref.full_name}: cannot read the protection rule of {branch!r} (HTTP 403: {message(response)}); "
                    f"it needs the token of a repository administrator in ${client.token_env}"
                ),
                status=403,
                host=self.kind,
            )
        if response.status_code == 404:
            self._check_repo(ref, client)
            return None
        rule: dict[str, Any] = response.json()
        return rule

    def protect(self, repo_url: str, branches: Iterable[str] | None = None, *, check_only: bool = False) -> list[str]:
        """Check, and unless ``check_only`` fix, the protection rules of ``branches``.

        Args:
            branches: By default those of ``protected`` that change only
                through pull requests (``promote``, ``rollback``).

        Returns:
            The differences found, one line each (``owner/repo prod: ...``).
        """
        ref, client = self._repo(repo_url)
        report: list[str] = []
        for branch in sorted(self._protected.change_request_branches()) if branches is None else branches:
            current = self.protection(repo_url, branch)
            differences = self.policy.differences(current)
            report += [f"{ref.full_name} {branch}: {difference}" for difference in differences]
            if not differences or check_only:
                continue
            if current is None:
                body = {"rule_name": branch, "branch_name": branch, **self.policy.payload(None)}
                client.request("POST", _path(ref, "branch_protections"), json=body, expect=(201,))
            else:
                path = _path(ref, "branch_protections", quote(str(current.get("rule_name") or branch), safe=""))
                client.request("PATCH", path, json=self.policy.payload(current))
        return report

    # Helpers

    def _repo(self, repo_url: str) -> tuple[RepoRef, GiteaClient]:
        ref = parse_repo(repo_url)
        return ref, self._clients.get(self.api_url or ref.api_url)

    def _check_repo(self, ref: RepoRef, client: GiteaClient) -> None:
        if client.request("GET", _path(ref), expect=(200, 404)).status_code == 404:
            raise RepositoryNotFoundError(
                f"repository {ref.full_name} not found on {ref.web}"
                f" (or the token in ${client.token_env} cannot see it)",
                status=404,
                host=self.kind,
            )

    def _commit_of(self, repo_url: str, sha: str) -> tuple[RepoRef, GiteaClient]:
        """The repository's client, once commit ``sha`` is known to exist in it."""
        if not is_sha(sha):
            raise GiteaSettingsError(f"commit statuses need a full 40-hex commit SHA, not {sha!r}", host=self.kind)
        ref, client = self._repo(repo_url)
        path = _path(ref, "git", "commits", sha)
        answer = client.request("GET", path, params={"stat": "false", "files": "false"}, expect=(200, 404, 422))
        if answer.status_code != 200:
            self._check_repo(ref, client)
            raise GiteaNotFoundError(f"{ref.full_name} has no commit {sha}", status=answer.status_code, host=self.kind)
        return ref, client

    def _delete_branch(self, repo_url: str, branch: str) -> None:
        ref, client = self._repo(repo_url)
        client.request("DELETE", _path(ref, "branches", quote(branch, safe="/")), expect=(204, 404))

    def _tip(self, repo_url: str, branch: str) -> str:
        sha = self.read_branch(repo_url, branch)
        if sha is None:
            raise RefNotFoundError(branch, url=redact(repo_url), branches=[])
        return sha

    def _find_pull(self, ref: RepoRef, client: GiteaClient, *, base: str, head: str) -> dict[str, Any] | None:
        for pull in client.paginate(_path(ref, "pulls"), params={"state": "open"}):
            same_repo = (pull["head"].get("repo") or {}).get(
                "full_name", ref.full_name
            ).lower() == ref.full_name.lower()
            if pull["base"]["ref"] == base and pull["head"]["ref"] == head and same_repo:
                return dict(pull)
        return None

    def _change(self, repo_url: str, pull: Mapping[str, Any], base_sha: str) -> ChangeRequest:
        head_sha = str(pull["head"]["sha"])
        mergeable: bool | None = True
        if not pull.get("mergeable"):
            # Gitea also says false while it is still checking: ask git whether it conflicts.
            conflicts = self._ops.conflicts(self._git_url(repo_url), base_sha, head_sha)
            mergeable = False if conflicts else None
        return ChangeRequest(
            base=str(pull["base"]["ref"]),
            head=str(pull["head"]["ref"]),
            head_sha=head_sha,
            number=int(pull["number"]),
            url=str(pull.get("html_url") or ""),
            mergeable=mergeable,
        )

    def _git_url(self, repo_url: str) -> str:
        """``repo_url``, its token variable made known to the sources for it alone (as LocalHost does)."""
        self._sources.credentials.assign(repo_url, self.token_env)
        return repo_url

    def _is_rollback(self, url: str, sha: str, expected: str) -> bool:
        """Whether the rollback branch at ``sha`` is one commit on ``expected`` (its name gives the target)."""
        info = self._ops.log(url, sha, limit=1)
        return bool(info) and info[0].parents == (expected,)


def _path(ref: RepoRef, *parts: str) -> str:
    """``/repos/OWNER/REPO/part/...``; ``parts`` are quoted already."""
    return "/".join([f"/repos/{quote(ref.owner, safe='')}/{quote(ref.name, safe='')}", *parts]).rstrip("/")


def _merge_refusal(response: Any) -> str:
    """Why Gitea did not merge, in its words: the reason of a protection rule, or what git said of conflicts."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and "Style" in data:
        # ErrMergeConflicts and its kin, serialized whole (409): git's own output.
        said = " ".join(str(data.get("StdErr") or data.get("StdOut") or "").split())
        return f"git could not {data['Style']}: {said}"[:MESSAGE_LENGTH] if said else "merge conflicts"
    text = message(response)
    found = _REASON.fullmatch(text)
    return found.group(1) if found else text
