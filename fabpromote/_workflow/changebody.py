"""The body of a promotion's pull/merge request: what it promotes, its gates, the manifests it changes, the status.

Built only for hosts that show it (``change_body_limit`` above 0), and cut to
fit the host's limit with a note saying so, never past it: GitHub refuses a
pull request whose body is longer than 65536 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from fabpromote._util.outcome import plural
from fabpromote._workflow.pagemarkdown import cluster_markdown, gate_markdown, md
from fabpromote._workflow.status import preview
from fabpromote._workflow.statuspage import status_page
from fabpromote.exceptions import FabpromoteError

if TYPE_CHECKING:
    import datetime

    from fabpromote._engine.manifests import Manifests
    from fabpromote._workflow.context import Context
    from fabpromote._workflow.gates import GateResult
    from fabpromote.typing import GitHost

__all__ = ["DEFAULT_BODY_LIMIT", "ChangeSummary", "body_limit", "change_body", "fit"]

#: The body limit of a host that names none: GitHub's (65536 characters), the smallest of the hosts we know.
DEFAULT_BODY_LIMIT = 65536
#: The paths listed per kind of change (the counts are always whole).
PATHS_SHOWN = 50


def body_limit(host: GitHost) -> int:
    """How long a change request body ``host`` takes: its ``change_body_limit``; 0 when it shows none."""
    # Only an int counts: a wrapper that forwards every attribute (a recording proxy) names no limit.
    limit = getattr(host, "change_body_limit", DEFAULT_BODY_LIMIT)
    return limit if isinstance(limit, int) else DEFAULT_BODY_LIMIT


@attrs.frozen(kw_only=True)
class ChangeSummary:
    """The manifests files a promotion adds, changes and removes in its target (as ``diff`` computes them)."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @classmethod
    def between(cls, before: Manifests, after: Manifests) -> ChangeSummary:
        return cls(
            added=tuple(sorted(set(after) - set(before))),
            changed=tuple(sorted(path for path in set(before) & set(after) if before[path] != after[path])),
            removed=tuple(sorted(set(before) - set(after))),
        )

    def line(self) -> str:
        """``2 files added, 1 changed, 0 removed``."""
        return f"{plural(len(self.added), 'file')} added, {len(self.changed)} changed, {len(self.removed)} removed"


def change_body(
    ctx: Context,
    *,
    app: str,
    source: str,
    target: str,
    pending: int,
    head_sha: str,
    gates: tuple[GateResult, ...],
    note: str,
    limit: int,
    now: datetime.datetime | None,
) -> str:
    """The body, at most ``limit`` characters; ``note`` (the gates override) always survives the cut."""
    head = f"Promotes {plural(pending, 'commit')} of {md(app)}, up to `{head_sha}`, from {md(source)} to {md(target)}."
    lines = [head + note.rstrip("\n"), ""]
    if gates:
        lines += [f"### Gates of {md(target)}", "", *[f"- {gate_markdown(gate)}" for gate in gates], ""]
    lines += _manifests(ctx, app, source, target)
    page = status_page([ctx.cluster], plugins=ctx.plugins, now=now)
    lines += cluster_markdown(page.clusters[0], heading="###")
    return fit("\n".join(lines).rstrip() + "\n", limit)


def _manifests(ctx: Context, app: str, source: str, target: str) -> list[str]:
    title = f"### Manifests of {md(target)}"
    try:
        shown = preview(ctx.cluster, app, source=source, target=target, plugins=ctx.plugins)
    except FabpromoteError as exc:
        # The promotion does not depend on its preview: say why it is missing and go on.
        return [title, "", f"The preview failed: {md(str(exc))}", ""]
    summary = ChangeSummary.between(shown.before.manifests, shown.after.manifests)
    lines = [title, "", summary.line() + ".", ""]
    for word, paths in (("added", summary.added), ("changed", summary.changed), ("removed", summary.removed)):
        lines += [f"- {word}: `{path}`" if "`" not in path else f"- {word}: {md(path)}" for path in paths[:PATHS_SHOWN]]
        if len(paths) > PATHS_SHOWN:
            lines.append(f"- and {len(paths) - PATHS_SHOWN} more {word}")
    return [*lines, ""]


def fit(body: str, limit: int) -> str:
    """``body`` cut at a line end to at most ``limit`` characters, with a note that it was cut."""
    if len(body) <= limit:
        return body
    note = f"\n\n*Cut to {limit} characters, the host's limit: `fabpromote status --markdown` shows it all.*\n"
    keep = max(limit - len(note), 0)
    cut = body.rfind("\n", 0, keep + 1)
    return body[: cut if cut > 0 else keep] + note
