"""``flux_manifests``: the Flux objects that point a cluster at an environment's manifests.

Two objects: a ``GitRepository`` (``source.toolkit.fluxcd.io/v1``) following
the environment's branch of the manifests repo, and a ``Kustomization``
(``kustomize.toolkit.fluxcd.io/v1``) applying that branch's root with pruning,
so a file that a publish removed is removed from the cluster too.

With ``notifications``, two more (``notification.toolkit.fluxcd.io/v1beta3``): a
``Provider`` of the manifests repository's Git host and an ``Alert`` sending it
the Kustomization's events, so Flux's notification-controller posts the
Kustomization's health as a commit status (context
``kustomization/<name>/<first 8 characters of the Provider's UID>``) on the
manifests commit it applied: what a ``statuses:`` gate requires.

The YAML is written by :mod:`fabpromote._hld.goyaml`, the port of go-yaml that
kubectl and Flux read with: a string that Go would read as another type (a
branch ``y``, a namespace ``1e3``, a secret ``0o17``) is quoted, so every
value reads back as the same string.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from fabpromote._cluster.hosts import host_name
from fabpromote._hld import goyaml as _goyaml
from fabpromote._plugins.manager import Plugins
from fabpromote.exceptions import HLDError

if TYPE_CHECKING:
    from fabpromote._cluster.models import Cluster

__all__ = [
    "COMMIT_STATUS_PROVIDERS",
    "GIT_REPOSITORY_API",
    "KUSTOMIZATION_API",
    "NOTIFICATION_API",
    "flux_manifests",
    "flux_name",
    "flux_objects",
    "flux_url",
]

GIT_REPOSITORY_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZATION_API = "kustomize.toolkit.fluxcd.io/v1"
NOTIFICATION_API = "notification.toolkit.fluxcd.io/v1beta3"
#: The Flux Provider types that post Git commit statuses.
COMMIT_STATUS_PROVIDERS = ("github", "gitlab", "gitea", "bitbucket", "bitbucketserver", "azuredevops")
# Git hosts known by their URL alone, whatever fabpromote backend serves them.
_PROVIDER_BY_HOST = {
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "dev.azure.com": "azuredevops",
}

# What the Flux v1 CRDs accept (their openAPIV3Schema patterns) and Kubernetes names.
_DURATION = re.compile(r"([0-9]+(\.[0-9]+)?(ms|s|m|h))+")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
_SCP_LIKE = re.compile(r"(?P<user>[^@/:]+@)?(?P<host>[^/:]+):(?P<path>(?!//).+)")
# Object names are DNS labels: Flux copies the Kustomization's name into label values.
_NAME_MAX = 63
# <cluster>-<env> is used as it is only when it can be read back one way: the cluster
# a DNS label without "--", the environment letters and digits (so the last "-" splits them).
_PLAIN_CLUSTER = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PLAIN_ENV = re.compile(r"[a-z0-9]+")
_DIGEST_CHARS = 10  # base32: 50 bits of sha256
_USERINFO = re.compile(r"(?P<scheme>^[A-Za-z][A-Za-z0-9+.-]*://)[^@/]*@")
_PASSWORD = re.compile(r"(?P<user>^[A-Za-z][A-Za-z0-9+.-]*://[^@/:]*):[^@/]*@")
_MIXED_SSH = re.compile(r"ssh://((?P<user>[^@/:]+)(:[^@/]*)?@)?(?P<host>[^/:@\[\]]+):(?P<path>.+)")


def flux_url(url: str) -> str:
    """The manifests URL as Flux takes it: http(s) or ssh, without credentials.

    ``git@host:org/repo.git`` becomes ``ssh://git@host/org/repo.git``; an
    ``ssh://`` URL keeps its user name (Flux logs in as that user, with the
    key of ``secretRef``) but not a password; http(s) URLs lose their user info
    entirely (credentials belong in the secret).

    Raises:
        HLDError: The URL is a local path, another scheme Flux cannot clone, or
            not a URL at all (such as ``ssh://git@host:org/repo.git``, where the
            scp-like ``host:path`` is mixed into an ``ssh://`` URL).
    """
    scp = _SCP_LIKE.fullmatch(url)
    if scp and "://" not in url:
        url = f"ssh://{scp['user'] or ''}{scp['host']}/{scp['path'].lstrip('/')}"
    parts = _split(url)
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


def _split(url: str) -> SplitResult:
    """``urlsplit`` with the port parsed, so a malformed URL is an HLDError here, not a ValueError later."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError as exc:
        raise HLDError(
            f"{_without_password(url)!r} is not a URL Flux can clone ({exc}){_scp_hint(url)}",
            field="manifests.url",
        ) from exc
    return parts


def _scp_hint(url: str) -> str:
    """For ``ssh://user@host:org/repo``, scp-like ``host:path`` mixed into a URL: the two right spellings."""
    mixed = _MIXED_SSH.fullmatch(url)
    if not mixed:
        return ""
    user = f"{mixed['user']}@" if mixed["user"] else ""
    return (
        f": write ssh://{user}{mixed['host']}/{mixed['path']} or, scp-like without ssh://,"
        f" {user}{mixed['host']}:{mixed['path']}"
    )


def _without_password(url: str) -> str:
    return _PASSWORD.sub(r"\g<user>@", url)


def _without_userinfo(url: str) -> str:
    return _USERINFO.sub(r"\g<scheme>", url)


def flux_name(cluster: str, env: str) -> str:
    """The objects' default name for ``env`` of ``cluster``: a DNS label, distinct for each pair.

    ``<cluster>-<env>`` when that reads back one way only: ``cluster`` already a
    DNS label without ``--``, ``env`` only lower-case letters and digits, 63
    characters at most. Otherwise (``a-b`` + ``c-d``, upper case, other characters,
    too long) the readable part, cut to fit, then ``--`` and 10 characters of the
    sha256 of the pair. Plain names never hold ``--`` and hashed ones always do, so
    the two kinds never meet; plain names differ because the last ``-`` splits them.
    """
    plain = f"{cluster}-{env}"
    if (
        _PLAIN_CLUSTER.fullmatch(cluster)
        and "--" not in cluster
        and _PLAIN_ENV.fullmatch(env)
        and len(plain) <= _NAME_MAX
    ):
        return plain
    digest = hashlib.sha256(f"{cluster}\0{env}".encode()).digest()
    suffix = base64.b32encode(digest).decode().lower()[:_DIGEST_CHARS]
    readable = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    readable = readable[: _NAME_MAX - len(suffix) - 2].rstrip("-")
    return f"{readable}--{suffix}" if readable else suffix


def flux_objects(
    cluster: Cluster,
    env: str,
    *,
    namespace: str = "flux-system",
    interval: str = "1m",
    secret: str | None = None,
    name: str | None = None,
    notifications: bool = False,
    provider: str | None = None,
    provider_secret: str | None = None,
    plugins: Plugins | None = None,
) -> list[dict[str, Any]]:
    """The ``GitRepository`` and ``Kustomization`` objects (and with ``notifications``
    the ``Provider`` and ``Alert``), as dictionaries.

    See :func:`flux_manifests` for the arguments.
    """
    environment = cluster.pipeline.environment(env)
    name = name or flux_name(cluster.name, environment.name)
    if not _DURATION.fullmatch(interval):
        raise HLDError(f"{interval!r} is not a Flux duration such as 1m, 30s or 1h30m", field="--interval")
    if not _DNS_LABEL.fullmatch(namespace):
        raise HLDError(f"{namespace!r} is not a namespace name (lower-case DNS label)", field="--namespace")
    if not _DNS_SUBDOMAIN.fullmatch(name) or len(name) > _NAME_MAX:
        raise HLDError(
            f"{name!r} is not a Flux object name (lower-case DNS subdomain of at most {_NAME_MAX} characters)",
            field="--name",
        )
    for option, value in (("--secret", secret), ("--provider-secret", provider_secret)):
        if value is not None and not _DNS_SUBDOMAIN.fullmatch(value):
            raise HLDError(f"{value!r} is not a secret name (lower-case DNS subdomain)", field=option)

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
    kustomization_spec: dict[str, Any] = {
        "interval": interval,
        "sourceRef": {"kind": "GitRepository", "name": name},
        "path": "./",
        "prune": True,
    }
    kustomization = {
        "apiVersion": KUSTOMIZATION_API,
        "kind": "Kustomization",
        "metadata": metadata(),
        "spec": kustomization_spec,
    }
    if not notifications:
        return [source, kustomization]
    # Health, not only "applied": the status Flux posts then says the workloads came up.
    kustomization_spec["wait"] = True
    kind = provider or _provider_type(cluster, plugins or Plugins.load())
    if kind not in COMMIT_STATUS_PROVIDERS:
        raise HLDError(f"{kind!r} is not one of {', '.join(COMMIT_STATUS_PROVIDERS)}", field="--provider")
    notifier = {
        "apiVersion": NOTIFICATION_API,
        "kind": "Provider",
        "metadata": metadata(),
        "spec": {
            "type": kind,
            "address": _provider_address(cluster.manifests.url),
            "secretRef": {"name": provider_secret or f"{name}-commit-status"},
        },
    }
    alert = {
        "apiVersion": NOTIFICATION_API,
        "kind": "Alert",
        "metadata": metadata(),
        "spec": {
            "providerRef": {"name": name},
            "eventSeverity": "info",
            "eventSources": [{"kind": "Kustomization", "name": name}],
        },
    }
    return [source, kustomization, notifier, alert]


def _provider_type(cluster: Cluster, plugins: Plugins) -> str:
    """The Flux Provider type of the manifests repository's Git host: its backend's name, else its URL's host."""
    backend = host_name(cluster, cluster.manifests, plugins)
    if backend in COMMIT_STATUS_PROVIDERS:
        return backend
    hostname = (_split(flux_url(cluster.manifests.url)).hostname or "").lower()
    found = _PROVIDER_BY_HOST.get(hostname) or ("azuredevops" if hostname.endswith(".visualstudio.com") else None)
    if found is None:
        shown = _without_userinfo(cluster.manifests.url)
        raise HLDError(
            f"Flux cannot post commit statuses through the {backend!r} Git host of {shown}; "
            f"give --provider, one of {', '.join(COMMIT_STATUS_PROVIDERS)} (gitea for a Gitea server), "
            "or post statuses from CI with `fabpromote report-status`",
            field="manifests.url",
        )
    return found


def _provider_address(url: str) -> str:
    """The repository's address as Flux's Git providers take it: https, without ``.git`` or credentials."""
    parts = _split(flux_url(url))
    host = parts.hostname or ""
    if parts.port and parts.scheme != "ssh":
        host += f":{parts.port}"
    scheme = "https" if parts.scheme == "ssh" else parts.scheme
    return urlunsplit((scheme, host, parts.path.removesuffix(".git"), "", ""))


def flux_manifests(
    cluster: Cluster,
    env: str,
    *,
    namespace: str = "flux-system",
    interval: str = "1m",
    secret: str | None = None,
    name: str | None = None,
    notifications: bool = False,
    provider: str | None = None,
    provider_secret: str | None = None,
    plugins: Plugins | None = None,
) -> str:
    """The Flux manifests that make a cluster apply environment ``env``'s manifests branch.

    Args:
        cluster: The cluster; its manifests repo is the source.
        env: The environment whose ``manifests_branch`` Flux follows.
        namespace: Where both objects live (Flux's own namespace by default).
        interval: How often Flux fetches and reconciles (a Go duration).
        secret: A secret in ``namespace`` holding the Git credentials
            (``username``/``password`` for https, ``identity``/``known_hosts`` for ssh).
        name: The objects' name; default :func:`flux_name` of the cluster and ``env``.
        notifications: Also a ``Provider`` and an ``Alert``, so Flux posts the
            Kustomization's health as a commit status on the manifests commit
            it applied (and the Kustomization waits for its workloads' health).
        provider: The Provider's type (see :data:`COMMIT_STATUS_PROVIDERS`);
            default from the manifests repository's Git host.
        provider_secret: The secret holding the Git host token (key ``token``);
            default ``<name>-commit-status``.
        plugins: Where the manifests repository's Git host is detected.

    Returns:
        The YAML documents: the ``GitRepository`` and the ``Kustomization``
        (then the ``Provider`` and the ``Alert``).

    Raises:
        UnknownNameError: ``env`` is not an environment of the cluster.
        HLDError: The manifests URL is not one Flux can clone, or an argument
            is not a valid Kubernetes name or Flux duration; with
            ``notifications``, no Provider type is known for the Git host.
    """
    objects = flux_objects(
        cluster,
        env,
        namespace=namespace,
        interval=interval,
        secret=secret,
        name=name,
        notifications=notifications,
        provider=provider,
        provider_secret=provider_secret,
        plugins=plugins,
    )
    header = f"# Flux: apply {cluster.name}/{env} from its manifests branch. Generated by `fabpromote flux`.\n"
    body = "".join("---\n" + _goyaml.dump(obj) for obj in objects)
    return header + body
