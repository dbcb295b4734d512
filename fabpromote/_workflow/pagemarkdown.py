"""``status --markdown``: the status page as GitHub/GitLab-flavoured markdown (a CI job summary, a PR comment).

Every piece of user data (app names, commit subjects, gate reasons) is escaped:
markdown punctuation with a backslash, ``<``, ``>`` and ``&`` as entities, so
that it shows as text and never as a link, an image or HTML.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from fabpromote._util.outcome import plural
from fabpromote._workflow.statuspage import when

if TYPE_CHECKING:
    from fabpromote._workflow.gates import GateResult
    from fabpromote._workflow.statuspage import Cell, ClusterPage, Publish, StatusPage

__all__ = ["MET", "UNMET", "md", "render_status_markdown"]

#: The symbol and word of a gate that holds, and of one that does not (never colour alone).
MET = ("✓", "met")
UNMET = ("✗", "unmet")

# Inline text only (never at a line's start, where ``-``, ``+`` and ``1.`` would matter).
_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#!|~])")


def md(text: str) -> str:
    """``text`` as literal markdown text on one line."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def render_status_markdown(page: StatusPage) -> str:
    """The whole page: per cluster, the app x environment matrix, then pending commits, gates, publishes."""
    lines = [f"# Promotion status ({page.generated:%Y-%m-%d %H:%M UTC})", ""]
    for cluster in page.clusters:
        lines += cluster_markdown(cluster)
    return "\n".join(lines).rstrip() + "\n"


def cluster_markdown(cluster: ClusterPage, *, heading: str = "##") -> list[str]:
    """One cluster's sections, under ``heading``-level titles."""
    lines = [f"{heading} Cluster {md(cluster.name)}", ""]
    lines += _matrix(cluster)
    lines += _pending(cluster, heading)
    lines += _gates(cluster, heading)
    lines += _publishes(cluster, heading)
    return lines


def _matrix(cluster: ClusterPage) -> list[str]:
    lines = ["| App | " + " | ".join(md(env) for env in cluster.environments) + " |"]
    lines.append("|---" * (len(cluster.environments) + 1) + "|")
    for app in cluster.apps:
        cells = [_cell(cluster.cell(app, env)) for env in cluster.environments]
        lines.append(f"| **{md(app)}** | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return "not in this environment"
    row = cell.row
    if not row.sha:
        return "no branch"
    parts = [f"`{row.sha[:12]}`"]
    parts += [md(image) for image in row.images]
    parts.append("published" if row.materialized else "not published")
    if row.pending:
        parts.append(f"{plural(row.pending, 'commit')} pending")
    if row.gates:
        unmet = [gate for gate in row.gates if not gate.met]
        parts.append(f"{UNMET[0]} {len(unmet)} gate(s) unmet" if unmet else f"{MET[0]} gates met")
    return "<br>".join(parts)


def _pending(cluster: ClusterPage, heading: str) -> list[str]:
    waiting = [cell for cell in cluster.cells if cell.row.pending]
    lines = [f"{heading}# Pending", ""]
    if not waiting:
        return [*lines, "Nothing waits to be promoted.", ""]
    for cell in waiting:
        row = cell.row
        lines.append(f"- **{md(row.app)}** into {md(row.env)}: {plural(row.pending, 'commit')}")
        lines += [f"  - `{c.sha[:12]}` {md(c.subject)} ({md(c.author)}, {when(c.time)})" for c in cell.commits]
        if len(cell.commits) < row.pending:
            lines.append(f"  - and {row.pending - len(cell.commits)} more")
    return [*lines, ""]


def _gates(cluster: ClusterPage, heading: str) -> list[str]:
    gated = [cell for cell in cluster.cells if cell.row.gates]
    lines = [f"{heading}# Gates", ""]
    if not gated:
        return [*lines, "No environment has gates.", ""]
    for cell in gated:
        lines.append(f"- **{md(cell.row.app)}** into {md(cell.row.env)}:")
        lines += [f"  - {gate_markdown(gate)}" for gate in cell.row.gates]
    return [*lines, ""]


def gate_markdown(gate: GateResult) -> str:
    """``✓ met — soak: stage has carried it for 2h``: the symbol and the word, then the reason."""
    symbol, word = MET if gate.met else UNMET
    return f"{symbol} {word}: {md(gate.reason)}"


def _publishes(cluster: ClusterPage, heading: str) -> list[str]:
    lines = [f"{heading}# Last publishes", ""]
    for env, publishes in cluster.publishes:
        lines.append(f"- **{md(env)}**" + ("" if publishes else ": never published"))
        lines += [f"  - {_publish(publish)}" for publish in publishes]
    return [*lines, ""]


def _publish(publish: Publish) -> str:
    entry = publish.entry
    return f"`{entry.commit[:12]}` {when(entry.time)}: " + "; ".join(md(phrase) for phrase in publish.phrases())
