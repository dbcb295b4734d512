"""The commands of the pipeline: guard, promote, status, diff, rollback, set-image, protect, history."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fabpromote._cli.common import PROG, UsageError, cluster_of, config_path, retry_publish
from fabpromote._util.outcome import Outcome, plural
from fabpromote.exceptions import FabpromoteError

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote._workflow.gates import GateResult

__all__ = [
    "run_advance",
    "run_diff",
    "run_guard",
    "run_history",
    "run_promote",
    "run_protect",
    "run_rollback",
    "run_set_image",
    "run_status",
]


def run_guard(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import guard

    guard(cluster_of(args), base=args.base, head=args.head)
    print(f"ok: {args.head} may be merged into {args.base}")
    return Outcome.DONE


def run_promote(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import promote

    if args.ignore_gates != (args.reason is not None):
        raise UsageError(
            "--ignore-gates needs --reason TEXT" if args.ignore_gates else "--reason goes with --ignore-gates"
        )
    result = promote(
        cluster_of(args),
        args.app,
        source=args.source,
        target=args.target,
        merge=args.merge,
        publish_after=args.publish,
        dry_run=args.dry_run,
        ignore_gates=args.ignore_gates,
        reason=args.reason,
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print("\n".join(result.lines()))
    if result.publish_error:
        merged = result.merge.sha if result.merge else ""
        print(
            f"{PROG}: error: {result.head} was merged into {result.base} at {merged}, "
            f"but publishing {result.target} failed: {result.publish_error}",
            file=sys.stderr,
        )
        print(f"{PROG}: retry the publish with: {retry_publish(args, result.target)}", file=sys.stderr)
    elif result.outcome is Outcome.FAILED and result.merge is not None:
        print(
            f"{PROG}: error: {result.head} cannot be merged into {result.base}: {result.merge.message}; "
            "nothing changed",
            file=sys.stderr,
        )
    return result.outcome


def run_advance(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.advance import advance

    steps = advance(cluster_of(args), to=args.to, dry_run=args.dry_run)
    outcome = _worst([step.outcome for step in steps])
    if args.json:
        print(json.dumps({"outcome": outcome.value, "steps": [step.to_json() for step in steps]}, indent=2))
    else:
        for step in steps:
            print(step.line())
        if not steps:
            print("nothing pending: every environment has what the one before it has")
    return outcome


def _worst(outcomes: list[Outcome]) -> Outcome:
    """Failed over pending over done over nothing to do: what a run of several steps exits with."""
    for outcome in (Outcome.FAILED, Outcome.PENDING, Outcome.DONE):
        if outcome in outcomes:
            return outcome
    return Outcome.NOTHING_TO_DO


def run_status(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.models import Fleet
    from fabpromote._workflow.status import status

    if args.json and (args.html or args.markdown):
        raise UsageError("--json prints the rows alone: give it without --html and --markdown")
    fleet = Fleet.from_file(config_path(args))
    clusters = [fleet.cluster(args.cluster)] if args.cluster else list(fleet.clusters)
    if args.html or args.markdown:
        return _status_page(args, clusters)
    rows = [row for cluster in clusters for row in status(cluster)]
    if args.json:
        print(json.dumps({"outcome": Outcome.DONE.value, "rows": [row.to_json() for row in rows]}, indent=2))
        return Outcome.DONE
    table = [("CLUSTER", "APP", "ENV", "SHA", "IMAGES", "PENDING", "MATERIALIZED", "GATES")]
    table += [
        (
            r.cluster,
            r.app,
            r.env,
            r.sha[:12] or "-",
            ",".join(r.images) or "-",
            str(r.pending),
            "yes" if r.materialized else "no",
            _gates_cell(r.gates),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return Outcome.DONE


def _status_page(args: argparse.Namespace, clusters: list[Cluster]) -> Outcome:
    """``--html FILE`` and ``--markdown``: the status page, written to FILE and/or printed."""
    from fabpromote._workflow.pagehtml import render_status_html
    from fabpromote._workflow.pagemarkdown import render_status_markdown
    from fabpromote._workflow.statuspage import status_page

    page = status_page(clusters)
    if args.html:
        _write_page(Path(args.html), render_status_html(page))
        print(f"wrote the status page to {args.html}", file=sys.stderr)
    if args.markdown:
        sys.stdout.write(render_status_markdown(page))
    return Outcome.DONE


def _write_page(path: Path, text: str) -> None:
    """Write the page whole or not at all: a CI artifact never holds half a page."""
    partial = path.with_name(f".{path.name}.tmp")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise FabpromoteError(f"cannot write the status page to {path}: {exc.strerror or exc}") from None


def _gates_cell(gates: Sequence[GateResult]) -> str:
    """``-`` without gates, ``ok (published, soak)`` when all hold, else every unmet gate's reason."""
    if not gates:
        return "-"
    unmet = [gate.reason for gate in gates if not gate.met]
    return "; ".join(unmet) if unmet else f"ok ({', '.join(gate.gate for gate in gates)})"


def run_diff(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.status import preview

    result = preview(cluster_of(args), args.app, source=args.source, target=args.target)
    sys.stdout.write(result.config_diff)
    sys.stdout.write(result.manifests_diff)
    if not result.config_diff and not result.manifests_diff:
        print(f"no difference: promoting {args.app} would not change {args.target}", file=sys.stderr)
        return Outcome.NOTHING_TO_DO
    return Outcome.DONE


def run_rollback(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.rollback import rollback, rollback_manifests

    _check_rollback_usage(args)
    cluster = cluster_of(args)
    env = args.target_env
    if args.manifests:
        done = rollback_manifests(cluster, env, to=args.to)
        print(_written(done, f"rolled back the manifests of {env} to {args.to}", "already at that tree; nothing to do"))
        if isinstance(done, str):
            print(f"{PROG}: the next publish of {env} brings the apps back; roll the app back too", file=sys.stderr)
        return _written_outcome(done)
    done = rollback(cluster, args.app, env, to=args.to, steps=args.steps)
    print(_written(done, f"rolled back {args.app} in {env}", "already at that tree; nothing to do"))
    if isinstance(done, str):
        print(f"{PROG}: publish it with: {retry_publish(args, env)}", file=sys.stderr)
    return _written_outcome(done)


def _check_rollback_usage(args: argparse.Namespace) -> None:
    if args.manifests:
        if args.to is None:
            raise UsageError("--manifests needs --to SHA (see `fabpromote history ENV`)")
        if args.steps is not None:
            raise UsageError("--manifests takes --to SHA, not --steps")
        if args.app is not None:
            raise UsageError("--manifests rolls back ENV's manifests branch: give ENV alone, without APP")
        return
    if args.app is None:
        raise UsageError("give APP, or --manifests for the emergency path")
    if (args.to is None) == (args.steps is None):
        raise UsageError("give exactly one of --to SHA and --steps N")


def run_set_image(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.set_image import set_image

    path, commit = set_image(cluster_of(args), args.app, args.env, args.tag, repository=args.repository)
    print(f"set {args.app} image tag {args.tag} in {path} on {args.env}: " + (commit or "unchanged, no commit"))
    return Outcome.DONE if commit else Outcome.NOTHING_TO_DO


def run_protect(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import protect

    # Each repository's lines as soon as it is done: should a later one fail, the changes made are known.
    lines = protect(cluster_of(args), check_only=args.check, report=lambda line: print(line, flush=True))
    drift = [line for line in lines if "enforces them" not in line]
    if args.check and drift:
        print(f"{PROG}: {plural(len(drift), 'difference')} from the protection fabpromote needs", file=sys.stderr)
        return Outcome.FAILED
    return Outcome.DONE


def run_history(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.history import history

    publishes = history(cluster_of(args), args.env, limit=args.limit)
    if args.json:
        print(
            json.dumps({"outcome": Outcome.DONE.value, "publishes": [item.to_json() for item in publishes]}, indent=2)
        )
        return Outcome.DONE
    for item in publishes:
        sources = ", ".join(f"{e.component}@{e.sha[:12]}" for e in item.sources if e.kind == "git")
        rolled = f"  (emergency rollback to {item.rollback_of[:12]})" if item.rollback_of else ""
        print(f"{item.commit[:12]}  {_time(item.time)}  digest {item.digest[:12]}  {sources}{rolled}")
    return Outcome.DONE


def _time(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _written(done: object, verb: str, nothing: str) -> str:
    if done is None:
        return nothing
    if isinstance(done, str):
        return f"{verb}: {done}"
    url = getattr(done, "url", "") or f"#{getattr(done, 'number', '?')}"
    return f"{verb} through a change request, not merged yet: {url}"


def _written_outcome(done: object) -> Outcome:
    """A write's outcome: a commit is done, a change request (hosted hosts) waits to be merged."""
    if done is None:
        return Outcome.NOTHING_TO_DO
    return Outcome.DONE if isinstance(done, str) else Outcome.PENDING
