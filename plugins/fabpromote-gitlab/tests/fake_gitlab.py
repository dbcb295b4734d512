"""A stateful fake of GitLab's REST API v4 on 127.0.0.1, with real git repositories behind it.

It follows the documented API for every endpoint the plugin uses: the paths
(projects named by URL-encoded full paths), methods, status codes, JSON fields
and error bodies (``{"message": ...}``, ``{"error": ...}``); pagination
(``per_page``, ``page``, ``X-Next-Page``, ``X-Total``, ``Link``); the
``PRIVATE-TOKEN`` header. Merge requests, commit statuses, protected branches
and project settings live in memory; branches, commits and merges are real:
each project is a bare repository, merged into with ``git merge-tree`` and
``git update-ref`` (compare-and-swap), and also served over smart HTTP (the
token as password) by :class:`fabpromote.testing.gitservers.SmartHTTPServer`.
Pushes to branches protected with "No one" allowed to push are refused by a
``pre-receive`` hook, with GitLab's message.

Given a ``description`` (``gitlab_description.py``), the fake checks every request it
receives and every successful answer it gives against GitLab's API as the pinned
clients describe it, and records each difference in :attr:`FakeGitLab.violations`;
its objects (``fake_gitlab_views.py``) carry every field GitLab gives.

Faults for tests: :meth:`FakeGitLab.fail_next` (5xx answers) and
:meth:`FakeGitLab.rate_limit_next` (429 with ``Retry-After``/``RateLimit-Reset``).

    with FakeGitLab(tmp_path) as gitlab:
        url = gitlab.create_project("group/sub/app", {"README.md": "hi"}, branches=("master", "dev"))
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import itertools
import json
import math
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import attrs
import fake_gitlab_views as views

from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.gitrepos import GIT_ENV
from fabpromote.testing.gitservers import SmartHTTPServer
from fabpromote.testing.restserver import Answer, FakeRestHost, RestRequest
from fabpromote.testing.story import CreateRepo

if TYPE_CHECKING:
    from gitlab_description import Description

__all__ = ["FakeGitLab", "FakeProject"]

HOST = "127.0.0.1"
ZERO = "0" * 40
DEFAULT_TOKEN = "glpat-FAKE-gitlab-token-0123456789"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
ACCESS_LEVELS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
#: The states ``POST /projects/:id/statuses/:sha`` takes in every GitLab the plugin supports
#: (``skipped`` only from 17.x on; docs/githosts.md).
STATES = ("pending", "running", "success", "failed", "canceled")
_FINISHED = ("success", "failed", "canceled")
# The state machine event GitLab names when a status cannot move to the state it is in.
_EVENTS = {
    "pending": "enqueue",
    "running": "run",
    "success": "succeed",
    "failed": "drop",
    "canceled": "cancel",
}
_NO_PUSH_FILE = "fake-gitlab-no-push"
_PRE_RECEIVE = f"""#!/bin/sh
# Written by the fake GitLab: refuse pushes to branches nobody may push to.
while read old new ref; do
  if grep -qxF "$ref" "${{GIT_DIR:-.}}/{_NO_PUSH_FILE}" 2>/dev/null; then
    echo "GitLab: You are not allowed to push code to protected branches on this project." >&2
    exit 1
  fi
done
exit 0
"""
_LOG_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"


class _Reply(Exception):
    """Answer the request now with ``status`` and a JSON (or raw) body."""

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(status)


def _message(status: int, message: Any) -> _Reply:
    return _Reply(status, {"message": message})


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _gitlab_time(iso: str) -> str:
    """git's ``2024-01-02T03:04:05+01:00`` as GitLab writes it: ``2024-01-02T03:04:05.000+01:00``."""
    return f"{iso[:19]}.000{iso[19:]}" if len(iso) > 19 else iso


def _boolean(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _git(
    git_dir: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run git on the bare repository ``git_dir``, isolated from the user's configuration."""
    environment = {**os.environ, **GIT_ENV, **(env or {})}
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, env=environment, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
    return done


def _out(git_dir: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None) -> str:
    return _git(git_dir, *args, stdin=stdin, env=env).stdout.decode().strip()


@attrs.define
class FakeProject:
    """One project: its bare repository and what GitLab keeps about it in its database."""

    id: int
    path: str
    git_dir: Path
    web_url: str
    settings: dict[str, Any]
    merge_requests: dict[int, dict[str, Any]] = attrs.Factory(dict)
    statuses: list[dict[str, Any]] = attrs.Factory(list)
    protected: dict[str, dict[str, Any]] = attrs.Factory(dict)
    created_at: str = attrs.Factory(lambda: _now())

    # Git

    def sha(self, ref: str) -> str | None:
        """The commit ``ref`` (branch, tag or SHA) names, or None."""
        if not ref or ref.startswith("-"):
            return None
        done = _git(self.git_dir, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
        return done.stdout.decode().strip() or None if done.returncode == 0 else None

    def branch(self, name: str) -> str | None:
        """Where branch ``name`` points, or None."""
        return self.sha(f"refs/heads/{name}") if name else None

    def branches(self) -> list[str]:
        names = _out(self.git_dir, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/heads/")
        return sorted(filter(None, names.splitlines()))

    def commit(
        self,
        branch: str,
        files: Mapping[str, str | bytes],
        message: str = "change",
        *,
        delete: Iterable[str] = (),
        start: str | None = None,
    ) -> str:
        """Commit ``files`` (and remove ``delete``) on ``branch`` (created at ``start`` if missing)."""
        parent = self.branch(branch) or (self.sha(start) if start else None)
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            _git(self.git_dir, "read-tree", *([parent] if parent else ["--empty"]), env=env)
            for name, content in files.items():
                data = content.encode() if isinstance(content, str) else content
                blob = _out(self.git_dir, "hash-object", "-w", "--stdin", stdin=data)
                _git(self.git_dir, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
            for name in delete:
                _git(self.git_dir, "update-index", "--force-remove", name, env=env)
            tree = _out(self.git_dir, "write-tree", env=env)
        new = _out(self.git_dir, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        self.move(branch, new, self.branch(branch))
        return new

    def commit_many(self, branch: str, count: int, prefix: str = "change") -> str:
        """Add ``count`` commits on ``branch`` in one ``git fast-import``; returns the new head."""
        parent = self.branch(branch)
        lines = []
        stamp = int(time.time())
        for number in range(1, count + 1):
            message = f"{prefix} {number}\n".encode()
            data = f"{prefix} {number}\n".encode()
            lines.append(f"commit refs/heads/{branch}\n".encode())
            lines.append(f"committer Test Committer <committer@example.com> {stamp + number} +0000\n".encode())
            lines.append(f"data {len(message)}\n".encode() + message)
            if number == 1 and parent:
                lines.append(f"from {parent}\n".encode())
            lines.append(f"M 100644 inline {prefix}.txt\ndata {len(data)}\n".encode() + data + b"\n")
        _git(self.git_dir, "fast-import", "--quiet", stdin=b"".join(lines))
        head = self.branch(branch)
        assert head is not None
        return head

    def move(self, branch: str, new: str, old: str | None) -> bool:
        """Point ``branch`` at ``new`` if it is still at ``old`` (None: absent)."""
        done = _git(self.git_dir, "update-ref", f"refs/heads/{branch}", new, old or ZERO, check=False)
        return done.returncode == 0

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        done = _git(self.git_dir, "merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return done.returncode == 0

    def merge_tree(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        """The tree of merging ``theirs`` into ``ours`` and the conflicting paths (real ``git merge-tree``)."""
        done = _git(
            self.git_dir, "merge-tree", "--write-tree", "--no-messages", "--name-only", ours, theirs, check=False
        )
        lines = done.stdout.decode().splitlines()
        if done.returncode not in (0, 1) or not lines:
            raise RuntimeError(f"git merge-tree failed: {done.stderr.decode(errors='replace')}")
        return lines[0], sorted(set(lines[1:])) if done.returncode == 1 else []

    def commits(self, shas: list[str]) -> list[dict[str, Any]]:
        """The API's commit objects for ``shas``, in that order (one ``git show``)."""
        if not shas:
            return []
        raw = _out(self.git_dir, "show", "-s", f"--format={_LOG_FORMAT}", *shas)
        result = []
        for record in raw.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            sha, parents, an, ae, ad, cn, ce, cd, message = record.split("\x00", 8)
            result.append(
                {
                    "id": sha,
                    "short_id": sha[:8],
                    "created_at": _gitlab_time(cd),
                    "parent_ids": parents.split(),
                    "title": message.split("\n", 1)[0],
                    "message": message,
                    "author_name": an,
                    "author_email": ae,
                    "authored_date": _gitlab_time(ad),
                    "committer_name": cn,
                    "committer_email": ce,
                    "committed_date": _gitlab_time(cd),
                    "trailers": {},
                    "extended_trailers": {},
                    "web_url": f"{self.web_url}/-/commit/{sha}",
                }
            )
        return result

    def diffs(self, base: str, head: str) -> list[dict[str, Any]]:
        """The API's diff objects between two commits (one ``git diff``, split per file)."""
        text = _git(self.git_dir, "diff", "--no-color", "--no-renames", base, head).stdout.decode(errors="replace")
        result = []
        for chunk in filter(None, text.split("\ndiff --git ")):
            chunk = chunk.removeprefix("diff --git ")
            header, _, body = chunk.partition("\n@@")
            old = new = ""
            info = {"new_file": False, "deleted_file": False, "renamed_file": False, "a_mode": "100644"}
            info["b_mode"] = "100644"
            for line in header.splitlines():
                if line.startswith("--- "):
                    old = line[4:].removeprefix("a/")
                elif line.startswith("+++ "):
                    new = line[4:].removeprefix("b/")
                elif line.startswith("new file mode "):
                    info.update(new_file=True, a_mode="0", b_mode=line.split()[-1])
                elif line.startswith("deleted file mode "):
                    info.update(deleted_file=True, a_mode=line.split()[-1], b_mode="0")
            old = new if old == "/dev/null" else old
            new = old if new == "/dev/null" else new
            result.append({"old_path": old, "new_path": new, **info, "diff": f"@@{body}\n" if body else ""})
        return result

    def write_no_push_file(self) -> None:
        """Tell the pre-receive hook which branches nobody may push to."""
        refs = [
            f"refs/heads/{name}"
            for name, rule in self.protected.items()
            if [level["access_level"] for level in rule["push_access_levels"]] == [0]
        ]
        (self.git_dir / _NO_PUSH_FILE).write_text("".join(f"{ref}\n" for ref in refs))


@attrs.frozen
class _Fault:
    status: int
    headers: dict[str, str]
    body: Any
    method: str | None = None
    contains: str = ""
    after: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.contains in unquote(path)


@attrs.define
class _Request:
    method: str
    path: str
    query: dict[str, str]
    status: int
    token: bool


@attrs.define
class FakeGitLab(FakeRestHost):
    """GitLab's REST API v4 (``api_url``) and its repositories over smart HTTP (``repo_url(path)``).

    Attributes:
        token: The only token accepted (``PRIVATE-TOKEN``, or HTTP Basic password for git).
        checking_reads: A new merge request answers ``checking`` to this many reads
            before its mergeability is known, as GitLab computes it in the background.
        requests: Every API request answered: method, path, query, status, token sent.
        link_header: Send ``Link`` headers with pages (else only ``X-Next-Page`` and co.).
        description: GitLab's API as its clients describe it (``gitlab_description.load()``):
            every request and every successful JSON answer is checked against it.
        violations: Each difference from the description, as ``METHOD PATH: problem``;
            the ``gitlab`` fixture fails the test that leaves any.
    """

    root: Path = attrs.field(converter=Path)
    token: str = DEFAULT_TOKEN
    checking_reads: int = 0
    requests: list[_Request] = attrs.Factory(list)
    _projects: dict[str, FakeProject] = attrs.field(init=False, factory=dict)
    link_header: bool = True
    description: Description | None = None
    violations: list[str] = attrs.Factory(list)
    _faults: list[_Fault] = attrs.field(init=False, factory=list)
    _lock: threading.RLock = attrs.field(init=False, factory=threading.RLock)
    _ids: Iterable[int] = attrs.field(init=False, factory=lambda: itertools.count(1))
    _group_ids: dict[str, int] = attrs.field(init=False, factory=dict)

    # The API answers as GitLab's nginx front does.
    socket_timeout = 30.0
    server_version = "nginx"
    content_type = "application/json"

    def __attrs_post_init__(self) -> None:
        FakeRestHost.__init__(self)

    # Life cycle

    def start(self) -> None:
        """Serve the API and the repositories on two ports of 127.0.0.1."""
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        self.git_server = SmartHTTPServer(self.root / "repos", token=self.token)
        super().start()

    def answer(self, request: RestRequest) -> Answer:
        """Answer one request (see :meth:`handle`)."""
        headers = {name.lower(): value for name, value in request.headers.items()}  # names are case-insensitive
        reply = self.handle(request.method, request.target, headers, request.body)
        return Answer(reply.status, reply.body, reply.headers)

    # Addresses

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    @property
    def git_url(self) -> str:
        assert isinstance(self.git_server, SmartHTTPServer), "the fake is not started"
        return self.git_server.url

    def repo_url(self, path: str) -> str:
        """The project's clone URL, which is also the URL the plugin is given."""
        return f"{self.git_url}{path}.git"

    # Setting up and inspecting state

    def story_repos(self, ops: GitOps) -> CreateRepo:
        """Makes a story's repositories as projects of ``group``: the first branch server-side, each further
        one pushed through ``ops``."""

        def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
            first = next(iter(branches), "master")
            url = self.create_project(
                f"group/{name}", dict(branches.get(first, {"README.md": b"x\n"})), branches=(first,)
            )
            for branch, files in branches.items():
                if branch != first:
                    ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=first)
            return url

        return create

    def git_ops(self) -> GitOps:
        """Git operations that push to the fake with ``$GITLAB_TOKEN`` (user ``oauth2``, as GitLab takes it)."""
        host = urlsplit(self.git_url).netloc
        return GitOps(Sources(credentials=Credentials({host: "GITLAB_TOKEN"}, usernames={host: "oauth2"})))

    def create_project(
        self,
        path: str,
        files: Mapping[str, str | bytes] | None = None,
        *,
        branches: Iterable[str] = ("master",),
        **settings: Any,
    ) -> str:
        """A project with one commit of ``files`` on every branch of ``branches``; returns its URL."""
        branches = list(branches)
        git_dir = self.root / "repos" / f"{path}.git"
        git_dir.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "-q", "--bare", f"--initial-branch={branches[0]}", str(git_dir)],
            check=True,
            env={**os.environ, **GIT_ENV},
        )
        hook = git_dir / "hooks" / "pre-receive"
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
        web_url = f"{self.git_url}{path}"
        defaults = {
            "default_branch": branches[0],
            "visibility": "private",
            "merge_method": "merge",
            "squash_option": "default_off",
            "only_allow_merge_if_pipeline_succeeds": False,
            "allow_merge_on_skipped_pipeline": False,
            "only_allow_merge_if_all_discussions_are_resolved": False,
            "remove_source_branch_after_merge": False,
        }
        with self._lock:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                self._group_ids.setdefault("/".join(parts[:depth]), next(self._ids))  # type: ignore[call-overload]
            project = FakeProject(
                id=next(self._ids),  # type: ignore[call-overload]
                path=path,
                git_dir=git_dir,
                web_url=web_url,
                settings={**defaults, **settings},
            )
            self._projects[path] = project
        first = project.commit(branches[0], files or {"README.md": "hello\n"}, "initial")
        for name in branches[1:]:
            project.move(name, first, None)
        return self.repo_url(path)

    def project(self, path: str) -> FakeProject:
        """The state of project ``path``."""
        return self._projects[path]

    def fail_next(self, count: int = 1, status: int = 502, *, method: str | None = None, contains: str = "") -> None:
        """The next ``count`` API requests (of ``method``, with ``contains`` in the path) get ``status``.

        As a load balancer answers when GitLab is down: the request is not handled.
        """
        body = f"<html><body><h1>{status} {http.HTTPStatus(status).phrase}</h1></body></html>".encode()
        fault = _Fault(status, {"Content-Type": "text/html"}, body, method=method, contains=contains)
        with self._lock:
            self._faults.extend([fault] * count)

    def lose_answer_next(self, *, method: str, contains: str = "", status: int = 502) -> None:
        """Handle the next such request, then answer ``status``: the work is done, the answer lost."""
        body = f"<html><body><h1>{status} {http.HTTPStatus(status).phrase}</h1></body></html>".encode()
        with self._lock:
            self._faults.append(
                _Fault(status, {"Content-Type": "text/html"}, body, method=method, contains=contains, after=True)
            )

    def rate_limit_next(
        self, count: int = 1, *, retry_after: int | str | None = 1, reset_in: int = 1, now: float | None = None
    ) -> None:
        """The next ``count`` API requests get 429, with ``Retry-After`` (seconds or a date; unless None) and ``RateLimit-*``.

        ``RateLimit-Reset`` is ``reset_in`` seconds after ``now`` (the wall time by default; a test
        whose client waits on a FakeClock gives that clock's time, which does not run on its own).
        """
        headers = {
            "RateLimit-Limit": "600",
            "RateLimit-Observed": "601",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(math.ceil(time.time() if now is None else now) + reset_in),
            "Content-Type": "application/json",
        }
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        with self._lock:
            self._faults.extend([_Fault(429, headers, {"message": "Retry later"})] * count)

    def api_requests(self, method: str | None = None, contains: str = "") -> list[_Request]:
        """The answered API requests, of ``method`` and with ``contains`` in the path, if given."""
        return [r for r in self.requests if (method is None or r.method == method) and contains in r.path]

    # Handling (called by the request handler)

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        """Answer one request; ``headers`` has lower-case names."""
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        token = headers.get("private-token") or headers.get("authorization", "").removeprefix("Bearer ")
        try:
            reply = self._handle(method, split.path, query, token, headers, body)
        except _Reply as exc:
            reply = exc
        self.requests.append(_Request(method, split.path, query, reply.status, bool(token)))
        return reply

    def _handle(
        self, method: str, path: str, query: dict[str, str], token: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply:
        with self._lock:
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None and not fault.after:
            raise _Reply(fault.status, fault.body, fault.headers)
        try:
            reply = self._serve(method, path, query, token, headers, body)
        except _Reply as exc:
            reply = exc
        if fault is not None:
            raise _Reply(fault.status, fault.body, fault.headers)
        return reply

    def _serve(
        self, method: str, path: str, query: dict[str, str], token: str, headers: Mapping[str, str], body: bytes
    ) -> _Reply:
        if not path.startswith("/api/v4/"):
            raise _Reply(404, {"error": "404 Not Found"})
        if token != self.token:
            raise _message(401, "401 Unauthorized")
        params: dict[str, Any] = dict(query)
        sent: dict[str, Any] = {}
        if body:
            content_type = headers.get("content-type", "")
            if "json" in content_type:
                try:
                    data = json.loads(body)
                except ValueError:
                    raise _Reply(400, {"error": "The provided content-type 'application/json' is not valid"}) from None
                if isinstance(data, dict):
                    sent = data
            else:
                # A form carries text, as a query does.
                query = {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}
                params.update(query)
            params.update(sent)
        segments = [unquote(part) for part in path[len("/api/v4/") :].split("/")]
        if len(segments) < 2 or segments[0] != "projects":
            raise _Reply(404, {"error": "404 Not Found"})
        routes = _routes(segments[2:])
        if not routes:
            raise _Reply(404, {"error": "404 Not Found"})
        if method not in routes:
            raise _Reply(405, {"error": "405 Not Allowed"}, {"Allow": ", ".join(sorted(routes))})
        route = routes[method]
        shown = f"{method} {unquote(path)}"
        operation = self.description.operation(method, segments[2:]) if self.description else None
        if self.description is not None:
            if operation is None:
                self._violate(shown, ["no operation of the description"])
            else:
                self._violate(shown, self.description.check_request(operation, query, sent))
        with self._lock:
            project = self._find(segments[1])
            reply = route(self, project, segments[2:], params, path)
        if self.description is not None and operation is not None and reply.status < 300:
            self._violate(shown, self.description.check_answer(operation, reply.body))
        return reply

    def _violate(self, shown: str, problems: list[str]) -> None:
        with self._lock:
            self.violations.extend(f"{shown}: {problem}" for problem in problems)

    def take_violations(self) -> list[str]:
        """The violations recorded so far, forgotten: for tests that send wrong requests on purpose."""
        with self._lock:
            taken, self.violations[:] = list(self.violations), []
        return taken

    def _find(self, ident: str) -> FakeProject:
        for project in self._projects.values():
            if ident in (project.path, str(project.id)):
                return project
        raise _message(404, "404 Project Not Found")

    # Pagination

    def _page(self, items: list[Any], params: Mapping[str, Any], path: str, *, totals: bool = True) -> _Reply:
        try:
            per_page = min(MAX_PER_PAGE, max(1, int(params.get("per_page") or DEFAULT_PER_PAGE)))
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            raise _Reply(400, {"error": "per_page is invalid, page is invalid"}) from None
        pages = max(1, math.ceil(len(items) / per_page))
        chosen = items[(page - 1) * per_page : page * per_page]
        next_page = page + 1 if page * per_page < len(items) else None
        prev_page = page - 1 if page > 1 else None
        base = {key: value for key, value in params.items() if isinstance(value, (str, int)) and key != "page"}
        base["per_page"] = per_page

        def link(number: int, rel: str) -> str:
            return f'<{self.api_url.removesuffix("/api/v4")}{path}?{urlencode({**base, "page": number})}>; rel="{rel}"'

        links = [link(number, rel) for number, rel in ((prev_page, "prev"), (next_page, "next")) if number]
        links.append(link(1, "first"))
        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Next-Page": str(next_page or ""),
            "X-Prev-Page": str(prev_page or ""),
        }
        if totals:
            # GitLab leaves these out where counting costs too much (commits).
            headers.update({"X-Total": str(len(items)), "X-Total-Pages": str(pages)})
            links.append(link(pages, "last"))
        if self.link_header:
            headers["Link"] = ", ".join(links)
        return _Reply(200, chosen, headers)

    # Projects

    @property
    def web_root(self) -> str:
        """Where the web pages (and the repositories) are: the git server's root."""
        return self.git_url.rstrip("/")

    def user(self) -> dict[str, Any]:
        """The token's user, as objects show it."""
        return views.user(self.web_root)

    def _project_view(self, project: FakeProject) -> dict[str, Any]:
        readme = (
            _git(
                project.git_dir,
                "cat-file",
                "-e",
                f"refs/heads/{project.settings['default_branch']}:README.md",
                check=False,
            ).returncode
            == 0
        )
        return views.project(
            ident=project.id,
            path=project.path,
            web_root=self.web_root,
            api_url=self.api_url,
            http_url=self.repo_url(project.path),
            created_at=project.created_at,
            readme=readme,
            settings=project.settings,
            group_ids=self._group_ids,
        )

    def get_project(self, project: FakeProject, _: list[str], __: dict[str, Any], ___: str) -> _Reply:
        return _Reply(200, self._project_view(project))

    def put_project(self, project: FakeProject, _: list[str], params: dict[str, Any], __: str) -> _Reply:
        for key, value in params.items():
            if key in project.settings:
                current = project.settings[key]
                project.settings[key] = _boolean(value) if isinstance(current, bool) else value
        return _Reply(200, self._project_view(project))

    # Repository

    def get_branch(self, project: FakeProject, segments: list[str], _: dict[str, Any], __: str) -> _Reply:
        name = segments[2]
        sha = project.branch(name)
        if sha is None:
            raise _message(404, "404 Branch Not Found")
        rule = project.protected.get(name)
        return _Reply(
            200,
            {
                "name": name,
                "commit": project.commits([sha])[0],
                "merged": False,
                "protected": rule is not None,
                "developers_can_push": bool(rule and rule["push_access_levels"][0]["access_level"] == 30),
                "developers_can_merge": bool(rule and rule["merge_access_levels"][0]["access_level"] == 30),
                "can_push": True,
                "default": name == project.settings["default_branch"],
                "web_url": f"{project.web_url}/-/tree/{quote(name)}",
            },
        )

    def get_compare(self, project: FakeProject, _: list[str], params: dict[str, Any], __: str) -> _Reply:
        if not params.get("from") or not params.get("to"):
            raise _Reply(400, {"error": "from is missing, to is missing"})
        source, target = project.sha(str(params["from"])), project.sha(str(params["to"]))
        if source is None or target is None:
            raise _message(404, "404 Ref Not Found")
        straight = _boolean(params.get("straight"))
        merge_base = _out(project.git_dir, "merge-base", source, target) if not straight else source
        shas = _out(project.git_dir, "rev-list", "--reverse", f"{source}..{target}").split()
        return _Reply(
            200,
            {
                "commit": project.commits([target])[0] if source != target else None,
                "commits": project.commits(shas),
                "diffs": project.diffs(merge_base or source, target),
                "compare_timeout": False,
                "compare_same_ref": source == target,
                "web_url": f"{project.web_url}/-/compare/{source}...{target}",
            },
        )

    def get_raw_file(self, project: FakeProject, segments: list[str], params: dict[str, Any], _: str) -> _Reply:
        file_path = segments[2]
        sha = project.sha(str(params.get("ref") or project.settings["default_branch"]))
        if sha is None:
            raise _message(404, "404 Commit Not Found")
        kind = _git(project.git_dir, "cat-file", "-t", f"{sha}:{file_path}", check=False).stdout.decode().strip()
        if kind != "blob":
            raise _message(404, "404 File Not Found")
        data = _git(project.git_dir, "cat-file", "blob", f"{sha}:{file_path}").stdout
        return _Reply(200, data, {"Content-Type": "text/plain; charset=utf-8", "X-Gitlab-File-Path": file_path})

    def get_commits(self, project: FakeProject, _: list[str], params: dict[str, Any], path: str) -> _Reply:
        ref = str(params.get("ref_name") or project.settings["default_branch"])
        sha = project.sha(ref)
        # GitLab lists nothing for a ref that does not exist.
        shas: list[str] = []
        if sha is not None:
            first_parent = ["--first-parent"] if _boolean(params.get("first_parent")) else []
            shas = _out(project.git_dir, "rev-list", *first_parent, sha).split()
        reply = self._page(shas, params, path, totals=False)
        reply.body = project.commits(reply.body)
        return reply

    # Statuses

    def post_status(self, project: FakeProject, segments: list[str], params: dict[str, Any], _: str) -> _Reply:
        sha = segments[1]
        if project.sha(sha) != sha:
            raise _message(404, "404 Commit Not Found")
        state = params.get("state")
        if state not in STATES:
            raise _Reply(400, {"error": "state does not have a valid value"})
        name = str(params.get("name") or params.get("context") or "default")
        ref = str(params.get("ref") or "")
        if not ref:
            containing = _out(
                project.git_dir, "for-each-ref", "--format=%(refname:lstrip=2)", "--contains", sha, "refs/heads/"
            )
            if not containing:
                raise _message(400, "400 Bad request - Could not find a ref for the commit")
            ref = containing.splitlines()[0]
        for status in reversed(project.statuses):
            if (status["sha"], status["ref"], status["name"]) == (sha, ref, name):
                if status["status"] == state:
                    raise _message(400, f"Cannot transition status via :{_EVENTS[state]} from :{state}")
                status.update(
                    status=state,
                    description=params.get("description", status["description"]),
                    target_url=params.get("target_url", status["target_url"]),
                    started_at=status["started_at"] or (_now() if state != "pending" else None),
                    finished_at=_now() if state in _FINISHED else None,
                )
                return _Reply(201, dict(status))
        status = {
            "id": next(self._ids),  # type: ignore[call-overload]
            "sha": sha,
            "ref": ref,
            "status": state,
            "name": name,
            "target_url": params.get("target_url"),
            "description": params.get("description"),
            "created_at": _now(),
            "started_at": _now() if state != "pending" else None,
            "finished_at": _now() if state in _FINISHED else None,
            "allow_failure": False,
            "coverage": None,
            "pipeline_id": self._pipeline_id(project, sha, ref),
            "author": self.user(),
        }
        project.statuses.append(status)
        return _Reply(201, dict(status))

    def get_statuses(self, project: FakeProject, segments: list[str], params: dict[str, Any], path: str) -> _Reply:
        sha = segments[2]
        if project.sha(sha) is None:
            raise _message(404, "404 Commit Not Found")
        # Filtered by the literal SHA, as GitLab does: a branch name finds nothing.
        found = [s for s in project.statuses if s["sha"] == sha]
        if params.get("ref"):
            found = [s for s in found if s["ref"] == params["ref"]]
        if params.get("name"):
            found = [s for s in found if s["name"] == params["name"]]
        if not _boolean(params.get("all")):
            latest: dict[str, dict[str, Any]] = {}
            for status in found:
                latest[status["name"]] = status
            found = list(latest.values())
        return self._page([dict(s) for s in found], params, path)

    def pipeline_status(self, project: FakeProject, sha: str) -> str | None:
        """The status of the (external) pipeline of ``sha``, made of its commit statuses."""
        latest: dict[str, str] = {}
        for status in project.statuses:
            if status["sha"] == sha:
                latest[status["name"]] = status["status"]
        states = set(latest.values())
        if not states:
            return None
        for state in ("failed", "canceled", "running", "pending"):
            if state in states:
                return state
        return "success"

    # Merge requests

    def _mr_status(self, project: FakeProject, mr: dict[str, Any], *, read: bool) -> tuple[str, str, bool]:
        """``(detailed_merge_status, merge_status, has_conflicts)`` computed now, from real git."""
        if mr["state"] != "opened":
            return "not_open", "can_be_merged" if mr["state"] == "merged" else "cannot_be_merged", False
        if mr["_checking"] > 0:
            if read:
                mr["_checking"] -= 1
            return "checking", "checking", False
        base, head = project.branch(mr["target_branch"]), project.branch(mr["source_branch"])
        if base is None or head is None:
            return "broken_status", "cannot_be_merged", False
        if mr["title"].lower().startswith(("draft:", "[draft]", "(draft)")):
            return "draft_status", "can_be_merged", False
        if not project.is_ancestor(base, head) and project.merge_tree(base, head)[1]:
            return "conflict", "cannot_be_merged", True
        if project.settings["only_allow_merge_if_pipeline_succeeds"]:
            pipeline = self.pipeline_status(project, head)
            if pipeline in ("running", "pending"):
                return "ci_still_running", "can_be_merged", False
            # External statuses make no skipped pipeline: allow_merge_on_skipped_pipeline changes nothing here.
            if pipeline != "success":
                return "ci_must_pass", "can_be_merged", False
        if project.settings["merge_method"] == "ff" and not project.is_ancestor(base, head):
            return "need_rebase", "can_be_merged", False
        return "mergeable", "can_be_merged", False

    def _mr_view(
        self, project: FakeProject, mr: dict[str, Any], *, read: bool = True, expanded: bool = True
    ) -> dict[str, Any]:
        """The merge request as GitLab writes it now: alone (``expanded``) or in a list."""
        if mr["state"] == "opened":
            mr["sha"] = project.branch(mr["source_branch"]) or mr["sha"]
        status = self._mr_status(project, mr, read=read)
        return views.merge_request(
            mr, author=self.user(), status=status, expanded=self._mr_diff(project, mr) if expanded else None
        )

    def _mr_diff(self, project: FakeProject, mr: dict[str, Any]) -> dict[str, Any]:
        """``diff_refs`` and ``changes_count`` of a merge request, from git."""
        head = mr["sha"]
        target = project.branch(mr["target_branch"]) or head
        base = _out(project.git_dir, "merge-base", target, head) if mr["state"] == "opened" else target
        changed = _out(project.git_dir, "diff", "--name-only", base, head).splitlines() if base else []
        return {
            "diff_refs": {"base_sha": base or target, "head_sha": head, "start_sha": target},
            "changes_count": str(len(changed)),
        }

    def _pipeline_id(self, project: FakeProject, sha: str, ref: str) -> int:
        """The id of the external pipeline GitLab makes for the statuses of ``sha`` on ``ref``."""
        for status in project.statuses:
            if (status["sha"], status["ref"]) == (sha, ref):
                return int(status["pipeline_id"])
        return next(self._ids)  # type: ignore[call-overload,no-any-return]

    def _mr(self, project: FakeProject, iid: str) -> dict[str, Any]:
        try:
            return project.merge_requests[int(iid)]
        except (KeyError, ValueError):
            raise _message(404, "404 Not found") from None

    def get_merge_requests(self, project: FakeProject, _: list[str], params: dict[str, Any], path: str) -> _Reply:
        state = str(params.get("state") or "all")
        found = [
            mr
            for mr in sorted(project.merge_requests.values(), key=lambda mr: mr["iid"], reverse=True)
            if (state == "all" or mr["state"] == state)
            and params.get("source_branch") in (None, "", mr["source_branch"])
            and params.get("target_branch") in (None, "", mr["target_branch"])
        ]
        reply = self._page(found, params, path)
        reply.body = [self._mr_view(project, mr, expanded=False) for mr in reply.body]
        return reply

    def post_merge_request(self, project: FakeProject, _: list[str], params: dict[str, Any], __: str) -> _Reply:
        missing = [key for key in ("source_branch", "target_branch", "title") if not params.get(key)]
        if missing:
            raise _Reply(400, {"error": ", ".join(f"{key} is missing" for key in missing)})
        source, target = str(params["source_branch"]), str(params["target_branch"])
        problems: dict[str, list[str]] = {}
        if project.branch(source) is None:
            problems["source_branch"] = ["is invalid"]
        if project.branch(target) is None:
            problems["target_branch"] = ["is invalid"]
        if source == target:
            problems["branch_conflict"] = ["You can't use same project/branch for source and target"]
        if problems:
            raise _message(400, problems)
        for mr in project.merge_requests.values():
            if mr["state"] == "opened" and (mr["source_branch"], mr["target_branch"]) == (source, target):
                raise _message(409, [f"Another open merge request already exists for this source branch: !{mr['iid']}"])
        iid = max(project.merge_requests, default=0) + 1
        squash_default = project.settings["squash_option"] in ("always", "default_on")
        mr = {
            "id": next(self._ids),  # type: ignore[call-overload]
            "iid": iid,
            "project_id": project.id,
            "title": str(params["title"]),
            "description": str(params.get("description") or ""),
            "state": "opened",
            "created_at": _now(),
            "updated_at": _now(),
            "merged_at": None,
            "closed_at": None,
            "prepared_at": _now(),
            "target_branch": target,
            "source_branch": source,
            "source_project_id": project.id,
            "target_project_id": project.id,
            "merge_user": None,
            "merge_when_pipeline_succeeds": False,
            "squash": _boolean(params.get("squash"), squash_default),
            "sha": project.branch(source),
            "merge_commit_sha": None,
            "squash_commit_sha": None,
            "should_remove_source_branch": None,
            "force_remove_source_branch": _boolean(params.get("remove_source_branch")),
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{project.path}!{iid}"},
            "web_url": f"{project.web_url}/-/merge_requests/{iid}",
            "_checking": self.checking_reads,
        }
        project.merge_requests[iid] = mr
        return _Reply(201, self._mr_view(project, mr, read=False))

    def get_merge_request(self, project: FakeProject, segments: list[str], _: dict[str, Any], __: str) -> _Reply:
        return _Reply(200, self._mr_view(project, self._mr(project, segments[1])))

    def put_merge(self, project: FakeProject, segments: list[str], params: dict[str, Any], _: str) -> _Reply:
        mr = self._mr(project, segments[1])
        if mr["state"] != "opened":
            raise _message(405, "405 Method Not Allowed")
        detailed = self._mr_status(project, mr, read=True)[0]
        if detailed != "mergeable":
            raise _message(405, "405 Method Not Allowed")
        base, head = project.branch(mr["target_branch"]), project.branch(mr["source_branch"])
        assert base is not None  # mergeable says both branches exist
        assert head is not None
        if params.get("sha") and params["sha"] != head:
            raise _message(409, f"SHA does not match HEAD of source branch: {head}")
        squash = _boolean(params.get("squash"), mr["squash"])
        if project.settings["squash_option"] == "always":
            squash = True
        elif project.settings["squash_option"] == "never":
            squash = False
        title = mr["title"]
        squash_sha = None
        merged_from = head
        if squash:
            start = (
                base if project.settings["merge_method"] == "ff" else _out(project.git_dir, "merge-base", base, head)
            )
            tree = _out(project.git_dir, "rev-parse", f"{head}^{{tree}}")
            message = str(params.get("squash_commit_message") or title)
            squash_sha = _out(project.git_dir, "commit-tree", tree, "-p", start, "-m", message)
            merged_from = squash_sha
        merge_sha = None
        if project.settings["merge_method"] == "ff":
            new = merged_from
        else:
            tree, conflicts = project.merge_tree(base, merged_from)
            if conflicts:
                raise _message(422, "Branch cannot be merged")
            default = (
                f"Merge branch '{mr['source_branch']}' into '{mr['target_branch']}'\n\n{title}\n\n"
                f"See merge request {project.path}!{mr['iid']}"
            )
            message = str(params.get("merge_commit_message") or default)
            new = merge_sha = _out(project.git_dir, "commit-tree", tree, "-p", base, "-p", merged_from, "-m", message)
        if not project.move(mr["target_branch"], new, base):
            raise _message(422, "Branch cannot be merged")
        remove = _boolean(params.get("should_remove_source_branch"), mr["force_remove_source_branch"])
        if remove:
            _git(project.git_dir, "update-ref", "-d", f"refs/heads/{mr['source_branch']}", head)
        mr.update(
            state="merged",
            sha=head,
            merge_commit_sha=merge_sha,
            squash_commit_sha=squash_sha,
            merged_at=_now(),
            updated_at=_now(),
            merge_user=self.user(),
            squash=squash,
            should_remove_source_branch=remove,
        )
        return _Reply(200, self._mr_view(project, mr))

    # Protected branches

    def _protected_view(self, rule: dict[str, Any]) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(rule))
        return copy

    def get_protected_branches(self, project: FakeProject, _: list[str], params: dict[str, Any], path: str) -> _Reply:
        rules = [self._protected_view(rule) for rule in project.protected.values()]
        if params.get("search"):
            rules = [rule for rule in rules if params["search"] in rule["name"]]
        return self._page(rules, params, path)

    def get_protected_branch(self, project: FakeProject, segments: list[str], _: dict[str, Any], __: str) -> _Reply:
        rule = project.protected.get(segments[1])
        if rule is None:
            raise _message(404, "404 Not found")
        return _Reply(200, self._protected_view(rule))

    def post_protected_branch(self, project: FakeProject, _: list[str], params: dict[str, Any], __: str) -> _Reply:
        name = params.get("name")
        if not name:
            raise _Reply(400, {"error": "name is missing"})
        if name in project.protected:
            raise _message(409, f"Protected branch '{name}' already exists")
        levels = {}
        for kind in ("push", "merge", "unprotect"):
            try:
                level = int(params.get(f"{kind}_access_level", 40))
            except (TypeError, ValueError):
                level = -1
            if level not in ACCESS_LEVELS:
                raise _Reply(400, {"error": f"{kind}_access_level does not have a valid value"})
            levels[kind] = [
                {
                    "id": next(self._ids),  # type: ignore[call-overload]
                    "access_level": level,
                    "access_level_description": ACCESS_LEVELS[level],
                    "deploy_key_id": None,
                    "user_id": None,
                    "group_id": None,
                }
            ]
        rule = {
            "id": next(self._ids),  # type: ignore[call-overload]
            "name": name,
            "push_access_levels": levels["push"],
            "merge_access_levels": levels["merge"],
            "unprotect_access_levels": levels["unprotect"],
            "allow_force_push": _boolean(params.get("allow_force_push")),
            "code_owner_approval_required": _boolean(params.get("code_owner_approval_required")),
            "inherited": False,
        }
        project.protected[str(name)] = rule
        project.write_no_push_file()
        return _Reply(201, self._protected_view(rule))

    def delete_protected_branch(self, project: FakeProject, segments: list[str], _: dict[str, Any], __: str) -> _Reply:
        if project.protected.pop(segments[1], None) is None:
            raise _message(404, "404 Not found")
        project.write_no_push_file()
        return _Reply(204)


Route = Callable[[FakeGitLab, FakeProject, list[str], dict[str, Any], str], _Reply]
# What follows /api/v4/projects/:id; None stands for a variable (one URL-encoded segment).
_ROUTES: list[tuple[str, tuple[str | None, ...], Route]] = [
    ("GET", (), FakeGitLab.get_project),
    ("PUT", (), FakeGitLab.put_project),
    ("GET", ("repository", "branches", None), FakeGitLab.get_branch),
    ("GET", ("repository", "compare"), FakeGitLab.get_compare),
    ("GET", ("repository", "files", None, "raw"), FakeGitLab.get_raw_file),
    ("GET", ("repository", "commits"), FakeGitLab.get_commits),
    ("GET", ("repository", "commits", None, "statuses"), FakeGitLab.get_statuses),
    ("POST", ("statuses", None), FakeGitLab.post_status),
    ("GET", ("merge_requests",), FakeGitLab.get_merge_requests),
    ("POST", ("merge_requests",), FakeGitLab.post_merge_request),
    ("GET", ("merge_requests", None), FakeGitLab.get_merge_request),
    ("PUT", ("merge_requests", None, "merge"), FakeGitLab.put_merge),
    ("GET", ("protected_branches",), FakeGitLab.get_protected_branches),
    ("POST", ("protected_branches",), FakeGitLab.post_protected_branch),
    ("GET", ("protected_branches", None), FakeGitLab.get_protected_branch),
    ("DELETE", ("protected_branches", None), FakeGitLab.delete_protected_branch),
]


def _routes(segments: list[str]) -> dict[str, Route]:
    """The handlers of the path ``segments`` (after ``projects/:id``), by method."""
    return {
        method: route
        for method, pattern, route in _ROUTES
        if len(pattern) == len(segments) and all(p is None or p == s for p, s in zip(pattern, segments, strict=True))
    }


@contextlib.contextmanager
def fake_gitlab(root: Path, **kwargs: Any) -> Any:
    """A started :class:`FakeGitLab`, stopped at the end of the block."""
    with FakeGitLab(root, **kwargs) as fake:
        yield fake
