"""What the tests of a hosted Git host plugin share, whatever the host: isolation, host and repository set-up,
and the bodies of the tests every such plugin runs (the stories, ``report-status``).

A plugin's tests describe their fake once, as a :class:`HostedFake`, and call
these with it::

    @pytest.fixture(autouse=True)
    def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        isolate(monkeypatch, tmp_path, token_env=TOKEN_ENV, token=TOKEN, host_variable="FORGE_TOKEN")

    def hosted(forge: FakeForge) -> HostedFake:
        return HostedFake("forge", TOKEN_ENV, lambda name: forge.create_repo("octo", name), {"api_url": forge.api_url})

    def test_seed_story(forge: FakeForge, tmp_path: Path) -> None:
        run_seed_story(tmp_path, hosted(forge).story_repos(), hosts=hosted(forge).hosts(backoff="0.01"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs
import pytest
import yaml

from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.contracts import ServedRepo
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.story import CreateRepo, app_files

__all__ = [
    "APP_REPO_FILES",
    "CAT_ENVIRONMENTS",
    "PROTECTED",
    "HostedFake",
    "cat_cluster",
    "conflicting_change_stays_pending",
    "host_from_settings",
    "isolate",
    "open_change_stays_pending",
    "promote_cat",
    "publish",
    "report_status_refused",
    "report_two_statuses",
    "served_repo",
    "set_cat_tag",
    "statuses_read_back",
]

H = TypeVar("H")
#: The branch policy of the tests' hosts: stage and prod accept promotions and rollbacks only.
PROTECTED = {"stage": ("promote", "rollback"), "prod": ("promote", "rollback")}
#: The files of the tests' app repository (an HLD with one component, its image in its config).
APP_REPO_FILES = {
    "README.md": "# app\n",
    "hld/component.yaml": "name: app\nsubcomponents: []\n",
    "hld/config/common.yaml": "config:\n  image: app:1.0.0\n",
}
#: The environments of :func:`cat_cluster`, in promotion order.
CAT_ENVIRONMENTS = ("dev", "stage", "prod")
#: The proxy variables a test unsets, so that requests to 127.0.0.1 go straight to the fake.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def isolate(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    *,
    host_variable: str,
    token_env: str | None = None,
    token: str = "",
) -> None:
    """Home, cache and git configuration in ``tmp_path``; the test token in ``token_env`` (when named); no proxy.

    ``host_variable`` (the host's default token variable, ``GITHUB_TOKEN``) is
    unset, so that no real token of the machine is ever sent to a fake.
    """
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv(host_variable, raising=False)
    if token_env is not None:
        monkeypatch.setenv(token_env, token)


def host_from_settings(
    from_settings: Callable[..., H], defaults: Mapping[str, Any], settings: dict[str, Any], clock: Any = None
) -> H:
    """A host built as a cluster file builds it (``defaults`` overridden by ``settings``), waiting on a clock.

    A ``clock`` in ``settings`` (else the ``clock`` given) is set on the host
    after it is built: it is not a cluster-file setting. None keeps the host's own.
    """
    chosen = settings.pop("clock", clock)
    host = from_settings(**{**defaults, **settings})
    if chosen is not None:
        host.clock = chosen  # type: ignore[attr-defined]
    return host


def served_repo(bare: Path, url: str, tmp_path: Path) -> ServedRepo:
    """The Git host contract's ``repo``: the fake's bare repository, a clone of it, and its URL."""
    work = tmp_path / f"{bare.stem}-work"
    git("clone", "-q", str(bare), str(work))
    return ServedRepo(bare, work, url)


@attrs.frozen
class HostedFake:
    """A fake hosted Git host as shared tests see it.

    Attributes:
        host_type: The host's name in a cluster file (``github``).
        token_env: The variable the tests' token is in.
        create_repo: Makes an empty repository of the given name on the fake; its clone URL.
        settings: The rest of the cluster file's ``hosts:`` entry (``api_url``, ``backoff``).
    """

    host_type: str
    token_env: str
    create_repo: Callable[[str], str]
    settings: Mapping[str, str] = attrs.Factory(dict)

    def make_host(
        self, from_settings: Callable[..., H], tmp_path: Path, settings: dict[str, Any], clock: Any = None
    ) -> H:
        """A host on the fake, built as a cluster file builds it: :data:`PROTECTED`, a cache in ``tmp_path``,
        the tests' token, short backoffs and timeouts, then :attr:`settings` and ``settings`` over them
        (``clock`` as :func:`host_from_settings` takes it)."""
        defaults = {
            "sources": Sources(cache_dir=tmp_path / "cache"),
            "protected": PROTECTED,
            "token_env": self.token_env,
            "backoff": "0.01",
            "timeout": "10",
            **self.settings,
        }
        return host_from_settings(from_settings, defaults, settings, clock)

    def ops(self, url: str) -> GitOps:
        """Git operations that send the tests' token to ``url``'s server."""
        return GitOps(Sources(credentials=Credentials({urlsplit(url).netloc: self.token_env})))

    def hosts(self, **settings: str) -> dict[str, dict[str, str]]:
        """The cluster file's ``hosts:`` for the fake on 127.0.0.1, with ``settings`` added."""
        return {"127.0.0.1": {"type": self.host_type, "token_env": self.token_env, **self.settings, **settings}}

    def story_repos(self) -> CreateRepo:
        """Makes a story's repositories on the fake, pushing each branch through git (the first from nothing)."""

        def create(name: str, branches: Mapping[str, Mapping[str, bytes]]) -> str:
            url = self.create_repo(name)
            ops = self.ops(url)
            first = next(iter(branches), None)
            for branch, files in branches.items():
                start = None if branch == first else first
                ops.commit_files(url, branch, dict(files), f"{name} {branch}", expected=None, start=start)
            return url

        return create

    def published_cluster(self, tmp_path: Path) -> tuple[str, list[str]]:
        """A cluster file whose manifests' dev branch has two publishes; the file, and dev's commits newest first."""
        hld, manifests = self.create_repo("cluster-hld"), self.create_repo("manifests")
        ops = self.ops(manifests)
        first = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 1\n"}, "publish 1", expected=None)
        second = ops.commit_files(manifests, "dev", {"app.yaml": b"v: 2\n"}, "publish 2", expected=first)
        assert first is not None
        assert second is not None
        entry = "".join(f"    {key}: {value!r}\n" for key, value in self.settings.items())
        config = tmp_path / "fabpromote.yaml"
        config.write_text(
            f"name: c\nhld: {hld}\nmanifests: {manifests}\nenvironments: [dev, stage]\nhosts:\n"
            f"  '127.0.0.1':\n    type: {self.host_type}\n{entry}    token_env: {self.token_env}\n"
        )
        return str(config), [second, first]


def report_status_refused(argv: list[str], config: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``fabpromote report-status ARGV``, which must fail in one line; that line."""
    from fabpromote.cli import main

    assert main(["report-status", *argv, "--config", config]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def cat_cluster(root: Path, create: CreateRepo, hosts: Mapping[str, Mapping[str, str]]) -> tuple[str, str]:
    """The app cat (v1.0.0 on master and each environment's branch) and a cluster whose HLD takes, in each of
    :data:`CAT_ENVIRONMENTS`, cat's branch of its name, made by ``create`` on a host; the cluster file and cat's URL.
    """
    cat = create("cat", {branch: app_files("cat", "v1.0.0") for branch in ("master", *CAT_ENVIRONMENTS)})
    component = (
        "name: c\nsubcomponents:\n- name: cat-application\n  source: {cat}\n"
        "  method: git\n  branch: {env}\n  path: hld\n"
    )
    hld = create(
        "cluster-hld",
        {env: {"component.yaml": component.format(cat=cat, env=env).encode()} for env in CAT_ENVIRONMENTS},
    )
    manifests = create("manifests", {})
    config = root / "fabpromote.yaml"
    document = {
        "name": "c",
        "hld": hld,
        "manifests": manifests,
        "environments": list(CAT_ENVIRONMENTS),
        "hosts": {name: dict(entry) for name, entry in hosts.items()},
    }
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(config), cat


def publish(config: str, env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """What CI does after a change on ``env``: publish it (the published gate of the next environment needs it)."""
    from fabpromote.cli import main

    assert main(["materialize", env, "--publish", "--config", config]) == 0
    capsys.readouterr()


def set_cat_tag(ops: GitOps, url: str, branch: str, tag: str) -> None:
    """A release of cat on ``branch``: its image tag set to ``tag`` in one commit."""
    files = {"hld/config/common.yaml": app_files("cat", tag)["hld/config/common.yaml"]}
    ops.commit_files(url, branch, files, f"{tag} on {branch}", expected=ops.branch_sha(url, branch))


def promote_cat(config: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    """``fabpromote promote cat-application --from dev --to stage --json EXTRA``: its exit status and its JSON."""
    import json

    from fabpromote.cli import main

    argv = ["promote", "cat-application", "--from", "dev", "--to", "stage", "--config", config, "--json", *extra]
    status = main(argv)
    return status, json.loads(capsys.readouterr().out)


def open_change_stays_pending(config: str, ops: GitOps, cat: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Without ``--merge`` a promotion's change is opened and left: exit 3, outcome pending, stage unmoved;
    with ``--merge`` it is merged: exit 0. The first promotion's JSON."""
    set_cat_tag(ops, cat, "dev", "v9.0.0")
    publish(config, "dev", capsys)
    stage = ops.branch_sha(cat, "stage")
    status, opened = promote_cat(config, capsys)
    assert (status, opened["outcome"], opened["merge"]) == (3, "pending", None)
    assert ops.branch_sha(cat, "stage") == stage
    status, merged = promote_cat(config, capsys, "--merge")
    assert (status, merged["outcome"]) == (0, "done")
    assert ops.branch_sha(cat, "stage") != stage
    return opened


def conflicting_change_stays_pending(config: str, ops: GitOps, cat: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--merge`` of a change that conflicts: not merged, left open to resolve: exit 3, not 0."""
    set_cat_tag(ops, cat, "dev", "v9.0.0")
    publish(config, "dev", capsys)
    set_cat_tag(ops, cat, "stage", "v8.0.0")
    stage = ops.branch_sha(cat, "stage")
    status, data = promote_cat(config, capsys, "--merge")
    merge = data["merge"]
    assert isinstance(merge, dict)
    assert (status, data["outcome"], merge["status"]) == (3, "pending", "not-mergeable")
    assert ops.branch_sha(cat, "stage") == stage


def report_two_statuses(
    config: str, head: str, earlier: str, capsys: pytest.CaptureFixture[str], context: str = "e2e"
) -> None:
    """``report-status dev CONTEXT success`` (with a description and a URL) lands on dev's ``head``; then
    ``kustomization/app/1a2b failure`` on the ``earlier`` publish, named by 8 digits of its SHA."""
    import json

    from fabpromote.cli import main

    argv = ["report-status", "dev", context, "success", "--description", "42 passed", "--url", "https://ci/7"]
    assert main([*argv, "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["sha"] == head
    argv = ["report-status", "dev", "kustomization/app/1a2b", "failure", "--sha", earlier[:8], "--config", config]
    assert main(argv) == 0


def statuses_read_back(config: str, sha: str) -> tuple[str, list[tuple[str, str]]]:
    """The name of the host of the cluster's manifests, and the ``(context, state)`` of commit ``sha`` it reads back."""
    from fabpromote import Cluster, host_for

    cluster = Cluster.from_file(config)
    host = host_for(cluster, cluster.manifests.url)
    return host.name, [(status.context, status.state) for status in host.commit_statuses(cluster.manifests.url, sha)]
