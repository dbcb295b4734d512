"""Gates of promotion on local repositories: published, soak, window; bad gate configuration."""

from __future__ import annotations

import datetime
import json
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from fabpromote import Cluster, Fleet, GateResult, evaluate_gates, host_for, materialize, promote, publish
from fabpromote.cli import main
from fabpromote.exceptions import FabpromoteError, GatesRefused, HLDError
from fabpromote.git import CommitStatus
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import git

UTC = datetime.timezone.utc


def _fleet(tmp_path: Path, gates: str) -> tuple[LocalFleet, Path]:
    """The local fleet with a cluster file whose stage has ``gates`` (a YAML flow map)."""
    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    config = fleet.root / "fabpromote.yaml"
    config.write_text(
        f"name: test\nhld: {base}hld.git\nmanifests: {base}manifests.git\n"
        f"environments:\n  - dev\n  - name: stage\n    gates: {gates}\n  - prod\n"
    )
    return fleet, config


def _publish(cluster: Cluster, env: str) -> int:
    """Publish ``env``; the commit time of the publish (what the soak counts from)."""
    result = publish(materialize(cluster, env), cluster)
    assert result.commit
    return int(git("--git-dir", str(Path(cluster.manifests.url)), "log", "-1", "--format=%ct", result.commit))


def _add_static(fleet: LocalFleet, env: str) -> None:
    """Another component in the cluster HLD of ``env``: a publish that changes something but not the app."""
    fleet.hld_work.checkout(env)
    component = (fleet.hld_work.path / "component.yaml").read_text()
    files: dict[str, str | bytes] = {
        "component.yaml": component + "- name: extra\n  type: static\n  path: ./static/extra\n",
        "static/extra/cm.yaml": "kind: ConfigMap\nmetadata:\n  name: extra\n",
    }
    fleet.hld_work.commit(files, "extra component", branch=env)
    git("push", "-q", "served", env, cwd=fleet.hld_work.path)


def _at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=UTC)


class TestGatedPromotion:
    def test_published_then_soak_then_allowed(self, tmp_path: Path) -> None:
        """Refused before dev was published, refused during the soak, then allowed; time is injected."""
        fleet, config = _fleet(tmp_path, "{soak: 30m}")
        cluster = Cluster.from_file(config)
        sha = fleet.push_app("dev", "v2")

        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage")
        assert refused.value.unmet == [
            f"published: {sha[:12]} not published to dev",
            f"soak: {sha[:12]} not published to dev",
        ]

        published_at = _publish(cluster, "dev")
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage", now=_at(published_at + 18 * 60))
        assert refused.value.unmet == ["soak: 12m left"]
        assert "soak: 12m left" in str(refused.value)
        assert fleet.history("app", "stage")[0] != sha  # nothing merged

        # A later publish of dev (same app commit) does not restart the soak: it counts from the first.
        _add_static(fleet, "dev")
        assert _publish(cluster, "dev") >= published_at

        result = promote(cluster, "app", source="dev", target="stage", now=_at(published_at + 30 * 60))
        assert result.merge is not None
        assert result.merge.status == "merged"
        assert fleet.history("app", "stage")[0] == sha
        assert [(g.gate, g.met) for g in result.gates] == [("published", True), ("soak", True)]

    def test_a_newer_unpublished_commit_is_refused(self, tmp_path: Path) -> None:
        """Dev ran v2, but its branch now holds v3, which dev never ran: v3 does not reach stage."""
        fleet, config = _fleet(tmp_path, "{}")
        cluster = Cluster.from_file(config)
        fleet.push_app("dev", "v2")
        _publish(cluster, "dev")
        newer = fleet.push_app("dev", "v3")
        assert evaluate_gates(cluster, "app", source="dev", target="stage") == [
            GateResult(gate="published", met=False, reason=f"published: {newer[:12]} not published to dev")
        ]

    def test_published_false_turns_it_off(self, tmp_path: Path) -> None:
        fleet, config = _fleet(tmp_path, "{published: false}")
        cluster = Cluster.from_file(config)
        sha = fleet.push_app("dev", "v2")
        assert evaluate_gates(cluster, "app", source="dev", target="stage") == []
        promote(cluster, "app", source="dev", target="stage")
        assert fleet.history("app", "stage")[0] == sha

    def test_statuses(self, tmp_path: Path) -> None:
        """Every pattern needs a status and every status it matches must be success, on dev's publish commit."""
        fleet, config = _fleet(tmp_path, '{statuses: ["kustomization/*", e2e]}')
        cluster = Cluster.from_file(config)
        fleet.push_app("dev", "v2")
        published = publish(materialize(cluster, "dev"), cluster).commit
        assert published
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage")
        assert refused.value.unmet == ["statuses: kustomization/* missing, e2e missing"]

        host = host_for(cluster, cluster.manifests.url)
        host.set_commit_status(
            cluster.manifests.url, published, CommitStatus(context="kustomization/apps/1a2b", state="success")
        )
        host.set_commit_status(
            cluster.manifests.url, published, CommitStatus(context="kustomization/infra/1a2b", state="pending")
        )
        host.set_commit_status(cluster.manifests.url, published, CommitStatus(context="e2e", state="failure"))
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage")
        assert refused.value.unmet == ["statuses: kustomization/infra/1a2b is pending, e2e is failure"]

        host.set_commit_status(
            cluster.manifests.url, published, CommitStatus(context="kustomization/infra/1a2b", state="success")
        )
        host.set_commit_status(cluster.manifests.url, published, CommitStatus(context="e2e", state="success"))
        result = promote(cluster, "app", source="dev", target="stage")
        assert result.merge is not None
        assert [g.reason for g in result.gates] == [
            f"published: {fleet.app_work.sha('dev')[:12]} in dev",
            f"statuses: success on dev at {published[:12]}",
        ]

    def test_window(self, tmp_path: Path) -> None:
        """Closed on a Friday (Mon-Thu), open on Thursday inside the hours, closed after them."""
        window = '{window: {days: Mon-Thu, hours: "09:00-16:00", timezone: Europe/Berlin}}'
        fleet, config = _fleet(tmp_path, window)
        cluster = Cluster.from_file(config)
        fleet.push_app("dev", "v2")
        _publish(cluster, "dev")
        friday = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage", now=friday)
        assert refused.value.unmet == ["window: closed until Mon 09:00 Europe/Berlin"]
        thursday_evening = datetime.datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # 16:00 in Berlin: closed
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage", now=thursday_evening)
        assert refused.value.unmet == ["window: closed until Mon 09:00 Europe/Berlin"]
        wednesday_night = datetime.datetime(2026, 12, 2, 22, 0, tzinfo=UTC)
        with pytest.raises(GatesRefused) as refused:
            promote(cluster, "app", source="dev", target="stage", now=wednesday_night)
        assert refused.value.unmet == ["window: closed until Thu 09:00 Europe/Berlin"]
        thursday = datetime.datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
        result = promote(cluster, "app", source="dev", target="stage", now=thursday)
        assert result.merge is not None
        assert result.merge.status == "merged"

    def test_window_wrapping_midnight(self, tmp_path: Path) -> None:
        """22:00-06:00 on Fri: open Friday night and early Saturday, closed on Saturday night."""
        window = '{published: false, window: {days: [Fri], hours: "22:00-06:00", timezone: UTC}}'
        fleet, config = _fleet(tmp_path, window)
        cluster = Cluster.from_file(config)
        fleet.push_app("dev", "v2")

        def met(moment: datetime.datetime) -> list[str]:
            return [g.reason for g in evaluate_gates(cluster, "app", source="dev", target="stage", now=moment)]

        assert met(datetime.datetime(2026, 12, 4, 23, 0, tzinfo=UTC)) == ["window: open (Fri 22:00-06:00 UTC)"]
        assert met(datetime.datetime(2026, 12, 5, 5, 59, tzinfo=UTC)) == ["window: open (Fri 22:00-06:00 UTC)"]
        assert met(datetime.datetime(2026, 12, 5, 23, 0, tzinfo=UTC)) == ["window: closed until Fri 22:00 UTC"]

    def test_cli_refuses_with_every_gate_and_ignore_gates_needs_a_reason(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 1 with every unmet gate; --ignore-gates without --reason is a usage error; with it, merged."""
        fleet, config = _fleet(tmp_path, "{soak: 1h}")
        sha = fleet.push_app("dev", "v2")
        argv = ["promote", "app", "--from", "dev", "--to", "stage", "--config", str(config)]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert f"published: {sha[:12]} not published to dev; soak: {sha[:12]} not published to dev" in err
        assert "--ignore-gates --reason TEXT" in err

        with pytest.raises(SystemExit) as usage:
            main([*argv, "--ignore-gates"])
        assert usage.value.code == 2
        assert "--ignore-gates needs --reason" in capsys.readouterr().err

        assert main([*argv, "--ignore-gates", "--reason", "hotfix for INC-42", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["ignored_gates_reason"] == "hotfix for INC-42"
        assert [g["met"] for g in out["gates"]] == [False, False]
        assert git("--git-dir", str(fleet.served / "app.git"), "rev-parse", "stage^2") == sha

    def test_ignore_gates_reason_in_the_merge_commit(self, tmp_path: Path) -> None:
        """A merge commit (stage has a commit of its own) carries the reason as a trailer."""
        fleet, config = _fleet(tmp_path, "{soak: 1h}")
        cluster = Cluster.from_file(config)
        fleet.app_work.commit({"hld/stage-note.txt": "stage only\n"}, "stage note", branch="stage")
        git("push", "-q", "served", "stage", cwd=fleet.app_work.path)
        fleet.push_app("dev", "v2")
        with pytest.raises(FabpromoteError, match="needs a reason"):
            promote(cluster, "app", source="dev", target="stage", ignore_gates=True)
        result = promote(cluster, "app", source="dev", target="stage", ignore_gates=True, reason="hotfix INC-42")
        assert result.merge is not None
        assert not result.merge.fast_forward
        message = git("--git-dir", str(fleet.served / "app.git"), "log", "-1", "--format=%B", "stage")
        assert "Fabpromote-Gates-Ignored: hotfix INC-42" in message

    def test_ignore_gates_reason_kept_where_a_fast_forward_would_do(self, tmp_path: Path) -> None:
        """stage is behind dev only: an override still makes a merge commit, so its reason stays in history."""
        fleet, config = _fleet(tmp_path, "{soak: 1h}")
        cluster = Cluster.from_file(config)
        sha = fleet.push_app("dev", "v2")
        result = promote(cluster, "app", source="dev", target="stage", ignore_gates=True, reason="hotfix INC-43")
        assert result.merge is not None
        assert (result.merge.status, result.merge.fast_forward) == ("merged", False)
        bare = str(fleet.served / "app.git")
        assert git("--git-dir", bare, "rev-parse", "stage^2") == sha
        assert git("--git-dir", bare, "rev-parse", "stage^{tree}") == git(
            "--git-dir", bare, "rev-parse", f"{sha}^{{tree}}"
        )
        message = git("--git-dir", bare, "log", "-1", "--format=%B", "stage")
        assert "Fabpromote-Gates-Ignored: hotfix INC-43" in message

    def test_without_an_override_a_fast_forward(self, tmp_path: Path) -> None:
        fleet, config = _fleet(tmp_path, "{published: false}")
        sha = fleet.push_app("dev", "v2")
        result = promote(Cluster.from_file(config), "app", source="dev", target="stage")
        assert result.merge is not None
        assert (result.merge.fast_forward, fleet.history("app", "stage")[0]) == (True, sha)


def test_the_demo_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole gated story through the CLI on the demo: each gate refuses in turn (exit 1), then allowed."""
    assert main(["demo", str(tmp_path / "demo")]) == 0
    config = tmp_path / "demo" / "fabpromote.yaml"
    gates = '{soak: 30m, statuses: ["kustomization/*"], window: {days: Mon-Fri, hours: "09:00-17:00", timezone: UTC}}'
    config.write_text(config.read_text().replace("[dev, stage, prod]", f"[dev, {{name: stage, gates: {gates}}}, prod]"))
    cluster = Cluster.from_file(config)
    assert main(["set-image", "cat-application", "dev", "v2.0.0", "--config", str(config)]) == 0
    capsys.readouterr()
    argv = ["promote", "cat-application", "--from", "dev", "--to", "stage", "--config", str(config)]

    def refused(now: datetime.datetime) -> str:
        with pytest.raises(GatesRefused) as error:
            promote(cluster, "cat-application", source="dev", target="stage", now=now)
        return "; ".join(error.value.unmet)

    monday_noon = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert refused(monday_noon).startswith("published: ")  # dev did not run v2.0.0 yet
    assert main(argv) == 1
    assert "published: " in capsys.readouterr().err

    assert main(["materialize", "dev", "--publish", "--config", str(config)]) == 0
    capsys.readouterr()
    head = git("--git-dir", str(tmp_path / "demo" / "repos" / "manifests.git"), "rev-parse", "dev")
    published_at = int(
        git("--git-dir", str(tmp_path / "demo" / "repos" / "manifests.git"), "log", "-1", "--format=%ct", "dev")
    )
    # Monday noon, 10 minutes after the publish: the soak still runs and no status came.
    soaking = _at(published_at + 600)
    assert refused(soaking).startswith("soak: 20m left; statuses: kustomization/* missing")

    host = host_for(cluster, cluster.manifests.url)
    host.set_commit_status(
        cluster.manifests.url, head, CommitStatus(context="kustomization/apps/9f8e", state="success")
    )
    later = datetime.datetime.fromtimestamp(published_at + 1800, tz=UTC)
    saturday = later + datetime.timedelta(days=(5 - later.weekday()) % 7 or 7)
    # Soaked, and the status is success: only the window (closed on Saturdays) still refuses.
    assert refused(saturday.replace(hour=12)) == "window: closed until Mon 09:00 UTC"
    monday = saturday.replace(hour=9) + datetime.timedelta(days=2)
    result = promote(cluster, "cat-application", source="dev", target="stage", now=monday)
    assert result.merge is not None
    assert result.merge.status == "merged"
    assert all(gate.met for gate in result.gates)


BAD = [
    ("{colour: red}", "unknown gate 'colour'"),
    ("{soak: 30 minutes}", "'30 minutes': expected a duration"),
    ("{soak: 30}", "'30': expected a duration"),
    ("{window: {timezone: Mars/Olympus}}", "unknown time zone 'Mars/Olympus'"),
    ("{window: {days: Mon-Funday}}", "unknown day 'Funday'"),
    ("{window: {days: [Mon, Xyz]}}", "unknown day 'Xyz'"),
    ('{window: {hours: "9-16"}}', "'9-16': expected hours"),
    ('{window: {hours: "09:00-25:00"}}', "not a time of day"),
    ('{window: {hours: "09:00-09:00"}}', "opens and closes at the same time"),
    ("{window: {weekdays: Mon}}", "unknown field"),
    ("{statuses: []}", "expected at least one status context"),
    ("{published: maybe}", "expected true or false"),
]


@pytest.mark.parametrize(("gates", "message"), BAD, ids=[message for _, message in BAD])
def test_bad_gate_configuration_names_file_and_line(tmp_path: Path, gates: str, message: str) -> None:
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            name: test
            hld: ./hld
            manifests: ./manifests
            environments:
              - dev
              - name: stage
                gates: {gates}
            """
        )
    )
    with pytest.raises(HLDError) as error:
        Fleet.from_file(config)
    assert message in str(error.value)
    assert f"{config}:7" in str(error.value)
    assert "environments[1].gates" in str(error.value)


def test_good_gate_configuration(tmp_path: Path) -> None:
    config = tmp_path / "fabpromote.yaml"
    config.write_text(
        "name: t\nhld: ./h\nmanifests: ./m\nenvironments:\n- dev\n- name: prod\n  gates:\n    soak: 1h30m\n"
        "    statuses: ['kustomization/*', e2e]\n"
        "    window: {days: Fri-Mon, hours: '22:00-06:00', timezone: Europe/Berlin}\n"
    )
    gates = Fleet.from_file(config).cluster().pipeline.environment("prod").gates
    assert (gates.published, gates.soak, gates.statuses) == (True, 5400.0, ("kustomization/*", "e2e"))
    assert gates.window is not None
    assert (gates.window.days, gates.window.start, gates.window.end) == ((0, 4, 5, 6), 22 * 60, 6 * 60)


def test_status_shows_the_gates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status: each app x environment with each gate of promoting into it, met or not and why."""
    from fabpromote import status

    fleet, config = _fleet(tmp_path, "{soak: 30m}")
    cluster = Cluster.from_file(config)
    dev = fleet.push_app("dev", "v2")
    published_at = _publish(cluster, "dev")
    stage = fleet.app_work.sha("stage")
    rows = {row.env: row for row in status(cluster, now=_at(published_at + 600))}
    assert rows["dev"].gates == ()
    assert rows["stage"].gates == (
        GateResult(gate="published", met=True, reason=f"published: {dev[:12]} in dev"),
        GateResult(gate="soak", met=False, reason="soak: 20m left"),
    )
    assert rows["prod"].gates == (
        GateResult(gate="published", met=False, reason=f"published: {stage[:12]} not published to stage"),
    )

    assert main(["status", "--json", "--config", str(config)]) == 0
    data = {row["env"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert data["dev"]["gates"] == []
    assert data["stage"]["gates"][0] == {"gate": "published", "met": True, "reason": f"published: {dev[:12]} in dev"}
    assert data["stage"]["gates"][1]["gate"] == "soak"
    assert main(["status", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "GATES"
    assert lines[1].endswith("  -")  # dev: no gates
    assert f"published: {stage[:12]} not published to stage" in lines[3]


def test_gated_story_on_local_repos(tmp_path: Path) -> None:
    """fabpromote.testing.gatedstory on local bare repositories: statuses in the notes ref, merges by git."""
    from fabpromote import Sources
    from fabpromote.git import GitOps
    from fabpromote.testing.gatedstory import run_gated_story

    def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
        path = tmp_path / "repos" / f"{name}.git"
        git("init", "-q", "--bare", str(path))
        ops = GitOps(Sources())
        first = next(iter(branches), None)
        for branch, files in branches.items():
            start = None if branch == first else first
            ops.commit_files(str(path), branch, dict(files), f"{name} {branch}", expected=None, start=start)
        return str(path)

    run_gated_story(tmp_path, create)
