"""A stateful fake of GitHub's REST API on 127.0.0.1, with real git repositories behind it.

It follows the documented REST API (v3, version 2022-11-28) for every endpoint
the ``github`` host uses: the same paths, methods, status codes, JSON fields
and error bodies (``{"message": ..., "documentation_url": ..., "status": ...}``).
Pull requests, commit statuses, reviews and branch protection live in memory;
branches and commits live in real bare repositories under ``base_dir``, which
:class:`fabpromote.testing.gitservers.SmartHTTPServer` serves over smart HTTP
with the same token (HTTP Basic, any user name), so pushes land where the API
reads. Merges are real: ``git merge-tree``, ``git commit-tree`` and a
compare-and-swap ``git update-ref``; a push to a branch whose protection
requires reviews is refused by a ``pre-receive`` hook, as GitHub does (GH006).

Every exchange is checked against GitHub's own OpenAPI description (``openapi``,
see github_openapi.py): the request's path, query and JSON body, the answer's status
and JSON body. Violations are kept in ``violations``; leaving the ``with`` block with
any left fails (``take_violations`` reads and forgets them, for a test that makes one
on purpose). The answers are whole (github_shapes.py): every field the description
requires, with the values GitHub gives.

Faults can be queued for the next API responses: 5xx answers, a secondary
rate limit (403 with ``Retry-After``), 429, a used-up primary limit
(``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset``), and slow answers::

    with FakeGitHub(tmp_path / "github", token="t0k3n", openapi=github_openapi.load()) as github:
        github.create_repo("octo", "app", {"README.md": "hi\\n"}, branches=("dev", "prod"))
        github.fail_next(2, status=502)
        ...
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import github_shapes as shapes
from github_openapi import OpenAPI, Violation

from fabpromote.testing.fakegit import ServerGit
from fabpromote.testing.gitservers import SmartHTTPServer
from fabpromote.testing.restserver import Answer, FakeRestHost, RestRequest, Routes

__all__ = ["FakeGitHub", "Recorded"]

HOST = "127.0.0.1"
API_PREFIX = "/api/v3"
DOCS = "https://docs.github.com/rest"
RATE_LIMIT = 5000
#: Files larger than this come from the contents API without content (GitHub: 1 MB).
LARGE_FILE = 1024 * 1024
SOCKET_TIMEOUT = 30.0
MERGE_METHODS = ("merge", "squash", "rebase")
STATUS_STATES = ("error", "failure", "pending", "success")
_FIELD = "\x1f"
_RECORD = "\x1e"
_LOG_FORMAT = _FIELD.join(["%H", "%T", "%P", "%an", "%ae", "%at", "%cn", "%ce", "%ct", "%B"]) + _RECORD
_TOGGLES = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
_PRE_RECEIVE = """#!/bin/sh
# Written by the fake GitHub: refuse pushes to branches whose protection requires reviews.
status=0
while read old new ref; do
    if [ -f "$GIT_DIR/fake-protected-refs" ] && grep -qxF "$ref" "$GIT_DIR/fake-protected-refs"; then
        echo "error: GH006: Protected branch update failed for $ref." >&2
        echo "error: At least 1 approving review is required by reviewers with write access." >&2
        status=1
    fi
done
exit $status
"""


class ApiError(Exception):
    """An error answer: its status, GitHub's message, and optional ``errors`` and headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        docs: str = DOCS,
    ) -> None:
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})
        self.docs = docs
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.docs, "status": str(self.status)}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


#: GitHub refuses a pull request body longer than this (characters).
PULL_BODY_LIMIT = 65536


def _validation(*errors: dict[str, Any]) -> ApiError:
    return ApiError(422, "Validation Failed", errors=list(errors))


@attrs.define
class Recorded:
    """One API request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    auth_scheme: str | None
    status: int = 0
    time: float = attrs.field(factory=time.monotonic)


@attrs.define
class _Fault:
    status: int | None = None
    body: dict[str, Any] = attrs.Factory(dict)
    headers: dict[str, str] = attrs.Factory(dict)
    delay: float = 0.0
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or bool(re.search(self.path, path))
        )


@attrs.define
class _Pull:
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    base_sha: str
    created_at: str
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    closed_at: str | None = None
    merge_commit_sha: str | None = None
    approvals: int = 0
    updated_at: str = ""


@attrs.define
class _Repo:
    owner: str
    name: str
    path: Path
    id: int
    default_branch: str
    created_at: str = attrs.Factory(lambda: _now())
    merge_methods: set[str] = attrs.Factory(lambda: set(MERGE_METHODS))
    pulls: list[_Pull] = attrs.Factory(list)
    statuses: dict[str, list[dict[str, Any]]] = attrs.Factory(dict)
    protection: dict[str, dict[str, Any]] = attrs.Factory(dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def _now() -> str:
    return _iso(time.time())


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class FakeGitHub(FakeRestHost):
    """GitHub's REST API for the repositories under ``base_dir``, and git over smart HTTP.

    Args:
        base_dir: Where the bare repositories live (``<owner>/<name>.git``).
        token: The token every request must carry.
        login: The user the token belongs to (an administrator of every repository).
        admin: Whether that user is an administrator (admins bypass protection
            rules unless ``enforce_admins`` is on, as on GitHub).

    Attributes:
        requests: Every API request, oldest first.
        large_file: Files larger than this come from the contents API without content.
    """

    socket_timeout = SOCKET_TIMEOUT

    def __init__(
        self,
        base_dir: str | Path,
        *,
        token: str,
        openapi: OpenAPI,
        login: str = "fabpromote-bot",
        admin: bool = True,
    ) -> None:
        #: The wall clock of the rate-limit window; a test gives the host's FakeClock, so both agree.
        self.clock: Any = time
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.login = login
        self.admin = admin
        self.large_file = LARGE_FILE
        self.requests: list[Recorded] = []
        self.openapi = openapi
        self.violations: list[Violation] = []
        super().__init__(SmartHTTPServer(self.base_dir, token=token))
        self._repos: dict[str, _Repo] = {}
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._remaining = RATE_LIMIT
        self._reset = int(time.time()) + 3600
        self._limit_status = 403

    # Lifecycle

    @property
    def api_url(self) -> str:
        """The API base, as a GitHub Enterprise Server has it: ``http://127.0.0.1:PORT/api/v3``."""
        return f"{self.url}{API_PREFIX}"

    @property
    def web_url(self) -> str:
        """Where repositories are (their git URLs and ``html_url`` start here), ending in ``/``."""
        return self.git_server.url

    def repo_url(self, owner: str, name: str) -> str:
        """The clone URL of a repository."""
        return f"{self.web_url}{owner}/{name}.git"

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        super().__exit__(exc_type, *exc_info)
        if exc_type is None and self.violations:
            raise AssertionError(self.violation_report(self.take_violations()))

    def take_violations(self) -> list[Violation]:
        """The violations of GitHub's OpenAPI description seen so far, forgotten here."""
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    @staticmethod
    def violation_report(violations: list[Violation]) -> str:
        lines = "".join(f"\n  {violation}" for violation in violations)
        return f"{len(violations)} request/response violation(s) of GitHub's OpenAPI description:{lines}"

    # Setting up state (what a test does on the "server side")

    def create_repo(
        self,
        owner: str,
        name: str,
        files: Mapping[str, str | bytes] | None = None,
        *,
        branch: str = "master",
        branches: tuple[str, ...] = (),
        empty: bool = False,
    ) -> None:
        """A repository with one commit of ``files`` on ``branch``, and ``branches`` at that commit."""
        path = self.base_dir / owner / f"{name}.git"
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(path.parent, "init", "-q", "--bare", f"--initial-branch={branch}", path.name)
        hook = path / "hooks" / "pre-receive"
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
        with self._lock:
            self._repos[f"{owner}/{name}".lower()] = _Repo(
                owner=owner, name=name, path=path, id=next(self._ids), default_branch=branch
            )
        if empty:
            return
        self.commit(owner, name, branch, files or {"README.md": f"# {name}\n"}, "initial")
        for other in branches:
            self.git(owner, name, "update-ref", f"refs/heads/{other}", f"refs/heads/{branch}")

    def commit(
        self,
        owner: str,
        name: str,
        branch: str,
        files: Mapping[str, str | bytes],
        message: str,
        *,
        delete: tuple[str, ...] = (),
        start: str | None = None,
    ) -> str:
        """Commit ``files`` (and remove ``delete``) onto ``branch`` server-side; returns the commit."""
        repo = self._repo(owner, name)
        with self._lock, tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            current = _rev(repo.path, f"refs/heads/{branch}")
            parent = current or (_rev(repo.path, start) if start else None)
            if parent:
                _git(repo.path, "read-tree", parent, env=env)
            for file, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                blob = _git(repo.path, "hash-object", "-w", "--stdin", input=data)
                _git(repo.path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{file}", env=env)
            for file in delete:
                _git(repo.path, "update-index", "--force-remove", file, env=env)
            tree = _git(repo.path, "write-tree", env=env)
            parents = ["-p", parent] if parent else []
            sha = _git(repo.path, "commit-tree", tree, *parents, "-m", message)
            _git(repo.path, "update-ref", f"refs/heads/{branch}", sha, current or "0" * 40)
        return sha

    def git(self, owner: str, name: str, *args: str) -> str:
        """Run git in a repository; its stripped output."""
        return _git(self._repo(owner, name).path, *args)

    def branch_sha(self, owner: str, name: str, branch: str) -> str | None:
        """Where ``branch`` is, or None."""
        return _rev(self._repo(owner, name).path, f"refs/heads/{branch}")

    def pull(self, owner: str, name: str, number: int) -> dict[str, Any]:
        """A pull request as GET /pulls/{number} shows it."""
        repo = self._repo(owner, name)
        with self._lock:
            return self._pull_json(repo, self._find_pull(repo, number), full=True)

    def approve(self, owner: str, name: str, number: int) -> None:
        """Add an approving review to a pull request."""
        repo = self._repo(owner, name)
        with self._lock:
            self._find_pull(repo, number).approvals += 1

    def set_merge_methods(self, owner: str, name: str, *methods: str) -> None:
        """Which merge methods the repository allows (its settings)."""
        self._repo(owner, name).merge_methods = set(methods)

    def statuses(self, owner: str, name: str, sha: str) -> list[dict[str, Any]]:
        """Every status of a commit, oldest first."""
        return list(self._repo(owner, name).statuses.get(sha, []))

    def protection_of(self, owner: str, name: str, branch: str) -> dict[str, Any] | None:
        """The stored protection of a branch (the fake's own form), or None."""
        return self._repo(owner, name).protection.get(branch)

    def unprotect(self, owner: str, name: str, branch: str) -> None:
        """Remove the protection of a branch, as an administrator would in the web UI."""
        repo = self._repo(owner, name)
        with self._lock:
            repo.protection.pop(branch, None)
            self._write_protected_refs(repo)

    def edit_protection(self, owner: str, name: str, branch: str, **changes: Any) -> None:
        """Change fields of a branch's stored protection (drift made in the web UI)."""
        repo = self._repo(owner, name)
        with self._lock:
            repo.protection[branch].update(changes)
            self._write_protected_refs(repo)

    # Faults

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 502,
        message: str = "Server Error",
        headers: Mapping[str, str] | None = None,
        **where: str | None,
    ) -> None:
        """The next ``count`` API requests get ``status`` (a 5xx) instead of an answer, with ``headers``.

        Every fault takes ``method=`` and ``path=`` (a regular expression): it
        then waits for the first request that matches.
        """
        with self._lock:
            for _ in range(count):
                self._faults.append(
                    _Fault(status=status, body={"message": message}, headers=dict(headers or {}), **where)
                )

    def secondary_rate_limit(self, *, retry_after: int | str = 1, status: int = 403, **where: str | None) -> None:
        """The next API request hits a secondary rate limit (403 with ``Retry-After``)."""
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
            "If you reach out to GitHub Support for help, please include the request ID 0000:0000."
        )
        docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        with self._lock:
            self._faults.append(
                _Fault(
                    status=status,
                    body={"message": message, "documentation_url": docs, "status": str(status)},
                    headers={"Retry-After": str(retry_after)},
                    **where,
                )
            )

    def too_many_requests(self, *, retry_after: int | str = 1, **where: str | None) -> None:
        """The next API request gets 429 with ``Retry-After`` (seconds, or an HTTP date)."""
        self.secondary_rate_limit(retry_after=retry_after, status=429, **where)

    def exhaust_rate_limit(self, *, reset_in: float = 1.0, status: int = 403) -> None:
        """The primary limit is used up: requests before the reset get ``status`` and remaining 0."""
        with self._lock:
            self._remaining = 0
            self._reset = math.ceil(self.clock.time() + reset_in)
            self._limit_status = status

    def set_rate_limit(self, *, remaining: int, reset_in: float = 1.0) -> None:
        """``remaining`` requests are left until a reset in ``reset_in`` seconds."""
        with self._lock:
            self._remaining = remaining
            self._reset = math.ceil(self.clock.time() + reset_in)
            self._limit_status = 403

    def delay_next(self, seconds: float, count: int = 1, **where: str | None) -> None:
        """The next ``count`` API requests are answered only after ``seconds``."""
        with self._lock:
            for _ in range(count):
                self._faults.append(_Fault(delay=seconds, **where))

    def api_requests(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded API requests, by method and by a regular expression their path matches."""
        with self._lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method) and (path is None or re.search(path, request.path))
            ]

    # Serving (called by the server, in its thread)

    def answer(self, request: RestRequest) -> Answer:
        """Answer one request below :data:`API_PREFIX` with GitHub's headers; any other path is not found."""
        if not request.path.startswith(API_PREFIX + "/"):
            found = _Answer(404, ApiError(404, "Not Found").body())
        else:
            found = self.handle(request.method, request.target, request.headers, request.body)
        github = {"X-GitHub-Media-Type": "github.v3; format=json", "X-GitHub-Request-Id": f"0000:{id(request):x}"}
        return Answer(found.status, found.body, {**github, **found.headers})

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        split = urlsplit(raw_path)
        path = split.path.removeprefix(API_PREFIX) or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        auth = headers.get("Authorization", "")
        scheme = auth.split(" ", 1)[0] if auth else None
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = _INVALID_JSON
        record = Recorded(method=method, path=path, query=query, body=parsed, auth_scheme=scheme)
        with self._lock:
            self.requests.append(record)
            fault = next((fault for fault in self._faults if fault.matches(method, path)), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        answer = self._answer(method, path, query, auth, parsed, fault, split.query)
        record.status = answer.status
        pairs = parse_qsl(split.query, keep_blank_values=True)
        request_body = None if parsed is _INVALID_JSON else parsed
        found = self.openapi.check(method, path, pairs, request_body, answer.status, answer.body)
        if found:
            with self._lock:
                self.violations.extend(found)
        return answer

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        auth: str,
        body: Any,
        fault: _Fault | None,
        raw_query: str,
    ) -> _Answer:
        limits = self._limit_headers()
        if fault is not None and fault.status is not None:
            answer_body = {"documentation_url": DOCS, "status": str(fault.status), **fault.body}
            return _Answer(fault.status, answer_body, {**limits, **fault.headers})
        try:
            self._authenticate(auth)
            self._charge(limits)
            if body is _INVALID_JSON:
                raise ApiError(400, "Problems parsing JSON")
            found = _ROUTES.find(method, path)
            if found is None:
                raise ApiError(404, "Not Found")
            name, params = found
            with self._lock:
                answer: _Answer = getattr(self, name)(query=query, body=body, **params)
        except ApiError as exc:
            return _Answer(exc.status, exc.body(), {**limits, **exc.headers})
        if answer.page_of is not None:
            answer = self._paginate(answer, path, query, raw_query)
        answer.headers = {**limits, **answer.headers}
        return answer

    def _authenticate(self, auth: str) -> None:
        scheme, _, token = auth.partition(" ")
        if not auth:
            raise ApiError(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or token.strip() != self.token:
            raise ApiError(401, "Bad credentials")

    def _charge(self, limits: dict[str, str]) -> None:
        """Count the request against the primary limit; raise when it is used up."""
        with self._lock:
            now = self.clock.time()
            if now >= self._reset:
                self._remaining, self._reset = RATE_LIMIT, int(now) + 3600
            if self._remaining <= 0:
                limits.update(self._limit_headers())
                raise ApiError(
                    self._limit_status,
                    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                    "please include the request ID 0000:0000.",
                    headers=limits,
                    docs="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
                )
            self._remaining -= 1
            limits.update(self._limit_headers())

    def _limit_headers(self) -> dict[str, str]:
        with self._lock:
            return {
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": str(max(self._remaining, 0)),
                "X-RateLimit-Reset": str(self._reset),
                "X-RateLimit-Used": str(RATE_LIMIT - max(self._remaining, 0)),
                "X-RateLimit-Resource": "core",
            }

    def _paginate(self, answer: _Answer, path: str, query: dict[str, str], raw_query: str) -> _Answer:
        items = answer.page_of or []
        per_page = _int(query.get("per_page"), answer.default_per_page, maximum=answer.max_per_page)
        page = _int(query.get("page"), 1)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        if answer.page_key is None:
            answer.body = chunk
        else:
            answer.body = {**answer.body, answer.page_key: chunk}
        links = []
        pairs = [(key, value) for key, value in parse_qsl(raw_query, keep_blank_values=True) if key != "page"]

        def link(number: int, rel: str) -> str:
            target = urlencode([*pairs, ("page", str(number))])
            return f'<http://{HOST}:{self.port}{API_PREFIX}{path}?{target}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if links:
            answer.headers["Link"] = ", ".join(links)
        return answer

    # Endpoints. Each runs with the lock held; ``query`` and ``body`` are the request's.

    def get_repo(self, *, owner: str, repo: str, query: Any, body: Any) -> _Answer:
        return _Answer(200, self._repo_json(self._api_repo(owner, repo)))

    def get_branch(self, *, owner: str, repo: str, branch: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        sha = _rev(found.path, f"refs/heads/{branch}")
        if sha is None:
            raise ApiError(404, "Branch not found")
        protection = found.protection.get(branch)
        checks = protection.get("checks", []) if protection and protection.get("status_checks") else []
        return _Answer(
            200,
            {
                "name": branch,
                "commit": self._commit_json(found, sha),
                "_links": {
                    "self": f"{self._api_base(found)}/branches/{branch}",
                    "html": f"{self._html(found)}/tree/{branch}",
                },
                "protected": protection is not None,
                "protection": {
                    "enabled": protection is not None,
                    "required_status_checks": {
                        "enforcement_level": "everyone" if protection else "off",
                        "contexts": [check["context"] for check in checks],
                        "checks": checks,
                    },
                },
                "protection_url": f"{self._api_base(found)}/branches/{branch}/protection",
            },
        )

    def compare(self, *, owner: str, repo: str, basehead: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        base, separator, head = basehead.partition("...")
        base_sha, head_sha = (_rev(found.path, base), _rev(found.path, head)) if separator else (None, None)
        if base_sha is None or head_sha is None:
            raise ApiError(404, "Not Found")
        merge_base = _git(found.path, "merge-base", base_sha, head_sha, check=False)
        if not merge_base:
            raise ApiError(404, f"No common ancestor between {base} and {head}.")
        ahead = int(_git(found.path, "rev-list", "--count", f"{base_sha}..{head_sha}"))
        behind = int(_git(found.path, "rev-list", "--count", f"{head_sha}..{base_sha}"))
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        shas = _git(found.path, "rev-list", "--reverse", f"{base_sha}..{head_sha}").split()
        files = self._diff_entries(found, merge_base, head_sha)
        answer = _Answer(
            200,
            {
                "url": f"{self._api_base(found)}/compare/{basehead}",
                "html_url": f"{self._html(found)}/compare/{basehead}",
                "permalink_url": f"{self._html(found)}/compare/{found.owner}:{base_sha[:7]}...{found.owner}:{head_sha[:7]}",
                "diff_url": f"{self._html(found)}/compare/{basehead}.diff",
                "patch_url": f"{self._html(found)}/compare/{basehead}.patch",
                "status": status,
                "ahead_by": ahead,
                "behind_by": behind,
                "total_commits": ahead,
                "base_commit": self._commit_json(found, base_sha),
                "merge_base_commit": self._commit_json(found, merge_base),
                "files": files,
            },
        )
        answer.page_of = self._commits_json(found, shas)
        answer.page_key = "commits"
        answer.default_per_page = answer.max_per_page = 250
        return answer

    def contents(self, *, owner: str, repo: str, query: Any, body: Any, path: str = "") -> _Answer:
        found = self._api_repo(owner, repo)
        ref = query.get("ref") or found.default_branch
        sha = _rev(found.path, ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        path = path.strip("/")
        if not path:
            return _Answer(200, self._directory(found, sha, "", ref))
        entry = _git(found.path, "ls-tree", "-z", "--full-tree", sha, "--", path).rstrip("\0")
        if not entry or entry.split("\t", 1)[1] != path:
            raise ApiError(404, "Not Found")
        mode, kind, blob = entry.split("\t", 1)[0].split()
        if kind == "tree":
            return _Answer(200, self._directory(found, sha, path, ref))
        return _Answer(200, self._content_json(found, path, mode, kind, blob, ref, full=True))

    def get_blob(self, *, owner: str, repo: str, sha: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if _git(found.path, "cat-file", "-t", sha, check=False) != "blob":
            raise ApiError(404, "Not Found")
        data = _git_bytes(found.path, "cat-file", "blob", sha)
        return _Answer(
            200,
            {
                "sha": sha,
                "node_id": f"B_{sha[:10]}",
                "size": len(data),
                "url": f"{self._api_base(found)}/git/blobs/{sha}",
                "content": base64.encodebytes(data).decode(),
                "encoding": "base64",
            },
        )

    def delete_ref(self, *, owner: str, repo: str, ref: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if _rev(found.path, f"refs/{ref}") is None:
            raise ApiError(422, "Reference does not exist")
        _git(found.path, "update-ref", "-d", f"refs/{ref}")
        self._close_orphans(found)
        return _Answer(204, None)

    def list_commits(self, *, owner: str, repo: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        ref = query.get("sha") or found.default_branch
        if _rev(found.path, f"refs/heads/{found.default_branch}") is None and not _has_refs(found.path):
            raise ApiError(409, "Git Repository is empty.")
        sha = _rev(found.path, ref)
        if sha is None:
            raise ApiError(404, f"No commit found for SHA: {ref}")
        answer = _Answer(200, None)
        answer.page_of = self._log_json(found, sha)
        return answer

    def get_commit(self, *, owner: str, repo: str, ref: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        sha = _rev(found.path, ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        data = self._commit_json(found, sha)
        data["files"] = []
        data["stats"] = {"total": 0, "additions": 0, "deletions": 0}
        return _Answer(200, data)

    def combined_status(self, *, owner: str, repo: str, ref: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        sha = _rev(found.path, ref)
        if sha is None:
            raise ApiError(404, f"No commit found for SHA: {ref}")
        latest = self._latest_statuses(found, sha)
        answer = _Answer(
            200,
            {
                "state": _combined_state(latest),
                "sha": sha,
                "total_count": len(latest),
                "repository": self._repo_json(found),
                "commit_url": f"{self._api_base(found)}/commits/{sha}",
                "url": f"{self._api_base(found)}/commits/{sha}/status",
            },
        )
        answer.page_of = latest
        answer.page_key = "statuses"
        return answer

    def create_status(self, *, owner: str, repo: str, sha: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        body = body if isinstance(body, dict) else {}
        if body.get("state") not in STATUS_STATES:
            raise _validation({"resource": "Status", "field": "state", "code": "invalid"})
        commit = _rev(found.path, sha) if re.fullmatch(r"[0-9a-fA-F]{4,40}", sha) else None
        if commit is None:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        now = _now()
        status = {
            "url": f"{self._api_base(found)}/statuses/{commit}",
            "avatar_url": self._user()["avatar_url"],
            "id": next(self._ids),
            "node_id": f"SC_{next(self._ids)}",
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context") or "default",
            "created_at": now,
            "updated_at": now,
            "creator": self._user(),
        }
        found.statuses.setdefault(commit, []).append(status)
        return _Answer(201, status, {"Location": status["url"]})

    def list_pulls(self, *, owner: str, repo: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        self._close_orphans(found)
        state = query.get("state", "open")
        head = query.get("head")
        pulls = [
            pull
            for pull in found.pulls
            if (state == "all" or pull.state == state)
            and (not head or f"{found.owner}:{pull.head}" == head)
            and (not query.get("base") or pull.base == query["base"])
        ]
        if query.get("direction", "desc") == "desc":
            pulls.reverse()
        answer = _Answer(200, None)
        answer.page_of = [self._pull_json(found, pull) for pull in pulls]
        return answer

    def create_pull(self, *, owner: str, repo: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        body = body if isinstance(body, dict) else {}
        for field in ("head", "base", "title"):
            if not body.get(field):
                raise _validation({"resource": "PullRequest", "field": field, "code": "missing_field"})
        if len(str(body.get("body") or "")) > PULL_BODY_LIMIT:
            message = f"body is too long (maximum is {PULL_BODY_LIMIT} characters)"
            raise _validation({"resource": "Issue", "code": "custom", "field": "body", "message": message})
        head_owner, _, head = str(body["head"]).rpartition(":")
        base = str(body["base"])
        head_sha = _rev(found.path, f"refs/heads/{head}")
        if (head_owner and head_owner.lower() != found.owner.lower()) or head_sha is None:
            raise _validation({"resource": "PullRequest", "field": "head", "code": "invalid"})
        base_sha = _rev(found.path, f"refs/heads/{base}")
        if base_sha is None:
            raise _validation({"resource": "PullRequest", "field": "base", "code": "invalid"})
        self._close_orphans(found)
        if any(pull.state == "open" and pull.head == head and pull.base == base for pull in found.pulls):
            raise _validation(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {found.owner}:{head}.",
                }
            )
        if _git(found.path, "rev-list", "--count", f"{base_sha}..{head_sha}") == "0":
            raise _validation(
                {"resource": "PullRequest", "code": "custom", "message": f"No commits between {base} and {head}"}
            )
        now = _now()
        pull = _Pull(
            number=self._next_number(found),
            title=str(body["title"]),
            body=str(body.get("body") or ""),
            head=head,
            base=base,
            head_sha=head_sha,
            base_sha=base_sha,
            created_at=now,
            updated_at=now,
        )
        found.pulls.append(pull)
        data = self._pull_json(found, pull, full=True)
        return _Answer(201, data, {"Location": data["url"]})

    def get_pull(self, *, owner: str, repo: str, number: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        self._close_orphans(found)
        return _Answer(200, self._pull_json(found, self._find_pull(found, int(number)), full=True))

    def check_merged(self, *, owner: str, repo: str, number: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if not self._find_pull(found, int(number)).merged:
            return _Answer(404, None)  # GitHub's "not merged" has no body, unlike its errors
        return _Answer(204, None)

    def create_review(self, *, owner: str, repo: str, number: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        pull = self._find_pull(found, int(number))
        event = (body or {}).get("event")
        if event == "APPROVE":
            pull.approvals += 1
        number = next(self._ids)
        html = f"{self._html(found)}/pull/{pull.number}#pullrequestreview-{number}"
        pull_url = f"{self._api_base(found)}/pulls/{pull.number}"
        return _Answer(
            200,
            {
                "id": number,
                "node_id": f"PRR_kwDO{number:08d}",
                "user": self._user(),
                "body": (body or {}).get("body", ""),
                "state": "APPROVED" if event == "APPROVE" else "COMMENTED",
                "html_url": html,
                "pull_request_url": pull_url,
                "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
                "submitted_at": _now(),
                "commit_id": self._head_sha(found, pull),
                "author_association": "MEMBER",
            },
        )

    def merge_pull(self, *, owner: str, repo: str, number: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        self._close_orphans(found)
        pull = self._find_pull(found, int(number))
        body = body if isinstance(body, dict) else {}
        method = body.get("merge_method", "merge")
        if method not in MERGE_METHODS:
            raise ApiError(422, f'Invalid request.\n\n"{method}" is not a member of ["merge", "squash", "rebase"].')
        if pull.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if method not in found.merge_methods:
            kind = {"merge": "Merge commits", "squash": "Squash merges", "rebase": "Rebase merges"}[method]
            raise ApiError(405, f"{kind} are not allowed on this repository.")
        head_sha = self._head_sha(found, pull)
        if body.get("sha") and body["sha"] != head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        base_sha = _rev(found.path, f"refs/heads/{pull.base}")
        assert base_sha is not None
        blocked = self._blocked(found, pull, head_sha, base_sha)
        if blocked:
            raise ApiError(405, blocked)
        tree, clean = _merge_tree(found.path, base_sha, head_sha)
        if not clean:
            raise ApiError(405, "Pull Request is not mergeable")
        title = body.get("commit_title") or (
            f"Merge pull request #{pull.number} from {found.owner}/{pull.head}"
            if method == "merge"
            else f"{pull.title} (#{pull.number})"
        )
        details = body.get("commit_message") if body.get("commit_message") is not None else pull.title
        message = f"{title}\n\n{details}".strip() + "\n"
        if method == "merge":
            new = _git(found.path, "commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", message)
        elif method == "squash":
            new = _git(found.path, "commit-tree", tree, "-p", base_sha, "-m", message)
        else:
            new = _rebase(found.path, base_sha, head_sha)
        if not GIT.update_ref(found.path, f"refs/heads/{pull.base}", new, base_sha):
            raise ApiError(405, "Base branch was modified. Review and try the merge again.")
        now = _now()
        pull.state, pull.merged, pull.merged_at, pull.closed_at = "closed", True, now, now
        pull.merge_commit_sha, pull.head_sha, pull.base_sha, pull.updated_at = new, head_sha, base_sha, now
        return _Answer(200, {"sha": new, "merged": True, "message": "Pull Request successfully merged"})

    def get_protection(self, *, owner: str, repo: str, branch: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if _rev(found.path, f"refs/heads/{branch}") is None:
            raise ApiError(404, "Branch not found")
        protection = found.protection.get(branch)
        if protection is None:
            raise ApiError(404, "Branch not protected")
        return _Answer(200, self._protection_json(found, branch, protection))

    def put_protection(self, *, owner: str, repo: str, branch: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if _rev(found.path, f"refs/heads/{branch}") is None:
            raise ApiError(404, "Branch not found")
        if not isinstance(body, dict):
            raise ApiError(422, "Invalid request.\n\nFor 'links/0/schema', nil is not an object.")
        for key in ("required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions"):
            if key not in body:
                raise ApiError(422, f'Invalid request.\n\nNo subschema in "anyOf" matched.\n"{key}" wasn\'t supplied.')
        checks = body["required_status_checks"]
        stored_checks: list[dict[str, Any]] = []
        if checks is not None:
            if not isinstance(checks, dict) or "strict" not in checks:
                raise ApiError(422, 'Invalid request.\n\n"strict" wasn\'t supplied.')
            if "checks" in checks and "contexts" in checks:
                raise ApiError(422, "Invalid request.\n\nOnly one of contexts or checks may be supplied.")
            if "checks" in checks:
                stored_checks = [
                    {"context": str(check["context"]), "app_id": check.get("app_id")} for check in checks["checks"]
                ]
            elif "contexts" in checks:
                stored_checks = [{"context": str(context), "app_id": None} for context in checks["contexts"]]
            else:
                raise ApiError(422, 'Invalid request.\n\n"contexts" wasn\'t supplied.')
        reviews = body["required_pull_request_reviews"]
        if reviews is not None:
            count = reviews.get("required_approving_review_count", 1)
            if not isinstance(count, int) or not 0 <= count <= 6:
                raise _validation({"resource": "ProtectedBranch", "field": "required_approving_review_count"})
        stored = {
            "status_checks": checks is not None,
            "strict": bool((checks or {}).get("strict")),
            "checks": stored_checks,
            "enforce_admins": bool(body["enforce_admins"]),
            "reviews": None
            if reviews is None
            else {
                "dismiss_stale_reviews": bool(reviews.get("dismiss_stale_reviews")),
                "require_code_owner_reviews": bool(reviews.get("require_code_owner_reviews")),
                "required_approving_review_count": reviews.get("required_approving_review_count", 1),
                "require_last_push_approval": bool(reviews.get("require_last_push_approval")),
            },
            "restrictions": body["restrictions"],
            **{key: bool(body.get(key)) for key in _TOGGLES},
        }
        found.protection[branch] = stored
        self._write_protected_refs(found)
        return _Answer(200, self._protection_json(found, branch, stored))

    def delete_protection(self, *, owner: str, repo: str, branch: str, query: Any, body: Any) -> _Answer:
        found = self._api_repo(owner, repo)
        if found.protection.pop(branch, None) is None:
            raise ApiError(404, "Branch not protected")
        self._write_protected_refs(found)
        return _Answer(204, None)

    def rate_limit(self, *, query: Any, body: Any) -> _Answer:
        headers = self._limit_headers()
        core = {
            "limit": RATE_LIMIT,
            "remaining": int(headers["X-RateLimit-Remaining"]),
            "reset": int(headers["X-RateLimit-Reset"]),
            "used": int(headers["X-RateLimit-Used"]),
        }
        search = {"limit": 30, "remaining": 30, "reset": core["reset"], "used": 0}
        graphql = {"limit": RATE_LIMIT, "remaining": RATE_LIMIT, "reset": core["reset"], "used": 0}
        return _Answer(200, {"resources": {"core": core, "search": search, "graphql": graphql}, "rate": core})

    # JSON shapes and helpers

    def _repo(self, owner: str, name: str) -> _Repo:
        return self._repos[f"{owner}/{name}".lower()]

    def _api_repo(self, owner: str, name: str) -> _Repo:
        found = self._repos.get(f"{owner}/{name}".lower())
        if found is None:
            raise ApiError(404, "Not Found", docs=f"{DOCS}/repos/repos#get-a-repository")
        return found

    def _api_base(self, repo: _Repo) -> str:
        return f"http://{HOST}:{self.port}{API_PREFIX}/repos/{repo.full_name}"

    def _html(self, repo: _Repo) -> str:
        return f"{self.web_url}{repo.full_name}"

    def _api_root(self) -> str:
        return f"{self.url}{API_PREFIX}"

    def _user(self, login: str | None = None, *, kind: str = "User") -> dict[str, Any]:
        return shapes.user(self._api_root(), self.web_url, login or self.login, kind=kind)

    def _repo_json(self, repo: _Repo) -> dict[str, Any]:
        return shapes.repository(
            self._api_root(),
            self.web_url,
            owner=repo.owner,
            name=repo.name,
            number=repo.id,
            default_branch=repo.default_branch,
            merge_methods=repo.merge_methods,
            admin=self.admin,
            created_at=repo.created_at,
            pushed_at=_now(),
        )

    def _commits_json(self, repo: _Repo, shas: list[str]) -> list[dict[str, Any]]:
        if not shas:
            return []
        by_sha = {item["sha"]: item for item in self._log_json(repo, *shas, walk=False)}
        return [by_sha[sha] for sha in shas]

    def _commit_json(self, repo: _Repo, sha: str) -> dict[str, Any]:
        return self._log_json(repo, sha, walk=False)[0]

    def _log_json(self, repo: _Repo, *revs: str, walk: bool = True) -> list[dict[str, Any]]:
        args = ["log", f"--format={_LOG_FORMAT}"] + ([] if walk else ["--no-walk=unsorted"])
        output = _git(repo.path, *args, *revs, strip=False)
        commits = []
        for record in output.split(_RECORD):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, tree, parents, an, ae, at, cn, ce, ct, message = record.split(_FIELD, 9)
            api = self._api_base(repo)
            commits.append(
                {
                    "sha": sha,
                    "node_id": f"C_{sha[:10]}",
                    "url": f"{api}/commits/{sha}",
                    "html_url": f"{self._html(repo)}/commit/{sha}",
                    "comments_url": f"{api}/commits/{sha}/comments",
                    "commit": {
                        "author": {"name": an, "email": ae, "date": _iso(int(at))},
                        "committer": {"name": cn, "email": ce, "date": _iso(int(ct))},
                        "message": message.rstrip("\n"),
                        "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
                        "url": f"{api}/git/commits/{sha}",
                        "comment_count": 0,
                        "verification": {
                            "verified": False,
                            "reason": "unsigned",
                            "signature": None,
                            "payload": None,
                            "verified_at": None,
                        },
                    },
                    "author": None,
                    "committer": None,
                    "parents": [
                        {
                            "sha": parent,
                            "url": f"{api}/commits/{parent}",
                            "html_url": f"{self._html(repo)}/commit/{parent}",
                        }
                        for parent in parents.split()
                    ],
                }
            )
        return commits

    def _diff_entries(self, repo: _Repo, base: str, head: str) -> list[dict[str, Any]]:
        """The ``diff-entry`` of each file changed from ``base`` to ``head``."""
        counts = {}
        for line in _git(repo.path, "diff", "--numstat", "--no-renames", base, head).splitlines():
            added, deleted, name = line.split("\t", 2)
            counts[name] = (int(added) if added.isdigit() else 0, int(deleted) if deleted.isdigit() else 0)
        entries = []
        raw = _git(repo.path, "diff", "--raw", "--no-abbrev", "--no-renames", base, head)
        for line in raw.splitlines():
            meta, name = line.split("\t", 1)
            kind = meta.split()[4]
            blob = meta.split()[3] if kind != "D" else meta.split()[2]
            ref = base if kind == "D" else head
            added, deleted = counts.get(name, (0, 0))
            status = {"A": "added", "D": "removed"}.get(kind, "modified")
            entries.append(
                {
                    "sha": blob,
                    "filename": name,
                    "status": status,
                    "additions": added,
                    "deletions": deleted,
                    "changes": added + deleted,
                    "blob_url": f"{self._html(repo)}/blob/{ref}/{name}",
                    "raw_url": f"{self._html(repo)}/raw/{ref}/{name}",
                    "contents_url": f"{self._api_base(repo)}/contents/{name}?ref={ref}",
                }
            )
        return entries

    def _directory(self, repo: _Repo, sha: str, path: str, ref: str) -> list[dict[str, Any]]:
        listing = _git(repo.path, "ls-tree", "-z", sha, "--", f"{path}/" if path else ".", strip=False)
        entries = []
        for entry in filter(None, listing.split("\0")):
            meta, name = entry.split("\t", 1)
            mode, kind, blob = meta.split()
            entries.append(self._content_json(repo, name, mode, kind, blob, ref, full=False))
        return entries

    def _content_json(
        self, repo: _Repo, path: str, mode: str, kind: str, sha: str, ref: str, *, full: bool
    ) -> dict[str, Any]:
        api = self._api_base(repo)
        data: dict[str, Any] = {
            "type": {"tree": "dir", "commit": "submodule"}.get(kind, "symlink" if mode == "120000" else "file"),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": 0,
            "url": f"{api}/contents/{path}?ref={ref}",
            "html_url": f"{self._html(repo)}/blob/{ref}/{path}",
            "git_url": f"{api}/git/{'trees' if kind == 'tree' else 'blobs'}/{sha}",
            "download_url": f"{self._html(repo)}/raw/{ref}/{path}" if kind == "blob" else None,
        }
        data["_links"] = shapes.content_links(data["url"], data["git_url"], data["html_url"])
        if kind != "blob":
            return data
        content = _git_bytes(repo.path, "cat-file", "blob", sha)
        data["size"] = len(content)
        if data["type"] == "symlink":
            data["target"] = content.decode()
        elif full:
            if len(content) > self.large_file:
                data["content"], data["encoding"] = "", "none"
            else:
                data["content"], data["encoding"] = base64.encodebytes(content).decode(), "base64"
        return data

    def _pull_json(self, repo: _Repo, pull: _Pull, *, full: bool = False) -> dict[str, Any]:
        """A pull request: ``pull-request-simple`` in lists, ``pull-request`` (``full``) on its own."""
        head_sha = self._head_sha(repo, pull)
        base_sha = pull.base_sha if pull.state == "closed" else _rev(repo.path, f"refs/heads/{pull.base}")
        repo_json = self._repo_json(repo)
        owner = self._user(repo.owner, kind="Organization")

        def side(ref: str, sha: str | None) -> dict[str, Any]:
            return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha, "user": owner, "repo": repo_json}

        data: dict[str, Any] = {
            **shapes.pull_links(self._api_base(repo), self._html(repo), pull.number, head_sha),
            "id": pull.number + 50000,
            "node_id": f"PR_kwDO{pull.number + 50000:08d}",
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._user(),
            "body": pull.body or None,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "closed_at": pull.closed_at,
            "merged_at": pull.merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(pull.head, head_sha),
            "base": side(pull.base, base_sha),
            "author_association": "MEMBER",
            "auto_merge": None,
            "draft": False,
        }
        if full:
            data.update(self._pull_details(repo, pull, head_sha, base_sha))
        return data

    def _pull_details(self, repo: _Repo, pull: _Pull, head_sha: str, base_sha: str | None) -> dict[str, Any]:
        """What only GET /pulls/{number} (and the answers to create and merge) tell."""
        mergeable: bool | None = None
        state = "unknown"
        if pull.state == "open" and base_sha and head_sha:
            mergeable = _merge_tree(repo.path, base_sha, head_sha)[1]
            state = (
                "dirty" if not mergeable else "blocked" if self._blocked(repo, pull, head_sha, base_sha) else "clean"
            )
        additions = deletions = changed = 0
        if head_sha:
            for line in _git(repo.path, "diff", "--numstat", f"{pull.base_sha}...{head_sha}").splitlines():
                added, deleted, _ = line.split("\t", 2)
                additions += int(added) if added.isdigit() else 0
                deletions += int(deleted) if deleted.isdigit() else 0
                changed += 1
        return {
            "merged": pull.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": state,
            "merged_by": self._user() if pull.merged else None,
            "comments": 0,
            "review_comments": 0,
            "maintainer_can_modify": False,
            "commits": int(_git(repo.path, "rev-list", "--count", f"{pull.base_sha}..{head_sha}")) if head_sha else 0,
            "additions": additions,
            "deletions": deletions,
            "changed_files": changed,
        }

    def _protection_json(self, repo: _Repo, branch: str, stored: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._api_base(repo)}/branches/{branch}/protection"
        data: dict[str, Any] = {"url": url}
        if stored["status_checks"]:
            data["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": stored["strict"],
                "contexts": [check["context"] for check in stored["checks"]],
                "contexts_url": f"{url}/required_status_checks/contexts",
                "checks": stored["checks"],
            }
        reviews = stored["reviews"]
        if reviews is not None:
            data["required_pull_request_reviews"] = {"url": f"{url}/required_pull_request_reviews", **reviews}
        restrictions = stored["restrictions"]
        if restrictions is not None:
            api, web = self._api_root(), self.web_url
            data["restrictions"] = {
                "url": f"{url}/restrictions",
                "users_url": f"{url}/restrictions/users",
                "teams_url": f"{url}/restrictions/teams",
                "apps_url": f"{url}/restrictions/apps",
                "users": [self._user(login) for login in restrictions.get("users", [])],
                "teams": [shapes.team(api, web, repo.owner, slug) for slug in restrictions.get("teams", [])],
                "apps": [shapes.app(api, web, repo.owner, slug) for slug in restrictions.get("apps", [])],
            }
        data["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
        data["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": stored["enforce_admins"]}
        for key in _TOGGLES:
            data[key] = {"enabled": stored.get(key, False)}
        return data

    def _latest_statuses(self, repo: _Repo, sha: str) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for status in reversed(repo.statuses.get(sha, [])):
            latest.setdefault(status["context"], status)
        return list(latest.values())

    def _blocked(self, repo: _Repo, pull: _Pull, head_sha: str, base_sha: str) -> str | None:
        """Why branch protection refuses the merge now, or None."""
        protection = repo.protection.get(pull.base)
        if protection is None or (self.admin and not protection["enforce_admins"]):
            return None
        if protection["status_checks"]:
            latest = {status["context"]: status["state"] for status in self._latest_statuses(repo, head_sha)}
            for check in protection["checks"]:
                if latest.get(check["context"]) != "success":
                    return f'Required status check "{check["context"]}" is expected.'
            if protection["strict"] and not _is_ancestor(repo.path, base_sha, head_sha):
                return "Head branch is out of date. Review and try the merge again."
        reviews = protection["reviews"]
        if reviews is not None and pull.approvals < reviews["required_approving_review_count"]:
            count = reviews["required_approving_review_count"]
            return f"At least {count} approving review{'s are' if count > 1 else ' is'} required by reviewers with write access."
        return None

    def _head_sha(self, repo: _Repo, pull: _Pull) -> str:
        if pull.state == "open":
            current = _rev(repo.path, f"refs/heads/{pull.head}")
            if current is not None:
                pull.head_sha = current
        return pull.head_sha

    def _close_orphans(self, repo: _Repo) -> None:
        """Open pull requests whose head branch was deleted are closed, as on GitHub."""
        for pull in repo.pulls:
            if pull.state == "open" and _rev(repo.path, f"refs/heads/{pull.head}") is None:
                pull.state, pull.closed_at = "closed", _now()

    def _find_pull(self, repo: _Repo, number: int) -> _Pull:
        for pull in repo.pulls:
            if pull.number == number:
                return pull
        raise ApiError(404, "Not Found")

    def _next_number(self, repo: _Repo) -> int:
        return max((pull.number for pull in repo.pulls), default=0) + 1

    def _write_protected_refs(self, repo: _Repo) -> None:
        refused = [
            f"refs/heads/{branch}"
            for branch, protection in repo.protection.items()
            if (protection["reviews"] is not None or protection.get("lock_branch"))
            and (protection["enforce_admins"] or not self.admin)
        ]
        (repo.path / "fake-protected-refs").write_text("".join(f"{ref}\n" for ref in refused))


_INVALID_JSON = object()


@attrs.define
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = attrs.Factory(dict)
    page_of: list[Any] | None = None
    page_key: str | None = None
    default_per_page: int = 30
    max_per_page: int = 100


_REPO = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_ROUTES = Routes(
    [
        ("GET", "/rate_limit", "rate_limit"),
        ("GET", _REPO, "get_repo"),
        ("GET", _REPO + r"/branches/(?P<branch>.+)/protection", "get_protection"),
        ("PUT", _REPO + r"/branches/(?P<branch>.+)/protection", "put_protection"),
        ("DELETE", _REPO + r"/branches/(?P<branch>.+)/protection", "delete_protection"),
        ("GET", _REPO + r"/branches/(?P<branch>.+)", "get_branch"),
        ("GET", _REPO + r"/compare/(?P<basehead>.+)", "compare"),
        ("GET", _REPO + r"/contents(?:/(?P<path>.*))?", "contents"),
        ("GET", _REPO + r"/git/blobs/(?P<sha>[0-9a-fA-F]{40})", "get_blob"),
        ("DELETE", _REPO + r"/git/refs/(?P<ref>heads/.+)", "delete_ref"),
        ("GET", _REPO + r"/commits", "list_commits"),
        ("GET", _REPO + r"/commits/(?P<ref>.+)/status", "combined_status"),
        ("GET", _REPO + r"/commits/(?P<ref>.+)", "get_commit"),
        ("POST", _REPO + r"/statuses/(?P<sha>[^/]+)", "create_status"),
        ("GET", _REPO + r"/pulls", "list_pulls"),
        ("POST", _REPO + r"/pulls", "create_pull"),
        ("GET", _REPO + r"/pulls/(?P<number>\d+)", "get_pull"),
        ("GET", _REPO + r"/pulls/(?P<number>\d+)/merge", "check_merged"),
        ("PUT", _REPO + r"/pulls/(?P<number>\d+)/merge", "merge_pull"),
        ("POST", _REPO + r"/pulls/(?P<number>\d+)/reviews", "create_review"),
    ]
)


# git


GIT = ServerGit("GitHub", "noreply@github.com")
_git, _git_bytes = GIT.run, GIT.run_bytes
_is_ancestor, _merge_tree = GIT.is_ancestor, GIT.merge_tree


def _rev(path: Path, rev: str) -> str | None:
    """The commit ``rev`` names, or None; never reads ``rev`` as an option."""
    if not rev or rev.startswith("-") or ".." in rev or any(char in rev for char in " ~^:\\\0"):
        return None
    return _git(path, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False) or None


def _has_refs(path: Path) -> bool:
    return bool(_git(path, "for-each-ref", "--count=1", "refs/heads/", check=False))


def _rebase(path: Path, base: str, head: str) -> str:
    """Replay the non-merge commits of ``head`` missing from ``base`` onto it; the new tip."""
    commits = _git(path, "rev-list", "--reverse", "--no-merges", f"{base}..{head}").split()
    scratch = Path(tempfile.mkdtemp(prefix="fake-github-rebase-"))
    worktree = scratch / "work"
    try:
        _git(path, "worktree", "add", "-q", "--detach", str(worktree), base)
        for commit in commits:
            _git(worktree, "cherry-pick", "--allow-empty", "--keep-redundant-commits", commit)
        return _git(worktree, "rev-parse", "HEAD")
    finally:
        _git(path, "worktree", "remove", "--force", str(worktree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def _combined_state(statuses: list[dict[str, Any]]) -> str:
    states = {status["state"] for status in statuses}
    if states & {"error", "failure"}:
        return "failure"
    if not states or "pending" in states:
        return "pending"
    return "success"


def _int(value: str | None, default: int, *, maximum: int | None = None) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        number = default
    number = max(number, 1)
    return min(number, maximum) if maximum else number


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (for connection-refused tests).

    Bound, never listening, and held for the block: no server of another test gets it meanwhile.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])
