"""The seed's promotion story as a reusable test, for any Git host.

:func:`run_seed_story` builds the seed's repositories through a callback
(so a host's test suite can create them on its server or fake), then tells
the story with assertions at every step: set-image on dev, publish dev,
promote cat dev -> stage and publish stage, the guard refusing dev -> prod,
rollback of stage, promoting it again, a fix promoted after a rollback, and
the status matrix throughout. It renders helm charts: it needs helm on PATH
and the fabpromote-helm plugin.

:func:`app_files` gives the files of one app repository of the story (its code,
and its HLD in ``hld/`` with a helm chart and the image tag), for tests that
set up their own repositories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from fabpromote._cli.demo import app_files
from fabpromote._cluster.hosts import host_for, sources_for
from fabpromote._cluster.materialize import materialize
from fabpromote._cluster.models import Cluster
from fabpromote._cluster.publish import publish
from fabpromote._sources.githost import ChangeRequest
from fabpromote._workflow.promote import guard, promote
from fabpromote._workflow.rollback import rollback
from fabpromote._workflow.set_image import set_image
from fabpromote._workflow.status import status
from fabpromote.exceptions import PromotionRefused

__all__ = ["CreateRepo", "app_files", "run_seed_story"]

#: ``create(name, {branch: {path: bytes}})`` makes a repository and returns its URL.
#: Branches after the first start from the first one's commit (they share
#: history, as the seed's branches do); equal files mean the same commit.
CreateRepo = Callable[[str, Mapping[str, Mapping[str, bytes]]], str]

ENVIRONMENTS = ("dev", "stage", "prod")


def _cluster_hld(env: str, cat_url: str) -> dict[str, bytes]:
    return {
        "component.yaml": (
            f"name: my-cluster\nsubcomponents:\n- name: cat-application\n  source: {cat_url}\n"
            f"  method: git\n  branch: {env}\n  path: hld\n"
        ).encode(),
    }


def run_seed_story(root: Path, create: CreateRepo, *, hosts: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Tell the seed's story on repositories made by ``create``; raises AssertionError when it goes wrong.

    Args:
        root: A folder for the cluster file.
        create: Makes a repository (see :data:`CreateRepo`).
        hosts: The cluster file's ``hosts:`` settings (Git host type, API URL, token variable).
    """
    cat = create("cat", {branch: app_files("cat", "v1.0.0") for branch in ("master", *ENVIRONMENTS)})
    hld = create("cluster-hld", {env: _cluster_hld(env, cat) for env in ENVIRONMENTS})
    manifests = create("manifests", {})
    cluster = _cluster_file(root, hld, manifests, hosts or {})

    for env in ENVIRONMENTS:
        publish(materialize(cluster, env), cluster)
    _check(cluster, "dev", image="v1.0.0", pending=0, materialized=True)

    set_image(cluster, "cat-application", "dev", "v1.1.0")
    _check(cluster, "dev", image="v1.1.0", pending=0, materialized=False)
    _check(cluster, "stage", image="v1.0.0", pending=1, materialized=True)
    publish(materialize(cluster, "dev"), cluster)
    _check(cluster, "dev", image="v1.1.0", pending=0, materialized=True)

    promoted = promote(cluster, "cat-application", source="dev", target="stage", merge=True)
    assert promoted.merge is not None, promoted
    assert promoted.merge.status == "merged", promoted.merge
    publish(materialize(cluster, "stage"), cluster)
    _check(cluster, "stage", image="v1.1.0", pending=0, materialized=True)
    # 1 after a fast-forward; 2 where the host merges pull requests with a merge commit.
    _check(cluster, "prod", image="v1.0.0", pending=None, materialized=True)
    assert "ghcr.io/example/cat:v1.1.0" in _manifest(cluster, "stage")
    assert "ghcr.io/example/cat:v1.0.0" in _manifest(cluster, "prod")

    try:
        guard(cluster, base="prod", head="dev")
    except PromotionRefused:
        pass
    else:
        raise AssertionError("the guard allowed dev -> prod")

    _roll_back_stage(cluster, cat)
    # stage has every commit of dev but not its content: promoting again is pending.
    _check(cluster, "stage", image="v1.0.0", pending=None, materialized=True)
    assert "ghcr.io/example/cat:v1.0.0" in _manifest(cluster, "stage")

    again = promote(cluster, "cat-application", source="dev", target="stage", merge=True)
    assert again.merge is not None, again
    assert again.merge.status == "merged", again.merge
    publish(materialize(cluster, "stage"), cluster)
    _check(cluster, "stage", image="v1.1.0", pending=0, materialized=True)
    assert "ghcr.io/example/cat:v1.1.0" in _manifest(cluster, "stage")

    # Roll back again, fix on dev, promote the fix: it does not conflict with the rollback.
    _roll_back_stage(cluster, cat)
    set_image(cluster, "cat-application", "dev", "v1.2.0")
    publish(materialize(cluster, "dev"), cluster)
    fixed = promote(cluster, "cat-application", source="dev", target="stage", merge=True)
    assert fixed.merge is not None, fixed
    assert fixed.merge.status == "merged", fixed.merge
    assert fixed.restored, fixed
    publish(materialize(cluster, "stage"), cluster)
    _check(cluster, "stage", image="v1.2.0", pending=0, materialized=True)


def _roll_back_stage(cluster: Cluster, cat: str) -> None:
    """Roll stage back one commit (merging the change request on hosted hosts) and publish it."""
    outcome = rollback(cluster, "cat-application", "stage", steps=1)
    if isinstance(outcome, ChangeRequest):  # hosted: the rollback is a pull/merge request to merge
        host = host_for(cluster, cat, sources=sources_for(cluster))
        result = host.merge(cat, outcome, expected_head_sha=outcome.head_sha, message="Roll back stage")
        assert result.status == "merged", result
    publish(materialize(cluster, "stage"), cluster)


def _cluster_file(
    root: Path,
    hld: str,
    manifests: str,
    hosts: Mapping[str, Mapping[str, str]],
    environments: str = "[dev, stage, prod]\n",
) -> Cluster:
    """Write ``root/fabpromote.yaml`` and load it; ``environments`` is the YAML of that field."""
    lines = [f"name: story\nhld: {hld}\nmanifests: {manifests}\nenvironments: {environments}"]
    if hosts:
        lines.append("hosts:\n")
        for name, settings in hosts.items():
            lines.append(f"  {name!r}:\n" + "".join(f"    {key}: {value!r}\n" for key, value in settings.items()))
    path = root / "fabpromote.yaml"
    path.write_text("".join(lines))
    return Cluster.from_file(path)


def _check(cluster: Cluster, env: str, *, image: str, pending: int | None, materialized: bool) -> None:
    """One cell of the status matrix; ``pending=None`` means "some commits wait"."""
    (row,) = [row for row in status(cluster) if (row.app, row.env) == ("cat-application", env)]
    waiting = row.pending if pending is not None else None if row.pending > 0 else 0
    expected = (f"ghcr.io/example/cat:{image}",), pending, materialized
    assert (row.images, waiting, row.materialized) == expected, f"{env}: {row} != {expected}"


def _manifest(cluster: Cluster, env: str, app: str = "cat") -> str:
    host = host_for(cluster, cluster.manifests.url, sources=sources_for(cluster))
    data = host.read_file(cluster.manifests.url, env, f"{app}-application/{app}-application.yaml")
    assert data is not None, f"no manifest of {app} on {env}"
    return data.decode()
