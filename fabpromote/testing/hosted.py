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

from fabpromote.git import Credentials, GitOps, Sources
from fabpromote.testing.contracts import ServedRepo
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.story import CreateRepo

__all__ = ["HostedFake", "host_from_settings", "isolate", "report_status_refused", "served_repo"]

H = TypeVar("H")
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
