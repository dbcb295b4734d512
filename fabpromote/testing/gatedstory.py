"""The gated promotion story as a reusable test, for any Git host.

:func:`run_gated_story` builds two apps (cat and dog), a cluster HLD and a
manifests repository through a callback, as :func:`fabpromote.testing.story.run_seed_story`
does, with gates on stage (published, a 30 minute soak, a ``kustomization/*``
status, a Mon-Fri window in Europe/Berlin) and on prod (an ``e2e`` status).
Then, with the time injected (never slept): promoting cat to stage is refused
before dev was published, during the soak, while the status is pending and
outside the window, then allowed; an override of dog's gates records its
reason in the target's history; ``advance`` promotes exactly the eligible
app, and a second run changes nothing. Statuses go through the host's status
API (:func:`fabpromote.report_status`). It renders helm charts: it needs helm
on PATH and the fabpromote-helm plugin.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from fabpromote._cluster.hosts import host_for, sources_for
from fabpromote._cluster.materialize import materialize
from fabpromote._cluster.models import Cluster
from fabpromote._cluster.publish import publish
from fabpromote._workflow.advance import advance
from fabpromote._workflow.history import history
from fabpromote._workflow.promote import GATES_IGNORED, PromoteResult, promote
from fabpromote._workflow.set_image import set_image
from fabpromote._workflow.statuses import report_status
from fabpromote.exceptions import GatesRefused
from fabpromote.testing.story import CreateRepo, _cluster_file, _manifest, app_files

__all__ = ["run_gated_story"]

ENVIRONMENTS = ("dev", "stage", "prod")
APPS = ("cat", "dog")
BERLIN = ZoneInfo("Europe/Berlin")
STAGE_GATES = (
    '{soak: 30m, statuses: ["kustomization/*"], window: {days: Mon-Fri, hours: "09:00-17:00", timezone: Europe/Berlin}}'
)
PROD_GATES = "{statuses: [e2e]}"
#: The context Flux's notification-controller would post for the apps Kustomization.
FLUX_CONTEXT = "kustomization/apps/1a2b3c4d"


def run_gated_story(root: Path, create: CreateRepo, *, hosts: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Tell the gated story on repositories made by ``create``; raises AssertionError when it goes wrong.

    Args:
        root: A folder for the cluster file.
        create: Makes a repository (see :data:`fabpromote.testing.story.CreateRepo`).
        hosts: The cluster file's ``hosts:`` settings (Git host type, API URL, token variable).
    """
    urls = {name: create(name, {b: app_files(name, "v1.0.0") for b in ("master", *ENVIRONMENTS)}) for name in APPS}
    hld = create("cluster-hld", {env: _cluster_hld(env, urls) for env in ENVIRONMENTS})
    environments = f"\n  - dev\n  - name: stage\n    gates: {STAGE_GATES}\n  - name: prod\n    gates: {PROD_GATES}\n"
    cluster = _cluster_file(root, hld, create("manifests", {}), hosts or {}, environments)
    for env in ENVIRONMENTS:
        publish(materialize(cluster, env), cluster)

    set_image(cluster, "cat-application", "dev", "v1.1.0")
    cat = _head(cluster, urls["cat"], "dev")[:12]
    not_published = f"{cat} not published to dev"
    anytime = _weekday_after(datetime.datetime.now(BERLIN).timestamp())
    assert _unmet(cluster, anytime) == [f"{gate}: {not_published}" for gate in ("published", "soak", "statuses")]

    publish(materialize(cluster, "dev"), cluster)
    published = history(cluster, "dev", limit=1)[0]
    assert _unmet(cluster, published.time + 600) == ["soak: 20m left", "statuses: kustomization/* missing"]

    report_status(cluster, "dev", FLUX_CONTEXT, "pending", description="reconciling")
    assert _unmet(cluster, published.time + 1800) == [f"statuses: {FLUX_CONTEXT} is pending"]
    report_status(cluster, "dev", FLUX_CONTEXT, "success", sha=published.commit)

    saturday = _saturday_after(published.time + 1800)
    assert _unmet(cluster, saturday, window=True) == ["window: closed until Mon 09:00 Europe/Berlin"]
    monday = _moment(_weekday_after(saturday))
    promoted = promote(cluster, "cat-application", source="dev", target="stage", merge=True, now=monday)
    _check_merged(promoted)
    assert all(gate.met for gate in promoted.gates), promoted.gates
    publish(materialize(cluster, "stage"), cluster)  # what CI does on the merge
    assert "ghcr.io/example/cat:v1.1.0" in _manifest(cluster, "stage", "cat")

    _override(cluster, urls["dog"])
    _advance_exactly_the_eligible(cluster, urls)


def _override(cluster: Cluster, dog: str) -> None:
    """dog's dev commit was never published: only an override with a reason takes it to stage, and says so."""
    set_image(cluster, "dog-application", "dev", "v2.0.0")
    overridden = promote(
        cluster, "dog-application", source="dev", target="stage", merge=True, ignore_gates=True, reason="hotfix INC-7"
    )
    _check_merged(overridden)
    assert overridden.ignored_gates_reason == "hotfix INC-7"
    host = host_for(cluster, dog, sources=sources_for(cluster))
    (merge,) = host.log(dog, "stage", limit=1)
    assert (GATES_IGNORED, "hotfix INC-7") in merge.trailers, merge


def _advance_exactly_the_eligible(cluster: Cluster, urls: Mapping[str, str]) -> None:
    """cat is published to dev with its status green, dog is not: advance takes cat alone; a rerun does nothing."""
    set_image(cluster, "cat-application", "dev", "v1.2.0")
    publish(materialize(cluster, "dev"), cluster)
    set_image(cluster, "dog-application", "dev", "v2.1.0")  # after the publish: dev never ran it
    published = history(cluster, "dev", limit=1)[0]
    report_status(cluster, "dev", FLUX_CONTEXT, "success", sha=published.commit)
    when = _moment(_weekday_after(published.time + 1800))

    planned = [(s.app, s.target, s.action) for s in advance(cluster, dry_run=True, now=when)]
    assert planned == [
        ("cat-application", "stage", "would-promote"),
        ("dog-application", "stage", "held"),
        ("cat-application", "prod", "held"),
        ("dog-application", "prod", "held"),
    ], planned
    first = advance(cluster, now=when)
    assert [(s.app, s.target, s.action) for s in first] == [
        (a, t, "held" if x == "held" else "promoted") for a, t, x in planned
    ]
    assert first[1].unmet[0] == f"published: {_head(cluster, urls['dog'], 'dev')[:12]} not published to dev"
    assert first[0].promotion is not None
    _check_merged(first[0].promotion)

    heads = _all_heads(cluster, urls)
    again = advance(cluster, now=when)
    assert [(s.app, s.target, s.action) for s in again] == [
        ("dog-application", "stage", "held"),
        ("cat-application", "prod", "held"),
        ("dog-application", "prod", "held"),
    ], again
    assert _all_heads(cluster, urls) == heads, "a second advance changed a branch"


def _unmet(cluster: Cluster, at: float, *, window: bool = False) -> list[str]:
    """Why promoting cat into stage at ``at`` is refused (without the window's reason unless ``window``)."""
    try:
        result = promote(cluster, "cat-application", source="dev", target="stage", merge=True, now=_moment(at))
    except GatesRefused as refused:
        return [reason for reason in refused.unmet if window or not reason.startswith("window:")]
    raise AssertionError(f"the gates let cat into stage at {_moment(at)}: {result}")


def _check_merged(result: PromoteResult) -> None:
    assert result.merge is not None, result
    assert result.merge.status == "merged", result.merge


def _moment(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=BERLIN)


def _weekday_after(seconds: float) -> float:
    """Ten o'clock in Berlin on the first weekday after ``seconds``: inside the window."""
    day = _moment(seconds).replace(hour=10, minute=0, second=0, microsecond=0)
    while day.timestamp() <= seconds or day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day.timestamp()


def _saturday_after(seconds: float) -> float:
    """Noon in Berlin on the first Saturday after ``seconds``: outside the window."""
    day = _moment(seconds).replace(hour=12, minute=0, second=0, microsecond=0)
    while day.timestamp() <= seconds or day.weekday() != 5:
        day += datetime.timedelta(days=1)
    return day.timestamp()


def _head(cluster: Cluster, url: str, branch: str) -> str:
    sha = host_for(cluster, url, sources=sources_for(cluster)).read_branch(url, branch)
    assert sha is not None, f"no branch {branch} in {url}"
    return sha


def _all_heads(cluster: Cluster, urls: Mapping[str, str]) -> dict[str, str | None]:
    repos = [*urls.values(), cluster.hld.url, cluster.manifests.url]
    host = host_for(cluster, cluster.manifests.url, sources=sources_for(cluster))
    return {f"{url} {b}": host.read_branch(url, b) for url in repos for b in ("master", *ENVIRONMENTS)}


def _cluster_hld(env: str, urls: Mapping[str, str]) -> dict[str, bytes]:
    entries = "".join(
        f"- name: {name}-application\n  source: {url}\n  method: git\n  branch: {env}\n  path: hld\n"
        for name, url in urls.items()
    )
    return {"component.yaml": f"name: my-cluster\nsubcomponents:\n{entries}".encode()}
