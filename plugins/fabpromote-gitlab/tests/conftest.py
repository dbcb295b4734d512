"""Fixtures: an isolated home and cache, git without user config, and a fake GitLab on 127.0.0.1.

The fake (``fake_gitlab.py`` beside this file) and the description of GitLab's
API it checks itself against (``gitlab_description.py``) are loaded here and
registered as modules, since ``--import-mode=importlib`` puts no test folder on
``sys.path``. Every test using the fake fails if a request or an answer broke the
description (see docs/githosts.md, "Fake GitLab validation").
"""

from __future__ import annotations

import functools
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fabpromote.testing.clock import FakeClock
from fabpromote.testing.hosted import isolate
from fabpromote.testing.unavailable import unavailable

if TYPE_CHECKING:
    from fabpromote_gitlab import GitLabHost
    from fake_gitlab import FakeGitLab
    from gitlab_description import Description


def _load(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


_load("gitlab_description")
_load("fake_gitlab_views")
_load("fake_gitlab")

PROJECT = "group/sub/app"


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep home and cache in tmp_path; git with no user or system config; no token, no proxy."""
    isolate(monkeypatch, tmp_path, host_variable="GITLAB_TOKEN")


@functools.cache
def _git_version() -> tuple[int, ...]:
    done = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False)
    numbers = re.findall(r"\d+", done.stdout)[:2]
    return tuple(int(number) for number in numbers) if done.returncode == 0 else (0,)


@pytest.fixture(name="description", scope="session")
def _description() -> Description:
    """GitLab's API as the pinned clients describe it; CI fails without them, elsewhere the tests skip."""
    from gitlab_description import DescriptionMissingError, load

    try:
        return load()
    except DescriptionMissingError as exc:
        unavailable(f"the fake GitLab cannot check itself: {exc}")


@pytest.fixture(name="gitlab")
def _gitlab(tmp_path: Path, description: Description) -> Iterator[FakeGitLab]:
    """A fake GitLab: its API and its repositories over smart HTTP, checked against the description.

    At teardown, the test fails if any request it made or answer it got broke the description.
    """
    from fake_gitlab import FakeGitLab

    if _git_version() < (2, 38):
        pytest.skip("the fake GitLab merges with `git merge-tree --write-tree` (git 2.38 or later)")

    with FakeGitLab(tmp_path / "gitlab", description=description) as fake:
        yield fake
    assert not fake.violations, "the fake GitLab saw requests or gave answers off the description:\n" + "\n".join(
        fake.violations
    )


@pytest.fixture(name="token")
def _token(gitlab: FakeGitLab, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fake's token, in $GITLAB_TOKEN."""
    monkeypatch.setenv("GITLAB_TOKEN", gitlab.token)
    return gitlab.token


@pytest.fixture(name="repo")
def _repo(gitlab: FakeGitLab) -> str:
    """The URL of project group/sub/app, branches master, dev, stage and prod at one commit."""
    return gitlab.create_project(
        PROJECT,
        {"hld/component.yaml": "name: app\n", "hld/config/common.yaml": "image: v1\n"},
        branches=("master", "dev", "stage", "prod"),
    )


@pytest.fixture(name="clock")
def _clock() -> FakeClock:
    """The clock hosts wait on: retries and polls take no real time."""
    return FakeClock()


@pytest.fixture(name="host")
def _host(gitlab: FakeGitLab, token: str, clock: FakeClock) -> Iterator[GitLabHost]:
    """The gitlab host, talking to the fake, waiting on ``clock``."""
    from fabpromote_gitlab import GitLabHost

    host = GitLabHost(api_url=gitlab.api_url, protected={"prod": ("promote", "rollback")}, timeout=10, clock=clock)
    yield host
    host.close()
