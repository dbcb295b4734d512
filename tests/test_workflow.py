"""The seed's story end to end on local repositories (the demo), with the real helm."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fabpromote import (
    Cluster,
    Plugins,
    guard,
    history,
    materialize,
    preview,
    promote,
    publish,
    rollback,
    set_image,
    status,
)
from fabpromote._workflow.rollback import rollback_manifests
from fabpromote.cli import main
from fabpromote.exceptions import (
    FabpromoteError,
    LockMismatchError,
    NothingToPromoteError,
    OlderLockError,
    PromotionRefused,
    UnknownNameError,
)
from fabpromote.testing.gitrepos import GIT_ENV, git

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture(name="demo", scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, built once; tests copy it so each starts from the same state."""
    root = tmp_path_factory.mktemp("demo-template")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FABPROMOTE_CACHE_DIR", str(root / "cache"))
        for name, value in GIT_ENV.items():
            patch.setenv(name, value)
        assert main(["demo", str(root / "demo")]) == 0
    return root / "demo"


@pytest.fixture(name="cluster")
def _cluster(demo: Path, tmp_path: Path) -> Cluster:
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy, symlinks=True)
    config = copy / "fabpromote.yaml"
    config.write_text(config.read_text().replace(str(demo), str(copy)))
    _rewrite_cluster_hld(copy, str(demo), str(copy))
    return Cluster.from_file(config)


def _rewrite_cluster_hld(root: Path, old: str, new: str) -> None:
    """The copied cluster HLD still names the template's app repos: point it at the copies."""
    work = root / "hld-work"
    git("clone", "-q", str(root / "repos" / "cluster-hld.git"), str(work))
    for branch in ("dev", "stage", "prod"):
        git("checkout", "-q", branch, cwd=work)
        component = work / "component.yaml"
        component.write_text(component.read_text().replace(old, new))
        git("commit", "-qam", "use the copied repos", cwd=work)
        git("push", "-q", "origin", branch, cwd=work)
    shutil.rmtree(work)


def set_and_publish(cluster: Cluster, app: str, env: str, tag: str) -> None:
    """set-image, then what CI does next: publish ``env`` (promotions out of it need that, the published gate)."""
    set_image(cluster, app, env, tag)
    publish(materialize(cluster, env), cluster)


def rows(cluster: Cluster) -> dict[tuple[str, str], dict[str, object]]:
    return {(row.app, row.env): row.to_json() for row in status(cluster)}


def manifests_branch(cluster: Cluster, env: str) -> str:
    return git("--git-dir", cluster.manifests.url, "show", f"{env}:cat-application/cat-application.yaml")


def fsck(*repos: str) -> None:
    for repo in repos:
        done = subprocess.run(
            ["git", "--git-dir", repo, "fsck", "--strict"], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


class TestStory:
    def test_seed_story(self, cluster: Cluster) -> None:
        """set-image on dev, publish, promote to stage with publish, guard, rollback; status at every step."""
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        before = rows(cluster)
        assert before[("cat-application", "dev")]["images"] == ["ghcr.io/example/cat:v1.0.0"]
        assert all(row["materialized"] and row["pending"] == 0 for row in before.values())

        path, commit = set_image(cluster, "cat-application", "dev", "v1.1.0")
        assert path == "hld/config/common.yaml"
        assert commit is not None
        text = git("--git-dir", cat, "show", "dev:hld/config/common.yaml")
        assert "# The image of cat; `fabpromote set-image` edits the tag." in text
        assert "tag: v1.1.0" in text
        after_set = rows(cluster)
        assert after_set[("cat-application", "dev")]["images"] == ["ghcr.io/example/cat:v1.1.0"]
        assert after_set[("cat-application", "dev")]["materialized"] is False
        assert after_set[("cat-application", "stage")]["pending"] == 1

        published = publish(materialize(cluster, "dev"), cluster)
        assert published.commit is not None
        assert "ghcr.io/example/cat:v1.1.0" in manifests_branch(cluster, "dev")
        assert rows(cluster)[("cat-application", "dev")]["materialized"] is True

        result = promote(cluster, "cat-application", source="dev", target="stage", publish_after=True)
        assert result.merge is not None
        assert result.merge.status == "merged"
        assert result.merge.fast_forward
        assert result.publish is not None
        assert result.publish.commit is not None
        assert "ghcr.io/example/cat:v1.1.0" in manifests_branch(cluster, "stage")
        assert "ghcr.io/example/cat:v1.0.0" in manifests_branch(cluster, "prod")
        promoted = rows(cluster)
        assert promoted[("cat-application", "stage")]["images"] == ["ghcr.io/example/cat:v1.1.0"]
        assert promoted[("cat-application", "stage")]["pending"] == 0
        assert promoted[("cat-application", "stage")]["materialized"] is True
        assert promoted[("cat-application", "prod")]["pending"] == 1

        with pytest.raises(PromotionRefused, match="dev may not be promoted into prod"):
            guard(cluster, base="prod", head="dev")
        guard(cluster, base="stage", head="dev")

        rolled = rollback(cluster, "cat-application", "stage", steps=1)
        assert isinstance(rolled, str)
        republished = publish(materialize(cluster, "stage"), cluster)
        assert republished.commit is not None
        assert "ghcr.io/example/cat:v1.0.0" in manifests_branch(cluster, "stage")
        final = rows(cluster)
        assert final[("cat-application", "stage")]["images"] == ["ghcr.io/example/cat:v1.0.0"]
        assert final[("cat-application", "stage")]["materialized"] is True
        fsck(cat, cluster.manifests.url)

    def test_publish_is_idempotent(self, cluster: Cluster) -> None:
        """Publishing the same materialization twice makes one commit; a lock gives the old bytes."""
        first = materialize(cluster, "dev")
        assert publish(first, cluster).commit is None  # the demo published dev already
        set_image(cluster, "cat-application", "dev", "v9.9.9")
        moved = materialize(cluster, "dev")
        assert moved.manifests != first.manifests
        assert materialize(cluster, "dev", lock=first.lock).manifests == first.manifests
        assert publish(moved, cluster).commit is not None
        assert publish(moved, cluster).commit is None

    def test_history_and_emergency_rollback(self, cluster: Cluster) -> None:
        """history lists publishes with provenance; the manifests branch alone can go back."""
        (initial,) = history(cluster, "dev")
        assert {entry.component for entry in initial.sources} >= {".", "cat-application", "dog-application"}
        set_image(cluster, "cat-application", "dev", "v2.0.0")
        publish(materialize(cluster, "dev"), cluster)
        _latest, older = history(cluster, "dev")
        assert older.commit == initial.commit
        assert "v2.0.0" in manifests_branch(cluster, "dev")
        rollback_manifests(cluster, "dev", to=older.commit[:12])
        assert "v1.0.0" in manifests_branch(cluster, "dev")

    def test_status_and_history_after_emergency_rollback(self, cluster: Cluster) -> None:
        """The emergency rollback is its own history entry; status shows what the branch holds now."""
        (initial,) = history(cluster, "dev")
        set_image(cluster, "cat-application", "dev", "v2.0.0")
        publish(materialize(cluster, "dev"), cluster)
        assert rows(cluster)[("cat-application", "dev")]["materialized"] is True
        rollback_manifests(cluster, "dev", to=initial.commit)
        rolled, latest, first = history(cluster, "dev")
        assert (rolled.rollback_of, first.commit) == (initial.commit, initial.commit)
        assert rolled.commit != latest.commit
        assert rolled.sources == initial.sources
        assert rolled.digest == initial.digest
        assert rows(cluster)[("cat-application", "dev")]["materialized"] is False  # dev's head is not what runs
        assert rows(cluster)[("dog-application", "dev")]["materialized"] is True
        with pytest.raises(FabpromoteError, match="is not a publish on"):
            rollback_manifests(cluster, "dev", to="0000000")
        assert publish(materialize(cluster, "dev"), cluster).commit is not None  # forward again: allowed
        assert rows(cluster)[("cat-application", "dev")]["materialized"] is True


class TestOlderLock:
    """Publishing a lock older than what the branch runs is refused unless asked for."""

    def test_refused_then_deliberate(self, cluster: Cluster) -> None:
        """An old lock is refused with the component named; allow_older publishes and says so."""
        old = materialize(cluster, "dev")
        set_image(cluster, "cat-application", "dev", "v2.0.0")
        latest = publish(materialize(cluster, "dev"), cluster)
        stale = materialize(cluster, "dev", lock=old.lock)
        with pytest.raises(OlderLockError, match=r"cat-application at [0-9a-f]{12} is older than .*--allow-older"):
            publish(stale, cluster)
        assert git("--git-dir", cluster.manifests.url, "rev-parse", "dev") == latest.commit
        done = publish(stale, cluster, allow_older=True)
        message = git("--git-dir", cluster.manifests.url, "log", "-1", "--format=%B", "dev")
        assert done.commit is not None
        assert f"deliberately older than {latest.commit[:12]}" in message
        assert f"Fabpromote-Older-Than: {latest.commit}" in message
        assert "v1.0.0" in manifests_branch(cluster, "dev")

    def test_cli_flag(self, cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """materialize --lock OLD --publish exits 1 naming --allow-older, and publishes with it."""
        from fabpromote.cli import main

        config = str(Path(cluster.hld.url).parent.parent / "fabpromote.yaml")
        lock = tmp_path / "lock.json"
        assert main(["materialize", "dev", "--config", config, "--json"]) == 0
        lock.write_text(capsys.readouterr().out)
        set_image(cluster, "cat-application", "dev", "v2.0.0")
        assert main(["materialize", "dev", "--config", config, "--publish"]) == 0
        before = git("--git-dir", cluster.manifests.url, "rev-parse", "dev")
        assert main(["materialize", "dev", "--config", config, "--lock", str(lock), "--publish"]) == 1
        assert "--allow-older" in capsys.readouterr().err
        assert git("--git-dir", cluster.manifests.url, "rev-parse", "dev") == before
        args = ["materialize", "dev", "--config", config, "--lock", str(lock), "--publish", "--allow-older"]
        assert main(args) == 0
        assert git("--git-dir", cluster.manifests.url, "rev-parse", "dev") != before


class TestRefusals:
    def test_protected_environment(self, cluster: Cluster) -> None:
        """set-image on a protected environment is refused: promote instead."""
        with pytest.raises(Exception, match="stage"):
            set_image(cluster, "cat-application", "stage", "v1.2.3")

    def test_nothing_to_promote(self, cluster: Cluster) -> None:
        """Promoting with no new commit is a clear error."""
        with pytest.raises(NothingToPromoteError, match="nothing to promote"):
            promote(cluster, "cat-application", source="dev", target="stage")

    def test_unknown_app_and_env(self, cluster: Cluster) -> None:
        """Unknown apps and environments list what exists."""
        with pytest.raises(UnknownNameError, match=r"unknown app 'cow'.*cat-application, dog-application"):
            set_image(cluster, "cow", "dev", "v1")
        with pytest.raises(UnknownNameError, match="unknown environment 'qa'"):
            promote(cluster, "cat-application", source="dev", target="qa")

    def test_dry_run_changes_nothing(self, cluster: Cluster) -> None:
        """--dry-run reports the plan and leaves every branch alone."""
        set_and_publish(cluster, "cat-application", "dev", "v3.0.0")
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        stage = git("--git-dir", cat, "rev-parse", "stage")
        result = promote(cluster, "cat-application", source="dev", target="stage", dry_run=True)
        assert result.lines()[0].startswith("would promote cat-application")
        assert git("--git-dir", cat, "rev-parse", "stage") == stage

    def test_preview(self, cluster: Cluster) -> None:
        """diff shows the config and manifests change a promotion would make, and pushes nothing."""
        set_image(cluster, "cat-application", "dev", "v4.0.0")
        result = preview(cluster, "cat-application", source="dev", target="stage")
        assert "-  tag: v1.0.0\n+  tag: v4.0.0" in result.config_diff
        assert '+          image: "ghcr.io/example/cat:v4.0.0"' in result.manifests_diff


class TestCommandLine:
    def test_status_json(self, cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
        """status --json prints the documented keys."""
        from fabpromote.cli import main

        config = str(Path(cluster.hld.url).parent.parent / "fabpromote.yaml")
        assert main(["status", "--json", "--config", config]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["outcome"] == "done"
        assert {"app", "env", "sha", "images", "pending", "materialized"} <= set(data["rows"][0])

    def test_guard_exit_codes(self, cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
        """guard exits 0 for allowed merges and 1 with a reason otherwise."""
        from fabpromote.cli import main

        config = str(Path(cluster.hld.url).parent.parent / "fabpromote.yaml")
        assert main(["guard", "--base", "stage", "--head", "dev", "--config", config]) == 0
        assert main(["guard", "--base", "prod", "--head", "dev", "--config", config]) == 1
        assert "dev may not be promoted into prod" in capsys.readouterr().err


class TestReusableStory:
    def test_seed_story_on_local_repos(self, tmp_path: Path) -> None:
        """fabpromote.testing.story tells the seed's story on local bare repositories."""
        from fabpromote import Sources
        from fabpromote.git import GitOps
        from fabpromote.testing.story import run_seed_story

        def create(name: str, branches: dict[str, dict[str, bytes]]) -> str:
            path = tmp_path / "repos" / f"{name}.git"
            git("init", "-q", "--bare", str(path))
            ops = GitOps(Sources())
            first = next(iter(branches), None)
            for branch, files in branches.items():
                start = None if branch == first else first
                ops.commit_files(str(path), branch, files, f"{name} {branch}", expected=None, start=start)
            return str(path)

        run_seed_story(tmp_path, create)


class TestRollbackThenPromote:
    """status (pending), diff and promote agree at every step of promote, rollback, promote again."""

    @staticmethod
    def agree(cluster: Cluster, pending: int) -> None:
        """stage's pending count, the preview's diff and a dry-run promotion all tell the same."""
        assert rows(cluster)[("cat-application", "stage")]["pending"] == pending
        shown = preview(cluster, "cat-application", source="dev", target="stage")
        assert bool(shown.config_diff) == bool(pending)
        assert bool(shown.manifests_diff) == bool(pending)
        if pending:
            assert promote(cluster, "cat-application", source="dev", target="stage", dry_run=True).pending == pending
        else:
            with pytest.raises(NothingToPromoteError):
                promote(cluster, "cat-application", source="dev", target="stage", dry_run=True)

    def test_promote_rollback_promote_again(self, cluster: Cluster) -> None:
        """After a rollback, promoting the same version again brings stage back to dev's content."""
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        set_and_publish(cluster, "cat-application", "dev", "v1.1.0")
        self.agree(cluster, 1)
        promote(cluster, "cat-application", source="dev", target="stage")
        self.agree(cluster, 0)
        rollback(cluster, "cat-application", "stage", steps=1)
        assert "tag: v1.0.0" in git("--git-dir", cat, "show", "stage:hld/config/common.yaml")
        self.agree(cluster, 1)

        again = promote(cluster, "cat-application", source="dev", target="stage", publish_after=True)
        assert again.merge is not None
        assert again.merge.status == "merged"
        assert git("--git-dir", cat, "rev-parse", "stage^{tree}") == git("--git-dir", cat, "rev-parse", "dev^{tree}")
        assert "again" in git("--git-dir", cat, "log", "-1", "--format=%s", "stage")
        assert again.publish is not None
        assert "ghcr.io/example/cat:v1.1.0" in manifests_branch(cluster, "stage")
        self.agree(cluster, 0)

        set_and_publish(cluster, "cat-application", "dev", "v1.2.0")  # and the next version promotes as usual
        self.agree(cluster, 1)
        promote(cluster, "cat-application", source="dev", target="stage")
        assert "tag: v1.2.0" in git("--git-dir", cat, "show", "stage:hld/config/common.yaml")
        self.agree(cluster, 0)
        fsck(cat)

    def test_newer_version_after_rollback(self, cluster: Cluster) -> None:
        """Roll stage back, fix on dev, promote the fix: stage gets dev's content (no conflict with the rollback)."""
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        set_and_publish(cluster, "cat-application", "dev", "v1.1.0")
        promote(cluster, "cat-application", source="dev", target="stage")
        rollback(cluster, "cat-application", "stage", steps=1)
        set_and_publish(cluster, "cat-application", "dev", "v1.2.0")
        self.agree(cluster, 1)
        done = promote(cluster, "cat-application", source="dev", target="stage")
        assert done.merge is not None
        assert done.merge.status == "merged"
        assert git("--git-dir", cat, "rev-parse", "stage^{tree}") == git("--git-dir", cat, "rev-parse", "dev^{tree}")
        git("--git-dir", cat, "merge-base", "--is-ancestor", "dev", "stage")
        self.agree(cluster, 0)
        fsck(cat)


class TestNoBypass:
    """Neither a rollback nor a lock skips the pipeline."""

    def test_rollback_only_to_the_branch_history(self, cluster: Cluster) -> None:
        """rollback prod --to <dev's untested head> is refused: that would be a promotion past stage."""
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        set_image(cluster, "cat-application", "dev", "v6.6.6-untested")
        untested = git("--git-dir", cat, "rev-parse", "dev")
        before = git("--git-dir", cat, "rev-parse", "prod")
        with pytest.raises(PromotionRefused, match=f"{untested[:12]} is not in the history of prod"):
            rollback(cluster, "cat-application", "prod", to=untested[:12])
        assert git("--git-dir", cat, "rev-parse", "prod") == before

    def test_lock_of_another_environment(self, cluster: Cluster) -> None:
        """A lock made for dev does not render prod: it is refused, naming what it pins."""
        dev = materialize(cluster, "dev")
        with pytest.raises(LockMismatchError, match=r"the lock pins \. at .*cluster-hld.git dev, which prod does not"):
            materialize(cluster, "prod", lock=dev.lock)
        assert materialize(cluster, "dev", lock=dev.lock).manifests == dev.manifests

    def test_set_image_checks_the_repository(self, cluster: Cluster) -> None:
        """An image repository that is no such thing is refused before anything is committed."""
        cat = str(Path(cluster.hld.url).parent / "cat.git")
        before = git("--git-dir", cat, "rev-parse", "dev")
        for bad in ("not a repo!", "", "Upper/Case", "host:notaport/x"):
            with pytest.raises(FabpromoteError, match="is not a valid image repository"):
                set_image(cluster, "cat-application", "dev", "v4", repository=bad)
        assert git("--git-dir", cat, "rev-parse", "dev") == before
        set_image(cluster, "cat-application", "dev", "v4", repository="registry.example.com:5000/team/cat-app")
        assert "registry.example.com:5000/team/cat-app" in git("--git-dir", cat, "show", "dev:hld/config/common.yaml")
