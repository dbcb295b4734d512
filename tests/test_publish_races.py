"""A publish never replaces a materialization made from newer sources (issue 16, item 5).

On the demo (local bare repositories, the real helm): a publisher that
rendered older sources while another published newer ones renders the branch
heads again, or finds that newer publish there and writes nothing; a lock
older than what the branch holds is refused on every attempt, not only the first.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fabpromote import Cluster, Materialization, Plugins, history, host_for, materialize, publish, set_image
from fabpromote._cluster.publish import parse_sources
from fabpromote.cli import main
from fabpromote.exceptions import OlderLockError
from fabpromote.testing.gitrepos import git

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

#: How long the test waits for the slow publisher to reach helm, or to finish.
WAIT = 120


@pytest.fixture(name="config")
def _config(tmp_path: Path) -> str:
    assert main(["demo", str(tmp_path / "demo")]) == 0
    return str(tmp_path / "demo" / "fabpromote.yaml")


def tip(config: str, repo: str, branch: str) -> str:
    return git("--git-dir", str(Path(config).parent / "repos" / repo), "rev-parse", f"refs/heads/{branch}")


def deployed(config: str, env: str = "dev") -> str:
    """The cat image the manifests branch of ``env`` deploys."""
    text = git(
        "--git-dir",
        str(Path(config).parent / "repos" / "manifests.git"),
        "show",
        f"{env}:cat-application/cat-application.yaml",
    )
    return next(line.split('"')[1] for line in text.splitlines() if "image:" in line)


def slow_helm(root: Path, holds: str) -> tuple[Path, Path, Path]:
    """A helm on PATH that, rendering values holding ``holds``, says so and waits for a go before rendering.

    Returns:
        The folder to put first on PATH, the file it creates when waiting, the file that lets it go.
    """
    real = shutil.which("helm")
    assert real is not None
    folder, started, go = root / "slow-helm", root / "helm-started", root / "helm-go"
    folder.mkdir()
    script = folder / "helm"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = template ]; then\n'
        f'  values=$(mktemp "{root}/values.XXXXXX")\n'
        '  cat > "$values"\n'
        f'  if grep -q "{holds}" "$values"; then\n'
        f'    touch "{started}"\n'
        f'    while [ ! -e "{go}" ]; do sleep 0.05; done\n'
        "  fi\n"
        f'  exec "{real}" "$@" < "$values"\n'
        "fi\n"
        f'exec "{real}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder, started, go


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"the publisher ended before rendering: {process.communicate()}")
        assert time.monotonic() < deadline, f"{path.name} did not appear within {WAIT} s"
        time.sleep(0.05)


def no_step_back(config: str, env: str = "dev") -> None:
    """Walking the manifests branch from its first publish: no publish moves a component to an older commit."""
    cluster = Cluster.from_file(config)
    publishes = list(reversed(history(cluster, env, limit=1000)))
    for before, after in itertools.pairwise(publishes):
        old = {(e.component, e.url): e for e in before.sources if e.kind == "git"}
        for entry in after.sources:
            earlier = old.get((entry.component, entry.url))
            if earlier is None or earlier.sha == entry.sha:
                continue
            went_back = subprocess.run(
                ["git", "--git-dir", entry.url, "merge-base", "--is-ancestor", entry.sha, earlier.sha], check=False
            )
            assert went_back.returncode == 1, f"{after.sha[:12]} takes {entry.component} back to {entry.sha[:12]}"


@pytest.mark.parametrize("output", ["json", "text"])
def test_slow_publisher_does_not_land_over_a_newer_publish(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    """The repro: A renders v5.0.1 slowly, v5.0.2 is set and published by B; A writes nothing and exits 0."""
    assert main(["set-image", "cat-application", "dev", "v5.0.1", "--config", config]) == 0
    folder, started, go = slow_helm(tmp_path, "v5.0.1")
    json_flag = ["--json"] if output == "json" else []
    slow = subprocess.Popen(
        [sys.executable, "-m", "fabpromote", "materialize", "dev", "--publish", "--config", config, *json_flag],
        env={**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(started, slow)  # A resolved cat at v5.0.1 and is rendering it
        assert main(["set-image", "cat-application", "dev", "v5.0.2", "--config", config]) == 0
        capsys.readouterr()
        assert main(["materialize", "dev", "--publish", "--json", "--config", config]) == 0
        newer = json.loads(capsys.readouterr().out)["publish"]["commit"]
        assert newer == tip(config, "manifests.git", "dev")
    finally:
        go.touch()
        out, err = slow.communicate(timeout=WAIT)
    assert slow.returncode == 0, err
    assert tip(config, "manifests.git", "dev") == newer  # A wrote nothing
    assert deployed(config) == "ghcr.io/example/cat:v5.0.2"
    cat = tip(config, "cat.git", "dev")
    if output == "json":
        data = json.loads(out)
        assert data["outcome"] == "nothing-to-do"
        assert data["publish"] == {"branch": "dev", "commit": None, "newer_publish": newer}
        # What it reports is what it found there: the heads rendered again, cat at v5.0.2.
        assert {entry["component"]: entry["sha"] for entry in data["lock"]}["cat-application"] == cat
    else:
        assert f"a newer publish is already there ({newer})" in out
        assert f"cat-application: {Path(config).parent / 'repos' / 'cat.git'} dev -> {cat[:12]}" in out
    no_step_back(config)


class _PublishesFirst:
    """The manifests host, with another publish landing just before our first push (the branch moves under us)."""

    def __init__(self, host: Any, before_push: Callable[[], None]) -> None:
        self._host = host
        self._before_push: Callable[[], None] | None = before_push
        self.pushes = 0

    def commit_files(self, *args: Any, **kwargs: Any) -> str | None:
        self.pushes += 1
        if self._before_push is not None:
            landing, self._before_push = self._before_push, None
            landing()
        return self._host.commit_files(*args, **kwargs)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)


def racing(cluster: Cluster, before_push: Callable[[], None]) -> _PublishesFirst:
    return _PublishesFirst(host_for(cluster, cluster.manifests.url), before_push)


def newer_published(cluster: Cluster, tag: str, into: list[str]) -> Callable[[], None]:
    """What the other publisher does: set ``tag`` on dev, publish the heads, note its commit."""

    def land() -> None:
        set_image(cluster, "cat-application", "dev", tag)
        commit = publish(materialize(cluster, "dev"), cluster).commit
        assert commit is not None
        into.append(commit)

    return land


def cat_sha(materialization: Materialization) -> str:
    return next(e.sha for e in materialization.lock if e.component == "cat-application")


class TestEveryAttempt:
    """The comparison happens on every compare-and-swap attempt, not once before them."""

    def test_retry_finds_the_newer_publish(self, config: str) -> None:
        """A newer publish lands between our read and our push: the retry renders again and writes nothing."""
        cluster = Cluster.from_file(config)
        set_image(cluster, "cat-application", "dev", "v5.0.1")
        ours = materialize(cluster, "dev")
        landed: list[str] = []
        host = racing(cluster, newer_published(cluster, "v5.0.2", landed))
        result = publish(ours, cluster, host=host)
        assert host.pushes == 2
        assert result.commit is None
        assert result.newer == landed[0] == tip(config, "manifests.git", "dev")
        assert result.materialization is not None
        assert cat_sha(result.materialization) == tip(config, "cat.git", "dev")
        assert deployed(config) == "ghcr.io/example/cat:v5.0.2"
        no_step_back(config)

    def test_newest_of_everything(self, config: str) -> None:
        """Ours has an older cat, the branch an older dog: the publish renders again and holds both newest."""
        cluster = Cluster.from_file(config)
        set_image(cluster, "cat-application", "dev", "v5.0.1")
        ours = materialize(cluster, "dev")
        landed: list[str] = []

        def cat_then_dog() -> None:
            newer_published(cluster, "v5.0.2", landed)()
            set_image(cluster, "dog-application", "dev", "v7.0.0")  # newer than the publish that just landed

        result = publish(ours, cluster, host=racing(cluster, cat_then_dog))
        assert result.commit == tip(config, "manifests.git", "dev")
        assert result.newer == ""
        message = git(
            "--git-dir", str(Path(config).parent / "repos" / "manifests.git"), "log", "-1", "--format=%B", "dev"
        )
        sources = {e.component: e.sha for e in parse_sources(tuple(_trailers(message)))}
        assert sources["cat-application"] == tip(config, "cat.git", "dev")
        assert sources["dog-application"] == tip(config, "dog.git", "dev")
        assert deployed(config) == "ghcr.io/example/cat:v5.0.2"
        no_step_back(config)

    def test_older_lock_refused_on_the_retry(self, config: str) -> None:
        """A lock that was current at the first attempt is older at the second: refused, then allowed deliberately."""
        cluster = Cluster.from_file(config)
        pinned = materialize(cluster, "dev", lock=materialize(cluster, "dev").lock)
        landed: list[str] = []
        with pytest.raises(OlderLockError, match=r"cat-application at [0-9a-f]{12} is older than .*--allow-older"):
            publish(pinned, cluster, host=racing(cluster, newer_published(cluster, "v5.0.2", landed)))
        assert tip(config, "manifests.git", "dev") == landed[0]
        done = publish(pinned, cluster, allow_older=True)
        assert done.commit == tip(config, "manifests.git", "dev")
        message = git(
            "--git-dir", str(Path(config).parent / "repos" / "manifests.git"), "log", "-1", "--format=%B", "dev"
        )
        assert f"Fabpromote-Older-Than: {landed[0]}" in message

    def test_branch_gone_back_is_refused_without_rendering_forever(self, config: str) -> None:
        """An app branch reset to an earlier commit: rendering the heads again cannot help; only allow_older goes back."""
        cluster = Cluster.from_file(config)
        cat = str(Path(config).parent / "repos" / "cat.git")
        before = tip(config, "cat.git", "dev")
        set_image(cluster, "cat-application", "dev", "v6.0.0")
        latest = publish(materialize(cluster, "dev"), cluster).commit
        git("--git-dir", cat, "update-ref", "refs/heads/dev", before)  # someone resets dev on purpose
        with pytest.raises(OlderLockError, match="cat-application at"):
            publish(materialize(cluster, "dev"), cluster)
        assert tip(config, "manifests.git", "dev") == latest
        assert publish(materialize(cluster, "dev"), cluster, allow_older=True).commit is not None
        assert deployed(config) == "ghcr.io/example/cat:v1.0.0"


def _trailers(message: str) -> list[tuple[str, str]]:
    return [tuple(line.split(": ", 1)) for line in message.splitlines() if line.startswith("Fabpromote-")]  # type: ignore[misc]


def test_a_collected_commit_does_not_block_publishing(config: str) -> None:
    """The last publish names a commit its repository no longer has (dev rewritten, then gc): it orders nothing."""
    cluster = Cluster.from_file(config)
    cat = str(Path(config).parent / "repos" / "cat.git")
    before = tip(config, "cat.git", "dev")
    set_image(cluster, "cat-application", "dev", "v6.0.0")
    gone = tip(config, "cat.git", "dev")
    publish(materialize(cluster, "dev"), cluster)
    git("--git-dir", cat, "update-ref", "refs/heads/dev", before)
    git("--git-dir", cat, "reflog", "expire", "--expire=now", "--all")
    git("--git-dir", cat, "gc", "-q", "--prune=now")
    assert subprocess.run(["git", "--git-dir", cat, "cat-file", "-e", gone], check=False).returncode != 0
    shutil.rmtree(os.environ["FABPROMOTE_CACHE_DIR"])  # no mirror keeps it either
    done = publish(materialize(cluster, "dev"), cluster)
    assert done.commit == tip(config, "manifests.git", "dev")
    assert deployed(config) == "ghcr.io/example/cat:v1.0.0"
