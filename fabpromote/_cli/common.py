"""What the commands share: the program name, usage errors, and the cluster file of a command line."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster

__all__ = ["PROG", "UsageError", "cluster_of", "config_path", "retry_publish", "stage"]

PROG = "fabpromote"


class UsageError(Exception):
    """A command line a command cannot run although argparse accepted it (options that need each other)."""


def config_path(args: argparse.Namespace) -> str:
    if args.config == "":
        raise UsageError("--config needs a file name")
    return args.config or os.environ.get("FABPROMOTE_CONFIG") or "fabpromote.yaml"


def cluster_of(args: argparse.Namespace) -> Cluster:
    from fabpromote._cluster.models import Fleet

    return Fleet.from_file(config_path(args)).cluster(args.cluster)


def stage(message: str) -> None:
    """A progress line for people watching a terminal; silent in pipelines."""
    if sys.stderr.isatty():
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def retry_publish(args: argparse.Namespace, env: str) -> str:
    """The one command that publishes ``env`` again, with this run's cluster file and cluster."""
    import shlex

    words = [PROG, "materialize", env, "--publish"]
    if args.config or os.environ.get("FABPROMOTE_CONFIG"):
        words += ["--config", config_path(args)]
    if args.cluster:
        words += ["--cluster", args.cluster]
    for option in ("lock", "engine"):
        if getattr(args, option, None):
            words += [f"--{option}", getattr(args, option)]
    if getattr(args, "allow_older", False):
        words.append("--allow-older")
    return shlex.join(words)
