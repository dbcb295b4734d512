"""``validate``: check rendered manifests against the Kubernetes schemas, offline.

The schemas are those `kubernetes-validate <https://pypi.org/project/kubernetes-validate/>`_
ships (the optional extra ``fabpromote[validate]``), so nothing is fetched and no
cluster is needed. Every YAML document of every ``.yaml``/``.yml`` file is
checked; kinds without a bundled schema (custom resources such as Flux's) are
reported as unchecked, not as errors. Validation is strict, like ``kubectl``'s
default: an unknown field is an error.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from fabpromote.exceptions import FabpromoteError, ValidationError

if TYPE_CHECKING:
    from fabpromote._engine.manifests import Manifests

__all__ = ["Unchecked", "ValidationError", "ValidationReport", "validate"]

#: File names whose contents are Kubernetes objects (as Flux's kustomize-controller reads them).
YAML_SUFFIXES = (".yaml", ".yml")
INSTALL_HINT = "pip install 'fabpromote[validate]'"


@attrs.frozen(kw_only=True)
class Unchecked:
    """A document or file that could not be checked, and why.

    Attributes:
        file: The path inside the manifests.
        document: The 1-based index of the YAML document (0 for a whole file).
        reason: Why, e.g. ``no schema for Kustomization kustomize.toolkit.fluxcd.io/v1``.
    """

    file: str
    document: int
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, document {self.document}" if self.document else self.file
        return f"{where}: {self.reason}"


@attrs.frozen(kw_only=True)
class ValidationReport:
    """What :func:`validate` found.

    Attributes:
        kubernetes_version: The Kubernetes version whose schemas were used.
        checked: How many documents passed or failed a schema check.
        errors: Documents the schemas reject, ``<file>, document <n>: <field>: <what>``.
        unchecked: Documents without a schema (custom resources) and files that are not YAML.
    """

    kubernetes_version: str
    checked: int = 0
    errors: tuple[str, ...] = ()
    unchecked: tuple[Unchecked, ...] = ()

    @property
    def ok(self) -> bool:
        """No document failed its schema."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationError` when any document failed its schema."""
        if self.errors:
            raise ValidationError(self.errors)


def _kubernetes_validate() -> Any:
    # Optional and heavy (the schemas of every Kubernetes version): imported only when asked to validate.
    try:
        return importlib.import_module("kubernetes_validate")
    except ImportError:
        raise FabpromoteError(f"validating manifests needs kubernetes-validate: {INSTALL_HINT}") from None


def supported_versions() -> list[str]:
    """The Kubernetes versions whose schemas the installed kubernetes-validate ships."""
    return list(_kubernetes_validate().utils.all_versions())


def validate(manifests: Manifests, *, kubernetes_version: str | None = None, strict: bool = True) -> ValidationReport:
    """Check every document of ``manifests`` against the Kubernetes schemas.

    Args:
        manifests: The rendered files.
        kubernetes_version: ``1.32`` and the like; default the newest the
            installed kubernetes-validate knows. A version between two bundled
            ones uses the older.
        strict: Unknown fields are errors (``kubectl``'s default).

    Returns:
        The report; call :meth:`ValidationReport.raise_for_errors` to fail on errors.

    Raises:
        FabpromoteError: kubernetes-validate is not installed, or does not know
            ``kubernetes_version``.
    """
    kv = _kubernetes_validate()
    version = kubernetes_version or kv.latest_version()
    known = kv.utils.all_versions()
    if kv.utils.major_minor(version.removeprefix("v")) not in {kv.utils.major_minor(v) for v in known}:
        raise FabpromoteError(
            f"no Kubernetes {version} schemas in kubernetes-validate {kv.version.__version__} "
            f"(known: {known[0]} ... {known[-1]})"
        )
    checked = 0
    errors: list[str] = []
    unchecked: list[Unchecked] = []
    for path, data in manifests.items():
        if not path.endswith(YAML_SUFFIXES):
            unchecked.append(Unchecked(file=path, document=0, reason="not a YAML file"))
            continue
        try:
            documents = list(yaml.safe_load_all(data))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" (line {mark.line + 1})" if mark is not None else ""
            errors.append(f"{path}: not valid YAML{line}: {getattr(exc, 'problem', None) or exc}")
            continue
        for index, document in enumerate(documents, start=1):
            if document is None:  # an empty document, e.g. after a trailing ---
                continue
            where = f"{path}, document {index}"
            problem = _shape_problem(document)
            if problem:
                errors.append(f"{where}: {problem}")
                continue
            try:
                kv.validate(document, version, strict=strict)
            except kv.SchemaNotFoundError:
                reason = f"no schema for {document['kind']} {document['apiVersion']} in Kubernetes {version}"
                unchecked.append(Unchecked(file=path, document=index, reason=reason))
                continue
            except kv.ValidationError as exc:
                errors.append(f"{where}: {_describe(exc)}")
            checked += 1
    return ValidationReport(
        kubernetes_version=version, checked=checked, errors=tuple(errors), unchecked=tuple(unchecked)
    )


def _shape_problem(document: object) -> str:
    if not isinstance(document, dict):
        return f"a Kubernetes object is a map, not {type(document).__name__}"
    missing = [key for key in ("apiVersion", "kind") if not isinstance(document.get(key), str) or not document[key]]
    if missing:
        return f"not a Kubernetes object: no {' and no '.join(missing)}"
    return ""


def _describe(exc: Any) -> str:
    """``spec.replicas: 'x' is not of type 'integer'`` from a jsonschema error."""
    field = ".".join(str(part) for part in exc.absolute_path)
    message = exc.message
    if exc.validator == "type" and isinstance(exc.validator_value, list):
        # The schemas allow null for every optional field; naming it only adds noise.
        types = [kind for kind in exc.validator_value if kind != "null"] or exc.validator_value
        message = f"{exc.instance!r} is not of type {', '.join(repr(kind) for kind in types)}"
    return f"{field}: {message}" if field else message
