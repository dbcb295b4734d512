"""Picking and configuring the Git host backend of a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fabpromote._plugins import Plugins

if TYPE_CHECKING:
    from fabpromote._cluster import Cluster, Repo
    from fabpromote._credentials import Credentials
    from fabpromote._sources import Sources
    from fabpromote.typing import GitHost

__all__ = ["credentials_for", "host_for", "host_name", "protection", "sources_for"]

#: What may change an environment branch of each kind of repository.
_ALLOWED = {"manifests": ("publish", "rollback"), "hld": ("promote", "rollback")}


def host_name(cluster: Cluster, repo: Repo, plugins: Plugins) -> str:
    """The backend for ``repo``: its ``host``, the configured host of its URL, or detection."""
    if repo.host:
        return repo.host
    settings = cluster.hosts.get(urlsplit(repo.url).hostname or "")
    if settings is not None:
        return settings["type"]
    return plugins.detect_git_host(repo.url)


def protection(cluster: Cluster, role: str) -> dict[str, tuple[str, ...]]:
    """Branch -> allowed purposes, for a repository of ``role`` (``manifests`` or ``hld``).

    Manifests branches change only by publish (and the emergency rollback);
    protected environments' HLD branches (cluster HLD and apps) only by
    promotion and rollback.
    """
    environments = cluster.pipeline.environments
    if role == "manifests":
        return {env.manifests_branch: _ALLOWED["manifests"] for env in environments}
    return {env.hld_branch: _ALLOWED["hld"] for env in environments if env.protected}


def host_for(
    cluster: Cluster,
    repo: Repo,
    *,
    role: str = "manifests",
    plugins: Plugins | None = None,
    sources: Sources | None = None,
) -> GitHost:
    """A configured Git host backend for ``repo`` of ``cluster``.

    Args:
        role: ``manifests`` for the manifests repo, ``hld`` for the cluster
            HLD and app repos; decides the protection rules.
    """
    plugins = plugins or Plugins.load()
    name = host_name(cluster, repo, plugins)
    settings: dict[str, Any] = {
        key: value for key, value in cluster.hosts.get(urlsplit(repo.url).hostname or "", {}).items() if key != "type"
    }
    if repo.token_env:
        settings["token_env"] = repo.token_env
    if sources is not None:
        settings["sources"] = sources
    settings["protected"] = protection(cluster, role)
    host: GitHost = plugins.git_hosts.factory(name)(**settings)
    return host


def credentials_for(cluster: Cluster) -> Credentials:
    """Which variable holds the token of each host the cluster's repositories are on.

    From the ``hosts`` settings (``token_env``) and each repository's own
    ``token_env``; the defaults (``GITHUB_TOKEN``, ``GITLAB_TOKEN``) stay.
    """
    from fabpromote._credentials import Credentials

    mapping = {name: settings["token_env"] for name, settings in cluster.hosts.items() if "token_env" in settings}
    for repo in (cluster.hld, cluster.manifests):
        host = urlsplit(repo.url).netloc.rpartition("@")[2]
        if repo.token_env and host:
            mapping[host] = repo.token_env
    return Credentials(mapping)


def sources_for(cluster: Cluster) -> Sources:
    """A sources layer for ``cluster``: its cache setting and its token variables."""
    from fabpromote._sources import Sources

    return Sources(cache_dir=cluster.settings.cache_dir or None, credentials=credentials_for(cluster))
