"""What the fake Azure DevOps keeps: repositories, pull requests, statuses, reviewers' votes, branch policies.

Each handler takes the route's parts and ``query``/``body`` and returns
``(status, JSON)``, as Azure DevOps answers (lists as ``{"count", "value"}``),
or raises :class:`ApiError`: with Azure's TF code and message where we know
them (TF401019, TF401175, TF401179, TF401180, TF401398, TF402455), in the
fake's own words otherwise (a stale ``lastMergeSourceCommit``, among others).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
from fake_azure_common import ApiError, listing, now
from fake_azure_git import PRE_RECEIVE, commit_json_fields, git, merge, merge_tree, rev
from fake_azure_policies import Policies

__all__ = ["State"]

ZERO = "0" * 40


@attrs.define
class Repo:
    project: str
    name: str
    path: Path
    id: str
    project_id: str


@attrs.define
class Pull:
    id: int
    repo: Repo
    title: str
    description: str
    source: str
    target: str
    created: str
    status: str = "active"
    source_sha: str = ""
    target_sha: str = ""
    merge_commit: str | None = None
    closed: str | None = None
    completion_options: dict[str, Any] | None = None
    queued: str | None = None
    votes: dict[str, int] = attrs.Factory(dict)
    statuses: list[dict[str, Any]] = attrs.Factory(list)


@attrs.define
class State(Policies):
    """The organization's data; every handler runs under :attr:`lock`."""

    base_dir: Path
    org: str
    web: Callable[[], str]
    lock: threading.RLock = attrs.Factory(threading.RLock)
    repos: dict[tuple[str, str], Repo] = attrs.Factory(dict)
    pulls: list[Pull] = attrs.Factory(list)
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = attrs.Factory(dict)
    policies: dict[int, dict[str, Any]] = attrs.Factory(dict)
    user: dict[str, Any] = attrs.Factory(
        lambda: {"id": str(uuid.uuid4()), "displayName": "fabpromote bot", "uniqueName": "bot@contoso.invalid"}
    )
    _ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))

    # Server-side set-up

    def create_repo(
        self, project: str, name: str, files: dict[str, str] | None = None, *, branches: tuple[str, ...] = ()
    ) -> Repo:
        """A repository with one commit of ``files`` on master (none: empty), and ``branches`` at it."""
        path = self.base_dir / self.org / project / "_git" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        git(path.parent, "init", "-q", "--bare", "--initial-branch=master", name)
        hook = path / "hooks" / "pre-receive"
        hook.write_text(PRE_RECEIVE)
        hook.chmod(0o755)
        project_id = next((r.project_id for r in self.repos.values() if r.project == project), str(uuid.uuid4()))
        repo = self.repos[(project.lower(), name.lower())] = Repo(project, name, path, str(uuid.uuid4()), project_id)
        if files:
            blobs = []
            for file, content in files.items():
                blob = git(path, "hash-object", "-w", "--stdin", input=content.encode())
                blobs.append(f"100644 blob {blob}\t{file}")
            tree = _tree(path, blobs)
            sha = git(path, "commit-tree", tree, "-m", "initial")
            for branch in ("master", *branches):
                git(path, "update-ref", f"refs/heads/{branch}", sha)
        return repo

    def commit(self, project: str, name: str, branch: str, files: dict[str, str], message: str) -> str:
        """Commit ``files`` onto ``branch`` server-side, as someone else's push; the new commit."""
        repo = self._repo(project, name)
        parent = rev(repo.path, f"refs/heads/{branch}")
        assert parent is not None, f"no branch {branch}"
        entries = []
        for line in git(repo.path, "ls-tree", "-r", parent).splitlines():
            meta, file = line.split("\t", 1)
            if file not in files:
                entries.append(f"{meta}\t{file}")
        for file, content in files.items():
            entries.append(
                f"100644 blob {git(repo.path, 'hash-object', '-w', '--stdin', input=content.encode())}\t{file}"
            )
        sha = git(repo.path, "commit-tree", _tree(repo.path, entries), "-p", parent, "-m", message)
        git(repo.path, "update-ref", f"refs/heads/{branch}", sha, parent)
        return sha

    def approve(self, pull_id: int, reviewer: str = "reviewer-1") -> None:
        """A reviewer other than the author approves (vote 10)."""
        self._pull(pull_id).votes[reviewer] = 10

    def pull(self, pull_id: int) -> Pull:
        return self._pull(pull_id)

    # Repositories and commits

    def get_repository(self, *, query: Any, body: Any, org: str, project: str, repo: str) -> tuple[int, Any]:
        return 200, self._repo_json(self._repo(project, repo))

    def get_commit(self, *, query: Any, body: Any, org: str, project: str, repo: str, sha: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        full = self._commit(found, sha)
        data = {**commit_json_fields(found.path, full), "url": f"{self._api(found)}/commits/{full}"}
        data["remoteUrl"] = f"{self._web(found)}/commit/{full}"
        return 200, data

    def list_statuses(self, *, query: Any, body: Any, org: str, project: str, repo: str, sha: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        full = self._commit(found, sha)
        items = list(reversed(self.statuses.get((found.id, full), [])))  # newest first, as Azure lists them
        if query.get("latestOnly", "").lower() == "true":
            newest: dict[tuple[str, str], dict[str, Any]] = {}
            for status in items:
                newest.setdefault((status["context"].get("genre", ""), status["context"]["name"]), status)
            items = list(newest.values())
        skip, top = int(query.get("skip", 0)), int(query.get("top", 1000))
        return 200, listing(items[skip : skip + top])

    def create_status(self, *, query: Any, body: Any, org: str, project: str, repo: str, sha: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        full = self._commit(found, sha)
        if not (body.get("context") or {}).get("name"):
            raise ApiError(400, "The status context name must be provided.")
        if body.get("state") not in ("pending", "succeeded", "failed", "error", "notApplicable", "notSet"):
            raise ApiError(400, f"Invalid status state {body.get('state')!r}.")
        kept = self.statuses.setdefault((found.id, full), [])
        status = self._status_json(body, len(kept) + 1)
        kept.append(status)
        return 201, status

    def update_refs(self, *, query: Any, body: Any, org: str, project: str, repo: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        results = []
        for update in body:
            name, old, new = update["name"], update["oldObjectId"], update["newObjectId"]
            done = git(
                found.path,
                *(["update-ref", "-d", name, old] if new == ZERO else ["update-ref", name, new, old]),
                check=False,
            ) == "" and (rev(found.path, name) == (None if new == ZERO else new))
            results.append(
                {
                    "name": name,
                    "oldObjectId": old,
                    "newObjectId": new,
                    "repositoryId": found.id,
                    "success": done,
                    "updateStatus": "succeeded" if done else "staleOldObjectId",
                    "isLocked": False,
                    "customMessage": None,
                    "rejectedBy": None,
                }
            )
        return 200, listing(results)

    # Pull requests

    def list_pulls(self, *, query: Any, body: Any, org: str, project: str, repo: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        wanted = query.get("searchCriteria.status", "active")
        items = [
            self._pull_json(p)
            for p in reversed(self.pulls)
            if p.repo is found
            and (wanted == "all" or p.status == wanted)
            and query.get("searchCriteria.sourceRefName", p.source) == p.source
            and query.get("searchCriteria.targetRefName", p.target) == p.target
        ]
        skip, top = int(query.get("$skip", 0)), int(query.get("$top", 101))
        return 200, listing(items[skip : skip + top])

    def create_pull(self, *, query: Any, body: Any, org: str, project: str, repo: str) -> tuple[int, Any]:
        found = self._repo(project, repo)
        source, target = body.get("sourceRefName") or "", body.get("targetRefName") or ""
        for ref in (source, target):
            if not ref.startswith("refs/heads/") or rev(found.path, ref) is None:
                raise ApiError(
                    404,
                    "TF401398: The pull request cannot be activated because the source and/or the target branch no longer exists, or the requested refs are not branches",
                    "GitPullRequestNotFoundException",
                )
        if source == target:
            raise ApiError(400, "The source and target branches of a pull request cannot be the same.")
        if any(
            p.repo is found and p.status == "active" and (p.source, p.target) == (source, target) for p in self.pulls
        ):
            raise ApiError(
                409,
                "TF401179: An active pull request for the source and target branch already exists.",
                "GitPullRequestExistsException",
            )
        if len(body.get("description") or "") > 4000:
            raise ApiError(400, "The pull request description is limited to 4000 characters.")
        pull = Pull(
            next(self._ids), found, body.get("title") or "", body.get("description") or "", source, target, now()
        )
        self.pulls.append(pull)
        return 201, self._pull_json(pull)

    def get_pull(self, *, query: Any, body: Any, org: str, project: str, repo: str, number: str) -> tuple[int, Any]:
        self._repo(project, repo)
        return 200, self._pull_json(self._pull(int(number)))

    def update_pull(self, *, query: Any, body: Any, org: str, project: str, repo: str, number: str) -> tuple[int, Any]:
        self._repo(project, repo)
        pull = self._pull(int(number))
        if body.get("status") != "completed":
            raise ApiError(400, "The fake completes pull requests only (status: completed).")
        if pull.status != "active":
            raise ApiError(
                409,
                f"The pull request cannot be completed because it is {pull.status}.",
                "GitPullRequestCannotBeCompletedException",
            )
        source = (body.get("lastMergeSourceCommit") or {}).get("commitId")
        if not source:
            raise ApiError(
                400,
                "Invalid argument value.\r\nParameter name: You must specify a valid LastMergeSourceCommit to perform this operation.",
            )
        head = rev(pull.repo.path, pull.source)
        if source != head:
            raise ApiError(
                409,
                f"The source branch of pull request {pull.id} is at {head}, not at lastMergeSourceCommit {source}: the pull request was updated.",
                "GitPullRequestStaleException",
            )
        before = self._pull_json(pull)  # Azure answers with the pull request as it was; the merge follows
        pull.completion_options = dict(body.get("completionOptions") or {})
        pull.queued = now()
        if not self._blocking(pull):
            self._complete(pull, head)
        return 200, {**before, "completionOptions": pull.completion_options, "completionQueueTime": pull.queued}

    def create_pull_status(
        self, *, query: Any, body: Any, org: str, project: str, repo: str, number: str
    ) -> tuple[int, Any]:
        pull = self._pull(int(number))
        status = {**self._status_json(body, len(pull.statuses) + 1), "iterationId": 1}
        pull.statuses.append({**status, "_source": rev(pull.repo.path, pull.source)})
        return 200, status

    def vote(
        self, *, query: Any, body: Any, org: str, project: str, repo: str, number: str, reviewer: str
    ) -> tuple[int, Any]:
        pull = self._pull(int(number))
        pull.votes[reviewer] = int(body.get("vote") or 0)
        return 200, {"id": reviewer, "displayName": reviewer, "vote": pull.votes[reviewer], "isRequired": False}

    def _complete(self, pull: Pull, head: str) -> None:
        """Merge for real: the target moves only from where the merge started."""
        options = pull.completion_options or {}
        strategy = options.get("mergeStrategy") or ("squash" if options.get("squashMerge") else "noFastForward")
        target = rev(pull.repo.path, pull.target)
        assert target is not None
        message = options.get("mergeCommitMessage") or f"Merged PR {pull.id}: {pull.title}"
        new = merge(pull.repo.path, strategy, target=target, source=head, message=message)
        if new is None:
            return  # conflicts: mergeStatus says so, the pull request stays active
        git(pull.repo.path, "update-ref", pull.target, new, target)
        pull.status, pull.merge_commit, pull.closed = "completed", new, now()
        pull.source_sha, pull.target_sha = head, target

    # JSON

    def _api(self, repo: Repo) -> str:
        return f"{self.web()}/{repo.project_id}/_apis/git/repositories/{repo.id}"

    def _web(self, repo: Repo) -> str:
        return f"{self.web()}/{repo.project}/_git/{repo.name}"

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        head = rev(repo.path, "refs/heads/master")
        return {
            "id": repo.id,
            "name": repo.name,
            "url": self._api(repo),
            "project": {
                "id": repo.project_id,
                "name": repo.project,
                "url": f"{self.web()}/_apis/projects/{repo.project_id}",
                "state": "wellFormed",
                "revision": 11,
                "visibility": "private",
                "lastUpdateTime": "2024-01-01T00:00:00.000Z",
            },
            **({"defaultBranch": "refs/heads/master"} if head else {}),
            "size": sum(f.stat().st_size for f in repo.path.rglob("*") if f.is_file()),
            "remoteUrl": self._web(repo),
            "sshUrl": f"git@ssh.dev.azure.com:v3/{self.org}/{repo.project}/{repo.name}",
            "webUrl": self._web(repo),
            "isDisabled": False,
            "isInMaintenance": False,
        }

    def _identity(self) -> dict[str, Any]:
        return {
            **self.user,
            "url": f"{self.web()}/_apis/Identities/{self.user['id']}",
            "imageUrl": f"{self.web()}/_api/_common/identityImage?id={self.user['id']}",
            "descriptor": "aad.ZmFicHJvbW90ZQ",
        }

    def _status_json(self, body: dict[str, Any], number: int) -> dict[str, Any]:
        context = {
            "name": body["context"]["name"],
            **({"genre": body["context"]["genre"]} if body["context"].get("genre") else {}),
        }
        when = now()
        status: dict[str, Any] = {
            "id": number,
            "state": body["state"],
            "description": body.get("description") or "",
            "context": context,
            "creationDate": when,
            "updatedDate": when,
            "createdBy": self._identity(),
        }
        if body.get("targetUrl"):
            status["targetUrl"] = body["targetUrl"]
        return status

    def _pull_json(self, pull: Pull) -> dict[str, Any]:
        repo = pull.repo
        source_sha = pull.source_sha if pull.status == "completed" else rev(repo.path, pull.source) or pull.source_sha
        target_sha = pull.target_sha if pull.status == "completed" else rev(repo.path, pull.target) or pull.target_sha
        data: dict[str, Any] = {
            "repository": self._repo_json(repo),
            "pullRequestId": pull.id,
            "codeReviewId": pull.id,
            "status": pull.status,
            "createdBy": self._identity(),
            "creationDate": pull.created,
            "title": pull.title,
            "description": pull.description,
            "sourceRefName": pull.source,
            "targetRefName": pull.target,
            "mergeStatus": "succeeded",
            "isDraft": False,
            "mergeId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{repo.id}/{pull.id}")),
            "lastMergeSourceCommit": {"commitId": source_sha, "url": f"{self._api(repo)}/commits/{source_sha}"},
            "lastMergeTargetCommit": {"commitId": target_sha, "url": f"{self._api(repo)}/commits/{target_sha}"},
            "reviewers": [
                {
                    "id": who,
                    "displayName": who,
                    "uniqueName": who,
                    "vote": vote,
                    "isRequired": False,
                    "hasDeclined": False,
                    "isFlagged": False,
                }
                for who, vote in sorted(pull.votes.items())
            ],
            "url": f"{self._api(repo)}/pullRequests/{pull.id}",
            "supportsIterations": True,
            "artifactId": f"vstfs:///Git/PullRequestId/{repo.project_id}%2f{repo.id}%2f{pull.id}",
        }
        if pull.status == "active" and source_sha and target_sha:
            data["mergeStatus"] = "succeeded" if merge_tree(repo.path, target_sha, source_sha)[1] else "conflicts"
            if data["mergeStatus"] == "conflicts":
                data["mergeFailureMessage"] = "The merge of the source into the target has conflicts."
        if pull.merge_commit:
            data["lastMergeCommit"] = {
                "commitId": pull.merge_commit,
                "url": f"{self._api(repo)}/commits/{pull.merge_commit}",
            }
            data["closedDate"] = pull.closed
            data["closedBy"] = self._identity()
        if pull.completion_options is not None:
            data["completionOptions"] = pull.completion_options
            data["completionQueueTime"] = pull.queued
        return data

    # Lookups

    def _repo(self, project: str, name: str) -> Repo:
        found = self.repos.get((project.lower(), name.lower()))
        if found is None:
            found = next((r for r in self.repos.values() if r.id == name), None)
        if found is None:
            raise ApiError(
                404,
                f"TF401019: The Git repository with name or identifier {name} does not exist or you do not have permissions for the operation you are attempting.",
                "GitRepositoryNotFoundException",
            )
        return found

    def _commit(self, repo: Repo, sha: str) -> str:
        full = rev(repo.path, sha) if len(sha) == 40 else None
        if full is None or full != sha.lower():
            raise ApiError(
                404,
                f"TF401175:The version descriptor <Commit: {sha}> could not be resolved to a version on the repository {repo.name}",
                "GitUnresolvableToCommitException",
            )
        return full

    def _pull(self, pull_id: int) -> Pull:
        found = next((p for p in self.pulls if p.id == pull_id), None)
        if found is None:
            raise ApiError(
                404, "TF401180: The requested pull request was not found.", "GitPullRequestNotFoundException"
            )
        return found


def _tree(path: Path, entries: list[str]) -> str:
    """A tree of ``mode type sha\\tpath`` entries (nested paths allowed), via a scratch index."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        for entry in entries:
            mode_type_sha, file = entry.split("\t")
            mode, _, sha = mode_type_sha.split()
            git(path, "update-index", "--add", "--cacheinfo", f"{mode},{sha},{file}", env=env)
        return git(path, "write-tree", env=env)
