"""Clusters, their environments and pipelines (the promotion model).

A :class:`Fleet` is what one ``fabpromote.yaml`` describes: one or more
:class:`Cluster` s, each with a cluster HLD repo, a manifests repo and a
:class:`Pipeline` of :class:`Environment` s. Reading the file is done by
:mod:`fabpromote._fleet_file`.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from fabpromote.exceptions import PromotionRefused, UnknownNameError

__all__ = ["Cluster", "Environment", "Fleet", "Pipeline", "Repo", "Settings", "UnknownNameError"]


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
    """

    name: str
    hld_branch: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))
    manifests_branch: str = attrs.field(default=attrs.Factory(lambda self: self.name, takes_self=True))
    fabrikate_environments: tuple[str, ...] = attrs.field(
        default=attrs.Factory(lambda self: (self.name,), takes_self=True), converter=tuple
    )
    protected: bool = False


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
        from fabpromote._fleet_file import fleet_from_file

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
