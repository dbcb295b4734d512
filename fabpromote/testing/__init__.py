"""Helpers for testing HLDs and fabpromote plugins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fabpromote._cluster.materialize import Materialization
    from fabpromote._cluster.models import Cluster
    from fabpromote._plugins.manager import Plugins

__all__ = ["assert_engines_agree", "assert_idempotent"]


def assert_engines_agree(
    path: str | Path,
    environments: Sequence[str] = (),
    *,
    engines: tuple[str, str] = ("native", "fabrikate"),
    allow_hooks: bool = False,
) -> None:
    """Assert that two engines render the HLD at ``path`` to identical manifests.

    Raises:
        AssertionError: With a unified diff of what differs.
    """
    from fabpromote import generate
    from fabpromote._plugins.manager import Plugins

    plugins = Plugins.load()
    first, second = (
        generate(path, tuple(environments), engine=engine, allow_hooks=allow_hooks, plugins=plugins)
        for engine in engines
    )
    if first != second:
        raise AssertionError(f"engines {engines[0]} and {engines[1]} disagree on {path}:\n{first.diff(second)}")


def assert_idempotent(cluster: Cluster, env: str, *, plugins: Plugins | None = None) -> Materialization:
    """Assert that materializing and publishing ``env`` of ``cluster`` are idempotent.

    Materializes twice (identical manifests and lock), renders the lock again
    (the same bytes), then publishes twice: the second publish must make no
    commit and leave the manifests branch where the first one put it.

    Returns:
        The materialization, as published.

    Raises:
        AssertionError: Saying which of those differed, with a diff of the manifests.
    """
    from fabpromote._cluster.materialize import materialize
    from fabpromote._cluster.publish import publish
    from fabpromote._plugins.manager import Plugins

    plugins = plugins or Plugins.load()
    first = materialize(cluster, env, plugins=plugins)
    second = materialize(cluster, env, plugins=plugins)
    if first.manifests != second.manifests:
        diff = first.manifests.diff(second.manifests)
        raise AssertionError(f"materializing {env} twice gave different manifests:\n{diff}")
    if first.lock != second.lock:
        raise AssertionError(f"materializing {env} twice gave different locks:\n{first.lock}\n!=\n{second.lock}")
    locked = materialize(cluster, env, lock=first.lock, plugins=plugins)
    if locked.manifests != first.manifests:
        raise AssertionError(f"rendering the lock of {env} again differs:\n{first.manifests.diff(locked.manifests)}")
    published = publish(first, cluster)
    head = published.commit or published.previous
    again = publish(second, cluster)
    if again.commit is not None:
        raise AssertionError(f"publishing {env} twice made a second commit {again.commit} on {again.branch}")
    if again.previous != head:
        raise AssertionError(f"publishing {env} twice moved {again.branch} from {head} to {again.previous}")
    return first
