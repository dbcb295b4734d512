"""``plan(fleet, repo, branch)``: which (cluster, environment) materializations a push affects.

A push to ``REPO@BRANCH`` affects environment ``env`` of a cluster when REPO is
the cluster's HLD repository and BRANCH is ``env``'s ``hld_branch``, or when the
cluster HLD on that branch lists REPO as a git subcomponent (an app) following
BRANCH. A push to a manifests branch affects nothing: publishing must not
trigger publishing. The result is the fan-out of a CI pipeline: a GitHub
Actions ``strategy.matrix`` or a GitLab child pipeline (see ``docs/ci.md``).

A cluster HLD that cannot be read is an error naming the remote, never a
skipped cluster: a plan that silently left a cluster out would leave its
environments unpublished with a green pipeline.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING

import attrs
import yaml

from fabpromote._cluster.apps import apps
from fabpromote._cluster.hosts import sources_for
from fabpromote._cluster.models import Cluster, Environment, Fleet
from fabpromote._sources.remotes import same_repo
from fabpromote.exceptions import BranchNameError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fabpromote._sources.sources import Sources

__all__ = ["PlanEntry", "PlanResult", "branch_name", "plan"]

#: The hidden job each GitLab child pipeline job extends (templates/gitlab/publish-job.gitlab-ci.yml).
GITLAB_EXTENDS = ".fabpromote-publish"


@attrs.frozen(kw_only=True)
class PlanEntry:
    """One materialization a push affects.

    Attributes:
        cluster: The cluster's name.
        environment: The environment's name.
        config: The cluster file that describes it (as the caller named it).
        reason: Why: ``cluster HLD`` or ``app NAME``.
    """

    cluster: str
    environment: str
    config: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """A matrix entry: exactly what a publish job needs (a matrix adds a dimension per key)."""
        return {"cluster": self.cluster, "environment": self.environment, "config": self.config}


def _entries(value: Iterable[PlanEntry]) -> tuple[PlanEntry, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class PlanResult:
    """What a push to ``repo@branch`` affects, in cluster file and pipeline order.

    Attributes:
        repo: The repository pushed to, as given.
        branch: The branch pushed to (without ``refs/heads/``).
        entries: The affected materializations; empty when nothing follows the branch.
        manifests: The push was to a manifests branch (so it affects nothing by design).
    """

    repo: str
    branch: str
    entries: tuple[PlanEntry, ...] = attrs.field(converter=_entries)
    manifests: bool = False

    def lines(self) -> list[str]:
        """One line per entry: ``CLUSTER ENV (REASON)``."""
        return [f"{entry.cluster} {entry.environment} ({entry.reason})" for entry in self.entries]

    def summary(self) -> str:
        """Why the plan is empty, or how many jobs it has."""
        if self.manifests:
            return f"{self.repo}@{self.branch} is a manifests branch: publishing it affects nothing"
        if not self.entries:
            return f"nothing follows {self.repo}@{self.branch}"
        return f"{len(self.entries)} materialization(s) follow {self.repo}@{self.branch}"

    def matrix(self) -> dict[str, list[dict[str, str]]]:
        """The GitHub Actions matrix: ``{"include": [{"cluster", "environment", "config"}, ...]}``."""
        return {"include": [entry.to_json() for entry in self.entries]}

    def github_output(self) -> str:
        """``matrix=...`` and ``any=true|false`` lines for ``$GITHUB_OUTPUT``.

        An empty matrix fails the job that uses it, so the job tests ``any`` first.
        """
        matrix = json.dumps(self.matrix(), separators=(",", ":"))
        return f"matrix={matrix}\nany={'true' if self.entries else 'false'}\n"

    def gitlab_pipeline(self, *, includes: Iterable[str] = (), extends: str = GITLAB_EXTENDS) -> str:
        """A GitLab child pipeline: one job per entry, extending ``extends`` from the ``includes`` files.

        Each job sets ``CLUSTER``, ``ENV`` and ``FABPROMOTE_CONFIG``. GitLab
        refuses a pipeline without jobs, so an empty plan is one job that says
        so and clones nothing.
        """
        pipeline: dict[str, object] = {}
        if not self.entries:
            pipeline["nothing-to-publish"] = {
                "variables": {"GIT_STRATEGY": "none"},
                "script": [f"echo {shlex.quote('fabpromote plan: ' + self.summary())}"],
            }
            return yaml.safe_dump(pipeline, sort_keys=False, width=1000)
        if includes:
            pipeline["include"] = [{"local": path} for path in includes]
        for entry in self.entries:
            pipeline[f"publish {entry.cluster} {entry.environment}"] = {
                "extends": extends,
                "variables": {"CLUSTER": entry.cluster, "ENV": entry.environment, "FABPROMOTE_CONFIG": entry.config},
            }
        return yaml.safe_dump(pipeline, sort_keys=False, width=1000)


def branch_name(ref: str) -> str:
    """The branch a ref names: ``refs/heads/x`` (as CI variables give it) or ``x``.

    Raises:
        BranchNameError: Empty, or another kind of ref (a tag).
    """
    branch = ref.removeprefix("refs/heads/")
    if not branch or branch.startswith("refs/"):
        raise BranchNameError(f"{ref!r} is not a branch: plan takes BRANCH or refs/heads/BRANCH")
    return branch


def plan(
    fleet_or_cluster: Fleet | Cluster,
    repo: str,
    branch: str,
    *,
    config: str | None = None,
    sources: Sources | None = None,
) -> PlanResult:
    """Which (cluster, environment) materializations a push to ``repo@branch`` affects.

    Args:
        fleet_or_cluster: Every cluster of a file, or one cluster.
        repo: The repository pushed to: a URL or a path (``https://host/org/app``,
            ``.git`` and a trailing ``/`` do not matter).
        branch: The branch pushed to; ``refs/heads/`` is removed.
        config: The cluster file each entry names; default the fleet's file.
        sources: The git sources layer; default one per cluster (its tokens).

    Raises:
        BranchNameError: ``branch`` is not a branch.
        FabpromoteError: A cluster HLD could not be read (naming the remote and branch).
    """
    branch = branch_name(branch)
    fleet = fleet_or_cluster if isinstance(fleet_or_cluster, Fleet) else Fleet(clusters=[fleet_or_cluster])
    config = fleet.file if config is None else config
    if any(_publishes_to(cluster, repo, branch) for cluster in fleet.clusters):
        return PlanResult(repo=repo, branch=branch, entries=(), manifests=True)
    entries = [entry for cluster in fleet.clusters for entry in _affected(cluster, repo, branch, config, sources)]
    return PlanResult(repo=repo, branch=branch, entries=entries)


def _publishes_to(cluster: Cluster, repo: str, branch: str) -> bool:
    """Whether ``repo@branch`` is a manifests branch of ``cluster``."""
    return same_repo(repo, cluster.manifests.url) and any(
        environment.manifests_branch == branch for environment in cluster.pipeline.environments
    )


def _affected(cluster: Cluster, repo: str, branch: str, config: str, sources: Sources | None) -> list[PlanEntry]:
    sources = sources or sources_for(cluster)
    found = []
    for environment in cluster.pipeline.environments:
        if reason := _reason(cluster, environment, repo, branch, sources):
            found.append(PlanEntry(cluster=cluster.name, environment=environment.name, config=config, reason=reason))
    return found


def _reason(cluster: Cluster, environment: Environment, repo: str, branch: str, sources: Sources) -> str:
    """Why a push to ``repo@branch`` changes ``environment`` of ``cluster``; empty when it does not."""
    if same_repo(repo, cluster.hld.url) and environment.hld_branch == branch:
        return "cluster HLD"  # no need to read it: its own branch moved
    followers = [
        app.name
        for app in apps(cluster, environment.name, sources)
        if app.branch == branch and same_repo(app.url, repo)
    ]
    return f"app {', '.join(followers)}" if followers else ""
