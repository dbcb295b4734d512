"""A stateful fake of Gitea's REST API (``/api/v1``) on 127.0.0.1, with real git repositories behind it.

It answers the endpoints the ``gitea`` host uses as Gitea 1.2x does: the same
paths, methods, status codes, JSON fields and error bodies (``{"message":
..., "url": ...}``). Pull requests, commit statuses and branch protection
rules live in memory; branches and commits live in real bare repositories
under ``base_dir``, which :class:`fabpromote.testing.gitservers.SmartHTTPServer`
serves over smart HTTP with the same token, so pushes land where the API
reads. Merges are real (``git merge-tree``, ``git commit-tree`` and a
compare-and-swap ``git update-ref``), refused with 409 ``head out of date``
when the head is not at ``head_commit_id``, and refused with 405 while a
protection rule's required checks or approvals are missing. A push to a branch
whose rule disables pushing is refused by a ``pre-receive`` hook, as Gitea does.

Every request and answer is checked against Gitea's swagger description
(:mod:`gitea_swagger`) when one is given: what breaks it is kept in
:attr:`FakeGitea.violations`, which the tests' fixture requires to be empty.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
from fake_gitea_git import _git, _is_ancestor, _merge_tree, _now, _rev, _update_ref
from fake_gitea_json import DEFAULT_RULE, EMPTY_COMBINED_STATUS, GiteaJson

from fabpromote.testing.gitservers import SmartHTTPServer
from fabpromote.testing.restserver import Answer, FakeRestHost, RestRequest, Routes

__all__ = ["FakeGitea"]

HOST = "127.0.0.1"
API = "/api/v1"
DOCS = "https://gitea.com/api/swagger"
_PRE_RECEIVE = """#!/bin/sh
# Refuse pushes to branches whose protection rule disables pushing (Gitea's message).
while read old new ref; do
    if grep -qxF "$ref" "$GIT_DIR/fake-protected-refs" 2>/dev/null; then
        echo "Gitea: Not allowed to push to protected branch ${ref#refs/heads/}" >&2
        exit 1
    fi
done
"""


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.define
class _Pull:
    number: int
    id: int
    base: str
    head: str
    title: str
    body: str
    created: str
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    head_sha: str = ""  # The head's commit once merged or closed (the branch may move on).
    merge_base: str = ""


@attrs.define
class _Repo:
    owner: str
    name: str
    path: Path
    id: int
    default_branch: str
    pulls: list[_Pull] = attrs.Factory(list)
    statuses: dict[str, list[dict[str, Any]]] = attrs.Factory(dict)
    rules: dict[str, dict[str, Any]] = attrs.Factory(dict)
    approvals: dict[int, int] = attrs.Factory(dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class FakeGitea(GiteaJson, FakeRestHost):
    """Gitea's API for the repositories under ``base_dir``, and git over smart HTTP.

    Attributes:
        requests: ``(method, path, body)`` of every API request, oldest first.
        violations: Requests and answers that break Gitea's swagger description.
    """

    content_type = "application/json;charset=utf-8"

    def __init__(self, base_dir: str | Path, *, token: str, swagger: Any = None, login: str = "fabpromote-bot") -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.login = login
        self.swagger = swagger
        self.requests: list[tuple[str, str, Any]] = []
        self.violations: list[str] = []
        FakeRestHost.__init__(self, SmartHTTPServer(self.base_dir, token=token))
        self._repos: dict[str, _Repo] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._failures: list[int] = []
        #: While True, pull requests are being checked for conflicts, as Gitea does after each push:
        #: they say ``mergeable: false`` and merging them is refused (405).
        self.checking = False
        #: Whether the token's user administers the repositories (Gitea's reqAdmin guards protection rules).
        self.admin = True

    # Lifecycle

    @property
    def api_url(self) -> str:
        return f"{self.url}{API}"

    @property
    def web_url(self) -> str:
        """Where repositories are (their clone URLs and ``html_url`` start here), ending in ``/``."""
        return self.git_server.url

    def repo_url(self, owner: str, name: str) -> str:
        return f"{self.web_url}{owner}/{name}.git"

    def answer(self, request: RestRequest) -> Answer:
        """Answer one API request (see :meth:`handle`)."""
        status, body, headers = self.handle(
            request.method, request.target, request.headers.get("Authorization", ""), request.body
        )
        return Answer(status, body, headers)

    # Server-side state, as a test sets it up

    def create_repo(
        self,
        owner: str,
        name: str,
        files: Mapping[str, str] | None = None,
        *,
        branches: tuple[str, ...] = (),
        empty: bool = False,
    ) -> None:
        """A repository with one commit of ``files`` on master, and ``branches`` at that commit."""
        path = self.base_dir / owner / f"{name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(path.parent, "init", "-q", "--bare", "--initial-branch=master", path.name)
        hook = path / "hooks" / "pre-receive"
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
        with self._lock:
            self._repos[f"{owner}/{name}".lower()] = _Repo(owner, name, path, next(self._ids), "master")
        if empty:
            return
        self.commit(owner, name, "master", files or {"README.md": f"# {name}\n"}, "initial")
        for branch in branches:
            _git(path, "update-ref", f"refs/heads/{branch}", "refs/heads/master")

    def commit(self, owner: str, name: str, branch: str, files: Mapping[str, str], message: str) -> str:
        """Commit ``files`` onto ``branch`` server-side (a push by someone else); the new commit."""
        repo = self._repo(owner, name)
        with self._lock, tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            parent = _rev(repo.path, f"refs/heads/{branch}")
            if parent:
                _git(repo.path, "read-tree", parent, env=env)
            for file, content in files.items():
                blob = _git(repo.path, "hash-object", "-w", "--stdin", input=content.encode())
                _git(repo.path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{file}", env=env)
            tree = _git(repo.path, "write-tree", env=env)
            sha = _git(repo.path, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
            _git(repo.path, "update-ref", f"refs/heads/{branch}", sha, parent or "0" * 40)
        return sha

    def branch_sha(self, owner: str, name: str, branch: str) -> str | None:
        return _rev(self._repo(owner, name).path, f"refs/heads/{branch}")

    def approve(self, owner: str, name: str, number: int) -> None:
        """An approving review of pull request ``number`` by another user."""
        with self._lock:
            repo = self._repo(owner, name)
            repo.approvals[number] = repo.approvals.get(number, 0) + 1

    def rule(self, owner: str, name: str, branch: str) -> dict[str, Any] | None:
        with self._lock:
            stored = self._repo(owner, name).rules.get(branch)
            return dict(stored) if stored is not None else None

    def statuses(self, owner: str, name: str, sha: str) -> list[dict[str, Any]]:
        """Every status set on commit ``sha``, oldest first, as Gitea answers them."""
        with self._lock:
            return list(self._repo(owner, name).statuses.get(sha, []))

    def fail_next(self, count: int, status: int = 502) -> None:
        """Answer the next ``count`` API requests with ``status`` (a proxy in front of Gitea failing)."""
        with self._lock:
            self._failures += [status] * count

    def pulls(self, owner: str, name: str) -> list[_Pull]:
        with self._lock:
            return list(self._repo(owner, name).pulls)

    # Serving

    def handle(self, method: str, raw: str, auth: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(raw)
        path = split.path.removeprefix(API) or "/"
        query = dict(parse_qsl(split.query))
        parsed = json.loads(body) if body else None
        with self._lock:
            self.requests.append((method, path, parsed))
            if self._failures:
                return self._failures.pop(0), {"message": "Bad Gateway", "url": DOCS}, {}
            if self.swagger is not None:
                self.violations += self.swagger.check_request(method, path, parsed)
        status, answer, headers = self._answer(method, path, query, auth, parsed)
        if self.swagger is not None and status < 500:
            with self._lock:
                self.violations += self.swagger.check_answer(method, path, status, answer)
        return status, answer, headers

    def _answer(
        self, method: str, path: str, query: dict[str, str], auth: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("token", "bearer") or token.strip() != self.token:
            return (
                401,
                {"message": "user does not exist [uid: 0, name: ]" if auth else "token is required", "url": DOCS},
                {},
            )
        found = _ROUTES.find(method, path)
        if found is None:
            return 404, {"message": "Not Found", "url": DOCS}, {}
        name, params = found
        if "/branch_protections" in path and not self.admin:
            message = "user should be an owner or a collaborator with admin write of a repository"
            return 403, {"message": message, "url": DOCS}, {}
        try:
            with self._lock:
                repo = self._api_repo(params.pop("owner"), params.pop("repo"))
                return getattr(self, name)(repo, query=query, body=body or {}, **params)
        except ApiError as exc:
            return exc.status, {"message": exc.message, "url": DOCS}, {}

    # Endpoints (the lock held)

    def get_repo(self, repo: _Repo, **_: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, self._repo_json(repo), {}

    def list_pulls(self, repo: _Repo, *, query: dict[str, str], **_: Any) -> tuple[int, Any, dict[str, str]]:
        state = query.get("state", "open")
        pulls = [self._pull_json(repo, pull) for pull in repo.pulls if state == "all" or pull.state == state]
        limit, page = max(1, min(int(query.get("limit", 30)), 50)), max(1, int(query.get("page", 1)))
        chunk = pulls[(page - 1) * limit : page * limit]
        headers = {"X-Total-Count": str(len(pulls))}
        if page * limit < len(pulls):
            following = urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.api_url}/repos/{repo.full_name}/pulls?{following}>; rel="next"'
        return 200, chunk, headers

    def create_pull(self, repo: _Repo, *, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        base, head = str(body.get("base") or ""), str(body.get("head") or "")
        if not body.get("title"):
            raise ApiError(422, "[Title]: Required")
        if not _rev(repo.path, f"refs/heads/{base}") or not _rev(repo.path, f"refs/heads/{head}"):
            raise ApiError(404, "The target couldn't be found.")
        if any(p.state == "open" and (p.base, p.head) == (base, head) for p in repo.pulls):
            raise ApiError(
                409,
                f"pull request already exists for these targets [id: 0, issue_id: 0, head_repo_id: {repo.id}, base_repo_id: {repo.id}, head_branch: {head}, base_branch: {base}]",
            )
        number = 1 + max((p.number for p in repo.pulls), default=0)
        pull = _Pull(number, next(self._ids), base, head, str(body["title"]), str(body.get("body") or ""), _now())
        repo.pulls.append(pull)
        return 201, self._pull_json(repo, pull), {}

    def get_pull(self, repo: _Repo, *, number: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        return 200, self._pull_json(repo, self._pull(repo, number)), {}

    def merge_pull(
        self, repo: _Repo, *, number: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # In Gitea's order: CheckPullMergeable (state, protection, conflicts), then the merge at head_commit_id.
        pull = self._pull(repo, number)
        if pull.merged:
            raise ApiError(405, "")  # "PR already merged", as its title only
        if pull.state != "open":
            raise ApiError(404, "The target couldn't be found.")
        base_sha = _rev(repo.path, f"refs/heads/{pull.base}")
        head_sha = _rev(repo.path, f"refs/heads/{pull.head}")
        if not base_sha or not head_sha:
            raise ApiError(404, "The target couldn't be found.")
        blocked = self._blocked(repo, pull, head_sha)
        if blocked:
            raise ApiError(405, f"not allowed to merge [reason: {blocked}]")
        if self.checking or not _merge_tree(repo.path, base_sha, head_sha)[1]:
            raise ApiError(405, "Please try again later")  # ErrNotMergeableState: Gitea found conflicts
        if body.get("head_commit_id") and body["head_commit_id"] != head_sha:
            raise ApiError(409, "head out of date")
        merged = self._merge(repo, pull, str(body.get("Do") or body.get("do") or "merge"), base_sha, head_sha, body)
        if not _update_ref(repo.path, f"refs/heads/{pull.base}", merged, base_sha):
            raise ApiError(409, "merge push out of date")
        pull.state, pull.merged, pull.merge_commit_sha, pull.merged_at = "closed", True, merged, _now()
        pull.head_sha, pull.merge_base = head_sha, base_sha
        return 200, None, {}

    def create_status(
        self, repo: _Repo, *, sha: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or not _rev(repo.path, sha):
            # Gitea looks the commit up only while storing the status, and fails with a 500.
            raise ApiError(500, f"GetCommit[{sha}]: object does not exist [id: {sha}, rel_path: ]")
        if body.get("state") not in ("pending", "success", "error", "failure", "warning", "skipped"):
            raise ApiError(422, "[State]: invalid state")
        now = _now()
        status = {
            "id": next(self._ids),
            "status": body["state"],
            "target_url": str(body.get("target_url") or ""),
            "description": str(body.get("description") or ""),
            "url": f"{self.api_url}/repos/{repo.full_name}/statuses/{sha}",
            "context": str(body.get("context") or "default"),
            "creator": self._user(),
            "created_at": now,
            "updated_at": now,
        }
        repo.statuses.setdefault(sha, []).append(status)
        return 201, status, {}

    def combined_status(
        self, repo: _Repo, *, ref: str, query: dict[str, str], **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # Gitea resolves branches and tags; anything else is taken as a SHA, whether a commit has it or not.
        sha = _rev(repo.path, f"refs/heads/{ref}") or _rev(repo.path, f"refs/tags/{ref}") or ref
        latest: dict[str, dict[str, Any]] = {}
        for status in repo.statuses.get(sha, []):
            latest[status["context"]] = status
        if not latest:
            return 200, dict(EMPTY_COMBINED_STATUS), {}  # Gitea 1.21+: a zero CombinedStatus
        statuses = sorted(latest.values(), key=lambda status: status["id"])
        limit, page = max(1, min(int(query.get("limit", 30)), 50)), max(1, int(query.get("page", 1)))
        states = {status["status"] for status in statuses}
        combined = next((s for s in ("error", "failure", "warning", "pending") if s in states), "success")
        api = f"{self.api_url}/repos/{repo.full_name}"
        answer = {
            "state": combined,
            "sha": sha,
            "total_count": len(statuses),
            "statuses": statuses[(page - 1) * limit : page * limit],
            "repository": self._repo_json(repo),
            "commit_url": f"{api}/commits/{sha}",
            "url": f"{api}/commits/{sha}/status",
        }
        return 200, answer, {"X-Total-Count": str(len(statuses))}

    def get_commit(self, repo: _Repo, *, sha: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        found = _rev(repo.path, sha)
        if found is None:
            raise ApiError(404, f"sha not found [{sha}]")
        return 200, self._commit_json(repo, found), {}

    def get_rule(self, repo: _Repo, *, name: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        if name not in repo.rules:
            raise ApiError(404, "Not Found")
        return 200, repo.rules[name], {}

    def create_rule(self, repo: _Repo, *, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        name = str(body.get("rule_name") or body.get("branch_name") or "")
        if not name:
            raise ApiError(400, "both rule_name and branch_name are empty")
        if name in repo.rules:
            raise ApiError(403, "Branch protection already exist")
        now = _now()
        rule = {**DEFAULT_RULE, **body, "rule_name": name, "branch_name": name, "created_at": now, "updated_at": now}
        rule["enable_push_whitelist"] = bool(rule["enable_push"] and rule["enable_push_whitelist"])
        repo.rules[name] = rule
        self._write_protected_refs(repo)
        return 201, rule, {}

    def edit_rule(self, repo: _Repo, *, name: str, body: dict[str, Any], **_: Any) -> tuple[int, Any, dict[str, str]]:
        if name not in repo.rules:
            raise ApiError(404, "Not Found")
        rule = {**repo.rules[name], **body, "updated_at": _now()}
        if body.get("enable_push") is False:  # Gitea drops the push allowlist with pushing
            rule.update(enable_push_whitelist=False, push_whitelist_deploy_keys=False)
        repo.rules[name] = rule
        self._write_protected_refs(repo)
        return 200, repo.rules[name], {}

    def delete_branch(self, repo: _Repo, *, branch: str, **_: Any) -> tuple[int, Any, dict[str, str]]:
        sha = _rev(repo.path, f"refs/heads/{branch}")
        if sha is None:
            raise ApiError(404, "Branch doesn't exist.")
        if branch in repo.rules or branch == repo.default_branch:
            raise ApiError(403, "branch protected")
        _git(repo.path, "update-ref", "-d", f"refs/heads/{branch}", sha)
        return 204, None, {}

    # Helpers

    def _repo(self, owner: str, name: str) -> _Repo:
        return self._repos[f"{owner}/{name}".lower()]

    def _api_repo(self, owner: str, name: str) -> _Repo:
        repo = self._repos.get(f"{owner}/{name}".lower())
        if repo is None:
            raise ApiError(404, "The target couldn't be found.")
        return repo

    def _pull(self, repo: _Repo, number: str) -> _Pull:
        found = next((pull for pull in repo.pulls if pull.number == int(number)), None)
        if found is None:
            raise ApiError(404, "The target couldn't be found.")
        return found

    def _blocked(self, repo: _Repo, pull: _Pull, head_sha: str) -> str | None:
        """Why the base branch's protection rule refuses the merge now (Gitea: 405 "Not ready to merge")."""
        rule = repo.rules.get(pull.base)
        if rule is None:
            return None
        if rule.get("enable_status_check"):
            latest = {s["context"]: s["status"] for s in repo.statuses.get(head_sha, [])}
            if any(latest.get(context) != "success" for context in rule.get("status_check_contexts") or ()):
                return "Not all required status checks successful"
        if repo.approvals.get(pull.number, 0) < int(rule.get("required_approvals") or 0):
            return "Does not have enough approvals"
        return None

    def _merge(self, repo: _Repo, pull: _Pull, style: str, base: str, head: str, body: Mapping[str, Any]) -> str:
        if style == "fast-forward-only":
            if not _is_ancestor(repo.path, base, head):
                raise ApiError(409, "merge push out of date")  # ErrMergeDivergingFastForwardOnly
            return head
        tree, _ = _merge_tree(repo.path, base, head)
        title = str(body.get("merge_title_field") or body.get("MergeTitleField") or "")
        title = title or f"Merge pull request '{pull.title}' (#{pull.number}) from {pull.head} into {pull.base}"
        text = str(body.get("merge_message_field") or body.get("MergeMessageField") or "")
        message = f"{title}\n\n{text}" if text else title
        if style == "merge":
            return _git(repo.path, "commit-tree", tree, "-p", base, "-p", head, "-m", message)
        if style == "squash":
            return _git(repo.path, "commit-tree", tree, "-p", base, "-m", message)
        raise ApiError(405, "Invalid merge style")

    def _write_protected_refs(self, repo: _Repo) -> None:
        refused = [f"refs/heads/{name}\n" for name, rule in repo.rules.items() if not rule.get("enable_push")]
        (repo.path / "fake-protected-refs").write_text("".join(refused))


_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES = Routes(
    [
        ("GET", "", "get_repo"),
        ("GET", "/pulls", "list_pulls"),
        ("POST", "/pulls", "create_pull"),
        ("GET", r"/pulls/(?P<number>\d+)", "get_pull"),
        ("POST", r"/pulls/(?P<number>\d+)/merge", "merge_pull"),
        ("POST", r"/statuses/(?P<sha>[^/]+)", "create_status"),
        ("GET", r"/commits/(?P<ref>[^/]+)/status", "combined_status"),
        ("GET", r"/git/commits/(?P<sha>[^/]+)", "get_commit"),
        ("GET", r"/branch_protections/(?P<name>.+)", "get_rule"),
        ("POST", r"/branch_protections", "create_rule"),
        ("PATCH", r"/branch_protections/(?P<name>.+)", "edit_rule"),
        ("DELETE", r"/branches/(?P<branch>.+)", "delete_branch"),
    ],
    prefix=_REPO,
)
