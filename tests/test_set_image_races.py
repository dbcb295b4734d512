"""``set-image`` under contention (issue 16, item 10).

One app repository holds the HLDs of eight apps (``app0`` ... ``app7``, a
monorepo), so every ``set-image`` on ``dev`` writes the same branch. A branch
that moved meanwhile is read again and the edit made again, as long as the
image is still the one first read; someone who set the image to another value
meanwhile is a conflict, reported and not overwritten.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fabpromote_local import LocalHost

from fabpromote import Cluster, Plugins, hookimpl, set_image
from fabpromote.exceptions import ImageConflictError
from fabpromote.testing.gitrepos import WorkRepo, git
from fabpromote.testing.gitservers import GitDaemon
from fabpromote.typing import HostSettings

APPS = 8
ENVS = ("dev", "stage", "prod")


def app_config(name: str, tag: str) -> str:
    return f"# {name}'s image; CI sets the tag.\nconfig:\n  image:\n    repository: ghcr.io/example/{name}\n    tag: {tag}  # built by CI\n"


class Monorepo:
    """``apps.git`` (every app's HLD, branches master and the environments), a cluster HLD listing them, manifests.

    Args:
        root: Where the work trees, the served folder and the cluster file go.
        base: How the cluster HLD names the served repositories (a ``git://`` URL or the folder's path, ending in /).
        host: The Git host the cluster file gives ``apps.git`` (default: the URL's).
    """

    def __init__(self, root: Path, served: Path, base: str, *, host: str | None = None) -> None:
        self.served = served
        files: dict[str, str | bytes] = {}
        for i in range(APPS):
            files[f"app{i}/component.yaml"] = f"name: app{i}\ntype: static\npath: ./manifests\n"
            files[f"app{i}/config/common.yaml"] = app_config(f"app{i}", "v1")
        self.work = WorkRepo.create(root / "work" / "apps", files)
        for env in ENVS:
            self.work.checkout(env)
        git("clone", "-q", "--bare", str(self.work.path), str(served / "apps.git"))
        git("remote", "add", "served", str(served / "apps.git"), cwd=self.work.path)
        hld = WorkRepo.create(root / "work" / "hld", {"README.md": "cluster\n"})
        for env in ENVS:
            subcomponents = "".join(
                f"- name: app{i}\n  method: git\n  source: {base}apps.git\n  branch: {env}\n  path: app{i}\n"
                for i in range(APPS)
            )
            hld.commit({"component.yaml": f"name: cluster\nsubcomponents:\n{subcomponents}"}, env, branch=env)
        git("clone", "-q", "--bare", str(hld.path), str(served / "hld.git"))
        git("init", "-q", "--bare", str(served / "manifests.git"))
        self.config = root / "fabpromote.yaml"
        repos = f"repos:\n- url: {base}apps.git\n  host: {host}\n" if host else ""
        self.config.write_text(f"name: test\nhld: {base}hld.git\nmanifests: {base}manifests.git\n{repos}")

    def git(self, *args: str) -> str:
        return git("--git-dir", str(self.served / "apps.git"), *args)

    def tag(self, app: str, branch: str = "dev") -> str:
        text = self.git("show", f"{branch}:{app}/config/common.yaml")
        assert text.startswith(f"# {app}'s image")  # layout and comments kept
        assert "# built by CI" in text
        found = re.search(r"tag: (\S+)", text)
        assert found is not None
        return found.group(1)

    def commit_behind_our_back(self, app: str, tag: str) -> str:
        """Another writer (a person, another CI job) commits ``app``'s tag on dev, with git."""
        self.work.commit({f"{app}/config/common.yaml": app_config(app, tag)}, f"{app} {tag} by hand", branch="dev")
        git("push", "-q", "served", "dev", cwd=self.work.path)
        return self.work.sha("HEAD")


WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from fabpromote.cli import main
    barrier = Path(sys.argv[1])
    while not barrier.exists():
        time.sleep(0.005)
    raise SystemExit(main(["set-image", *sys.argv[2:]]))
    """
)


def set_images_at_once(tmp_path: Path, config: Path, jobs: list[tuple[str, str]]) -> list[tuple[int, str, str]]:
    """Run one ``fabpromote set-image APP dev TAG`` process per job, all let go at once; their status and output."""
    barrier = tmp_path / f"go-{time.monotonic_ns()}"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(barrier), app, "dev", tag, "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app, tag in jobs
    ]
    time.sleep(0.5)  # let them import
    barrier.touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


@pytest.fixture(name="daemon")
def _daemon(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    served = tmp_path / "served"
    served.mkdir()
    with GitDaemon(served) as daemon:
        yield served, daemon.url


def test_concurrent_set_images_all_land(tmp_path: Path, daemon: tuple[Path, str]) -> None:
    """Eight processes set eight images on one branch at once (over git://): every one lands, none is lost."""
    served, base = daemon
    repo = Monorepo(tmp_path, served, base)
    before = int(repo.git("rev-list", "--count", "dev"))
    jobs = [(f"app{i}", f"v2.{i}") for i in range(APPS)]
    results = set_images_at_once(tmp_path, repo.config, jobs)
    for (app, tag), (status, out, err) in zip(jobs, results, strict=True):
        assert status == 0, err
        assert out.startswith(f"set {app} image tag {tag} in app{app[3:]}/config/common.yaml on dev: ")
        assert "unchanged" not in out
    assert int(repo.git("rev-list", "--count", "dev")) == before + APPS
    assert {repo.tag(app) for app, _ in jobs} == {tag for _, tag in jobs}
    assert all(repo.tag(app) == tag for app, tag in jobs)

    # The same tag for the same image, six times at once: one commit, the others find it set.
    results = set_images_at_once(tmp_path, repo.config, [("app0", "v3")] * 6)
    assert [status for status, _, _ in results] == [0] * 6, [err for _, _, err in results]
    assert sum("unchanged, no commit" not in out for _, out, _ in results) == 1
    assert int(repo.git("rev-list", "--count", "dev")) == before + APPS + 1
    assert repo.tag("app0") == "v3"
    subprocess.run(["git", "--git-dir", str(served / "apps.git"), "fsck", "--strict"], check=True, capture_output=True)


class _Racing:
    """The local host, with what :attr:`landing` holds committed to the branch just before our next push."""

    landing: ClassVar[list[Callable[[], object]]] = []

    def __init__(self, settings: HostSettings) -> None:
        self._local = LocalHost(sources=settings.sources, protected=settings.protected, token_env=settings.token_env)

    def commit_files(self, *args: Any, **kwargs: Any) -> Any:
        while self.landing:
            self.landing.pop()()
        return self._local.commit_files(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._local, name)


class _RacingPlugin:
    @hookimpl
    def fabpromote_register_git_hosts(self, register: Any) -> None:
        register("racing", _Racing)


class TestMovedBranch:
    """Deterministic: a commit lands on dev between set-image's read and its push."""

    @pytest.fixture(name="repo")
    def _repo(self, tmp_path: Path) -> Iterator[Monorepo]:
        served = tmp_path / "served"
        served.mkdir()
        yield Monorepo(tmp_path, served, f"{served}/", host="racing")
        _Racing.landing.clear()

    @staticmethod
    def set_app0(repo: Monorepo, tag: str, landing: Callable[[], object]) -> tuple[str, str | None]:
        _Racing.landing.append(landing)
        cluster = Cluster.from_file(repo.config)
        return set_image(cluster, "app0", "dev", tag, plugins=Plugins.load(plugins=[_RacingPlugin()]))

    def test_another_image_meanwhile(self, repo: Monorepo) -> None:
        """Another app's image was set meanwhile: the edit still applies, on top of it."""
        theirs: list[str] = []
        path, commit = self.set_app0(repo, "v5", lambda: theirs.append(repo.commit_behind_our_back("app1", "v9")))
        assert path == "app0/config/common.yaml"
        assert commit == repo.git("rev-parse", "dev")
        assert repo.git("rev-parse", f"{commit}^") == theirs[0]
        assert (repo.tag("app0"), repo.tag("app1")) == ("v5", "v9")

    def test_same_image_same_tag_meanwhile(self, repo: Monorepo) -> None:
        """Someone set the very tag meanwhile: nothing to do, no commit."""
        theirs: list[str] = []
        path, commit = self.set_app0(repo, "v5", lambda: theirs.append(repo.commit_behind_our_back("app0", "v5")))
        assert (path, commit) == ("app0/config/common.yaml", None)
        assert repo.git("rev-parse", "dev") == theirs[0]

    def test_same_image_other_tag_is_a_conflict(self, repo: Monorepo) -> None:
        """Someone set another tag meanwhile: a conflict naming both values; theirs stays."""
        theirs: list[str] = []
        with pytest.raises(ImageConflictError) as caught:
            self.set_app0(repo, "v5", lambda: theirs.append(repo.commit_behind_our_back("app0", "v7")))
        message = str(caught.value)
        assert "apps.git dev:app0/config/common.yaml" in message
        assert "changed from ghcr.io/example/app0:v1 to ghcr.io/example/app0:v7" in message
        assert f"(commit {theirs[0][:12]}) while setting ghcr.io/example/app0:v5; not overwritten" in message
        assert repo.git("rev-parse", "dev") == theirs[0]
        assert repo.tag("app0") == "v7"


def test_conflict_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Through the CLI: the conflict is one line on stderr and exit status 1 (the racing host is a plugin)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "racing_host.py").write_text(
        textwrap.dedent(
            """
            import os, subprocess
            from fabpromote import hookimpl
            from fabpromote_local import LocalHost

            class Racing(LocalHost):
                def commit_files(self, *args, **kwargs):
                    script = os.environ.pop("RACING_BEFORE_PUSH", "")
                    if script:
                        subprocess.run(["sh", "-c", script], check=True)
                    return super().commit_files(*args, **kwargs)

            @hookimpl
            def fabpromote_register_git_hosts(register):
                def racing(settings):
                    return Racing(sources=settings.sources, protected=settings.protected, token_env=settings.token_env)

                register("racing", racing)
            """
        )
    )
    info = site / "racing_host-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: racing-host\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[fabpromote]\nracing = racing_host\n")
    served = tmp_path / "served"
    served.mkdir()
    repo = Monorepo(tmp_path, served, f"{served}/", host="racing")
    work = repo.work.path
    edit = f"{work}/app0/config/common.yaml"
    script = f"git -C {work} checkout -q dev && sed -i 's/tag: v1/tag: v7/' {edit} && git -C {work} commit -qam v7 && git -C {work} push -q served dev"
    done = subprocess.run(
        [sys.executable, "-m", "fabpromote", "set-image", "app0", "dev", "v5", "--config", str(repo.config)],
        env={**os.environ, "PYTHONPATH": str(site), "RACING_BEFORE_PUSH": script},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("fabpromote: error: ")
    assert "changed from ghcr.io/example/app0:v1 to ghcr.io/example/app0:v7" in done.stderr
    assert repo.tag("app0") == "v7"
