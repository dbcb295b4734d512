"""The hooks ``helm template`` prints after the manifest, picked and ordered as helm v4 does.

The in-process backend gets the manifest from the SDK's dry-run install,
whose summary leaves the hooks out; they are found again here in the
rendered templates, by the rules of helm's ``releaseutil.SortManifests``
(``pkg/release/v1/util/manifest_sorter.go`` and ``kind_sorter.go``, v4.2.3):

* files in sorted path order, skipping partials (``_*``), notes (``NOTES.txt``) and blank files;
* each file split into documents at helm's separator, in file order;
* a document is a hook when its ``helm.sh/hook`` annotation is there; a hook
  naming an event helm does not know is dropped (helm logs it, at info level);
* hooks stably sorted by kind: the kinds of helm's install order first, in
  that order, then the others alphabetically.

Documents the manifest already holds are known not to be hooks, so only the
others are parsed: a chart's plain resources cost no YAML parsing.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from fabpromote import goyaml

__all__ = ["GO_SPACE", "Hook", "hooks", "unknown_hook_line"]

#: helm's ``InstallOrder``: hooks of these kinds come first, in this order.
INSTALL_ORDER = (
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
)
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}

#: The events of ``helm.sh/hook``; ``test-success`` is helm 2's name for ``test``.
EVENTS = frozenset(
    (
        "pre-install",
        "post-install",
        "pre-delete",
        "post-delete",
        "pre-upgrade",
        "post-upgrade",
        "pre-rollback",
        "post-rollback",
        "test",
        "test-success",
    )
)

HOOK_ANNOTATION = "helm.sh/hook"
#: What helm writes before each generic document of a release manifest.
_SOURCE = "---\n# Source: "
#: Go's ``unicode.IsSpace`` (str.isspace also counts U+001C..U+001F).
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
#: helm's ``SplitManifests`` separator ``(?:^|\s*\n)---\s*``; RE2's ``\s`` is ASCII only.
_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")


@attrs.frozen
class Hook:
    """One hook document: the template file it came from, its kind and its text."""

    path: str
    kind: str
    manifest: str


def hooks(templates: Mapping[str, str], manifest: str) -> tuple[list[Hook], list[str]]:
    """The hooks among the rendered ``templates``, in helm's order, and the unknown hooks' ``helm.sh/hook`` values.

    Args:
        templates: Template path -> rendered text, as helm's engine renders
            them for the install (disabled subcharts left out).
        manifest: The release manifest of that install: the generic documents.

    Raises:
        yaml.YAMLError: A document that is not in the manifest does not parse.
    """
    generic = _generic_documents(manifest)
    found: list[Hook] = []
    unknown: list[str] = []
    for path in sorted(templates):
        for document in _documents(path, templates[path]):
            if generic[path, document]:
                generic[path, document] -= 1
                continue
            head = goyaml.load(document)
            annotations = _field(_field(head, "metadata"), "annotations")
            if not isinstance(annotations, Mapping) or HOOK_ANNOTATION not in annotations:
                continue  # helm put it in the manifest; a parser's disagreement must not make it a hook
            events = _text(annotations[HOOK_ANNOTATION])
            if all(_go_lower(event.strip(GO_SPACE)) in EVENTS for event in events.split(",")):
                found.append(Hook(path=path, kind=_text(_field(head, "kind")), manifest=document))
            else:
                unknown.append(events)
    found.sort(key=_kind_order)
    return found, unknown


def _documents(path: str, text: str) -> Iterator[str]:
    """The documents of one rendered file that helm sorts (none for partials, notes and blank files)."""
    if path.rpartition("/")[2].startswith("_") or path.endswith("NOTES.txt") or not text.strip(GO_SPACE):
        return
    for document in _SEPARATOR.split(text.lstrip(GO_SPACE)):
        if document.strip(GO_SPACE):
            yield document.lstrip(GO_SPACE)


def _generic_documents(manifest: str) -> Counter[tuple[str, str]]:
    """The (path, document) pairs of a release manifest, written as ``---\\n# Source: <path>\\n<document>\\n`` each.

    A document never holds ``"\\n---"`` (helm splits there), so the split is exact.
    """
    if not manifest.startswith(_SOURCE):
        return Counter()
    counter: Counter[tuple[str, str]] = Counter()
    for entry in manifest[len(_SOURCE) : -1].split("\n" + _SOURCE):
        path, _, document = entry.partition("\n")
        counter[path, document] += 1
    return counter


def _field(value: Any, name: str) -> Any:
    """A struct field as helm's ``yaml.Unmarshal`` (sigs.k8s.io/yaml, then ``encoding/json``) fills it.

    Keys match the field's name in any case and are decoded in sorted
    order: a later map merges into the earlier one (Go reuses the struct or
    map a pointer holds), a later null clears it, any other value replaces it.
    """
    if not isinstance(value, Mapping):
        return None
    found: Any = None
    for key, item in sorted(value.items(), key=lambda pair: str(pair[0])):
        if str(key).casefold() == name:  # Go's EqualFold: U+017F (long s) is an "s"; no name here holds "ss"
            both_maps = isinstance(found, Mapping) and isinstance(item, Mapping)
            found = {**found, **item} if both_maps else item
    return found


def _go_lower(text: str) -> str:
    """Go's ``strings.ToLower``: one character for one, where Python lowers ``İ`` to two."""
    return text.lower() if "\u0130" not in text else "".join("i" if char == "\u0130" else char.lower() for char in text)


def _text(value: Any) -> str:
    """A string field's value as sigs.k8s.io/yaml gives it: numbers and booleans in Go's spelling, null as ``""``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float32(value)
    return ""


def _go_float32(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``: the fewest digits that read back as the same float32."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    single = _float32(value)
    for digits in range(1, 10):
        scientific = f"{single:.{digits - 1}e}"
        if _float32(float(scientific)) == single:
            break
    mantissa, exponent = scientific.split("e")
    power = int(exponent)
    if -4 <= power < 6:  # %f, as Go's shortest 'g' decides
        return f"{single:.{max(digits - 1 - power, 0)}f}"
    return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


def _float32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _kind_order(hook: Hook) -> tuple[int, str]:
    rank = _RANK.get(hook.kind)
    return (rank, "") if rank is not None else (len(INSTALL_ORDER), hook.kind)


def unknown_hook_line(events: str) -> str:
    """What helm's text logger prints on stderr when it drops a hook with an unknown event."""
    return f'level=INFO msg="skipping unknown hooks" hookTypes={_slog_value(events)}\n'


def _slog_value(text: str) -> str:
    """A string value as Go's ``slog.TextHandler`` writes it: bare, or quoted when it must be."""
    if text and not any(_slog_needs_quote(char) for char in text):
        return text
    return _go_quote(text)


def _slog_needs_quote(char: str) -> bool:
    if char < "\x80":
        return char in ' ="' or char < " " or char == "\x7f"
    return char in GO_SPACE or not _go_printable(char)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_quote(text: str) -> str:
    """Go's ``strconv.Quote``."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif _go_printable(char):
            out.append(char)
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def _go_printable(char: str) -> bool:
    """Go's ``strconv.IsPrint``: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    return char == " " or unicodedata.category(char)[0] in "LMNPS"
