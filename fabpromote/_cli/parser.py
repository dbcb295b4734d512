"""The argument parser of every command (also used to document the CLI), and the cache and plugins commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from fabpromote._cli.common import PROG
from fabpromote._cli.pipeline import (
    run_advance,
    run_diff,
    run_guard,
    run_history,
    run_promote,
    run_protect,
    run_rollback,
    run_set_image,
    run_status,
)
from fabpromote._cli.planning import run_plan
from fabpromote._cli.render import run_demo, run_flux, run_generate, run_install, run_materialize
from fabpromote._cli.statuses import add_report_status
from fabpromote._util.outcome import Outcome, plural

__all__ = ["build_parser", "subparsers"]


def run_cache_check(args: argparse.Namespace) -> Outcome:
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


def run_plugins(args: argparse.Namespace) -> Outcome:
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
    gen.set_defaults(handler=run_generate)

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
    mat.set_defaults(handler=run_materialize)

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
    flx.add_argument(
        "--notifications",
        action="store_true",
        help="also a Provider and an Alert: Flux posts the Kustomization's health as a commit status",
    )
    flx.add_argument("--provider", metavar="TYPE", help="the Provider's type (default: from the manifests host)")
    flx.add_argument(
        "--provider-secret", metavar="NAME", help="secret holding the Git host token (default: NAME-commit-status)"
    )
    flx.set_defaults(handler=run_flux)

    demo = commands.add_parser(
        "demo",
        help="build the seed's example (local repos) and publish every environment",
        description="Create in DIR: app repos cat and dog (branches master/dev/stage/prod, hld/ with a helm "
        "chart), a cluster HLD repo (dev/stage/prod), an empty manifests repo, and DIR/fabpromote.yaml; then "
        "materialize and publish every environment.",
    )
    demo.add_argument("directory", metavar="DIR", help="an empty or missing folder")
    demo.set_defaults(handler=run_demo)

    pln = commands.add_parser(
        "plan",
        help="which (cluster, environment) materializations a push to REPO@BRANCH affects (CI fan-out)",
        description="List every environment of every cluster of the file whose materialization a push to "
        "REPO@BRANCH changes: the cluster HLD's branch of that environment, or an app the cluster HLD lists on "
        "that branch. A push to a manifests branch affects nothing. --json prints a GitHub Actions matrix; "
        "--format github prints `matrix=` and `any=` lines for $GITHUB_OUTPUT; --format gitlab a child pipeline.",
    )
    pln.add_argument(
        "--changed", required=True, metavar="REPO@BRANCH", help="the repository (URL or path) and branch pushed to"
    )
    pln.add_argument(
        "--json", action="store_true", help='print the matrix: {"include": [{cluster, environment, config}]}'
    )
    pln.add_argument(
        "--format", choices=("text", "json", "github", "gitlab"), default="text", help="output format (default: text)"
    )
    pln.add_argument(
        "--include", action="append", metavar="FILE", help="--format gitlab: a local file the child pipeline includes"
    )
    pln.add_argument("--extends", metavar="JOB", help="--format gitlab: the job each job extends (.fabpromote-publish)")
    _config_options(pln)
    pln.set_defaults(handler=run_plan)

    grd = commands.add_parser(
        "guard",
        help="may branch HEAD be merged into branch BASE? (a pull request check)",
        description="Exit 0 when the pipeline allows merging --head into --base, else 1 with the reason. "
        "Run it as a required check on pull/merge requests of app and cluster HLD repos.",
    )
    grd.add_argument("--base", required=True, help="the branch merged into (e.g. stage)")
    grd.add_argument("--head", required=True, help="the branch merged from (e.g. dev)")
    _config_options(grd)
    grd.set_defaults(handler=run_guard)

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
    pro.add_argument("--ignore-gates", action="store_true", help="promote even if gates of --to do not hold")
    pro.add_argument("--reason", metavar="TEXT", help="why the gates are ignored (needed with --ignore-gates)")
    _config_options(pro)
    pro.set_defaults(handler=run_promote)

    adv = commands.add_parser(
        "advance",
        help="promote every app whose next environment's gates all hold",
        description="Automatic promotion: for every app with something pending whose next environment's gates "
        "all hold, promote it (merged, and published on the local host). Stateless; a second run right after "
        "does nothing. Apps held by a gate are listed with why.",
    )
    adv.add_argument("--to", metavar="ENV", help="only promotions into ENV")
    adv.add_argument("--dry-run", action="store_true", help="show what would be promoted; change nothing")
    adv.add_argument("--json", action="store_true", help="print one JSON object")
    _config_options(adv)
    adv.set_defaults(handler=run_advance)

    sta = commands.add_parser(
        "status",
        help="which version of each app runs in which environment",
        description="For each app and environment: branch SHA, images in its HLD config, commits waiting "
        "to be promoted from the previous environment, and whether the manifests branch was published from it. "
        "Spans every cluster of the file unless --cluster is given.",
    )
    sta.add_argument("--json", action="store_true", help='print one JSON object: {"outcome", "rows"}')
    sta.add_argument(
        "--html",
        metavar="FILE",
        help="write the status page to FILE: one self-contained HTML file (matrix, pending, gates, publishes)",
    )
    sta.add_argument("--markdown", action="store_true", help="print the status page as markdown (CI job summary)")
    _config_options(sta)
    sta.set_defaults(handler=run_status)

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
    dif.set_defaults(handler=run_diff)

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
    rol.set_defaults(handler=run_rollback)

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
    img.set_defaults(handler=run_set_image)

    prt = commands.add_parser(
        "protect",
        help="configure (or --check) branch protection of the HLD repos",
        description="On GitHub, GitLab, Gitea/Forgejo and Azure DevOps: make the protected environments' "
        "branches of the cluster HLD and of every app repo change only through pull/merge requests that "
        "passed the fabpromote/guard check. "
        "--check only reports differences and exits 1 when there are any.",
    )
    prt.add_argument("--check", action="store_true", help="verify only; exit 1 on drift")
    _config_options(prt)
    prt.set_defaults(handler=run_protect)

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
    his.set_defaults(handler=run_history)

    _config_options(add_report_status(commands))

    inst = commands.add_parser(
        "install",
        help="fetch remote components and charts like `fab install`",
        description="Fill components/ and helm_repos/ of the HLD in --path where `fab install` puts them, "
        "fetching through fabpromote's cache. Nothing changes unless every fetch succeeds.",
    )
    inst.add_argument("--path", default=".", metavar="DIR", help="directory of the root component (default: .)")
    inst.add_argument("--allow-hooks", action="store_true", help="run before-install/after-install hooks")
    inst.set_defaults(handler=run_install)

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
    check.set_defaults(handler=run_cache_check)

    plug = commands.add_parser(
        "plugins",
        help="list installed plugins and what they provide",
        description="List every plugin loaded from the `fabpromote` entry-point group and the built-ins: its "
        "distribution and version, the backends it registers (Git hosts, generators, engines) and its hooks.",
    )
    plug.add_argument("--json", action="store_true", help="print JSON")
    plug.set_defaults(handler=run_plugins)
    for sub in subparsers(parser):
        sub.set_defaults(parser=sub)  # a command's own usage errors are reported with its usage line
    return parser


def subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's parser, nested ones (``cache check``) included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += [sub, *subparsers(sub)]
    return found
