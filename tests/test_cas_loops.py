"""The compare-and-swap loop of publish: a lost race is read again, a bounded number of times.

Not a network retry (the hosts retry their own requests, see fabpromote.network):
each attempt reads the branch afresh and writes only over the head it read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from fabpromote import Cluster, host_for, materialize, publish
from fabpromote.exceptions import PublishError, StaleBranchError
from fabpromote.testing.fleet import LocalFleet


class _AlwaysMoved:
    """A Git host whose branch always moves between the read and the write."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.host, name)

    def commit_files(self, url: str, branch: str, *args: Any, **kwargs: Any) -> str | None:
        self.writes += 1
        raise StaleBranchError(branch, kwargs.get("expected"), "0" * 40, url=url)


def test_publish_gives_up_after_its_attempts(tmp_path: Path) -> None:
    """Losing every race, publish tries exactly ``retries`` times, pausing briefly, then says so."""
    fleet = LocalFleet(tmp_path / "fleet")
    base = f"{fleet.served}/"
    fleet.write_hld(base)
    cluster = Cluster.from_file(fleet.config(base))
    host = _AlwaysMoved(host_for(cluster, cluster.manifests.url))
    result = materialize(cluster, "dev")
    started = time.monotonic()
    with pytest.raises(PublishError, match=r"branch dev moved during 3 attempts to publish; try again"):
        publish(result, cluster, host=host, retries=3)
    # The pauses between lost races are jitter, 0.3 s at most in all: the rest is reading the branch.
    assert time.monotonic() - started < 10
    assert host.writes == 3
    assert fleet.branch("dev") is None
