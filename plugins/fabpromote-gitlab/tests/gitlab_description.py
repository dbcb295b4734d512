"""GitLab's REST API as its client libraries describe it, to check the fake's every request and answer.

No registry package ships GitLab's own OpenAPI file (``doc/api/openapi``), so the
description is made of the two most complete client libraries, both pinned:

- ``@gitbeaker/core`` (npm, ``scripts/tools/package.json``): the TypeScript types of
  each method: its parameters (names, which are required, their types and enums) and
  its answer (``ExpandedMergeRequestSchema``, ``ProjectSchema``, ...). The types are
  turned into JSON Schema by ``scripts/tools/gitlab-schemas.mjs`` with the TypeScript
  compiler.
- ``python-gitlab`` (PyPI, the ``test`` extra): the parameters each manager sends
  (``_create_attrs``, ``_update_attrs``, ``_list_filters``) or each method takes.

A request may carry a parameter either library sends, with the type gitbeaker gives it;
it must carry those either one requires. An answer must match gitbeaker's type of it:
every required field present, every field of its type (fields neither library knows are
allowed: both lists are incomplete). Where the libraries are wrong about GitLab,
:data:`WAIVERS` corrects the description, each with its reason (docs/githosts.md lists them).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import jsonschema

__all__ = ["OPERATIONS", "WAIVERS", "Description", "DescriptionMissingError", "Operation", "Waiver", "load"]

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "tools" / "gitlab-schemas.mjs"
#: The parameters of every paginated list (GitLab's offset pagination).
PAGINATION = ("page", "per_page")


class DescriptionMissingError(Exception):
    """The pinned client libraries are not installed: run scripts/bootstrap.sh."""


@attrs.frozen
class Operation:
    """One endpoint the fake serves, and where the libraries describe it.

    Attributes:
        method: The HTTP method.
        pattern: The path after ``/projects/:id``; None is one variable segment.
        gitbeaker: The ``Class.method`` of ``@gitbeaker/core`` that calls it.
        path_params: gitbeaker's parameters that are parts of the path, not parameters.
        renamed: gitbeaker's positional parameters sent under another name.
        python_gitlab: ``Manager:create|update|list`` (its attribute lists) or
            ``Class.method`` (its signature) in ``gitlab.v4.objects``.
        listing: A paginated list (``page`` and ``per_page`` are accepted).
        json_answer: The answer is JSON (not a raw file, not empty).
    """

    method: str
    pattern: tuple[str | None, ...]
    gitbeaker: str
    path_params: tuple[str, ...] = ("projectId",)
    renamed: Mapping[str, str] = attrs.field(factory=dict)
    python_gitlab: str = ""
    listing: bool = False
    json_answer: bool = True

    def matches(self, method: str, segments: list[str]) -> bool:
        return (
            method == self.method
            and len(segments) == len(self.pattern)
            and all(p is None or p == s for p, s in zip(self.pattern, segments, strict=True))
        )

    @property
    def name(self) -> str:
        shown = "/".join(":var" if part is None else part for part in self.pattern)
        return f"{self.method} /projects/:id{'/' + shown if shown else ''}"


#: Every endpoint of the fake (and so every one the plugin uses).
OPERATIONS = (
    Operation("GET", (), "Projects.show"),
    Operation("PUT", (), "Projects.edit", python_gitlab="ProjectManager:update"),
    Operation("GET", ("repository", "branches", None), "Branches.show", ("projectId", "branchName")),
    Operation("GET", ("repository", "compare"), "Repositories.compare", python_gitlab="Project.repository_compare"),
    Operation(
        "GET",
        ("repository", "files", None, "raw"),
        "RepositoryFiles.showRaw",
        ("projectId", "filePath"),
        json_answer=False,
    ),
    Operation("GET", ("repository", "commits"), "Commits.all", python_gitlab="ProjectCommitManager:list", listing=True),
    Operation(
        "GET",
        ("repository", "commits", None, "statuses"),
        "Commits.allStatuses",
        ("projectId", "sha"),
        python_gitlab="ProjectCommitStatusManager:list",
        listing=True,
    ),
    Operation(
        "POST",
        ("statuses", None),
        "Commits.editStatus",
        ("projectId", "sha"),
        python_gitlab="ProjectCommitStatusManager:create",
    ),
    Operation(
        "GET",
        ("merge_requests",),
        "MergeRequests.all",
        python_gitlab="ProjectMergeRequestManager:list",
        listing=True,
    ),
    Operation("POST", ("merge_requests",), "MergeRequests.create", python_gitlab="ProjectMergeRequestManager:create"),
    Operation("GET", ("merge_requests", None), "MergeRequests.show", ("projectId", "mergerequestIId")),
    Operation(
        "PUT",
        ("merge_requests", None, "merge"),
        "MergeRequests.merge",
        ("projectId", "mergerequestIId"),
        python_gitlab="ProjectMergeRequest.merge",
    ),
    Operation("GET", ("protected_branches",), "ProtectedBranches.all", listing=True),
    Operation(
        "POST",
        ("protected_branches",),
        "ProtectedBranches.create",
        renamed={"branchName": "name"},
        python_gitlab="ProjectProtectedBranchManager:create",
    ),
    Operation("GET", ("protected_branches", None), "ProtectedBranches.show", ("projectId", "branchName")),
    Operation(
        "DELETE",
        ("protected_branches", None),
        "ProtectedBranches.remove",
        ("projectId", "branchName"),
        json_answer=False,
    ),
)


@attrs.frozen
class Waiver:
    """A known inaccuracy of the description, corrected: ``field`` of gitbeaker's ``schema``.

    Attributes:
        field: A field of the type, or of an object inside it (``permissions.group_access``).
        change: ``optional`` (GitLab leaves it out), ``nullable`` (GitLab sends null), or
            ``string`` (GitLab sends a string where the type says otherwise, or other values
            than the type's).
    """

    schema: str
    field: str
    change: str
    reason: str


#: The description's known inaccuracies, each with the reason (docs/githosts.md shows them).
WAIVERS = (
    Waiver("ProjectSchema", "license", "optional", "GitLab sends it only to GET /projects/:id?license=true"),
    Waiver("ProjectSchema", "license_url", "optional", "GitLab sends it only to GET /projects/:id?license=true"),
    Waiver("ProjectSchema", "owner", "optional", "GitLab sends it only for a project in a user's namespace"),
    Waiver("ProjectSchema", "mirror", "optional", "GitLab sends it only where pull mirroring is licensed (Premium)"),
    Waiver("ProjectSchema", "mirror_user_id", "optional", "GitLab sends it only for a pull mirror (Premium)"),
    Waiver("ProjectSchema", "mirror_trigger_builds", "optional", "GitLab sends it only for a pull mirror (Premium)"),
    Waiver("ProjectSchema", "only_mirror_protected_branches", "optional", "GitLab sends it only for a pull mirror"),
    Waiver(
        "ProjectSchema", "mirror_overwrites_diverged_branches", "optional", "GitLab sends it only for a pull mirror"
    ),
    Waiver(
        "ProjectSchema", "marked_for_deletion_on", "optional", "GitLab sends it only for a project pending deletion"
    ),
    Waiver(
        "ProjectSchema",
        "printing_merge_requests_link_enabled",
        "optional",
        "a misspelling: GitLab's field is printing_merge_request_link_enabled",
    ),
    Waiver(
        "ProjectSchema",
        "ci_pipeline_variables_minimum_override_role",
        "string",
        "GitLab sends a role name such as 'developer' (the type says boolean)",
    ),
    Waiver("ProjectSchema", "issue_branch_template", "nullable", "null until a template is set"),
    Waiver(
        "ProjectSchema",
        "container_expiration_policy.name_regex_delete",
        "optional",
        "GitLab sends name_regex (name_regex_delete is only a parameter)",
    ),
    Waiver(
        "ProjectSchema",
        "permissions.group_access",
        "nullable",
        "null when the user's access comes from the project, not from a group",
    ),
    *(
        Waiver(
            schema,
            "detailed_merge_status",
            "string",
            "GitLab also sends conflict, need_rebase, requested_changes... (its docs list them)",
        )
        for schema in ("ExpandedMergeRequestSchema", "MergeRequestSchemaWithBasicLabels")
    ),
    Waiver("CommitStatusSchema", "target_url", "nullable", "null when the status was set without a target_url"),
    Waiver("CommitStatusSchema", "description", "nullable", "null when the status was set without a description"),
    Waiver("CommitStatusSchema", "started_at", "nullable", "null until the status runs"),
    Waiver("CommitStatusSchema", "finished_at", "nullable", "null until the status finishes"),
    Waiver(
        "RepositoryCompareSchema", "commit", "nullable", "null when `to` adds no commit to `from` (same ref, or behind)"
    ),
)


def _wire(name: str) -> str:
    """gitbeaker's camelCase option as GitLab's parameter (gitbeaker decamelizes what it sends)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _base_name(key: str) -> str:
    return key.rsplit("_", 1)[0]


@attrs.frozen
class _Params:
    """What one operation accepts: each parameter's schema (None: a name only), and the required ones."""

    schemas: dict[str, Any]
    required: frozenset[str]


@attrs.define
class Description:
    """The operations of :data:`OPERATIONS`, described; checks requests and answers against them."""

    gitbeaker: dict[str, Any]
    waivers: tuple[Waiver, ...] = WAIVERS
    _defs: dict[str, Any] = attrs.field(init=False)
    _params: dict[str, _Params] = attrs.field(init=False, factory=dict)
    # Validators are built once: each holds the whole set of types ($defs).
    _validators: dict[str, jsonschema.protocols.Validator] = attrs.field(init=False, factory=dict)

    def __attrs_post_init__(self) -> None:
        self._defs = copy.deepcopy(self.gitbeaker["$defs"])
        for waiver in self.waivers:
            self._waive(waiver)
        for operation in OPERATIONS:
            self._params[operation.name] = self._parameters(operation)

    # Building

    def _waive(self, waiver: Waiver) -> None:
        *outer, field = waiver.field.split(".")
        found = [self._nested(schema, outer) for key, schema in self._defs.items() if _base_name(key) == waiver.schema]
        if not found or not all(schema is not None and field in schema["properties"] for schema in found):
            raise ValueError(f"waiver of {waiver.schema}.{waiver.field}: the description has no such field")
        for schema in found:
            assert schema is not None
            if waiver.change == "optional":
                schema["required"] = [name for name in schema["required"] if name != field]
            elif waiver.change == "nullable":
                schema["properties"][field] = {"anyOf": [{"type": "null"}, schema["properties"][field]]}
            elif waiver.change == "string":
                schema["properties"][field] = {"type": "string"}
            else:
                raise ValueError(f"waiver of {waiver.schema}.{waiver.field}: unknown change {waiver.change!r}")

    def _nested(self, schema: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
        """The object schema at ``path`` (field names) inside ``schema``, following ``$ref``s."""
        for name in path:
            inner = schema.get("properties", {}).get(name, {})
            if "$ref" in inner:
                inner = self._defs[inner["$ref"].removeprefix("#/$defs/")]
            if inner.get("type") != "object":
                return None
            schema = inner
        return schema

    def _parameters(self, operation: Operation) -> _Params:
        described = self.gitbeaker["methods"][operation.gitbeaker]
        schemas: dict[str, Any] = {}
        required: set[str] = set()
        for param in described["params"]:
            if param["name"] in operation.path_params:
                continue
            if param["options"]:
                for name, schema in param["schema"]["properties"].items():
                    if name not in operation.path_params:
                        schemas[_wire(name)] = schema
                required.update(_wire(name) for name in param["schema"]["required"])
                continue
            wire = operation.renamed.get(param["name"], _wire(param["name"]))
            schemas[wire] = param["schema"]
            if not param["optional"]:
                required.add(wire)
        known, needed = _python_gitlab(operation.python_gitlab)
        for name in known:
            schemas.setdefault(name, None)
        required |= needed
        if operation.listing:
            for name in PAGINATION:
                schemas.setdefault(name, {"type": "integer", "minimum": 1})
        return _Params(schemas, frozenset(required))

    # Checking

    def operation(self, method: str, segments: list[str]) -> Operation | None:
        """The operation of ``method`` on the path ``segments`` after ``projects/:id``."""
        return next((operation for operation in OPERATIONS if operation.matches(method, segments)), None)

    def check_request(
        self, operation: Operation, query: Mapping[str, str], body: Mapping[str, Any] | None
    ) -> list[str]:
        """What is wrong with a request's parameters (query strings, and the JSON body's values)."""
        params = self._params[operation.name]
        problems = []
        sent: list[tuple[str, Any, bool]] = [(name, value, True) for name, value in query.items()]
        sent += [(name, value, False) for name, value in (body or {}).items()]
        for name, value, from_query in sent:
            if name not in params.schemas:
                problems.append(f"request parameter {name!r} is not in the description")
                continue
            schema = params.schemas[name]
            if schema is not None and not self._valid(value, f"{operation.name} {name}", schema, from_query):
                problems.append(f"request parameter {name!r}: {value!r} does not match {_shown(schema)}")
        names = {name for name, _, _ in sent}
        problems += [f"required request parameter {name!r} is missing" for name in sorted(params.required - names)]
        return problems

    def check_answer(self, operation: Operation, body: Any) -> list[str]:
        """What is wrong with a successful answer's JSON body."""
        if not operation.json_answer:
            return []
        validator = self._validator(operation.name, self.gitbeaker["methods"][operation.gitbeaker]["returns"])
        return [
            f"answer {'/'.join(str(part) for part in error.absolute_path) or '(body)'}: {error.message}"
            for error in sorted(validator.iter_errors(body), key=lambda error: list(map(str, error.absolute_path)))
        ]

    def accepts(self, operation: Operation, name: str) -> bool:
        """Whether the description knows parameter ``name`` of ``operation``."""
        return name in self._params[operation.name].schemas

    def _validator(self, key: str, schema: dict[str, Any]) -> jsonschema.protocols.Validator:
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft202012Validator({"$defs": self._defs, **schema})
        return self._validators[key]

    def _valid(self, value: Any, key: str, schema: dict[str, Any], from_query: bool) -> bool:
        validator = self._validator(key, schema)
        candidates = [value]
        if from_query and isinstance(value, str):
            # A query string carries text: GitLab reads "true" and "42" as their values.
            candidates += [{"true": True, "false": False}.get(value.lower(), value)]
            if re.fullmatch(r"-?\d+", value):
                candidates.append(int(value))
        return any(validator.is_valid(candidate) for candidate in candidates)


def _shown(schema: Any) -> str:
    text = json.dumps(schema)
    return text if len(text) <= 120 else text[:117] + "..."


def _python_gitlab(source: str) -> tuple[set[str], set[str]]:
    """The parameters python-gitlab sends for ``source``, and those it requires."""
    if not source:
        return set(), set()
    from gitlab.v4 import objects

    if ":" in source:
        manager_name, kind = source.split(":")
        manager = getattr(objects, manager_name)
        if kind == "list":
            return set(manager._list_filters), set()
        attributes = manager._create_attrs if kind == "create" else manager._update_attrs
        return {*attributes.required, *attributes.optional, *attributes.exclusive}, set(attributes.required)
    class_name, method_name = source.split(".")
    signature = inspect.signature(getattr(getattr(objects, class_name), method_name))
    names = {
        name.rstrip("_")
        for name, param in signature.parameters.items()
        if name != "self" and param.kind is not inspect.Parameter.VAR_KEYWORD
    }
    required = {
        name.rstrip("_")
        for name, param in signature.parameters.items()
        if name != "self" and param.default is inspect.Parameter.empty and param.kind is not param.VAR_KEYWORD
    }
    return names, required


def _npm_modules() -> Path:
    if shutil.which("node") is None:
        raise DescriptionMissingError(
            "node is not on PATH: install it (Debian package nodejs), run scripts/bootstrap.sh"
        )
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-tools.sh"), "--check"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DescriptionMissingError(done.stderr.strip())
    return Path(done.stdout.strip()).parent


def _gitbeaker(modules: Path, methods: Iterable[str]) -> dict[str, Any]:
    """gitbeaker's description of ``methods``, made once per tools install and script version."""
    wanted = sorted(set(methods))
    key = hashlib.sha256(SCRIPT.read_bytes() + json.dumps(wanted).encode()).hexdigest()[:16]
    cached = modules.parent / f"gitlab-description-{key}.json"
    if cached.is_file():
        data: dict[str, Any] = json.loads(cached.read_text())
        return data
    done = subprocess.run(
        ["node", str(SCRIPT), str(modules)],
        input=json.dumps(wanted),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} failed: {done.stderr.strip()}")
    scratch = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
    scratch.write_text(done.stdout)
    scratch.replace(cached)  # atomic: parallel test workers may write it at once
    described: dict[str, Any] = json.loads(done.stdout)
    return described


@functools.cache
def load() -> Description:
    """The description of :data:`OPERATIONS` (raises :class:`DescriptionMissingError` without the tools)."""
    try:
        import gitlab  # noqa: F401 - python-gitlab, the test extra
    except ImportError:
        raise DescriptionMissingError("python-gitlab is not installed: run scripts/bootstrap.sh") from None
    return Description(_gitbeaker(_npm_modules(), (operation.gitbeaker for operation in OPERATIONS)))
