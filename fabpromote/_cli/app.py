"""The ``fabpromote`` command: argument parsing and printing only.

Every command is a call into the library and returns the :class:`Outcome` of
what it did; :data:`EXIT_STATUS` turns that into the exit status, the table of
``docs/cli.md``. A :class:`FabpromoteError` (bad input, a refusal) and an
``OSError`` (a broken environment: a folder that cannot be written) are one
line on stderr with status 1; a usage error status 2, as argparse's own.
Anything else is a bug and keeps its traceback. SIGTERM and SIGINT end a
command through its cleanup code (see :mod:`fabpromote._util.signals`), with status
143 or 130; a reader that goes away (``| head``) ends it quietly with 141.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabpromote._util.credentials import redact
from fabpromote._util.outcome import Outcome, plural

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote._engine.manifests import Manifests
    from fabpromote._sources.fetch import LockEntry

__all__ = ["EXIT_STATUS", "build_parser", "main"]

PROG = "fabpromote"
#: The exit status of each outcome (docs/cli.md has the whole table).
EXIT_STATUS = {Outcome.DONE: 0, Outcome.NOTHING_TO_DO: 0, Outcome.FAILED: 1, Outcome.PENDING: 3}
#: A command line the command cannot run: argparse's status, also for the checks commands make themselves.
USAGE = 2
#: The reader of stdout went away: what a shell shows for a process SIGPIPE ended (128 + 13).
BROKEN_PIPE = 141


class _UsageError(Exception):
    """A command line a command cannot run although argparse accepted it (options that need each other)."""


def _generate(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.generate import generate, output_directory

    target = output_directory(args.path, args.environments)
    manifests = generate(
        args.path,
        args.environments,
        allow_hooks=args.allow_hooks,
        engine=args.engine,
        fix_disabled=args.fix_disabled,
    )
    if args.validate:
        _check(manifests)
    # generated/ is Fabrikate's layout, which has no room for a record file: it goes in the cache.
    written = manifests.write(target, record="cache")
    done = "wrote" if written else "unchanged:"
    print(f"{done} {plural(len(manifests), 'file')} in {target} (sha256 {manifests.digest[:12]})", file=sys.stderr)
    return Outcome.DONE if written else Outcome.NOTHING_TO_DO


def _install(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.install import install

    installed = install(args.path, allow_hooks=args.allow_hooks)
    for path in installed:
        print(f"installed {path}", file=sys.stderr)
    return Outcome.DONE


def _config_path(args: argparse.Namespace) -> str:
    if args.config == "":
        raise _UsageError("--config needs a file name")
    return args.config or os.environ.get("FABPROMOTE_CONFIG") or "fabpromote.yaml"


def _cluster(args: argparse.Namespace) -> Cluster:
    from fabpromote._cluster.models import Fleet

    return Fleet.from_file(_config_path(args)).cluster(args.cluster)


def _stage(message: str) -> None:
    """A progress line for people watching a terminal; silent in pipelines."""
    if sys.stderr.isatty():
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _read_lock(path: str) -> list[LockEntry]:
    from fabpromote._sources.fetch import LockEntry
    from fabpromote.exceptions import HLDError

    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise HLDError(f"cannot read the lock: {exc.strerror or exc}", file=path) from None
    except ValueError as exc:
        raise HLDError(f"the lock is not JSON: {exc}", file=path) from None
    entries = data.get("lock") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise HLDError("expected the JSON of `materialize --json` or a list of lock entries", file=path)
    try:
        return [LockEntry.from_json(entry) for entry in entries]
    except KeyError as exc:
        raise HLDError(f"a lock entry has no {exc.args[0]!r}", file=path) from None
    except (TypeError, AttributeError):
        raise HLDError("a lock entry is not an object with component, url, ref and sha", file=path) from None


def _materialize(args: argparse.Namespace) -> Outcome:
    cluster = _cluster(args)
    lock = _read_lock(args.lock) if args.lock else None
    result = _rendered(args, cluster, lock)
    written = bool(args.out) and result.manifests.write(args.out)
    published, error = _publish_step(args, result, cluster) if args.publish else (None, "")
    if published is not None and published.materialization not in (None, result):
        # A newer publish landed meanwhile and the heads were rendered again: report (and write) that.
        _stage(f"a newer publish landed on {published.branch} meanwhile: rendered the branch heads again")
        result = published.materialization
        written = (bool(args.out) and result.manifests.write(args.out)) or written
    if error:
        outcome = Outcome.FAILED
    elif published is not None and not published.commit and not written:
        outcome = Outcome.NOTHING_TO_DO  # the branch (and the folder) hold this tree already
    else:
        outcome = Outcome.DONE
    if args.json:
        data = {
            "outcome": outcome.value,
            **result.to_json(),
            "out": args.out,
            "publish": published.to_json() if published else None,
            "publish_error": error or None,
        }
        print(json.dumps(data, indent=2))
    else:
        _print_materialized(args, result, published, cluster, written=written)
    if error:
        done = "wrote" if written else "left unchanged"
        print(f"{PROG}: error: {done} {args.out}, but publishing failed: {error}", file=sys.stderr)
        print(f"{PROG}: retry the publish with: {_retry_publish(args, args.env)}", file=sys.stderr)
    return outcome


def _rendered(args: argparse.Namespace, cluster: Cluster, lock: list[LockEntry] | None) -> Any:
    """The materialization of ``args.env`` (of ``lock``, else of the branch heads), checked with ``--validate``."""
    from fabpromote._cluster.materialize import materialize

    _stage(f"materializing {cluster.name}/{args.env}: resolving sources and rendering")
    result = materialize(cluster, args.env, lock=lock, engine=args.engine)
    if args.validate:
        _check(result.manifests)
    return result


def _publish_step(args: argparse.Namespace, result: Any, cluster: Cluster) -> tuple[Any, str]:
    """Publish; after ``--out`` was written a failure is reported with that step, not raised."""
    from fabpromote._cluster.publish import publish
    from fabpromote.exceptions import FabpromoteError

    def again() -> Any:
        return _rendered(args, cluster, None)  # the branch heads again, checked as the first render was

    _stage(f"publishing to {cluster.manifests.url}")
    try:
        return publish(result, cluster, allow_older=args.allow_older, render=again), ""
    except FabpromoteError as exc:
        if not args.out:
            raise  # the only write: its error says everything
        return None, str(exc)


def _print_materialized(
    args: argparse.Namespace, result: Any, published: Any, cluster: Cluster, *, written: bool
) -> None:
    print(f"{cluster.name}/{args.env}: {plural(len(result.manifests), 'file')}, sha256 {result.manifests.digest[:12]}")
    for entry in result.lock:
        print(f"  {entry.component or '.'}: {redact(entry.url)} {entry.ref or '-'} -> {entry.sha[:12]}")
    if args.out:
        print(f"wrote {args.out}" if written else f"unchanged: {args.out} holds this output already")
    if published is not None:
        print(f"published to {published.repo} branch {published.branch}: {_published(published)}")


def _published(published: Any) -> str:
    if published.commit:
        return f"committed {published.commit}"
    if published.newer:
        return f"unchanged, no commit: a newer publish is already there ({published.newer}) and holds this tree"
    return "unchanged, no commit"


def _retry_publish(args: argparse.Namespace, env: str) -> str:
    """The one command that publishes ``env`` again, with this run's cluster file and cluster."""
    import shlex

    words = [PROG, "materialize", env, "--publish"]
    if args.config or os.environ.get("FABPROMOTE_CONFIG"):
        words += ["--config", _config_path(args)]
    if args.cluster:
        words += ["--cluster", args.cluster]
    for option in ("lock", "engine"):
        if getattr(args, option, None):
            words += [f"--{option}", getattr(args, option)]
    if getattr(args, "allow_older", False):
        words.append("--allow-older")
    return shlex.join(words)


def _check(manifests: Manifests) -> None:
    """``--validate``: custom resources are noted on stderr; a schema error stops before anything is written."""
    from fabpromote._engine.validate import validate

    _stage("validating against the Kubernetes schemas")
    report = validate(manifests)
    for item in report.unchecked:
        print(f"{PROG}: not checked: {item}", file=sys.stderr)
    for error in report.errors[1:]:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    report.raise_for_errors()


def _flux(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.flux import flux_manifests

    text = flux_manifests(
        _cluster(args), args.env, namespace=args.namespace, interval=args.interval, secret=args.secret
    )
    sys.stdout.write(text)
    return Outcome.DONE


def _demo(args: argparse.Namespace) -> Outcome:
    from fabpromote._cli.demo import build_demo

    for line in build_demo(Path(args.directory)):
        print(line, flush=True)
    return Outcome.DONE


def _guard(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import guard

    guard(_cluster(args), base=args.base, head=args.head)
    print(f"ok: {args.head} may be merged into {args.base}")
    return Outcome.DONE


def _promote(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import promote

    result = promote(
        _cluster(args),
        args.app,
        source=args.source,
        target=args.target,
        merge=args.merge,
        publish_after=args.publish,
        dry_run=args.dry_run,
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
        print(f"{PROG}: retry the publish with: {_retry_publish(args, result.target)}", file=sys.stderr)
    elif result.outcome is Outcome.FAILED and result.merge is not None:
        print(
            f"{PROG}: error: {result.head} cannot be merged into {result.base}: {result.merge.message}; "
            "nothing changed",
            file=sys.stderr,
        )
    return result.outcome


def _status(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.models import Fleet
    from fabpromote._workflow.status import status

    fleet = Fleet.from_file(_config_path(args))
    clusters = [fleet.cluster(args.cluster)] if args.cluster else list(fleet.clusters)
    rows = [row for cluster in clusters for row in status(cluster)]
    if args.json:
        print(json.dumps({"outcome": Outcome.DONE.value, "rows": [row.to_json() for row in rows]}, indent=2))
        return Outcome.DONE
    table = [("CLUSTER", "APP", "ENV", "SHA", "IMAGES", "PENDING", "MATERIALIZED")]
    table += [
        (
            r.cluster,
            r.app,
            r.env,
            r.sha[:12] or "-",
            ",".join(r.images) or "-",
            str(r.pending),
            "yes" if r.materialized else "no",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return Outcome.DONE


def _diff(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.status import preview

    result = preview(_cluster(args), args.app, source=args.source, target=args.target)
    sys.stdout.write(result.config_diff)
    sys.stdout.write(result.manifests_diff)
    if not result.config_diff and not result.manifests_diff:
        print(f"no difference: promoting {args.app} would not change {args.target}", file=sys.stderr)
        return Outcome.NOTHING_TO_DO
    return Outcome.DONE


def _rollback(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.rollback import rollback, rollback_manifests

    _check_rollback_usage(args)
    cluster = _cluster(args)
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
        print(f"{PROG}: publish it with: {_retry_publish(args, env)}", file=sys.stderr)
    return _written_outcome(done)


def _check_rollback_usage(args: argparse.Namespace) -> None:
    if args.manifests:
        if args.to is None:
            raise _UsageError("--manifests needs --to SHA (see `fabpromote history ENV`)")
        if args.steps is not None:
            raise _UsageError("--manifests takes --to SHA, not --steps")
        if args.app is not None:
            raise _UsageError("--manifests rolls back ENV's manifests branch: give ENV alone, without APP")
        return
    if args.app is None:
        raise _UsageError("give APP, or --manifests for the emergency path")
    if (args.to is None) == (args.steps is None):
        raise _UsageError("give exactly one of --to SHA and --steps N")


def _set_image(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.set_image import set_image

    path, commit = set_image(_cluster(args), args.app, args.env, args.tag, repository=args.repository)
    print(f"set {args.app} image tag {args.tag} in {path} on {args.env}: " + (commit or "unchanged, no commit"))
    return Outcome.DONE if commit else Outcome.NOTHING_TO_DO


def _protect(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.promote import protect

    # Each repository's lines as soon as it is done: should a later one fail, the changes made are known.
    lines = protect(_cluster(args), check_only=args.check, report=lambda line: print(line, flush=True))
    drift = [line for line in lines if "enforces them" not in line]
    if args.check and drift:
        print(f"{PROG}: {plural(len(drift), 'difference')} from the protection fabpromote needs", file=sys.stderr)
        return Outcome.FAILED
    return Outcome.DONE


def _history(args: argparse.Namespace) -> Outcome:
    from fabpromote._workflow.history import history

    publishes = history(_cluster(args), args.env, limit=args.limit)
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


def _cache_check(args: argparse.Namespace) -> Outcome:
    from fabpromote._cli.cachecheck import scan_cache

    problems = scan_cache(args.cache_dir, repair=args.repair)
    for problem in problems:
        print(problem)
    remaining = [problem for problem in problems if not problem.repaired]
    if remaining:
        hint = "" if args.repair else " (--repair removes them)"
        print(f"{PROG}: {plural(len(remaining), 'problem')} in the cache{hint}", file=sys.stderr)
        return Outcome.FAILED
    return Outcome.DONE


def _plugins(args: argparse.Namespace) -> Outcome:
    from fabpromote._plugins.manager import Plugins

    rows = Plugins.load().describe()
    if args.json:
        print(json.dumps({"outcome": Outcome.DONE.value, "plugins": [row.to_json() for row in rows]}, indent=2))
        return Outcome.DONE
    for row in rows:
        print(f"{row.name} ({row.distribution} {row.version})")
        for backend in row.backends:
            print(f"  provides {backend}")
        print(f"  hooks: {', '.join(row.hooks)}")
    return Outcome.DONE


def _positive(text: str) -> int:
    """An argument that counts something: 1 or more (0 would silently do nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class _Version(argparse.Action):
    """``--version``: the version is read only when asked (importlib.metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        del dest  # argparse passes one; the version stores nothing
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from fabpromote import __version__

        print(f"{PROG} {__version__}")
        parser.exit()


def _config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="cluster file (default: $FABPROMOTE_CONFIG, else ./fabpromote.yaml)"
    )
    parser.add_argument("--cluster", metavar="NAME", help="which cluster, when the file describes several")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command (also used to document the CLI)."""
    parser = argparse.ArgumentParser(prog=PROG, description="GitOps environment promotion built on Fabrikate HLDs.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    parser.add_argument("--version", action=_Version, help="print the version of fabpromote and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")

    gen = commands.add_parser(
        "generate",
        help="render an HLD like `fab generate`",
        description="Render the HLD in --path into <path>/generated/<ENVs joined by '-'> "
        "(generated/common without ENV), replacing that folder in one step.",
    )
    gen.add_argument("environments", nargs="*", metavar="ENV", help="environments, highest priority first")
    gen.add_argument("--path", default=".", metavar="DIR", help="directory of the root component (default: .)")
    gen.add_argument("--allow-hooks", action="store_true", help="run the shell commands of component hooks")
    gen.add_argument("--engine", default="native", help="rendering engine (default: native)")
    gen.add_argument(
        "--fix-disabled",
        action="store_true",
        help="a higher config that mentions a subcomponent without `disabled` keeps a lower `disabled: true`",
    )
    gen.add_argument("--validate", action="store_true", help="check every manifest against the Kubernetes schemas")
    gen.set_defaults(handler=_generate)

    mat = commands.add_parser(
        "materialize",
        help="render an environment of a cluster from git, optionally publish it",
        description="Read the cluster HLD at the environment's branch, resolve every git component to a "
        "commit, render, and print the lock. --publish commits the result to the environment's branch of "
        "the manifests repo (no commit when unchanged).",
    )
    mat.add_argument("env", metavar="ENV", help="the environment to render")
    _config_options(mat)
    mat.add_argument("--out", metavar="DIR", help="also write the manifests to DIR (replaced in one step)")
    mat.add_argument("--publish", action="store_true", help="commit the result to the manifests branch")
    mat.add_argument("--lock", metavar="FILE", help="render exactly the commits of this lock (JSON)")
    mat.add_argument(
        "--allow-older",
        action="store_true",
        help="publish even when a component is older than the branch's last publish holds (a deliberate step back)",
    )
    mat.add_argument("--engine", help="rendering engine (default: the configuration's, else native)")
    mat.add_argument("--json", action="store_true", help="print one JSON object")
    mat.add_argument("--validate", action="store_true", help="check every manifest against the Kubernetes schemas")
    mat.set_defaults(handler=_materialize)

    flx = commands.add_parser(
        "flux",
        help="print the Flux objects that make a cluster apply an environment",
        description="Print a Flux GitRepository following ENV's branch of the manifests repo and a Kustomization "
        "applying it (prune on), ready for `kubectl apply -f -` or a cluster's Flux repo.",
    )
    flx.add_argument("env", metavar="ENV", help="the environment the cluster applies")
    _config_options(flx)
    flx.add_argument("--namespace", default="flux-system", help="namespace of both objects (default: flux-system)")
    flx.add_argument("--interval", default="1m", help="how often Flux fetches and applies (default: 1m)")
    flx.add_argument("--secret", metavar="NAME", help="secret in NAMESPACE holding the Git credentials")
    flx.set_defaults(handler=_flux)

    demo = commands.add_parser(
        "demo",
        help="build the seed's example (local repos) and publish every environment",
        description="Create in DIR: app repos cat and dog (branches master/dev/stage/prod, hld/ with a helm "
        "chart), a cluster HLD repo (dev/stage/prod), an empty manifests repo, and DIR/fabpromote.yaml; then "
        "materialize and publish every environment.",
    )
    demo.add_argument("directory", metavar="DIR", help="an empty or missing folder")
    demo.set_defaults(handler=_demo)

    grd = commands.add_parser(
        "guard",
        help="may branch HEAD be merged into branch BASE? (a pull request check)",
        description="Exit 0 when the pipeline allows merging --head into --base, else 1 with the reason. "
        "Run it as a required check on pull/merge requests of app and cluster HLD repos.",
    )
    grd.add_argument("--base", required=True, help="the branch merged into (e.g. stage)")
    grd.add_argument("--head", required=True, help="the branch merged from (e.g. dev)")
    _config_options(grd)
    grd.set_defaults(handler=_guard)

    pro = commands.add_parser(
        "promote",
        help="promote an app from one environment to the next",
        description="Merge APP's --from branch into its --to branch: directly on local git, through a "
        "pull/merge request on hosted hosts (merged at the expected head with --merge).",
    )
    pro.add_argument("app", metavar="APP", help="the app (its name in the cluster HLD, e.g. cat-application)")
    pro.add_argument("--from", dest="source", required=True, metavar="ENV", help="the environment promoted from")
    pro.add_argument("--to", dest="target", required=True, metavar="ENV", help="the environment promoted into")
    pro.add_argument("--merge", action="store_true", help="merge the pull/merge request once mergeable")
    pro.add_argument("--publish", action="store_true", help="then materialize and publish --to (local host)")
    pro.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
    pro.add_argument("--json", action="store_true", help="print one JSON object")
    _config_options(pro)
    pro.set_defaults(handler=_promote)

    sta = commands.add_parser(
        "status",
        help="which version of each app runs in which environment",
        description="For each app and environment: branch SHA, images in its HLD config, commits waiting "
        "to be promoted from the previous environment, and whether the manifests branch was published from it. "
        "Spans every cluster of the file unless --cluster is given.",
    )
    sta.add_argument("--json", action="store_true", help='print one JSON object: {"outcome", "rows"}')
    _config_options(sta)
    sta.set_defaults(handler=_status)

    dif = commands.add_parser(
        "diff",
        help="preview a promotion: the target's manifests and config, before and after",
        description="Render --to as it would be with APP promoted from --from, and print unified diffs "
        "of APP's merged config and of the manifests. Pushes nothing.",
    )
    dif.add_argument("app", metavar="APP", help="the app to preview the promotion of")
    dif.add_argument("--from", dest="source", required=True, metavar="ENV", help="the environment promoted from")
    dif.add_argument("--to", dest="target", required=True, metavar="ENV", help="the environment promoted into")
    _config_options(dif)
    dif.set_defaults(handler=_diff)

    rol = commands.add_parser(
        "rollback",
        help="restore an app's environment branch to an earlier state",
        description="Make APP's ENV branch hold an earlier tree again, as a new commit (history kept; a "
        "pull/merge request on hosted hosts). Emergency path: --manifests --to SHA puts an earlier publish "
        "back on the manifests branch alone.",
    )
    rol.add_argument("app", metavar="APP", nargs="?", help="the app to roll back (not with --manifests)")
    rol.add_argument("target_env", metavar="ENV", help="the environment whose branch is rolled back")
    rol.add_argument(
        "--to",
        metavar="SHA",
        help="the commit to restore: 7 to 40 hex digits of a commit in ENV's history (with --manifests: of a "
        "publish `history ENV` lists); give --to or --steps",
    )
    rol.add_argument("--steps", type=_positive, metavar="N", help="go back N first-parent commits (N >= 1)")
    rol.add_argument("--manifests", action="store_true", help="roll back the manifests branch of ENV instead")
    _config_options(rol)
    rol.set_defaults(handler=_rollback)

    img = commands.add_parser(
        "set-image",
        help="set an app's image tag in its HLD config on an environment's branch",
        description="Edit the image tag (and --repository) in APP's HLD config on ENV's branch, keeping the "
        "file's layout and comments, and commit. CI calls this after building an image (usually on dev).",
    )
    img.add_argument("app", metavar="APP", help="the app whose HLD config holds the image")
    img.add_argument("env", metavar="ENV", help="the environment whose branch is edited")
    img.add_argument("tag", metavar="TAG", help="the new image tag")
    img.add_argument("--repository", metavar="R", help="also set the image repository")
    _config_options(img)
    img.set_defaults(handler=_set_image)

    prt = commands.add_parser(
        "protect",
        help="configure (or --check) branch protection of the HLD repos",
        description="On GitHub and GitLab: make the protected environments' branches of the cluster HLD and of "
        "every app repo change only through pull/merge requests that passed the fabpromote/guard check. "
        "--check only reports differences and exits 1 when there are any.",
    )
    prt.add_argument("--check", action="store_true", help="verify only; exit 1 on drift")
    _config_options(prt)
    prt.set_defaults(handler=_protect)

    his = commands.add_parser(
        "history",
        help="the publishes of an environment and their provenance",
        description="List the publish commits of ENV's manifests branch, newest first, with the sources each "
        "was rendered from.",
    )
    his.add_argument("env", metavar="ENV", help="the environment")
    his.add_argument("--limit", type=_positive, default=50, metavar="N", help="how many commits to read (default 50)")
    his.add_argument("--json", action="store_true", help='print one JSON object: {"outcome", "publishes"}')
    _config_options(his)
    his.set_defaults(handler=_history)

    inst = commands.add_parser(
        "install",
        help="fetch remote components and charts like `fab install`",
        description="Fill components/ and helm_repos/ of the HLD in --path where `fab install` puts them, "
        "fetching through fabpromote's cache. Nothing changes unless every fetch succeeds.",
    )
    inst.add_argument("--path", default=".", metavar="DIR", help="directory of the root component (default: .)")
    inst.add_argument("--allow-hooks", action="store_true", help="run before-install/after-install hooks")
    inst.set_defaults(handler=_install)

    cache = commands.add_parser(
        "cache",
        help="check (and --repair) the cache of mirrors, snapshots, downloads and renders",
        description="`cache check` verifies the cache ($FABPROMOTE_CACHE_DIR, else ~/.cache/fabpromote): git "
        "mirrors pass git fsck, snapshots match their commits, downloads and renders match their digests, and no "
        "temporary debris of killed runs is left. It prints one line per problem and exits 1 when any remains; "
        "--repair removes the broken entries and the debris (nothing else), so the next run fetches them again.",
    )
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION", help="what to do")
    check = cache_commands.add_parser("check", help="verify the cache; exit 1 on problems")
    check.add_argument("--repair", action="store_true", help="remove broken entries and debris")
    check.add_argument("--cache-dir", metavar="DIR", help="the cache root (default: $FABPROMOTE_CACHE_DIR, ...)")
    check.set_defaults(handler=_cache_check)

    plug = commands.add_parser(
        "plugins",
        help="list installed plugins and what they provide",
        description="List every plugin loaded from the `fabpromote` entry-point group and the built-ins: its "
        "distribution and version, the backends it registers (Git hosts, generators, engines) and its hooks.",
    )
    plug.add_argument("--json", action="store_true", help="print JSON")
    plug.set_defaults(handler=_plugins)
    for sub in _subparsers(parser):
        sub.set_defaults(parser=sub)  # a command's own usage errors are reported with its usage line
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's parser, nested ones (``cache check``) included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += [sub, *_subparsers(sub)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (see :data:`EXIT_STATUS`).

    Usage errors exit with status 2 (``SystemExit``, as argparse does).
    SIGTERM and SIGINT end the command through its cleanup (staging folders
    and temporary files removed) with status 143 or 130 and one line; a
    closed stdout (``fabpromote history dev | head -1``) ends it quietly
    with 141.
    """
    from fabpromote._util import signals as _signals

    try:
        # Caught outside the handled block: a signal may also come while an error is printed.
        try:
            with _signals.handled(PROG), _redacted_output():
                args = _parse(argv)
                _setup_logging(args.verbose)
                status = _run(args)
                sys.stdout.flush()  # a reader gone shows here at the latest, while it can be handled
                return status
        except KeyboardInterrupt as exc:
            # Not an Interrupted: Ctrl-C where no handler could be set (main() run outside the main thread).
            return _signals.report(
                exc if isinstance(exc, _signals.Interrupted) else _signals.Interrupted(signal.SIGINT)
            )
    except BrokenPipeError:
        return _reader_gone()


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an option the command does not know is reported with the command's usage."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = {sub.prog.split()[-1]: sub for sub in _subparsers(parser)}
        commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


class _Redacted:
    """A text stream whose every write is redacted: nothing the CLI prints shows a credential."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _redacted_output() -> Iterator[None]:
    """stdout and stderr redacted while a command runs: its output, its errors, its log lines."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Redacted(sys.stdout), _Redacted(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """``fabpromote: LEVEL: message`` on whatever ``sys.stderr`` is now, redacted; fabpromote's records only.

    Libraries' records (urllib3's ``Retrying (...)`` warnings, which repeat a
    server's bytes) are not shown: every failure is reported once, as one
    line naming the remote, by the error it ends in.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(message)s"))
        self.addFilter(logging.Filter("fabpromote"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        del value  # always the stderr of the moment (tests swap it)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _LogHandler)]:
        root.removeHandler(handler)
    # On the root logger, so that libraries' records find a handler (this one,
    # which drops them) instead of logging's last resort, which prints warnings.
    root.addHandler(_LogHandler())
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def _reader_gone() -> int:
    """The reader of stdout went away: what is left to print is nobody's; say nothing more."""
    try:
        # Else the interpreter's last flush of stdout at exit complains with a traceback-like message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is no real file (tests capture it): nothing flushes it at exit
    return BROKEN_PIPE


def _run(args: argparse.Namespace) -> int:
    from fabpromote.exceptions import FabpromoteError, NothingToPromoteError

    handler: Callable[[argparse.Namespace], Outcome] = args.handler
    try:
        outcome = handler(args)
    except _UsageError as exc:
        args.parser.error(str(exc))  # exits with USAGE, like argparse's own errors
    except NothingToPromoteError as exc:
        outcome = _unfinished(args, Outcome.NOTHING_TO_DO, str(exc))
    except FabpromoteError as exc:
        outcome = _unfinished(args, Outcome.FAILED, f"error: {exc}")
    except BrokenPipeError:
        raise
    except OSError as exc:
        outcome = _unfinished(args, Outcome.FAILED, f"error: {_os_error(exc)}")
    return EXIT_STATUS[outcome]


def _unfinished(args: argparse.Namespace, outcome: Outcome, message: str) -> Outcome:
    """A command that raised: one line on stderr, and with ``--json`` the outcome on stdout."""
    if getattr(args, "json", False):
        key = "error" if outcome is Outcome.FAILED else "message"
        print(json.dumps({"outcome": outcome.value, key: message.removeprefix("error: ")}, indent=2))
    print(f"{PROG}: {message}", file=sys.stderr)
    return outcome


def _os_error(exc: OSError) -> str:
    """``<path>: <why>`` for what the system refused (a folder that cannot be written, a full disk)."""
    why = exc.strerror or str(exc)
    paths = [str(path) for path in (exc.filename, exc.filename2) if path is not None]
    return f"{' -> '.join(paths)}: {why}" if paths else why
