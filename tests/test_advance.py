"""advance: automatic promotion of exactly the apps whose gates hold; a second run does nothing."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from fabpromote import Cluster, materialize, publish
from fabpromote.cli import main
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import git

UTC = datetime.timezone.utc


def _heads(root: Path) -> dict[str, str]:
    """Every branch of every repository of the demo: what a run that does nothing leaves alone."""
    heads = {}
    for repo in sorted((root / "repos").glob("*.git")):
        for line in git("--git-dir", str(repo), "for-each-ref", "--format=%(refname) %(objectname)").splitlines():
            ref, sha = line.split()
            heads[f"{repo.name} {ref}"] = sha
    return heads


def test_advance_promotes_exactly_the_eligible_apps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """cat was published to dev, dog was not: cat reaches stage (and is published there), dog is held;
    prod holds cat for its soak. A second run right after changes nothing."""
    root = tmp_path / "demo"
    assert main(["demo", str(root)]) == 0
    config = root / "fabpromote.yaml"
    config.write_text(
        config.read_text().replace("[dev, stage, prod]", "[dev, stage, {name: prod, gates: {soak: 24h}}]")
    )
    argv = ["--config", str(config)]
    assert main(["set-image", "cat-application", "dev", "v1.1.0", *argv]) == 0
    assert main(["materialize", "dev", "--publish", *argv]) == 0
    assert main(["set-image", "dog-application", "dev", "v2.4.0", *argv]) == 0  # not published to dev
    capsys.readouterr()

    assert main(["advance", "--dry-run", "--json", *argv]) == 0
    planned = json.loads(capsys.readouterr().out)
    before = _heads(root)
    assert [(s["app"], s["target"], s["action"]) for s in planned["steps"]] == [
        ("cat-application", "stage", "would-promote"),
        ("dog-application", "stage", "held"),
    ]

    assert main(["advance", "--json", *argv]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["outcome"] == "done"
    steps = [(s["app"], s["source"], s["target"], s["action"]) for s in done["steps"]]
    assert steps == [
        ("cat-application", "dev", "stage", "promoted"),
        ("dog-application", "dev", "stage", "held"),
        ("cat-application", "stage", "prod", "held"),
    ]
    dog = git("--git-dir", str(root / "repos" / "dog.git"), "rev-parse", "dev")
    assert done["steps"][1]["unmet"] == [f"published: {dog[:12]} not published to dev"]
    assert done["steps"][2]["unmet"][0].startswith("soak: ")
    assert done["steps"][0]["promotion"]["publish"]["commit"]
    manifests = root / "repos" / "manifests.git"
    assert "cat:v1.1.0" in git("--git-dir", str(manifests), "show", "stage:cat-application/cat-application.yaml")
    assert "cat:v1.0.0" in git("--git-dir", str(manifests), "show", "prod:cat-application/cat-application.yaml")
    assert _heads(root) != before

    after = _heads(root)
    assert main(["advance", *argv]) == 0
    out = capsys.readouterr().out
    assert _heads(root) == after  # the second run does nothing
    assert "held dog-application: dev -> stage" in out
    assert "promote " not in out


def test_advance_cascades_and_is_idempotent(tmp_path: Path) -> None:
    """With only the published gate, one run takes the commit through every environment; the next does nothing."""
    from fabpromote import advance

    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    cluster = Cluster.from_file(fleet.config(base))
    sha = fleet.push_app("dev", "v2")
    assert [(s.target, s.action) for s in advance(cluster)] == [("stage", "held")]
    publish(materialize(cluster, "dev"), cluster)
    assert [(s.target, s.action) for s in advance(cluster, to="prod")] == []  # stage has nothing new yet
    steps = advance(cluster)
    assert [(s.target, s.action) for s in steps] == [("stage", "promoted"), ("prod", "promoted")]
    assert fleet.history("app", "prod")[0] == sha
    assert "version: v2" in fleet.manifests("show", "prod:app/app.yaml")
    assert advance(cluster) == []
