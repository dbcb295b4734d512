"""Building the Git host backend of a repository from the cluster file: the one way to a remote."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fabpromote._cluster.models import Repo
from fabpromote._plugins.manager import Plugins
from fabpromote._sources.githost import HLD_PURPOSES, MANIFESTS_PURPOSES, BranchPolicy
from fabpromote._sources.remotes import same_repo
from fabpromote._util.credentials import host_keys
from fabpromote.typing import HostSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fabpromote._cluster.models import Cluster
    from fabpromote._sources.sources import Sources
    from fabpromote._util.credentials import Credentials
    from fabpromote.typing import GitHost

__all__ = [
    "credentials_for",
    "host_for",
    "host_name",
    "host_settings",
    "protection",
    "repo_for",
    "sources_for",
]


def repo_for(cluster: Cluster, url: str) -> Repo:
    """What the cluster file says of the repository at ``url``.

    The cluster HLD's, the manifests repo's and ``repos:`` entries carry their
    ``host`` and ``token_env``; any other repository is known by its URL
    alone and takes the settings of its host (``hosts:``).
    """
    for repo in (cluster.manifests, cluster.hld, *cluster.repos):
        if same_repo(repo.url, url):
            return repo
    return Repo(url=url)


def host_settings(cluster: Cluster, url: str) -> Mapping[str, str]:
    """The ``hosts:`` entry of ``url``'s host: by ``name:port`` first, then by name."""
    return cluster.hosts.get(_host_key(cluster, url), {})


def _host_key(cluster: Cluster, url: str) -> str:
    """The key of the ``hosts:`` entry of ``url``'s host; "" when none."""
    return next((key for key in host_keys(url) if key in cluster.hosts), "")


def host_name(cluster: Cluster, repo: Repo, plugins: Plugins) -> str:
    """The backend for ``repo``: its ``host``, the configured host of its URL, or detection."""
    if repo.host:
        return repo.host
    settings = host_settings(cluster, repo.url)
    if settings:
        return settings["type"]
    return plugins.detect_git_host(repo.url)


def protection(cluster: Cluster, role: str) -> BranchPolicy:
    """The branch policy of a repository of ``role`` (``manifests`` or ``hld``).

    Manifests branches change only by publish (and the emergency rollback);
    protected environments' HLD branches (cluster HLD and apps) only by
    promotion and rollback.
    """
    environments = cluster.pipeline.environments
    if role == "manifests":
        return BranchPolicy({env.manifests_branch: MANIFESTS_PURPOSES for env in environments})
    return BranchPolicy({env.hld_branch: HLD_PURPOSES for env in environments if env.protected})


def host_for(
    cluster: Cluster,
    url: str,
    *,
    plugins: Plugins | None = None,
    sources: Sources | None = None,
) -> GitHost:
    """The Git host backend of the repository at ``url``, configured as the cluster file says.

    Every command reaches a repository through this: the backend is the
    repository's ``host`` (else its host's ``type``, else detection), built
    with its host's settings and its own ``token_env``; the manifests repo
    gets the manifests branches' protection, any other repository the
    protected environments' HLD branches'. The backend's factory gets them as
    one :class:`~fabpromote.typing.HostSettings`.
    """
    plugins = plugins or Plugins.load()
    repo = repo_for(cluster, url)
    key = _host_key(cluster, url)
    entry = cluster.hosts.get(key, {})
    settings = HostSettings(
        protected=protection(cluster, "manifests" if repo is cluster.manifests else "hld"),
        sources=sources,
        token_env=repo.token_env or entry.get("token_env", ""),
        options={name: value for name, value in entry.items() if name not in ("type", "token_env")},
        field=f"hosts.{key}" if key else "",
    )
    return plugins.git_host(host_name(cluster, repo, plugins), settings)


def credentials_for(cluster: Cluster) -> Credentials:
    """Which variable holds the token of each host and repository of the cluster.

    A host's ``token_env`` (``hosts:``) applies to every repository on it; a
    repository's own ``token_env`` (cluster HLD, manifests, ``repos:``) to that
    repository alone. The defaults (``GITHUB_TOKEN``, ``GITLAB_TOKEN``) stay.
    """
    from fabpromote._util.credentials import Credentials, repo_key

    mapping = {name: settings["token_env"] for name, settings in cluster.hosts.items() if "token_env" in settings}
    for repo in (*cluster.repos, cluster.hld, cluster.manifests):
        key = repo_key(repo.url)
        if repo.token_env and key:
            mapping[key] = repo.token_env
    return Credentials(mapping)


def sources_for(cluster: Cluster) -> Sources:
    """A sources layer for ``cluster``, with a new cache (its ``cache_dir`` setting) and its token variables."""
    from fabpromote._sources.cache import Cache
    from fabpromote._sources.sources import Sources
    from fabpromote._util.settings import RunSettings

    cache = Cache.from_settings(RunSettings.load(cluster.settings.cache_dir or None))
    return Sources(credentials=credentials_for(cluster), cache=cache)
