"""Clusters, their environments and pipelines (the promotion model).

A :class:`Fleet` is what one ``fabpromote.yaml`` describes: one or more
:class:`Cluster` s, each with a cluster HLD repo, a manifests repo and a
:class:`Pipeline` of :class:`Environment` s. :meth:`Fleet.from_file` reads the file
(:func:`fleet_from_file`, at the end of this module): the reader builds these records
and their constructors call it, so the two live in one module rather than import each other.

Errors name the file, the line and the field path (``clusters[1].hld.url``).
Relative paths in it (repositories given as paths, ``cache_dir``) are relative
to the file's folder, wherever the command runs. The format is documented in
``docs/configuration.md``.
"""

from __future__ import annotations

import itertools
import os
import re
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from yaml.nodes import MappingNode, Node, ScalarNode

from fabpromote._cluster.gates import Gates, read_gates
from fabpromote._engine.walk import check_file_name
from fabpromote._hld.convert import NodeReader
from fabpromote._sources.remotes import same_repo
from fabpromote.exceptions import PromotionRefused, UnknownNameError

__all__ = ["Cluster", "Environment", "Fleet", "Pipeline", "Repo", "Settings", "UnknownNameError", "fleet_from_file"]


def _unknown(kind: str, name: str, known: list[str]) -> UnknownNameError:
    return UnknownNameError(f"unknown {kind} {name!r} (known: {', '.join(known) or 'none'})")


@attrs.frozen(kw_only=True)
class Repo:
    """A Git repository: its URL (or path), host backend and token variable.

    Attributes:
        url: Anything git can reach: a path, ``file://``, ``git://``, ``http(s)://``.
        host: The Git host backend (``local``, ``github``, ``gitlab``); empty
            means "detect from the URL".
        token_env: The environment variable holding its token, if any.
    """

    url: str
    host: str = ""
    token_env: str = ""


@attrs.frozen(kw_only=True)
class Environment:
    """One stage of a pipeline, e.g. ``dev``.

    Attributes:
        name: The environment's name.
        hld_branch: The branch of the cluster HLD (and of each app's HLD repo).
        manifests_branch: The branch of the manifests repo Flux follows.
        fabrikate_environments: The config environments, highest priority first.
        protected: Only promotions and rollbacks may change its branches
            (commits such as ``set-image`` are refused).
        gates: What must hold before anything is promoted into it.
    """

    name: str
    hld_branch: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))
    manifests_branch: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))
    fabrikate_environments: tuple[str, ...] = attrs.field(
        default=attrs.Factory(lambda self: (self.name,), takes_self=True), converter=tuple
    )
    protected: bool = False
    gates: Gates = attrs.Factory(Gates)


def _environments(value: Iterable[Environment]) -> tuple[Environment, ...]:
    return tuple(value)


def _repos(value: Iterable[Repo]) -> tuple[Repo, ...]:
    return tuple(value)


def _clusters(value: Iterable[Cluster]) -> tuple[Cluster, ...]:
    return tuple(value)


def _hosts(value: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return types.MappingProxyType({name: types.MappingProxyType(dict(v)) for name, v in value.items()})


def _frozen_targets(value: Mapping[str, Any]) -> Mapping[str, tuple[str, ...]]:
    return types.MappingProxyType({source: tuple(targets) for source, targets in value.items()})


@attrs.frozen(kw_only=True)
class Pipeline:
    """Ordered environments and which promotions between them are allowed.

    By default each environment may be promoted only into the next one.
    """

    environments: tuple[Environment, ...] = attrs.field(converter=_environments)
    promotions: Mapping[str, tuple[str, ...]] = attrs.field(converter=_frozen_targets)

    @promotions.default
    def _next_only(self) -> dict[str, tuple[str, ...]]:
        names = self.names()
        return {source: (target,) for source, target in itertools.pairwise(names)}

    def names(self) -> list[str]:
        """Environment names in pipeline order."""
        return [environment.name for environment in self.environments]

    def environment(self, name: str) -> Environment:
        """The environment called ``name``.

        Raises:
            UnknownNameError: No such environment; lists the known ones.
        """
        for environment in self.environments:
            if environment.name == name:
                return environment
        raise _unknown("environment", name, self.names())

    def previous(self, name: str) -> Environment | None:
        """The environment promoted into ``name`` (the first source allowing it)."""
        self.environment(name)
        for source, targets in self.promotions.items():
            if name in targets:
                return self.environment(source)
        return None

    def check_promotion(self, source: str, target: str) -> None:
        """Raise unless ``source`` may be promoted into ``target``.

        Raises:
            UnknownNameError: An environment is unknown.
            PromotionRefused: The pipeline does not allow it.
        """
        self.environment(source)
        self.environment(target)
        allowed = self.promotions.get(source, ())
        if target not in allowed:
            into = f"only into {', '.join(allowed)}" if allowed else "into nothing"
            raise PromotionRefused(f"{source} may not be promoted into {target}: {source} goes {into}")


@attrs.frozen(kw_only=True)
class Settings:
    """Options a cluster file may set for every command.

    Attributes:
        engine: The rendering engine (``native`` or a plugin's).
        allow_hooks: Run component hooks (shell commands).
        cache_dir: The cache root; empty means the default.
        fix_disabled: See the docs on Fabrikate's ``disabled`` quirk.
    """

    engine: str = "native"
    allow_hooks: bool = False
    cache_dir: str = ""
    fix_disabled: bool = False
    #: Where ``engine`` was set (``fabpromote.yaml:5 (settings.engine)``), for errors; empty by default.
    engine_written_at: str = attrs.field(default="", eq=False)


@attrs.frozen(kw_only=True)
class Cluster:
    """A cluster: its HLD repo, its manifests repo and its pipeline."""

    name: str
    hld: Repo
    hld_path: str = ""
    manifests: Repo
    pipeline: Pipeline
    settings: Settings = attrs.Factory(Settings)
    #: Git host settings by URL host name (``{"type": "github", ...}``), shared by the fleet.
    hosts: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, converter=_hosts)
    #: Other repositories (apps) with their own ``host`` or ``token_env``, shared by the fleet.
    repos: tuple[Repo, ...] = attrs.field(default=(), converter=_repos)

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> Cluster:
        """Read a ``fabpromote.yaml`` and pick cluster ``name`` (or its only one)."""
        return Fleet.from_file(path).cluster(name)


@attrs.frozen(kw_only=True)
class Fleet:
    """Every cluster one configuration file describes.

    Attributes:
        clusters: The clusters, in file order.
        hosts: Git host settings by URL host name (``{"type": ..., ...}``).
        file: The file it was read from, if any.
    """

    clusters: tuple[Cluster, ...] = attrs.field(converter=_clusters)
    hosts: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict, converter=_hosts)
    file: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> Fleet:
        """Read a ``fabpromote.yaml``; errors name the file, line and field path."""
        return fleet_from_file(Path(path))

    def names(self) -> list[str]:
        """The cluster names, in file order."""
        return [cluster.name for cluster in self.clusters]

    def cluster(self, name: str | None = None) -> Cluster:
        """The cluster called ``name``; without a name, the only one.

        Raises:
            UnknownNameError: No such cluster, or a name is needed to choose.
        """
        if name is None:
            if len(self.clusters) == 1:
                return self.clusters[0]
            raise UnknownNameError(
                f"{self.file or 'the configuration'} describes several clusters; "
                f"pass --cluster NAME ({', '.join(self.names())})"
            )
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise _unknown("cluster", name, self.names())


_ENVIRONMENT_KEYS = ("name", "hld_branch", "manifests_branch", "fabrikate", "protected", "gates")
_CLUSTER_KEYS = ("name", "hld", "manifests", "environments", "promotions", "settings")
_TOP_KEYS = (*_CLUSTER_KEYS, "clusters", "hosts", "repos")
#: What git reads as a remote rather than a path: ``scheme://...``, or scp-like ``[user@]host:path``.
_REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|[^/]*:")


def fleet_from_file(file: Path) -> Fleet:
    """Read a fleet file (several clusters, or one cluster at the top level)."""
    reader = _FleetReader(file)
    root = reader.root()
    fields = reader.mapping(root, "", _TOP_KEYS)
    if root is None or not fields:
        raise reader.error(
            root, "", "empty configuration: expected `clusters:` or a cluster's `name`, `hld`, `manifests`"
        )
    defaults: Fields = {key: fields[key] for key in ("environments", "promotions", "settings") if key in fields}
    if "clusters" in fields:
        for key in ("name", "hld", "manifests"):
            if key in fields:
                raise reader.error(fields[key][0], key, "put cluster fields inside `clusters:` entries")
        entries = [
            (node, path, reader.mapping(node, path, _CLUSTER_KEYS))
            for node, path in reader.items(fields["clusters"][0], "clusters")
        ]
        if not entries:
            raise reader.error(fields["clusters"][0], "clusters", "expected at least one cluster")
    else:
        entries, defaults = [(root, "", fields)], {}
    clusters: list[Cluster] = []
    for node, path, cluster_fields in entries:
        cluster = reader.cluster(cluster_fields, defaults, path)
        if cluster.name in (known.name for known in clusters):
            raise reader.error(node, f"{path}.name".lstrip("."), f"duplicate cluster name {cluster.name!r}")
        clusters.append(cluster)
    hosts = reader.hosts(fields["hosts"][0], "hosts") if "hosts" in fields else {}
    repos = reader.repos(fields["repos"][0], "repos") if "repos" in fields else ()
    clusters = [attrs.evolve(cluster, hosts=hosts, repos=repos) for cluster in clusters]
    return Fleet(clusters=clusters, hosts=hosts, file=str(file))


Fields = dict[str, tuple[Node, str]]


class _FleetReader(NodeReader):
    def mapping(self, node: Node | None, field: str, allowed: tuple[str, ...]) -> Fields:
        """The fields of a map node; unknown keys are errors (typos must not pass)."""
        fields: Fields = {}
        for key, value, path in self.fields(node, field):
            if key not in allowed:
                raise self.error(value, path, f"unknown field (expected one of: {', '.join(allowed)})")
            fields[key] = (value, path)
        return fields

    def required(self, fields: Fields, key: str, parent: Node | None, field: str) -> tuple[Node, str]:
        if key not in fields:
            raise self.error(parent, field, f"missing field {key!r}")
        return fields[key]

    def cluster(self, fields: Fields, defaults: Fields, field: str) -> Cluster:
        merged = {**defaults, **fields}
        parent = next(iter(fields.values()))[0] if fields else None
        name = self.string(*self.required(fields, "name", parent, field))
        check_file_name(name, f"cluster name in {self.file}")
        hld, hld_path = self.repo(*self.required(fields, "hld", parent, field), with_path=True)
        manifests, _ = self.repo(*self.required(fields, "manifests", parent, field), with_path=False)
        environments = self.environments(*merged["environments"]) if "environments" in merged else _default_envs()
        pipeline = self.pipeline(environments, merged.get("promotions"))
        settings = self.settings(*merged["settings"]) if "settings" in merged else Settings()
        return Cluster(name=name, hld=hld, hld_path=hld_path, manifests=manifests, pipeline=pipeline, settings=settings)

    def repo(self, node: Node, field: str, *, with_path: bool) -> tuple[Repo, str]:
        if isinstance(node, ScalarNode):
            return Repo(url=self.location(self.nonempty(node, field))), ""
        allowed = ("url", "host", "token_env", "path") if with_path else ("url", "host", "token_env")
        fields = self.mapping(node, field, allowed)
        url = self.location(self.nonempty(*self.required(fields, "url", node, field)))
        host = self.string(*fields["host"]) if "host" in fields else ""
        token_env = self.string(*fields["token_env"]) if "token_env" in fields else ""
        path = self.string(*fields["path"]) if "path" in fields else ""
        return Repo(url=url, host=host, token_env=token_env), path

    def location(self, value: str) -> str:
        """``value`` as the file means it: a path relative to the file's folder made absolute; a URL as is."""
        if _REMOTE.match(value):
            return value
        return os.path.normpath(self.file.parent.absolute() / os.path.expanduser(value))

    def nonempty(self, node: Node, field: str) -> str:
        value = self.string(node, field)
        if not value:
            raise self.error(node, field, "must not be empty")
        return value

    def environments(self, node: Node, field: str) -> list[Environment]:
        environments: list[Environment] = []
        for index, (item, path) in enumerate(self.items(node, field)):
            values: dict[str, Any] = {"protected": index > 0}
            if isinstance(item, MappingNode):
                fields = self.mapping(item, path, _ENVIRONMENT_KEYS)
                values["name"] = self.nonempty(*self.required(fields, "name", item, path))
                for key in ("hld_branch", "manifests_branch"):
                    if key in fields:
                        values[key] = self.nonempty(*fields[key])
                if "fabrikate" in fields:
                    values["fabrikate_environments"] = self.strings(*fields["fabrikate"])
                if "protected" in fields:
                    values["protected"] = self.boolean(*fields["protected"])
                if "gates" in fields:
                    values["gates"] = read_gates(self, *fields["gates"])
            else:
                values["name"] = self.nonempty(item, path)
            check_file_name(values["name"], f"environment name in {self.file}")
            if any(environment.name == values["name"] for environment in environments):
                raise self.error(item, path, f"duplicate environment {values['name']!r}")
            environments.append(Environment(**values))
        if not environments:
            raise self.error(node, field, "expected at least one environment")
        return environments

    def pipeline(self, environments: list[Environment], promotions: tuple[Node, str] | None) -> Pipeline:
        if promotions is None:
            return Pipeline(environments=environments)
        node, field = promotions
        names = {environment.name for environment in environments}
        table: dict[str, tuple[str, ...]] = {}
        for source, value, path in self.fields(node, field):
            targets = self.strings(value, path) if not isinstance(value, ScalarNode) else (self.string(value, path),)
            for name in (source, *targets):
                if name not in names:
                    raise self.error(value, path, f"unknown environment {name!r} (known: {', '.join(sorted(names))})")
            table[source] = targets
        return Pipeline(environments=environments, promotions=table)

    def settings(self, node: Node, field: str) -> Settings:
        fields = self.mapping(node, field, ("engine", "allow_hooks", "cache_dir", "fix_disabled"))
        values: dict[str, Any] = {}
        if "engine" in fields:
            node, path = fields["engine"]
            values["engine"] = self.string(node, path)
            values["engine_written_at"] = f"{self.file}:{node.start_mark.line + 1} ({path})"
        if "cache_dir" in fields:
            cache_dir = self.string(*fields["cache_dir"])
            values["cache_dir"] = self.location(cache_dir) if cache_dir else ""
        for key in ("allow_hooks", "fix_disabled"):
            if key in fields:
                values[key] = self.boolean(*fields[key])
        return Settings(**values)

    def repos(self, node: Node, field: str) -> tuple[Repo, ...]:
        """App repositories with their own settings: maps of ``url``, ``host``, ``token_env``."""
        repos: list[Repo] = []
        for item, path in self.items(node, field):
            if not isinstance(item, MappingNode):
                raise self.error(item, path, "expected a map with `url` and `host` or `token_env`")
            repo, _ = self.repo(item, path, with_path=False)
            if any(same_repo(known.url, repo.url) for known in repos):
                raise self.error(item, path, f"{repo.url} is listed twice")
            repos.append(repo)
        return tuple(repos)

    def hosts(self, node: Node, field: str) -> dict[str, dict[str, str]]:
        """Git host settings by host name: ``type`` plus settings the backend checks.

        Any scalar setting is passed to the backend as text (``merge_method``,
        ``timeout``, ...); the backend rejects the ones it does not know.
        """
        hosts = {}
        for name, value, path in self.fields(node, field):
            hosts[name] = {key: self.string(setting, key_path) for key, setting, key_path in self.fields(value, path)}
            if "type" not in hosts[name]:
                raise self.error(value, path, "missing field 'type' (the Git host backend, e.g. github)")
        return hosts


def _default_envs() -> list[Environment]:
    return [
        Environment(name="dev"),
        Environment(name="stage", protected=True),
        Environment(name="prod", protected=True),
    ]
