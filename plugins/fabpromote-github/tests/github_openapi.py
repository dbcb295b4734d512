"""GitHub's own OpenAPI description (npm ``@octokit/openapi``), as the fake GitHub checks itself against it.

:class:`OpenAPI` loads ``generated/api.github.com.json`` once per process, turns its
OpenAPI 3.0 schemas into JSON Schema (``nullable`` becomes a ``"null"`` type), and
checks one exchange at a time: the request's path parameters, query and JSON body,
and the answer's status code and JSON body, against the operation the request's
method and path name. What breaks the description comes back as :class:`Violation`
objects (method, path, part, JSON pointer, message); :data:`WAIVERS` lists the few
places where the description, not the fake, is wrong, each with its reason
(docs/githosts.md shows the same list).
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
import jsonschema
import referencing
import referencing.jsonschema
from jsonschema.exceptions import ValidationError, best_match

ROOT = Path(__file__).resolve().parents[3]
#: The pinned package (scripts/tools/package.json) and its file that describes api.github.com.
PACKAGE = "@octokit/openapi"
DESCRIPTION = Path("generated") / "api.github.com.json"
_BASE_URI = "urn:fabpromote:github-openapi"
_METHODS = ("get", "put", "post", "delete", "patch")
_BASIC_ERROR = "#/components/schemas/basic-error"


@attrs.frozen
class Violation:
    """One place where an exchange breaks the description.

    ``part`` is ``path``, ``query``, ``request body``, ``status`` or ``response body``;
    ``pointer`` is the JSON pointer into that part (a parameter name for ``path`` and
    ``query``, the status code for ``status``).
    """

    method: str
    path: str
    template: str
    part: str
    pointer: str
    message: str

    def __str__(self) -> str:
        where = f" {self.pointer}" if self.pointer else ""
        return f"{self.method} {self.path} ({self.template}): {self.part}{where}: {self.message}"


@attrs.frozen
class Waiver:
    """A known inaccuracy of the description: violations it matches are not reported.

    ``template`` and ``method`` name the operation (``*``: every operation), ``part`` and
    ``pointer`` the place, ``message`` what is wrong there (``pointer`` and ``message`` are
    regular expressions the whole JSON pointer and message must match).
    """

    method: str
    template: str
    part: str
    pointer: str
    message: str
    reason: str

    def covers(self, violation: Violation) -> bool:
        return (
            self.method in ("*", violation.method)
            and self.template in ("*", violation.template)
            and self.part == violation.part
            and re.fullmatch(self.pointer, violation.pointer) is not None
            and re.fullmatch(self.message, violation.message) is not None
        )


_UNDOCUMENTED = "not an answer the operation documents"

#: Statuses every GitHub REST request can get, whatever its operation lists (GitHub's REST docs:
#: "Troubleshooting the REST API" and "Rate limits for the REST API"); their bodies are GitHub's basic error.
UNIVERSAL_STATUSES = r"401|403|404|429|500|502|503|504"

#: The description's known inaccuracies, each with why it is one (docs/githosts.md shows this list).
WAIVERS: tuple[Waiver, ...] = (
    Waiver(
        "*",
        "*",
        "status",
        UNIVERSAL_STATUSES,
        _UNDOCUMENTED,
        "Operations list only their own statuses, yet any request can get 401 (bad credentials), "
        "403 or 429 (rate limits, with Retry-After or X-RateLimit-Reset), 404 (a repository, branch "
        "or protection that is missing or hidden from the token, e.g. 'Branch not protected' from "
        "DELETE .../protection) and 5xx (an outage); their bodies are still checked against the "
        "basic error schema.",
    ),
    Waiver(
        "POST",
        "/repos/{owner}/{repo}/statuses/{sha}",
        "status",
        "422",
        _UNDOCUMENTED,
        "Only 201 is documented, yet GitHub answers 422 Validation Failed to a state outside "
        "error/failure/pending/success and 422 'No commit found for SHA' to an unknown commit.",
    ),
    Waiver(
        "PUT",
        "/repos/{owner}/{repo}/branches/{branch}/protection",
        "request body",
        "/required_status_checks",
        "'contexts' is a required property",
        "'contexts' is deprecated in favour of 'checks' (the description says so itself) and GitHub "
        "takes 'checks' alone, as the same description's PATCH .../protection/required_status_checks "
        "does; only this operation still lists 'contexts' as required.",
    ),
)


class OpenAPIMissing(Exception):
    """The pinned description is not installed (scripts/bootstrap.sh installs it)."""


def description_file() -> Path:
    """Where the pinned description is: node_modules of scripts/install-tools.sh."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-tools.sh"), "--check"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise OpenAPIMissing(done.stderr.strip())
    found = Path(done.stdout.strip()).parent / PACKAGE / DESCRIPTION
    if not found.is_file():
        raise OpenAPIMissing(f"{found} is missing: run scripts/bootstrap.sh")
    return found


@functools.cache
def load(path: Path | None = None) -> OpenAPI:
    """The description, read and indexed once per process."""
    return OpenAPI(json.loads((path or description_file()).read_text()))


@attrs.frozen
class _Parameter:
    name: str
    where: str
    required: bool
    multi_segment: bool
    kind: str | None
    schema: str  # JSON pointer to its schema


@attrs.frozen
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal: int
    deprecated: bool
    parameters: tuple[_Parameter, ...]
    request_body: tuple[dict[str, Any], str] | None  # the object and its JSON pointer
    responses: Mapping[str, tuple[dict[str, Any], str]]


class OpenAPI:
    """The operations of one OpenAPI 3.0 description, ready to check exchanges against.

    Args:
        document: The description as JSON (not changed: the schemas are converted in a copy).
        waivers: The known inaccuracies to leave out of what :meth:`check` reports.
    """

    def __init__(self, document: dict[str, Any], waivers: Sequence[Waiver] = WAIVERS) -> None:
        self.document = document
        self.waivers = tuple(waivers)
        resource = referencing.Resource.from_contents(
            _json_schema(document), default_specification=referencing.jsonschema.DRAFT4
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource(_BASE_URI, resource)
        self._validators: dict[str, Any] = {}
        self._operations = [op for template, item in document["paths"].items() for op in self._index(template, item)]
        # Single-segment parameters first, then the most literal text, then the operation not deprecated.
        self._operations.sort(key=lambda op: (op.pattern.pattern.count(".+"), -op.literal, op.deprecated))

    def check(
        self, method: str, raw_path: str, query: Sequence[tuple[str, str]], body: Any, status: int, answer: Any
    ) -> list[Violation]:
        """Every unwaived violation of one exchange; ``body`` and ``answer`` are parsed JSON or None."""
        path = urlsplit(raw_path).path
        found = self.operation(method, path)
        if found is None:
            message = "no operation of the description has this method and path"
            return [Violation(method, path, "-", "path", "", message)]
        operation, params = found
        violations = [
            *self._check_parameters(operation, params, query),
            *self._check_request_body(operation, body),
            *self._check_response(operation, status, answer),
        ]
        made = [attrs.evolve(violation, path=path) for violation in violations]
        return [violation for violation in made if not self.waived(violation)]

    def waived(self, violation: Violation) -> bool:
        return any(waiver.covers(violation) for waiver in self.waivers)

    def operation(self, method: str, path: str) -> tuple[_Operation, dict[str, str]] | None:
        """The operation a request goes to, and its path parameters (decoded)."""
        method = method.lower()
        for operation in self._operations:
            match = operation.pattern.fullmatch(path) if operation.method == method else None
            if match:
                names = {_group(param.name): param.name for param in operation.parameters if param.where == "path"}
                return operation, {names[group]: unquote(value) for group, value in match.groupdict().items()}
        return None

    # Indexing

    def _index(self, template: str, item: dict[str, Any]) -> Iterator[_Operation]:
        at = f"#/paths/{_escape(template)}"
        shared = self._parameters(item, at)
        for method in _METHODS:
            if method not in item:
                continue
            spec = item[method]
            own = self._parameters(spec, f"{at}/{method}")
            names = {(param.where, param.name) for param in own}
            parameters = own + tuple(param for param in shared if (param.where, param.name) not in names)
            responses = {
                status: self._resolve(response, f"{at}/{method}/responses/{status}")
                for status, response in spec["responses"].items()
            }
            yield _Operation(
                method=method,
                template=template,
                pattern=_path_pattern(template, parameters),
                literal=len(re.sub(r"\{[^}]+\}", "", template)),
                deprecated=bool(spec.get("deprecated")),
                parameters=parameters,
                request_body=self._resolve(spec["requestBody"], f"{at}/{method}/requestBody")
                if "requestBody" in spec
                else None,
                responses=responses,
            )

    def _parameters(self, spec: dict[str, Any], at: str) -> tuple[_Parameter, ...]:
        found = []
        for index, raw in enumerate(spec.get("parameters", [])):
            param, pointer = self._resolve(raw, f"{at}/parameters/{index}")
            found.append(
                _Parameter(
                    name=param["name"],
                    where=param["in"],
                    required=bool(param.get("required")),
                    multi_segment=bool(param.get("x-multi-segment")),
                    kind=param.get("schema", {}).get("type"),
                    schema=f"{pointer}/schema",
                )
            )
        return tuple(found)

    def _resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        """A parameter, request body or response object and where it is, its ``$ref`` followed."""
        while "$ref" in node:
            pointer = str(node["$ref"])
            target: Any = self.document
            for part in pointer.split("/")[1:]:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node, pointer

    # Checking

    def _check_parameters(
        self, operation: _Operation, params: dict[str, str], query: Sequence[tuple[str, str]]
    ) -> Iterator[Violation]:
        given: dict[str, list[str]] = {}
        for name, value in query:
            given.setdefault(name, []).append(value)
        declared = {param.name for param in operation.parameters if param.where == "query"}
        for name in sorted(set(given) - declared):
            yield _violation(operation, "query", name, "the operation takes no such query parameter")
        for param in operation.parameters:
            if param.where == "path":
                values = [params[param.name]]
            elif param.where == "query":
                values = given.get(param.name, [])
            else:
                continue
            if not values and param.required:
                yield _violation(operation, param.where, param.name, "required, and missing")
            for raw in values:
                for error in self._errors(param.schema, _coerce(raw, param.kind)):
                    yield _violation(operation, param.where, param.name, _describe(error))

    def _check_request_body(self, operation: _Operation, body: Any) -> Iterator[Violation]:
        if operation.request_body is None:
            if body is not None:
                yield _violation(operation, "request body", "", "the operation takes no body")
            return
        spec, pointer = operation.request_body
        if body is None:
            if spec.get("required"):
                yield _violation(operation, "request body", "", "required, and missing")
            return
        yield from self._content_violations(operation, "request body", spec, pointer, body)

    def _check_response(self, operation: _Operation, status: int, answer: Any) -> Iterator[Violation]:
        key = str(status) if str(status) in operation.responses else "default"
        if key in operation.responses:
            spec, pointer = operation.responses[key]
            yield from self._content_violations(operation, "response body", spec, pointer, answer)
            return
        violation = _violation(operation, "status", str(status), _UNDOCUMENTED)
        yield violation
        if self.waived(violation):
            yield from self._schema_violations(operation, "response body", _BASIC_ERROR, answer)

    def _content_violations(
        self, operation: _Operation, part: str, spec: dict[str, Any], pointer: str, value: Any
    ) -> Iterator[Violation]:
        content = spec.get("content", {})
        media = _json_media(content)
        if media is None:
            if value is not None:
                yield _violation(operation, part, "", f"documented without a JSON body ({sorted(content)})")
            return
        if value is None:
            yield _violation(operation, part, "", f"missing: documented as {media}")
            return
        yield from self._schema_violations(operation, part, f"{pointer}/content/{_escape(media)}/schema", value)

    def _schema_violations(self, operation: _Operation, part: str, schema: str, value: Any) -> Iterator[Violation]:
        for error in self._errors(schema, value):
            yield _violation(operation, part, _pointer(error.absolute_path), _describe(error))

    def _errors(self, schema: str, value: Any) -> list[ValidationError]:
        """The errors of ``value`` against the schema at JSON pointer ``schema``, each at its deepest cause."""
        errors = []
        validator = self._validators.get(schema)
        if validator is None:
            # Built once per schema: the $refs are resolved (and cached) on first use.
            validator = jsonschema.Draft4Validator(
                {"$ref": f"{_BASE_URI}{schema}"}, registry=self._registry, format_checker=_FORMATS
            )
            self._validators[schema] = validator
        for error in validator.iter_errors(value):
            deepest = best_match([error])
            errors.append(deepest if deepest is not None else error)
        return errors


def _describe(error: ValidationError) -> str:
    """What is wrong, short: the instance is not repeated, an unmatched ``oneOf`` names its closest branch."""
    if error.context:
        closest = best_match(error.context)
        return f"matches no {error.validator} branch; closest: {_pointer(closest.absolute_path)}: {_describe(closest)}"
    message = error.message
    return message if len(message) <= 160 else f"{message[:150]}... ({error.validator})"


def _violation(operation: _Operation, part: str, pointer: str, message: str) -> Violation:
    return Violation(operation.method.upper(), "", operation.template, part, pointer, message)


def _path_pattern(template: str, parameters: Sequence[_Parameter]) -> re.Pattern[str]:
    """The template as a regular expression: a parameter is one segment unless marked ``x-multi-segment``."""
    multi = {param.name for param in parameters if param.where == "path" and param.multi_segment}
    pattern = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        pattern += re.escape(literal)
        if name:
            pattern += f"(?P<{_group(name)}>{'.+' if name in multi else '[^/]+'})"
    return re.compile(pattern)


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _coerce(raw: str, kind: str | None) -> Any:
    """A query or path value as the type its schema says, or the string when it is not one."""
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _json_media(content: Mapping[str, Any]) -> str | None:
    if "application/json" in content:
        return "application/json"
    return next((media for media in content if media.endswith("json")), None)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _pointer(path: Sequence[Any]) -> str:
    return "".join(f"/{_escape(str(part))}" for part in path)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schemas as JSON Schema (draft 4): ``nullable: true`` lets ``null`` in."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items()}
    if converted.get("nullable") is not True:
        return converted
    del converted["nullable"]
    if isinstance(converted.get("enum"), list) and None not in converted["enum"]:
        converted["enum"] = [*converted["enum"], None]
    kind = converted.get("type")
    if isinstance(kind, str):
        converted["type"] = [kind, "null"]
        return converted
    return {"anyOf": [{"type": "null"}, converted]}


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    split = urlsplit(value)
    return bool(split.scheme and (split.netloc or split.scheme in ("mailto", "urn")))


#: The formats the description uses that draft 4's checker leaves out (the venv has no rfc3339 or rfc3987).
_FORMATS = jsonschema.FormatChecker()
_FORMATS.checks("date-time", raises=ValueError)(_date_time)
_FORMATS.checks("uri")(_uri)
