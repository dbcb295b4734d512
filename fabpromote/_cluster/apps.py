"""The apps of a cluster: the git subcomponents of its cluster HLD.

As in the seed, the cluster HLD on an environment's branch lists each app
with ``method: git``, its repository as ``source``, ``branch: <env>`` and
``path: hld``. Apps are never listed in the cluster file.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import attrs

from fabpromote._cluster.models import UnknownNameError
from fabpromote._hld.loading import load_component

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster
    from fabpromote._sources.sources import Sources

__all__ = ["App", "app", "apps"]


@attrs.frozen(kw_only=True)
class App:
    """One app as an environment's cluster HLD lists it.

    Attributes:
        name: The subcomponent's entry name.
        url: The app's HLD repository.
        branch: The branch this environment uses (the entry's ``branch``,
            else ``version``, else the environment's HLD branch).
        path: The HLD folder inside the repository.
    """

    name: str
    url: str
    branch: str
    path: str = ""


def apps(cluster: Cluster, env: str, sources: Sources) -> list[App]:
    """The apps of environment ``env``, in cluster HLD order."""
    environment = cluster.pipeline.environment(env)
    wanted = [(cluster.hld.url, environment.hld_branch)]
    with sources.user_terms(), contextlib.closing(sources.checkouts(wanted)) as trees:
        _, tree = next(trees)
        component = load_component(tree / cluster.hld_path)
    return [
        App(
            name=entry.name,
            url=entry.source,
            branch=entry.branch or entry.version or environment.hld_branch,
            path=entry.path,
        )
        for entry in component.subcomponents
        if entry.method == "git" and not entry.inlined
    ]


def app(cluster: Cluster, env: str, name: str, sources: Sources) -> App:
    """The app called ``name`` in environment ``env``.

    Raises:
        UnknownNameError: The cluster HLD of that environment has no such app.
    """
    found = apps(cluster, env, sources)
    for candidate in found:
        if candidate.name == name:
            return candidate
    raise UnknownNameError(
        f"unknown app {name!r} in {cluster.name}/{env} (apps: {', '.join(a.name for a in found) or 'none'})"
    )
