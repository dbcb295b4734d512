"""The ``plan`` command: which (cluster, environment) materializations a push affects."""

from __future__ import annotations

import argparse
import json
import sys

from fabpromote._cli.common import PROG, UsageError, config_path
from fabpromote._util.outcome import Outcome

__all__ = ["run_plan"]


def run_plan(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.models import Fleet
    from fabpromote._cluster.plan import plan

    repo, at, branch = args.changed.rpartition("@")
    if not at or not repo or not branch:
        raise UsageError(f"--changed takes REPO@BRANCH, not {args.changed!r}")
    if args.json and args.format not in ("text", "json"):
        raise UsageError(f"--json prints the matrix: it cannot be combined with --format {args.format}")
    output = "json" if args.json else args.format
    if (args.include or args.extends) and output != "gitlab":
        raise UsageError("--include and --extends shape the GitLab child pipeline: use them with --format gitlab")
    path = config_path(args)
    fleet = Fleet.from_file(path)
    target = fleet.cluster(args.cluster) if args.cluster else fleet
    result = plan(target, repo, branch, config=path)
    if output == "json":
        print(json.dumps(result.matrix(), indent=2))
    elif output == "github":
        sys.stdout.write(result.github_output())
    elif output == "gitlab":
        extends = {"extends": args.extends} if args.extends else {}
        sys.stdout.write(result.gitlab_pipeline(includes=args.include or (), **extends))
    else:
        for line in result.lines():
            print(line)
    if not result.entries:
        print(f"{PROG}: {result.summary()}", file=sys.stderr)
        return Outcome.NOTHING_TO_DO
    return Outcome.DONE
