"""The commands that render and publish: generate, install, materialize (and publish), flux, demo."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fabpromote._cli import stamps, unchanged
from fabpromote._cli.common import PROG, cluster_of, retry_publish, stage
from fabpromote._util import progress, reads
from fabpromote._util.credentials import redact
from fabpromote._util.outcome import Outcome, plural

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote._engine.manifests import Manifests
    from fabpromote._sources.fetch import LockEntry

__all__ = ["run_demo", "run_flux", "run_generate", "run_install", "run_materialize"]


def run_generate(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.generate import generate, output_directory

    target = output_directory(args.path, args.environments)
    started = time.time_ns()
    with progress.shown("rendering"), reads.recorded() as read:
        manifests = generate(
            args.path,
            args.environments,
            allow_hooks=args.allow_hooks,
            engine=args.engine,
            fix_disabled=args.fix_disabled,
        )
    if args.validate:
        _check(manifests)
    existed = target.is_dir()
    # generated/ is Fabrikate's layout, which has no room for a record file: it goes in the cache.
    written = manifests.write(target, record="cache")
    summary = f"{plural(len(manifests), 'file')} in {target}"
    print(stamps.summary_line("wrote" if written else "unchanged:", summary, manifests.digest), file=sys.stderr)
    if existed and not read.spoiled and args.engine == "native" and not args.fix_disabled:
        # What the next run answers without rendering (see unchanged). A first run into a new
        # folder (what CI sees) does not pay for the stamp: it would rarely be used.
        unchanged.record(
            args.path,
            tuple(args.environments),
            started,
            manifests,
            digest=manifests.digest,
            output=str(target),
            summary=redact(summary),
            reads=read,
        )
    return Outcome.DONE if written else Outcome.NOTHING_TO_DO


def run_install(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.install import install

    installed = install(args.path, allow_hooks=args.allow_hooks)
    for path in installed:
        print(f"installed {path}", file=sys.stderr)
    return Outcome.DONE


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


def run_materialize(args: argparse.Namespace) -> Outcome:
    cluster = cluster_of(args)
    lock = _read_lock(args.lock) if args.lock else None
    result = _rendered(args, cluster, lock)
    written = bool(args.out) and result.manifests.write(args.out)
    published, error = _publish_step(args, result, cluster) if args.publish else (None, "")
    if published is not None and published.materialization not in (None, result):
        # A newer publish landed meanwhile and the heads were rendered again: report (and write) that.
        stage(f"a newer publish landed on {published.branch} meanwhile: rendered the branch heads again")
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
        print(f"{PROG}: retry the publish with: {retry_publish(args, args.env)}", file=sys.stderr)
    return outcome


def _rendered(args: argparse.Namespace, cluster: Cluster, lock: list[LockEntry] | None) -> Any:
    """The materialization of ``args.env`` (of ``lock``, else of the branch heads), checked with ``--validate``."""
    from fabpromote._cluster.materialize import materialize

    stage(f"materializing {cluster.name}/{args.env}: resolving sources and rendering")
    with progress.shown("rendering"):
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

    stage(f"publishing to {cluster.manifests.url}")
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


def _check(manifests: Manifests) -> None:
    """``--validate``: custom resources are noted on stderr; a schema error stops before anything is written."""
    from fabpromote._engine.validate import validate

    stage("validating against the Kubernetes schemas")
    report = validate(manifests)
    for item in report.unchecked:
        print(f"{PROG}: not checked: {item}", file=sys.stderr)
    for error in report.errors[1:]:
        print(f"{PROG}: error: {error}", file=sys.stderr)
    report.raise_for_errors()


def run_flux(args: argparse.Namespace) -> Outcome:
    from fabpromote._cluster.flux import flux_manifests

    text = flux_manifests(
        cluster_of(args),
        args.env,
        namespace=args.namespace,
        interval=args.interval,
        secret=args.secret,
        notifications=args.notifications,
        provider=args.provider,
        provider_secret=args.provider_secret,
    )
    sys.stdout.write(text)
    return Outcome.DONE


def run_demo(args: argparse.Namespace) -> Outcome:
    from fabpromote._cli.demo import build_demo

    for line in build_demo(Path(args.directory)):
        print(line, flush=True)
    return Outcome.DONE
