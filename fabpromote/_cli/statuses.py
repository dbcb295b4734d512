"""The report-status command: a commit status on an environment's manifests commit."""

from __future__ import annotations

import argparse
import json

from fabpromote._cli.common import cluster_of
from fabpromote._util.outcome import Outcome

__all__ = ["add_report_status", "run_report_status"]


def run_report_status(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.statuses import report_status

    report = report_status(
        cluster_of(args),
        args.env,
        args.context,
        args.state,
        sha=args.sha,
        description=args.description,
        url=args.url,
    )
    if args.json:
        print(json.dumps({"outcome": Outcome.DONE.value, **report.to_json()}, indent=2))
    else:
        print(report.line())
    return Outcome.DONE


def add_report_status(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The ``report-status`` subcommand (its --config and --cluster are added by the caller)."""
    rep = commands.add_parser(
        "report-status",
        help="post a commit status on an environment's manifests commit",
        description="Set the commit status CONTEXT to STATE on a commit of ENV's manifests branch (default: its "
        "head), through the manifests repository's Git host: GitHub's or GitLab's status API, or on other "
        "remotes the notes ref refs/notes/fabpromote/statuses. Gates (statuses:) require them.",
    )
    rep.add_argument("env", metavar="ENV", help="the environment whose manifests commit gets the status")
    rep.add_argument("context", metavar="CONTEXT", help="the status's name, e.g. e2e")
    rep.add_argument("state", metavar="STATE", help="pending, success, failure or error")
    rep.add_argument("--sha", metavar="SHA", help="the commit (7 to 40 hex digits) in the manifests branch's history")
    rep.add_argument("--description", default="", metavar="D", help="a short line shown beside the status")
    rep.add_argument("--url", default="", metavar="U", help="where the status links to (the CI job)")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    rep.set_defaults(handler=run_report_status)
    return rep
