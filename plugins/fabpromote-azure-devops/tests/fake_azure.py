"""A stateful fake of Azure DevOps (Azure Repos) on 127.0.0.1, with real git repositories behind it.

One port serves both sides, as dev.azure.com does: ``/ORG/PROJECT/_apis/...``
is the REST API (api-version 7.x, HTTP Basic with the personal access token
as password), and every other path (``/ORG/PROJECT/_git/REPO/info/refs``...)
is git over smart HTTP, relayed to a :class:`fabpromote.testing.gitservers.SmartHTTPServer`
that runs the real ``git http-backend`` on the same repositories.

Pull requests, commit statuses, pull request statuses, reviewers' votes and
branch policies live in memory (:mod:`fake_azure_state`). A completed pull
request is merged for real (:mod:`fake_azure_git`), only at the source commit
the request names (``lastMergeSourceCommit``) and only when every blocking
policy is approved; as on Azure, the PATCH that completes it is answered
with the pull request as it was (``active``), and the merge shows on the
next GET. A branch with an enabled, blocking policy refuses pushes (TF402455).

Every request is checked against the operation of the ``azure-devops`` SDK
that sends it (:mod:`azure_schema`): its query parameters, its body and the
answer against the models the SDK's client method names. A body that breaks
its model is answered 400; each violation, of a request or a response, is
kept in :attr:`FakeAzureDevOps.violations` (the tests' fixture fails on any).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import http.client
import http.server
import json
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import attrs
from azure_schema import operation, violations
from fake_azure_common import ApiError
from fake_azure_state import State

from fabpromote.testing.gitservers import SmartHTTPServer
from fabpromote.testing.restserver import Answer, FakeRestHost, RestRequest

__all__ = ["API_VERSIONS", "FakeAzureDevOps", "Recorded"]

HOST = "127.0.0.1"
#: The api-version values the fake serves.
API_VERSIONS = frozenset({"7.0", "7.1", "7.1-preview.1"})
_PROJECT = r"^/(?P<org>[^/]+)/(?P<project>[^/]+)/_apis/"
_REPO = _PROJECT + r"git/repositories/(?P<repo>[^/]+)"
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


@attrs.define
class Recorded:
    """One REST request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0


#: (method, path pattern, handler name of State, the SDK's operation): its body and answer
#: are checked against the models the SDK's client method names (a list answers ``{"count", "value"}``).
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", _REPO + r"$", "get_repository", "get_repository"),
    ("GET", _REPO + r"/commits/(?P<sha>[0-9a-fA-F]{40})$", "get_commit", "get_commit"),
    ("GET", _REPO + r"/commits/(?P<sha>[^/]+)/statuses$", "list_statuses", "get_statuses"),
    ("POST", _REPO + r"/commits/(?P<sha>[^/]+)/statuses$", "create_status", "create_commit_status"),
    ("GET", _REPO + r"/pullrequests$", "list_pulls", "get_pull_requests"),
    ("POST", _REPO + r"/pullrequests$", "create_pull", "create_pull_request"),
    ("GET", _REPO + r"/pullrequests/(?P<number>\d+)$", "get_pull", "get_pull_request"),
    ("PATCH", _REPO + r"/pullrequests/(?P<number>\d+)$", "update_pull", "update_pull_request"),
    ("POST", _REPO + r"/pullrequests/(?P<number>\d+)/statuses$", "create_pull_status", "create_pull_request_status"),
    (
        "PUT",
        _REPO + r"/pullrequests/(?P<number>\d+)/reviewers/(?P<reviewer>[^/]+)$",
        "vote",
        "create_pull_request_reviewer",
    ),
    ("POST", _REPO + r"/refs$", "update_refs", "update_refs"),
    ("GET", _PROJECT + r"policy/configurations$", "list_policies", "get_policy_configurations"),
    ("POST", _PROJECT + r"policy/configurations$", "create_policy", "create_policy_configuration"),
    ("PUT", _PROJECT + r"policy/configurations/(?P<config>\d+)$", "update_policy", "update_policy_configuration"),
    ("GET", _PROJECT + r"policy/evaluations$", "list_evaluations", "get_policy_evaluations"),
)


class FakeAzureDevOps(FakeRestHost):
    """Azure DevOps' REST API and git over smart HTTP for the repositories under ``base_dir``.

    Args:
        base_dir: Where the bare repositories live (``ORG/PROJECT/_git/REPO``).
        token: The personal access token every request must carry.

    Attributes:
        state: The organization's data (repositories, pull requests, statuses, policies).
        requests: Every REST request, oldest first.
        violations: Every way a request or response broke the SDK's models.
        tamper: A test's hook ``(method, path, body) -> body`` run on each
            response body before it is sent (to prove a wrong answer is caught).
        before: A test's hook ``(method, path)`` run before each REST request
            is answered (to move a branch in the middle of a request, say).
    """

    protocol = "HTTP/1.0"

    def __init__(self, base_dir: str | Path, *, token: str, org: str = "contoso") -> None:
        self.base_dir = Path(base_dir)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.org = org
        super().__init__(SmartHTTPServer(self.base_dir, token=token))
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.tamper: Callable[[str, str, Any], Any] | None = None
        self.before: Callable[[str, str], None] | None = None
        self.state = State(self.base_dir, org=org, web=lambda: self.org_url)
        self._faults: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()

    # Lifecycle

    @property
    def org_url(self) -> str:
        """The organization's URL: the API base, as ``https://dev.azure.com/ORG`` is."""
        return f"{self.url}/{self.org}" if self.server.running else ""

    def repo_url(self, project: str, name: str) -> str:
        """The clone URL of a repository (``.../PROJECT/_git/REPO``)."""
        return f"{self.org_url}/{quote(project, safe='')}/_git/{quote(name, safe='')}"

    # Faults

    def fail_next(self, count: int = 1, *, status: int = 503, headers: Mapping[str, str] | None = None) -> None:
        """The next ``count`` REST requests are answered ``status`` (with ``headers``) instead."""
        with self._lock:
            self._faults += [(status, dict(headers or {}))] * count

    def _take_fault(self) -> tuple[int, dict[str, str]] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    # Serving

    def answer(self, request: RestRequest) -> Answer:
        """A REST request (a path with ``/_apis/``) is answered in JSON; anything else is git, relayed."""
        if "/_apis/" not in request.path:
            return self._relay_git(request)
        status, headers, answer = self.serve_api(request.method, request.target, request.headers, request.body)
        body = b"" if answer is None else answer  # Azure types even an empty answer JSON
        return Answer(status, body, {**headers, "Content-Type": "application/json; charset=utf-8"})

    def _relay_git(self, request: RestRequest) -> Answer:
        """git over smart HTTP, relayed to the real ``git http-backend`` server."""
        connection = http.client.HTTPConnection(HOST, self.git_server.port, timeout=60)
        headers = {name: value for name, value in request.headers.items() if name.lower() not in _HOP_HEADERS}
        connection.request(request.method, request.target, body=request.body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        connection.close()
        kept = {name: value for name, value in response.getheaders() if name.lower() not in _HOP_HEADERS}
        return Answer(response.status, data, kept)

    def serve_api(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """Answer one REST request: ``(status, headers, JSON body)``."""
        split = urlsplit(target)
        path, query = unquote(split.path), dict(parse_qsl(split.query, keep_blank_values=True))
        body = json.loads(raw) if raw else None
        record = Recorded(method, path, query, body)
        self.requests.append(record)
        if self.before is not None:
            self.before(method, path)
        status, extra, answer = self._answer(method, path, query, headers, body)
        record.status = status
        return status, extra, answer

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if not self._authorized(headers.get("Authorization", "")):
            return 401, {"WWW-Authenticate": 'Basic realm="https://dev.azure.com/"'}, None
        query = dict(query)  # the record keeps what was sent
        fault = self._take_fault()
        if fault is not None:
            return fault[0], fault[1], _error(f"the fake's injected {fault[0]}", "FakeFault")
        version = query.pop("api-version", None)
        if version is None:
            return (
                400,
                {},
                _error(f'No api-version was supplied for the "{method}" request.', "VssVersionNotSpecifiedException"),
            )
        if version not in API_VERSIONS:
            return (
                400,
                {},
                _error(
                    f"The requested REST API version of {version} is out of range for this server.",
                    "VssVersionOutOfRangeException",
                ),
            )
        for verb, pattern, handler, name in ROUTES:
            match = re.match(pattern, path)
            if verb != method or not match:
                continue
            sdk = operation(name)
            # Azure ignores a query parameter it does not know: the request would not do what was meant.
            self.violations += [
                f"{method} {path} request: {name} has no query parameter {key!r}"
                for key in query
                if key not in sdk.query
            ]
            if sdk.body is not None:
                found = violations(sdk.body, body, f"{method} {path} request")
                if found:
                    self.violations += found
                    return 400, {}, _error("; ".join(found), "InvalidArgumentValueException")
            try:
                with self.state.lock:
                    # (status, JSON), or (status, JSON, headers) for an answer with headers of its own.
                    status, answer, *more = getattr(self.state, handler)(query=query, body=body, **match.groupdict())
            except ApiError as exc:
                return exc.status, {}, _error(exc.message, exc.type_key)
            if self.tamper is not None:
                answer = self.tamper(method, path, answer)
            self._check_response(sdk.response, answer, f"{method} {path} response")
            return status, more[0] if more else {}, answer
        return 404, {}, _error(f"The fake has no route {method} {path}.", "RouteNotFound")

    def _check_response(self, response_model: str | None, answer: Any, where: str) -> None:
        if response_model is None:
            return
        if response_model.startswith("["):
            if not isinstance(answer, dict) or set(answer) != {"count", "value"}:
                self.violations.append(f"{where}: a list answers {{'count', 'value'}}")
                return
            self.violations += violations(response_model, answer["value"], f"{where}.value")
        else:
            self.violations += violations(response_model, answer, where)

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            _, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(password.encode(), self.token.encode())


def _error(message: str, type_key: str) -> dict[str, Any]:
    """Azure DevOps' error body."""
    return {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.SourceControl.WebServer.{type_key}, Microsoft.TeamFoundation.SourceControl.WebServer",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3000,
    }
