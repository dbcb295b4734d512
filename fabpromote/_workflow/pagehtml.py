"""``status --html FILE``: the status page as one self-contained HTML file.

No external asset and no script: inline CSS only, so it works opened from a CI
artifact, a Pages site or a mail. Every piece of user data goes through
:func:`html.escape`. A real table (``<th scope>``) carries the matrix; gates
show a symbol and a word besides their colour; at phone width the matrix
scrolls inside its own container and the rest of the page reflows.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from fabpromote._util.outcome import plural
from fabpromote._workflow.pagemarkdown import MET, UNMET
from fabpromote._workflow.statuspage import when

if TYPE_CHECKING:
    from fabpromote._workflow.gates import GateResult
    from fabpromote._workflow.statuspage import Cell, ClusterPage, Publish, StatusPage

__all__ = ["render_status_html"]

_CSS = """
:root { color-scheme: light dark; --met: #116329; --unmet: #a40e26; --muted: #57606a; --line: #d0d7de; }
@media (prefers-color-scheme: dark) { :root { --met: #4ac26b; --unmet: #ff8182; --muted: #9198a1; --line: #3d444d; } }
* { box-sizing: border-box; }
body { margin: 0 auto; padding: 1rem; max-width: 80rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  overflow-wrap: anywhere; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2rem; } h3 { font-size: 1.0625rem; }
code { font: 0.9375rem ui-monospace, SFMono-Regular, Menlo, monospace; }
.muted { color: var(--muted); }
.matrix { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; min-width: 100%; }
th, td { border: 1px solid var(--line); padding: 0.5rem; text-align: left; vertical-align: top; min-width: 11rem; }
caption { text-align: left; padding: 0.5rem; }
tbody th { min-width: 8rem; position: sticky; left: 0; background: Canvas; }
ul { margin: 0.25rem 0; padding-left: 1.25rem; }
.gates { list-style: none; padding-left: 0; }
.met { color: var(--met); } .unmet { color: var(--unmet); }
.tag { display: inline-block; padding: 0 0.375rem; border: 1px solid currentColor; border-radius: 4px; }
details { margin-top: 0.25rem; }
@media (max-width: 40rem) { body { padding: 0.75rem; } th, td { min-width: 9rem; } }
"""


def render_status_html(page: StatusPage) -> str:
    """The whole page, as one string (UTF-8 when written)."""
    stamp = f"{page.generated:%Y-%m-%d %H:%M UTC}"
    body = "".join(_cluster(cluster) for cluster in page.clusters) or "<p>No cluster.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Promotion status {escape(stamp)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>Promotion status</h1><p class="muted">Generated {escape(stamp)} by fabpromote</p></header>\n'
        f"<main>{body}</main>\n</body>\n</html>\n"
    )


def _cluster(cluster: ClusterPage) -> str:
    title = f"cluster-{escape(cluster.name)}"
    return (
        f'<section aria-labelledby="{title}"><h2 id="{title}">Cluster {escape(cluster.name)}</h2>\n'
        f"{_matrix(cluster)}{_publishes(cluster)}</section>\n"
    )


def _matrix(cluster: ClusterPage) -> str:
    head = "".join(f'<th scope="col">{escape(env)}</th>' for env in cluster.environments)
    rows = []
    for app in cluster.apps:
        cells = "".join(f"<td>{_cell(cluster.cell(app, env))}</td>" for env in cluster.environments)
        rows.append(f'<tr><th scope="row">{escape(app)}</th>{cells}</tr>\n')
    caption = f"Apps by environment in {escape(cluster.name)}: version, pending commits, gates"
    return (
        f'<div class="matrix" role="region" aria-label="{caption}" tabindex="0">\n'
        f'<table><caption class="muted">{caption}</caption>\n'
        f'<thead><tr><th scope="col">App</th>{head}</tr></thead>\n<tbody>\n{"".join(rows)}</tbody></table>\n</div>\n'
    )


def _cell(cell: Cell | None) -> str:
    if cell is None:
        return '<span class="muted">not in this environment</span>'
    row = cell.row
    if not row.sha:
        return '<span class="muted">no branch</span>'
    parts = [f'<code title="{escape(row.sha)}">{escape(row.sha[:12])}</code>']
    parts += [f"<div>{escape(image)}</div>" for image in row.images]
    parts.append(
        '<div><span class="tag">published</span></div>'
        if row.materialized
        else '<div class="muted">not published yet</div>'
    )
    if row.pending:
        parts.append(_pending(cell))
    if row.gates:
        parts.append('<ul class="gates">' + "".join(_gate(gate) for gate in row.gates) + "</ul>")
    return "".join(parts)


def _pending(cell: Cell) -> str:
    row = cell.row
    items = "".join(
        f'<li><code title="{escape(c.sha)}">{escape(c.sha[:12])}</code> {escape(c.subject)} '
        f'<span class="muted">({escape(c.author)}, {escape(when(c.time))})</span></li>'
        for c in cell.commits
    )
    more = len(cell.commits) < row.pending
    items += f"<li>and {row.pending - len(cell.commits)} more</li>" if more else ""
    return f"<details open><summary>{escape(plural(row.pending, 'commit'))} pending</summary><ul>{items}</ul></details>"


def _gate(gate: GateResult) -> str:
    symbol, word = MET if gate.met else UNMET
    return (
        f'<li class="{word}"><span aria-hidden="true">{symbol}</span> '
        f"<strong>{escape(gate.gate)} {word}</strong>: {escape(gate.reason)}</li>"
    )


def _publishes(cluster: ClusterPage) -> str:
    parts = ["<h3>Last publishes</h3>\n"]
    for env, publishes in cluster.publishes:
        if not publishes:
            parts.append(f'<h4>{escape(env)}</h4><p class="muted">never published</p>\n')
            continue
        items = "".join(_publish(publish) for publish in publishes)
        parts.append(f"<h4>{escape(env)}</h4><ul>{items}</ul>\n")
    return "".join(parts)


def _publish(publish: Publish) -> str:
    entry = publish.entry
    head = f'<code title="{escape(entry.commit)}">{escape(entry.commit[:12])}</code> {escape(when(entry.time))}: '
    return f"<li>{head}{escape('; '.join(publish.phrases()))}</li>"
