"""A small served cluster of local repositories, for tests of materialize, publish and promote."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fabpromote.testing.gitrepos import WorkRepo, git

__all__ = ["ENVS", "LocalFleet"]

ENVS = ("dev", "stage", "prod")


class LocalFleet:
    """Served bare repositories of one cluster: an app, its cluster HLD and the manifests.

    The app (``app.git``) is a static component in ``hld/`` on branches
    master, dev, stage and prod; the cluster HLD (``hld.git``, written by
    :meth:`write_hld`) points it at the same-named branch, beside ``many``
    local static components; ``manifests.git`` starts empty. ``served`` is
    the folder to serve (a plain path works as a URL too). Set
    :data:`~fabpromote.testing.gitrepos.GIT_ENV` in the environment first.
    """

    def __init__(self, root: Path, *, many: int = 0) -> None:
        self.root = root
        self.many = many
        self.served = root / "served"
        self.served.mkdir(parents=True)
        work = WorkRepo.create(root / "work" / "app", self.app_files("v1"))
        for env in ENVS:
            work.checkout(env)
        self.app_work = work
        self.bare("app", work)
        self.hld_work = WorkRepo.create(root / "work" / "hld", {"README.md": "cluster\n"})
        self.bare("hld", self.hld_work)
        git("init", "-q", "--bare", str(self.served / "manifests.git"))

    @staticmethod
    def app_files(version: str) -> dict[str, str | bytes]:
        return {
            "hld/component.yaml": "name: app\ntype: static\npath: ./manifests\n",
            "hld/manifests/cm.yaml": f"kind: ConfigMap\ndata:\n  version: {version}\n",
        }

    def bare(self, name: str, work: WorkRepo) -> None:
        git("clone", "-q", "--bare", str(work.path), str(self.served / f"{name}.git"))
        git("remote", "add", "served", str(self.served / f"{name}.git"), cwd=work.path)

    def write_hld(self, base: str) -> None:
        statics = "".join(f"- name: c{i:03d}\n  type: static\n  path: ./static/c{i:03d}\n" for i in range(self.many))
        files: dict[str, str | bytes] = {
            f"static/c{i:03d}/cm.yaml": f"kind: ConfigMap\nmetadata:\n  name: c{i:03d}\ndata:\n  n: '{i}'\n"
            for i in range(self.many)
        }
        for env in ENVS:
            files["component.yaml"] = (
                f"name: cluster\nsubcomponents:\n- name: app\n  method: git\n"
                f"  source: {base}app.git\n  branch: {env}\n  path: hld\n" + statics
            )
            self.hld_work.commit(files, f"hld {env}", branch=env)
            git("push", "-q", "served", env, cwd=self.hld_work.path)

    def push_app(self, env: str, version: str) -> str:
        sha = self.app_work.commit(self.app_files(version), f"app {version[:20]}", branch=env)
        git("push", "-q", "served", env, cwd=self.app_work.path)
        return sha

    def config(self, base: str) -> Path:
        path = self.root / "fabpromote.yaml"
        path.write_text(f"name: test\nhld: {base}hld.git\nmanifests: {base}manifests.git\n")
        return path

    def fsck(self) -> None:
        for repo in self.served.iterdir():
            done = subprocess.run(["git", "--git-dir", str(repo), "fsck", "--strict"], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr

    def manifests(self, *args: str) -> str:
        return git("--git-dir", str(self.served / "manifests.git"), *args)

    def branch(self, branch: str) -> str | None:
        done = subprocess.run(
            ["git", "--git-dir", str(self.served / "manifests.git"), "rev-parse", "--verify", "-q", branch],
            capture_output=True,
            text=True,
        )
        return done.stdout.strip() or None

    def history(self, repo: str, branch: str) -> list[str]:
        """The commits of ``branch`` in served repository ``repo``, newest first."""
        return git("--git-dir", str(self.served / f"{repo}.git"), "rev-list", branch).splitlines()
