"""Rollback: an app's branch, or in an emergency a manifests branch, back to an earlier state, as a new commit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabpromote._cluster.apps import app
from fabpromote._cluster.publish import TRAILER_PREFIX, provenance_trailers
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.githost import ChangeRequest
from fabpromote._sources.gitops import GitOps
from fabpromote._util.outcome import plural
from fabpromote._util.shas import is_abbreviated_sha, is_sha
from fabpromote._workflow.context import RESTORES, Context, shown
from fabpromote._workflow.history import read_history
from fabpromote.exceptions import FabpromoteError, PromotionRefused

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote.typing import GitHost

__all__ = ["rollback", "rollback_manifests"]


def rollback(
    cluster: Cluster,
    app_name: str,
    env: str,
    *,
    to: str | None = None,
    steps: int | None = None,
    plugins: Plugins | None = None,
) -> ChangeRequest | str | None:
    """Restore ``app_name``'s branch of ``env`` to an earlier commit, as a new commit.

    History is kept: the new commit's tree is the earlier one's. On hosted
    hosts this is a pull/merge request.

    Args:
        to: The commit to restore: its SHA or 7+ of its first hex digits.
        steps: Or: how many first-parent commits to go back.

    Returns:
        The new commit (local), the change request (hosted), or None when
        the branch already holds that tree.
    """
    if (to is None) == (steps is None):
        raise FabpromoteError("give exactly one of --to SHA and --steps N")
    ctx = Context(cluster, plugins or Plugins.load())
    entry = app(cluster, env, app_name, ctx.sources)
    host = ctx.host(entry.url)
    head = ctx.branch(host, entry.url, entry.branch)
    if to is not None:
        target = host.resolve_commit(entry.url, _sha_prefix(to))
        if not GitOps(ctx.sources).is_ancestor(entry.url, target, head):
            raise PromotionRefused(
                f"{target[:12]} is not in the history of {entry.branch} of {shown(entry.url)}: a rollback goes back "
                f"to an earlier state of {env}; to bring another version, promote it"
            )
    else:
        target = _steps_back(host, entry.url, entry.branch, steps or 0)
    return host.revert_to(
        entry.url,
        entry.branch,
        target,
        expected=head,
        message=f"Roll back {app_name} in {env} to {target[:12]}\n\n{RESTORES}: {target}\n",
    )


def _sha_prefix(text: str) -> str:
    """``text``, lower case, if it is a commit SHA as people write it: 7 to 40 hex digits.

    A branch or tag name is refused: rolling back to another environment's
    branch would be a promotion that skipped the pipeline.
    """
    if not (is_sha(text) or is_abbreviated_sha(text)):
        raise FabpromoteError(f"--to takes a commit SHA (7 to 40 hex digits, as `history` prints), not {text!r}")
    return text.lower()


def _steps_back(host: GitHost, url: str, branch: str, steps: int) -> str:
    if steps < 1:
        raise FabpromoteError("--steps must be at least 1")
    commits = host.log(url, branch, limit=steps + 1)
    if len(commits) <= steps:
        raise FabpromoteError(f"{branch} has only {plural(len(commits), 'commit')}; cannot go back {steps}")
    return commits[steps].sha


def rollback_manifests(
    cluster: Cluster, env: str, *, to: str, plugins: Plugins | None = None
) -> ChangeRequest | str | None:
    """Emergency: put an earlier publish's tree back on the manifests branch alone.

    ``to`` must be a publish of ``env`` (see :func:`history`): its SHA or 7+ of
    its first hex digits (as ``history`` prints them). The new commit
    carries that publish's provenance and a ``Fabpromote-Rollback-Of``
    trailer, so ``history`` lists it as its own entry and ``status`` shows
    what the branch holds. The app branches are left as they are, so the next
    publish of ``env`` brings their state back (refused as going back only
    when it would be older): fix or roll back the app too.

    Raises:
        FabpromoteError: ``to`` is not a publish of ``env``, or abbreviates several.
    """
    environment = cluster.pipeline.environment(env)
    ctx = Context(cluster, plugins or Plugins.load())
    url = cluster.manifests.url
    host = ctx.host(url)
    head = ctx.branch(host, url, environment.manifests_branch)
    prefix = _sha_prefix(to)
    found = [item for item in read_history(ctx, env, 1000) if item.commit.startswith(prefix)]
    where = f"{shown(url)} branch {environment.manifests_branch}"
    if len(found) != 1:
        what = "names several publishes on" if found else "is not a publish on"
        raise FabpromoteError(f"{to} {what} {where} (see `fabpromote history {env}`)")
    (earlier,) = found
    trailers = provenance_trailers(
        cluster=cluster.name,
        environment=env,
        engine=earlier.engine,
        version=earlier.version,
        digest=earlier.digest,
        lock=earlier.sources,
    )
    summary = f"fabpromote: emergency rollback of {env} to {earlier.commit[:12]}"
    message = "\n".join([summary, "", *trailers, f"{TRAILER_PREFIX}Rollback-Of: {earlier.commit}"]) + "\n"
    return host.revert_to(url, environment.manifests_branch, earlier.commit, expected=head, message=message)
