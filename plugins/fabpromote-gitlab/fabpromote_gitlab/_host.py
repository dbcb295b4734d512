"""The ``gitlab`` Git host: merge requests, statuses and protection over REST, content over git.

Reads that GitLab answers cheaply go through the REST API v4 (branches,
comparisons, files, first-parent history). Writes of content (commits,
rollbacks) are git pushes with compare-and-swap through
:class:`~fabpromote.git.GitOps`, over HTTPS with the same token (user
name ``oauth2``). Merges are merge requests, merged by GitLab at the head the
caller expects, so GitLab's own rules (pipelines, approvals) apply.

``compare`` asks ``GET /projects/:id/repository/compare`` both ways and counts
the commits listed (``from`` base ``to`` head: ahead; the reverse: behind).
It needs no clone and only ``read_api``; the counts are GitLab's own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import requests
from dulwich.objects import Commit, ObjectID
from dulwich.trailers import parse_trailers

from fabpromote import git
from fabpromote.exceptions import (
    GitHostError,
    RefNotFoundError,
    StaleBranchError,
    UnsafePathError,
)
from fabpromote.git import (
    BranchPolicy,
    ChangeRequest,
    CommitInfo,
    Comparison,
    Credentials,
    GitOps,
    MergeResult,
    Sources,
    is_sha,
    redact,
)
from fabpromote.network import Clock
from fabpromote_gitlab._api import DEFAULT_RETRIES, DEFAULT_TIMEOUT, DEFAULT_TOKEN_ENV, Api, message_of
from fabpromote_gitlab._project import Project, quoted
from fabpromote_gitlab._protection import Policy, protect
from fabpromote_gitlab._statuses import STATES, TO_GITLAB, CommitStatus, commit_found, latest_by_context

if TYPE_CHECKING:
    from dulwich.repo import Repo

__all__ = ["OPTIONS", "SETTINGS", "GitLabHost"]

HOST = "gitlab"
#: The options a cluster file's ``hosts:`` entry may give a gitlab host.
OPTIONS = ("api_url", "squash", "timeout", "retries", "merge_wait")
#: The settings :meth:`GitLabHost.from_settings` takes: core's, then the options.
SETTINGS = ("sources", "protected", "token_env", *OPTIONS)
#: The user name GitLab wants with a token over HTTPS (any works for personal tokens; OAuth tokens need this).
GIT_USERNAME = "oauth2"
ROLLBACK_PREFIX = "fabpromote/rollback"
# GitLab computes mergeability in the background: these mean "ask again shortly".
_CHECKING = frozenset({"unchecked", "checking", "preparing", "approvals_syncing", "cannot_be_merged_recheck"})
_WHY = {
    "conflict": "it conflicts with its target branch",
    "ci_must_pass": "its pipeline must succeed first",
    "ci_still_running": "its pipeline is still running",
    "draft_status": "it is a draft",
    "discussions_not_resolved": "its discussions are not resolved",
    "not_approved": "it is not approved",
    "need_rebase": "its source branch must be rebased first",
    "blocked_status": "it is blocked by another merge request",
    "not_open": "it is not open",
    "requested_changes": "a reviewer requested changes",
    "jira_association_missing": "it has no Jira issue",
    "external_status_checks": "external status checks have not passed",
}
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise GitHostError(f"gitlab setting: {value!r} is not a boolean (true or false)", host=HOST)


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise GitHostError(f"gitlab setting: {value!r} is not a number of seconds", host=HOST) from None
    if not seconds > 0:
        raise GitHostError(f"gitlab setting: a time must be positive, not {value!r}", host=HOST)
    return seconds


def _count(value: object) -> int:
    try:
        count = int(str(value))
    except ValueError:
        raise GitHostError(f"gitlab setting: {value!r} is not a whole number", host=HOST) from None
    if count < 0:
        raise GitHostError(f"gitlab setting: {value!r} must not be negative", host=HOST)
    return count


def _variable(value: str | None) -> str:
    return str(value or DEFAULT_TOKEN_ENV)


def _api_url(value: str | None) -> str | None:
    if not value:
        return None
    url = str(value).rstrip("/")
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1].rsplit(":", 1)[0].strip("[]")
    if scheme == "https" or (scheme == "http" and host in ("127.0.0.1", "localhost", "::1")):
        return url
    raise GitHostError(
        f"gitlab setting api_url {url!r} must be an https:// URL (the token must not travel in clear text)", host=HOST
    )


@attrs.define
class GitLabHost:
    """A :class:`fabpromote.typing.GitHost` for gitlab.com and self-managed GitLab.

    Args:
        sources: The sources whose cache directory git content is mirrored in.
        protected: The :class:`~fabpromote.git.BranchPolicy` (or a mapping of
            branch name -> the purposes it accepts), enforced on this host's writes.
        api_url: The REST API root; default ``https://gitlab.com/api/v4``, or
            ``https://HOST/api/v4`` for a repository on another host.
        token_env: The environment variable holding the token (``GITLAB_TOKEN``).
        squash: Squash the source branch's commits when merging.
        timeout: Seconds to wait for each connection and each answer.
        retries: How many times a failed request (5xx, 429, connection) is tried again.
        merge_wait: Seconds to wait for GitLab to finish checking a merge request's mergeability.
        session: The ``requests.Session`` every request goes through.
        clock: What retries and the mergeability poll wait on (:mod:`time`);
            not a cluster-file setting: tests give a :class:`fabpromote.testing.clock.FakeClock`.
    """

    name: ClassVar[str] = HOST

    _sources: Sources | None = None
    _protected: BranchPolicy = attrs.field(default=None, converter=BranchPolicy)
    api_url: str | None = attrs.field(default=None, converter=_api_url)
    token_env: str = attrs.field(default=DEFAULT_TOKEN_ENV, converter=_variable)
    squash: bool = attrs.field(default=False, converter=_boolean)
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, converter=_seconds)
    retries: int = attrs.field(default=DEFAULT_RETRIES, converter=_count)
    merge_wait: float = attrs.field(default=30.0, converter=_seconds)
    session: requests.Session = attrs.field(factory=requests.Session, repr=False)
    clock: Clock = attrs.field(default=time, kw_only=True, repr=False)
    _apis: dict[str, Api] = attrs.field(init=False, factory=dict, repr=False)
    _git: dict[str, GitOps] = attrs.field(init=False, factory=dict, repr=False)

    @classmethod
    def from_settings(cls, **settings: Any) -> GitLabHost:
        """The host configured by ``settings`` (the factory registered as ``gitlab``).

        Raises:
            GitHostError: A setting is unknown or has a bad value.
        """
        unknown = sorted(set(settings) - set(SETTINGS) - {"session"})
        if unknown:
            raise GitHostError(
                f"unknown gitlab setting(s) {', '.join(unknown)} (known: {', '.join(SETTINGS)})", host=HOST
            )
        return cls(**settings)

    @property
    def protected(self) -> BranchPolicy:
        """The branch policy: branch name -> the purposes it accepts (read-only)."""
        return self._protected

    def api(self, repo: str) -> Api:
        """The REST client for ``repo``'s server (one per API root, sharing :attr:`session`)."""
        base = self.api_url or Project.parse(repo).default_api_url()
        if base not in self._apis:
            self._apis[base] = Api(
                base,
                token_env=self.token_env,
                timeout=self.timeout,
                retries=self.retries,
                session=self.session,
                clock=self.clock,
            )
        return self._apis[base]

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    # Reading

    def read_branch(self, repo: str, branch: str) -> str | None:
        """Where ``branch`` is now (``GET .../repository/branches/:branch``); None when absent."""
        project, api = self._project(repo)
        response = api.request(
            "GET",
            f"projects/{project.id}/repository/branches/{quoted(_short(branch))}",
            allow=(404,),
            project=project.path,
        )
        if response.status_code == 404:
            return None
        return str(api.json(response)["commit"]["id"])

    def compare(self, repo: str, base: str, head: str) -> Comparison:
        """How many commits ``head`` is ahead of and behind ``base`` (two ``compare`` calls)."""
        project, api = self._project(repo)
        return Comparison(ahead=self._ahead(project, api, base, head), behind=self._ahead(project, api, head, base))

    def read_file(self, repo: str, ref: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``ref`` (``GET .../files/:path/raw``); None when no such file.

        Raises:
            GitHostError: ``ref`` names nothing (HTTP 404).
            UnsafePathError: ``path`` is absolute or leaves the repository.
        """
        project, api = self._project(repo)
        response = api.request(
            "GET",
            f"projects/{project.id}/repository/files/{quoted(_file_path(path))}/raw",
            params={"ref": ref},
            allow=(404,),
            project=project.path,
        )
        if response.status_code == 404:
            message = message_of(response)
            if "file" in message.lower():
                return None
            raise GitHostError(
                f"{project.path} has no branch, tag or commit {ref!r} ({message})", host=HOST, status=404
            )
        return response.content

    def log(self, repo: str, branch: str, *, limit: int = 50) -> list[CommitInfo]:
        """The first-parent history of ``branch``, newest first (``GET .../commits``, paginated)."""
        project, api = self._project(repo)
        items = api.pages(
            f"projects/{project.id}/repository/commits",
            params={"ref_name": _short(branch), "first_parent": "true"},
            limit=limit,
            project=project.path,
        )
        try:
            history = [_commit_info(item) for item in items]
        except GitHostError as exc:
            if exc.status != 404:
                raise
            history = []
        if not history and self.read_branch(repo, branch) is None:
            raise GitHostError(f"{project.path} has no branch {_short(branch)!r}", host=HOST, status=404)
        return history

    # Writing content (git)

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
        """Commit ``files`` onto ``branch`` with a compare-and-swap push over HTTPS.

        A new branch (``expected=None``) starts at ``start`` (a commit or branch) or has no parent.

        Raises:
            ProtectedBranchError: ``branch`` does not accept ``purpose``.
            StaleBranchError: ``branch`` is not at ``expected``.
            PushRejectedError: GitLab refused the push (e.g. its own branch protection).
        """
        project, _ = self._project(repo)
        self._guard(project, branch, purpose)
        return self._ops(project).commit_files(
            project.git_url, _short(branch), files, message, expected=expected, replace=replace, start=start
        )

    def resolve_commit(self, repo: str, rev: str) -> str:
        """The full SHA of commit ``rev``: a SHA, 7+ of its first hex digits, a branch or a tag.

        Resolved over git, as :meth:`revert_to` reads its target: the commit
        lands in the mirror the rollback is built in.

        Raises:
            RefNotFoundError: ``rev`` names nothing in the project.
            AmbiguousCommitError: ``rev`` abbreviates several commits' SHAs.
        """
        project, _ = self._project(repo)
        return self._ops(project).resolve_commit(project.git_url, rev)

    def revert_to(self, repo: str, branch: str, target: str, *, expected: str, message: str) -> ChangeRequest | None:
        """Propose restoring ``branch`` to the tree of ``target``: a new branch and a merge request.

        The new branch ``fabpromote/rollback/<branch>/<target>-on-<expected>``
        starts at ``expected`` and adds one commit whose tree is ``target``'s;
        the merge request merges it into ``branch``. Calling again reuses both.

        Returns:
            The merge request; None when ``branch`` already has that tree.

        Raises:
            ProtectedBranchError: ``branch`` does not accept rollbacks.
            StaleBranchError: ``branch`` is not at ``expected``.
        """
        project, _ = self._project(repo)
        branch = _short(branch)
        self._guard(project, branch, "rollback")
        actual = self.read_branch(repo, branch)
        if actual != expected:
            raise StaleBranchError(branch, expected, actual, url=project.shown)
        ops = self._ops(project)
        url = project.git_url
        target_sha = ops.sources.resolve(url, target)
        ops.sources.fetch(url, [expected, target_sha])
        with ops.sources.mirror(url) as mirror:
            if _tree(mirror, target_sha) == _tree(mirror, expected):
                return None
        proposal = f"{ROLLBACK_PREFIX}/{branch}/{target_sha[:12]}-on-{expected[:12]}"
        existing = self.read_branch(repo, proposal)
        if existing is None:
            ops.commit_files(url, proposal, {}, message, expected=None, start=expected)
            existing = expected
        if existing == expected:
            ops.revert_to(url, proposal, target_sha, expected=expected, message=message)
        else:
            self._check_proposal(ops, url, proposal, existing, expected, target_sha)
        title = message.splitlines()[0] if message.strip() else f"Roll back {branch} to {target_sha[:12]}"
        body = (
            f"Restores `{branch}` to the tree of {target_sha} as one new commit on top of {expected} "
            "(history is kept). Opened by fabpromote."
        )
        return self.open_change(repo, base=branch, head=proposal, title=title, body=body)

    # Merge requests

    def open_change(self, repo: str, *, base: str, head: str, title: str, body: str) -> ChangeRequest:
        """The open merge request of ``head`` into ``base``, opened when there is none."""
        project, api = self._project(repo)
        base, head = _short(base), _short(head)
        for branch in (head, base):
            if self.read_branch(repo, branch) is None:
                raise RefNotFoundError(branch, url=redact(repo), branches=[])
        mr = self._find_change(project, api, base, head)
        if mr is None:
            response = api.request(
                "POST",
                f"projects/{project.id}/merge_requests",
                json={
                    "source_branch": head,
                    "target_branch": base,
                    "title": title,
                    "description": body,
                    "remove_source_branch": False,
                },
                allow=(409,),
                project=project.path,
            )
            # 409: another run opened it meanwhile.
            mr = api.json(response) if response.status_code != 409 else self._find_change(project, api, base, head)
            if mr is None:
                raise GitHostError(
                    f"GitLab refused to open a merge request of {head!r} into {base!r} in {project.path}: "
                    f"{message_of(response)}",
                    host=HOST,
                    status=response.status_code,
                )
        head_sha = str(mr.get("sha") or "") or (self.read_branch(repo, head) or "")
        return ChangeRequest(
            base=base,
            head=head,
            head_sha=head_sha,
            number=int(mr["iid"]),
            url=str(mr.get("web_url") or ""),
            mergeable=_mergeable(mr),
        )

    def merge(
        self,
        repo: str,
        change: ChangeRequest,
        *,
        expected_head_sha: str,
        message: str,
        fast_forward: bool = True,  # noqa: ARG002 (the merge method decides; see the docstring)
    ) -> MergeResult:
        """Merge the merge request ``change`` if its source branch is still at ``expected_head_sha``.

        It merges as the project's merge method says, whatever ``fast_forward``
        asks: the merge request's body already records what a merge commit would.

        Returns:
            ``merged`` (with the new head of the target), ``up-to-date`` when
            the target already has every commit, or ``not-mergeable`` (with
            GitLab's reason) when GitLab refuses for now: conflicts, a pipeline
            that must pass, a draft.

        Raises:
            ProtectedBranchError: ``change.base`` does not accept promotions.
            StaleBranchError: The source branch moved (GitLab's 409).
        """
        project, api = self._project(repo)
        self._guard(project, change.base, "promote")
        if change.number <= 0:
            raise GitHostError(
                f"{change.head!r} into {change.base!r} is not a merge request: open it with open_change first",
                host=HOST,
            )
        path = f"projects/{project.id}/merge_requests/{change.number}"
        mr = self._settled(api, project, path)
        if mr.get("state") == "merged":
            return _merged(mr)
        if mr.get("state") != "opened":
            return MergeResult(status="not-mergeable", message=f"merge request !{change.number} is {mr.get('state')}")
        if self._ahead(project, api, change.base, expected_head_sha) == 0:
            return MergeResult(status="up-to-date", sha=self.read_branch(repo, change.base) or "")
        response = api.request(
            "PUT",
            f"{path}/merge",
            json={
                "sha": expected_head_sha,
                "merge_commit_message": message,
                "squash_commit_message": message,
                "squash": self.squash,
                "should_remove_source_branch": False,
            },
            allow=(405, 406, 409, 422),
            project=project.path,
        )
        if response.status_code < 300:
            return _merged(api.json(response))
        if response.status_code == 409:
            actual = self.read_branch(repo, change.head)
            raise StaleBranchError(change.head, expected_head_sha, actual, url=project.shown)
        reason = message_of(response)
        # A merge retried after a lost answer finds its own work done.
        mr = api.get(path, project=project.path)
        if mr.get("state") == "merged":
            return _merged(mr)
        return MergeResult(status="not-mergeable", message=_why(change.number, mr, reason))

    # Statuses

    def set_status(
        self,
        repo: str,
        sha: str,
        context: str,
        state: str,
        description: str = "",
        *,
        target_url: str = "",
        ref: str = "",
    ) -> CommitStatus:
        """Set the status ``context`` of commit ``sha`` (``POST /projects/:id/statuses/:sha``).

        Setting a status to the state it has already is not an error.

        Args:
            sha: The commit (a branch name is read to its commit first).
            context: The status's name, e.g. ``fabpromote/guard``.
            state: One of :data:`~fabpromote_gitlab._statuses.STATES`.
        """
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        project, api = self._project(repo)
        commit = self._commit(repo, project, sha)
        payload = {"state": state, "name": context, "description": description}
        if target_url:
            payload["target_url"] = target_url
        if ref:
            payload["ref"] = ref
        response = api.request(
            "POST", f"projects/{project.id}/statuses/{commit}", json=payload, allow=(400,), project=project.path
        )
        if response.status_code < 300:
            return CommitStatus.from_api(api.json(response))
        reason = message_of(response)
        if "cannot transition status" in reason.lower():
            for status in self.get_statuses(repo, commit):
                if status.context == context and status.state == state:
                    return status
        raise GitHostError(
            f"GitLab refused status {context!r}={state!r} on {commit[:12]} in {project.path} (HTTP 400): {reason}",
            host=HOST,
            status=400,
        )

    def commit_statuses(self, repo_url: str, sha: str) -> list[git.CommitStatus]:
        """The latest status of each context of commit ``sha``, sorted by context, states mapped
        (see :data:`~fabpromote_gitlab._statuses.FROM_GITLAB`).

        Raises:
            CommitNotFoundError: The project has no commit ``sha``.
        """
        _check_sha(sha)
        with commit_found(self._project(repo_url)[0].path, sha):
            return latest_by_context(self.get_statuses(repo_url, sha))

    def set_commit_status(self, repo_url: str, sha: str, status: git.CommitStatus) -> None:
        """Set ``status`` on commit ``sha`` (``POST /projects/:id/statuses/:sha``); GitLab dates it.

        ``failure`` is GitLab's ``failed`` and ``error`` its ``canceled``.

        Raises:
            CommitNotFoundError: The project has no commit ``sha``.
        """
        _check_sha(sha)
        with commit_found(self._project(repo_url)[0].path, sha):
            self.set_status(
                repo_url,
                sha,
                status.context,
                TO_GITLAB[status.state],
                status.description,
                target_url=status.target_url,
            )

    def get_statuses(self, repo: str, ref: str) -> list[CommitStatus]:
        """The latest status of each context on commit ``ref`` (a SHA, or a branch read to its commit)."""
        project, api = self._project(repo)
        commit = self._commit(repo, project, ref)
        items = api.pages(f"projects/{project.id}/repository/commits/{commit}/statuses", project=project.path)
        return [CommitStatus.from_api(item) for item in items]

    # Protection

    def protect(
        self,
        repo: str,
        branches: Iterable[str],
        *,
        check_only: bool = False,
        push_access_level: int = 0,
        merge_access_level: int = 30,
    ) -> list[str]:
        """Protect ``branches`` as fabpromote wants, or with ``check_only`` report how they differ.

        Wanted: nobody pushes, developers merge, no force push, and the project
        merges only merge requests whose pipeline succeeded (so the
        ``fabpromote/guard`` job must pass).

        Returns:
            The differences found, one line each (fixed, unless ``check_only``).
        """
        project, api = self._project(repo)
        policy = Policy(push_access_level=push_access_level, merge_access_level=merge_access_level)
        return protect(api, project, branches, check_only=check_only, policy=policy)

    # Helpers

    def _project(self, repo: str) -> tuple[Project, Api]:
        return Project.parse(repo), self.api(repo)

    def _guard(self, project: Project, branch: str, purpose: str) -> None:
        self._protected.check(_short(branch), purpose, url=project.shown)

    def _ops(self, project: Project) -> GitOps:
        """Git over HTTPS to ``project``'s host, with this host's token as user ``oauth2``."""
        if project.host not in self._git:
            credentials = Credentials({project.host: self.token_env}, usernames={project.host: GIT_USERNAME})
            # The same cache as the caller's sources: mirrors are locked per remote, across processes.
            cache = self._sources.cache if self._sources is not None else None
            sources = Sources(credentials=credentials, cache=cache) if cache else Sources(credentials=credentials)
            self._git[project.host] = GitOps(sources)
        return self._git[project.host]

    def _ahead(self, project: Project, api: Api, base: str, head: str) -> int:
        """How many commits ``head`` has that ``base`` lacks."""
        response = api.request(
            "GET",
            f"projects/{project.id}/repository/compare",
            params={"from": base, "to": head, "straight": "false"},
            allow=(404,),
            project=project.path,
        )
        if response.status_code == 404:
            raise GitHostError(
                f"cannot compare {base!r} with {head!r} in {project.path}: {message_of(response)}",
                host=HOST,
                status=404,
            )
        return len(api.json(response).get("commits") or [])

    def _commit(self, repo: str, project: Project, ref: str) -> str:
        if is_sha(ref):
            return ref.lower()
        sha = self.read_branch(repo, ref)
        if sha is None:
            raise GitHostError(f"{project.path} has no branch {_short(ref)!r}", host=HOST, status=404)
        return sha

    def _find_change(self, project: Project, api: Api, base: str, head: str) -> dict[str, Any] | None:
        found = api.pages(
            f"projects/{project.id}/merge_requests",
            params={"state": "opened", "source_branch": head, "target_branch": base},
            limit=1,
            project=project.path,
        )
        return next(iter(found), None)

    def _settled(self, api: Api, project: Project, path: str) -> dict[str, Any]:
        """The merge request, once GitLab has finished checking whether it can be merged."""
        deadline = self.clock.monotonic() + self.merge_wait
        interval = 0.25
        while True:
            mr: dict[str, Any] = api.get(path, project=project.path)
            checking = mr.get("detailed_merge_status") in _CHECKING or mr.get("merge_status") in _CHECKING
            if mr.get("state") != "opened" or not checking or self.clock.monotonic() + interval > deadline:
                return mr
            self.clock.sleep(interval)
            interval = min(interval * 2, 2.0)

    def _check_proposal(self, ops: GitOps, url: str, proposal: str, sha: str, expected: str, target: str) -> None:
        """A rollback branch left by an earlier run must be exactly the proposal wanted."""
        ops.sources.fetch(url, [sha, target])
        with ops.sources.mirror(url) as mirror:
            commit = mirror[ObjectID(sha.encode())]
            if (
                isinstance(commit, Commit)
                and [parent.decode() for parent in commit.parents] == [expected]
                and commit.tree == _tree(mirror, target)
            ):
                return
        raise GitHostError(
            f"branch {proposal!r} of {url} exists and is not the rollback proposed: delete it and try again",
            host=HOST,
        )


def _short(branch: str) -> str:
    return branch.removeprefix("refs/heads/")


def _file_path(path: str) -> str:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or "\0" in path or any(part in ("", ".", "..") for part in path.split("/")):
        raise UnsafePathError(f"{path!r} must be a relative path inside the repository")
    return path


def _tree(repo: Repo, sha: str) -> bytes:
    commit = repo[ObjectID(sha.encode())]
    if not isinstance(commit, Commit):
        raise GitHostError(f"{sha} is not a commit", host=HOST)
    return bytes(commit.tree)


def _commit_info(item: Mapping[str, Any]) -> CommitInfo:
    message = str(item.get("message") or "")
    _, trailers = parse_trailers(message.encode())
    # The ignores: attrs' mypy plugin mistypes fields with converter=tuple (core does the same).
    return CommitInfo(
        sha=str(item["id"]),
        parents=tuple(str(parent) for parent in item.get("parent_ids") or ()),  # type: ignore[misc]
        message=message,
        author=f"{item.get('author_name', '')} <{item.get('author_email', '')}>",
        time=_epoch(str(item.get("committed_date") or item.get("created_at") or "")),
        trailers=tuple((trailer.key, trailer.value) for trailer in trailers),  # type: ignore[misc]
    )


def _epoch(text: str) -> int:
    """Seconds since the epoch of an ISO 8601 time as GitLab writes it (``...Z`` or ``+02:00``)."""
    if not text:
        return 0
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _mergeable(mr: Mapping[str, Any]) -> bool | None:
    detailed = mr.get("detailed_merge_status")
    if detailed:
        if detailed in _CHECKING:
            return None
        return bool(detailed == "mergeable")
    status = mr.get("merge_status")
    if status == "can_be_merged":
        return True
    if status == "cannot_be_merged":
        return False
    return None


def _merged(mr: Mapping[str, Any]) -> MergeResult:
    if mr.get("merge_commit_sha"):
        return MergeResult(status="merged", sha=str(mr["merge_commit_sha"]))
    if mr.get("squash_commit_sha"):
        return MergeResult(status="merged", sha=str(mr["squash_commit_sha"]))
    # Fast-forward merge method: the target now points at the source's head itself.
    return MergeResult(status="merged", sha=str(mr.get("sha") or ""), fast_forward=True)


def _why(number: int, mr: Mapping[str, Any], reason: str) -> str:
    detailed = str(mr.get("detailed_merge_status") or mr.get("merge_status") or "")
    why = _WHY.get(detailed, detailed.replace("_", " ") or "GitLab does not say why")
    return f"GitLab will not merge !{number} now: {why} ({reason})"


def _check_sha(sha: str) -> None:
    if not is_sha(sha):
        raise GitHostError(f"commit statuses are for a full 40-hex commit SHA, not {sha!r}", host=HOST)
