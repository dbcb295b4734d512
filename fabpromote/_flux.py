"""``flux_manifests``: the Flux objects that point a cluster at an environment's manifests.

Two objects: a ``GitRepository`` (``source.toolkit.fluxcd.io/v1``) following
the environment's branch of the manifests repo, and a ``Kustomization``
(``kustomize.toolkit.fluxcd.io/v1``) applying that branch's root with pruning,
so a file that a publish removed is removed from the cluster too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from fabpromote.exceptions import HLDError

if TYPE_CHECKING:
    from fabpromote._cluster import Cluster

__all__ = ["GIT_REPOSITORY_API", "KUSTOMIZATION_API", "flux_manifests", "flux_objects", "flux_url"]

GIT_REPOSITORY_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"

# What the Flux v1 CRDs accept (their openAPIV3Schema patterns) and Kubernetes names.
_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SCP_LIKE = re.compile(r"(?P<user>[^@/:]+@)?(?P<host>[^/:]+):(?P<path>(?!//).+)")


def flux_url(url: str) -> str:
    """The manifests URL as Flux takes it: http(s) or ssh, without credentials.

    ``git@host:org/repo.git`` becomes ``ssh://git@host/org/repo.git``; an
    ``ssh://`` URL keeps its user name (Flux logs in as that user, with the
    key of ``secretRef``) but not a password; http(s) URLs lose their user info
    entirely (credentials belong in the secret).

    Raises:
        HLDError: The URL is a local path or another scheme Flux cannot clone.
    """
    scp = _SCP_LIKE.fullmatch(url)
    if scp and "://" not in url:
        url = f"ssh://{scp['user'] or ''}{scp['host']}/{scp['path'].lstrip('/')}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ssh") or not parts.hostname:
        raise HLDError(
            f"Flux clones http(s) and ssh URLs only; {_without_userinfo(url)!r} is not one",
            field="manifests.url",
        )
    host = parts.hostname
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if parts.port:
        host += f":{parts.port}"
    if parts.scheme == "ssh" and parts.username:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _name(*parts: str) -> str:
    """A DNS-1123 name from ``parts``: lower case, other characters as ``-``."""
    name = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return name[:63].rstrip("-")


def flux_objects(
    cluster: Cluster,
    env: str,
    *,
    namespace: str = "flux-system",
    interval: str = "1m",
    secret: str | None = None,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """The ``GitRepository`` and ``Kustomization`` objects, as dictionaries.

    See :func:`flux_manifests` for the arguments.
    """
    environment = cluster.pipeline.environment(env)
    name = name or _name(cluster.name, environment.name)
    if not _DURATION.fullmatch(interval):
        raise HLDError(f"{interval!r} is not a Flux duration such as 1m, 30s or 1h30m", field="--interval")
    if not _DNS_LABEL.fullmatch(namespace):
        raise HLDError(f"{namespace!r} is not a namespace name (lower-case DNS label)", field="--namespace")
    if not name or not _DNS_SUBDOMAIN.fullmatch(name):
        raise HLDError(f"{name!r} is not a Kubernetes object name (lower-case DNS subdomain)", field="--name")
    if secret is not None and not _DNS_SUBDOMAIN.fullmatch(secret):
        raise HLDError(f"{secret!r} is not a secret name (lower-case DNS subdomain)", field="--secret")

    def metadata() -> dict[str, Any]:  # one dict per object: YAML would print a shared one as an alias
        return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "fabpromote"}}

    source_spec: dict[str, Any] = {
        "interval": interval,
        "url": flux_url(cluster.manifests.url),
        "ref": {"branch": environment.manifests_branch},
    }
    if secret:
        source_spec["secretRef"] = {"name": secret}
    source = {"apiVersion": GIT_REPOSITORY_API, "kind": "GitRepository", "metadata": metadata(), "spec": source_spec}
    kustomization = {
        "apiVersion": KUSTOMIZATION_API,
        "kind": "Kustomization",
        "metadata": metadata(),
        "spec": {
            "interval": interval,
            "sourceRef": {"kind": "GitRepository", "name": name},
            "path": "./",
            "prune": True,
        },
    }
    return [source, kustomization]


def flux_manifests(
    cluster: Cluster,
    env: str,
    *,
    namespace: str = "flux-system",
    interval: str = "1m",
    secret: str | None = None,
    name: str | None = None,
) -> str:
    """The Flux manifests that make a cluster apply environment ``env``'s manifests branch.

    Args:
        cluster: The cluster; its manifests repo is the source.
        env: The environment whose ``manifests_branch`` Flux follows.
        namespace: Where both objects live (Flux's own namespace by default).
        interval: How often Flux fetches and reconciles (a Go duration).
        secret: A secret in ``namespace`` holding the Git credentials
            (``username``/``password`` for https, ``identity``/``known_hosts`` for ssh).
        name: The objects' name; default ``<cluster>-<env>``.

    Returns:
        Two YAML documents: the ``GitRepository`` and the ``Kustomization``.

    Raises:
        UnknownNameError: ``env`` is not an environment of the cluster.
        HLDError: The manifests URL is not one Flux can clone, or an argument
            is not a valid Kubernetes name or Flux duration.
    """
    objects = flux_objects(cluster, env, namespace=namespace, interval=interval, secret=secret, name=name)
    header = f"# Flux: apply {cluster.name}/{env} from its manifests branch. Generated by `fabpromote flux`.\n"
    body = "".join("---\n" + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False) for obj in objects)
    return header + body
