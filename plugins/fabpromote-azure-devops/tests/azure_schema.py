"""Azure DevOps' REST models as the ``azure-devops`` SDK describes them, and a checker of JSON against them.

The SDK (pinned in the test extra) ships, for each operation, a client
method that names its verb, query parameters and body and response models
(:func:`operation`), and msrest models whose
``_attribute_map`` gives every field's wire name and type: ``str``, ``int``,
``long``, ``float``, ``bool``, ``iso-8601``, ``object`` (free JSON, or an enum
the SDK leaves untyped), ``[T]`` (a list), ``{T}`` (a map) and other models.
:func:`violations` lists where a JSON value breaks its model: a field the
model does not have, a value of the wrong type, an enum value outside
:data:`ENUMS`. The fake Azure DevOps checks every request body it is sent
and every response body it gives with it.

Two things the SDK's models do not say, written down here with the reason:

- ``_links`` (``ReferenceLinks``) is ``{"links": {object}}`` in the model,
  but the SDK's own serializer writes its ``links`` dict as the value
  itself (``"_links": {"self": {"href": ...}}``): checked as that.
- Enums are ``object`` in the models; :data:`ENUMS` holds the values of the
  ones the fake uses, as Azure DevOps' REST reference (7.1) lists them.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ["ENUMS", "Operation", "model", "operation", "violations"]

#: (model, wire field) -> the values Azure DevOps' REST reference gives for that enum.
ENUMS: Mapping[tuple[str, str], frozenset[str]] = {
    ("GitStatus", "state"): frozenset({"notSet", "pending", "succeeded", "failed", "error", "notApplicable"}),
    ("GitPullRequestStatus", "state"): frozenset(
        {"notSet", "pending", "succeeded", "failed", "error", "notApplicable"}
    ),
    ("GitPullRequest", "status"): frozenset({"notSet", "active", "abandoned", "completed", "all"}),
    ("GitPullRequest", "mergeStatus"): frozenset(
        {"notSet", "queued", "conflicts", "succeeded", "rejectedByPolicy", "failure"}
    ),
    ("GitPullRequestCompletionOptions", "mergeStrategy"): frozenset(
        {"noFastForward", "squash", "rebase", "rebaseMerge"}
    ),
    ("PolicyEvaluationRecord", "status"): frozenset(
        {"queued", "running", "approved", "rejected", "notApplicable", "broken"}
    ),
    ("GitRefUpdateResult", "updateStatus"): frozenset(
        {
            "succeeded",
            "forcePushRequired",
            "staleOldObjectId",
            "invalidRefName",
            "unprocessed",
            "unresolvableToCommit",
            "writePermissionRequired",
            "manageNotePermissionRequired",
            "createBranchPermissionRequired",
            "createTagPermissionRequired",
            "rejectedByPlugin",
            "locked",
            "refNameConflict",
            "rejectedByPolicy",
            "succeededNonExistentRef",
            "succeededCorruptRef",
        }
    ),
    ("TeamProjectReference", "state"): frozenset(
        {"deleting", "new", "wellFormed", "createPending", "all", "unchanged", "deleted"}
    ),
    ("TeamProjectReference", "visibility"): frozenset({"private", "public"}),
}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")


class Operation(NamedTuple):
    """One REST operation as the SDK's client method sends it."""

    method: str
    query: frozenset[str]
    body: str | None
    response: str | None


@functools.cache
def operation(name: str) -> Operation:
    """The SDK's operation ``name`` (a method of its git or policy client): verb, query parameters, models.

    Read from the method's own code, where the SDK's generator wrote them:
    ``http_method='PATCH'``, ``query_parameters['latestOnly']``,
    ``self._serialize.body(..., 'GitStatus')`` and ``self._deserialize('[GitStatus]', ...)``.
    """
    from azure.devops.v7_1.git.git_client_base import GitClientBase
    from azure.devops.v7_1.policy.policy_client import PolicyClient

    client = next(c for c in (GitClientBase, PolicyClient) if hasattr(c, name))
    source = inspect.getsource(getattr(client, name))
    (method,) = re.findall(r"http_method='(\w+)'", source)
    body = re.findall(r"_serialize\.body\(\w+, '([^']+)'\)", source)
    response = re.findall(r"_deserialize\('([^']+)'", source)
    return Operation(
        method=method,
        query=frozenset(re.findall(r"query_parameters\['([^']+)'\]", source)),
        body=body[0] if body else None,
        response=response[0] if response else None,
    )


def model(name: str) -> type:
    """The SDK's model class ``name`` (git models first, then policy models)."""
    # Imported here: without the SDK the suite is skipped (or fails in CI), not broken at import.
    from azure.devops.v7_1.git import models as git_models
    from azure.devops.v7_1.policy import models as policy_models

    for module in (git_models, policy_models):
        found = getattr(module, name, None)
        if isinstance(found, type) and hasattr(found, "_attribute_map"):
            return found
    raise KeyError(f"the azure-devops SDK has no model {name!r}")


def violations(type_name: str, value: Any, where: str = "$") -> list[str]:
    """Where ``value`` breaks the SDK's type ``type_name`` (a model name or ``[Model]``); empty when it fits."""
    if value is None:
        return []  # msrest models take null for any field
    if type_name.startswith("[") and type_name.endswith("]"):
        if not isinstance(value, list):
            return [f"{where}: expected a list of {type_name[1:-1]}, got {type(value).__name__}"]
        return [
            found
            for index, item in enumerate(value)
            for found in violations(type_name[1:-1], item, f"{where}[{index}]")
        ]
    if type_name.startswith("{") and type_name.endswith("}"):
        if not isinstance(value, dict):
            return [f"{where}: expected a map of {type_name[1:-1]}, got {type(value).__name__}"]
        return [found for key, item in value.items() for found in violations(type_name[1:-1], item, f"{where}.{key}")]
    primitive = _primitive(type_name, value, where)
    if primitive is not None:
        return primitive
    if type_name == "ReferenceLinks":
        return _links(value, where)
    return _model(type_name, value, where)


def _primitive(type_name: str, value: Any, where: str) -> list[str] | None:
    wrong = [f"{where}: expected {type_name}, got {type(value).__name__} {value!r}"]
    if type_name == "str":
        return [] if isinstance(value, str) else wrong
    if type_name in ("int", "long"):
        return [] if isinstance(value, int) and not isinstance(value, bool) else wrong
    if type_name == "float":
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else wrong
    if type_name == "bool":
        return [] if isinstance(value, bool) else wrong
    if type_name == "iso-8601":
        return [] if isinstance(value, str) and _ISO.match(value) else wrong
    if type_name == "object":
        return []
    return None


def _links(value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected reference links, got {type(value).__name__}"]
    return [
        f"{where}.{name}: expected {{'href': str}}, got {link!r}"
        for name, link in value.items()
        if not (isinstance(link, dict) and set(link) == {"href"} and isinstance(link["href"], str))
    ]


def _model(type_name: str, value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_name} object, got {type(value).__name__}"]
    fields = {entry["key"]: entry["type"] for entry in model(type_name)._attribute_map.values()}
    found = [f"{where}.{key}: {type_name} has no field {key!r}" for key in value if key not in fields]
    for key, item in value.items():
        if key not in fields:
            continue
        found += violations(fields[key], item, f"{where}.{key}")
        allowed = ENUMS.get((type_name, key))
        if allowed is not None and item is not None and item not in allowed:
            found.append(
                f"{where}.{key}: {item!r} is not one of {type_name}.{key}'s values ({', '.join(sorted(allowed))})"
            )
    return found
