"""A network operation fails within $FABPROMOTE_NETWORK_TIMEOUT overall, retries included, with one line.

Real servers on 127.0.0.1 that accept and then hang, or answer garbage, in
front of every kind of network operation the CLI makes: listing the refs of
the cluster HLD (smart HTTP and ``git://``), fetching an app source, the
publish to the manifests repo, a ``method: http`` download. The CLI runs as
a process, so what reaches its stderr is what a user sees.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.tcpfaults import HostileServer

#: The network timeout the tests configure, seconds.
TIMEOUT = 3
#: What a run may take beyond the timeout: starting Python, reading the HLD, rendering.
SLACK = 4.0
#: Bytes a garbage-answering server sends: never to be repeated on stderr.
MARKER = b"SERVER-BYTES-"


@pytest.fixture(name="fleet")
def _fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalFleet:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    fleet = LocalFleet(tmp_path / "fleet")
    fleet.write_hld(f"{fleet.served}/")
    return fleet


def run_cli(cwd: Path, *args: str, timeout: str = str(TIMEOUT)) -> tuple[subprocess.CompletedProcess[str], float]:
    """``fabpromote ARGS`` in ``cwd`` with the network timeout set; its result and how long it took."""
    env = {**os.environ, "FABPROMOTE_NETWORK_TIMEOUT": timeout, "FABPROMOTE_CACHE_DIR": str(cwd / "cache")}
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fabpromote", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=4 * TIMEOUT + 2 * SLACK,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"fabpromote {' '.join(args)} still waiting on the server after {4 * TIMEOUT + 2 * SLACK:g} s")
    return done, time.monotonic() - start


def write_config(fleet: LocalFleet, *, hld: str, manifests: str) -> Path:
    (fleet.root / "fabpromote.yaml").write_text(f"name: test\nhld: {hld}\nmanifests: {manifests}\n")
    return fleet.root


def point_hld_at(fleet: LocalFleet, app_base: str) -> None:
    """The cluster HLD's app source at ``app_base``, on every branch."""
    fleet.write_hld(app_base)


def download_only(fleet: LocalFleet, url: str, kind: str = "type: static, method: http") -> None:
    """The cluster HLD's dev branch: one component downloaded from ``url`` (a file, or a chart)."""
    component = f"name: cluster\nsubcomponents:\n- {{name: d, {kind}, source: '{url}'}}\n"
    fleet.hld_work.commit({"component.yaml": component}, "a download", branch="dev")
    git("push", "-q", "served", "dev", cwd=fleet.hld_work.path)


def scenario(fleet: LocalFleet, where: str, server: HostileServer) -> tuple[Path, list[str], str]:
    """Set up ``where`` to reach ``server``: the folder, the arguments, and the remote the error must name."""
    served = fleet.served
    if where == "hld-http":
        return write_config(fleet, hld=f"{server.url}hld.git", manifests=f"{served}/manifests.git"), [], "hld.git"
    if where == "hld-git":
        url = f"git://127.0.0.1:{server.port}/"
        return write_config(fleet, hld=f"{url}hld.git", manifests=f"{served}/manifests.git"), [], "hld.git"
    if where == "app-http":
        point_hld_at(fleet, server.url)
        return write_config(fleet, hld=f"{served}/hld.git", manifests=f"{served}/manifests.git"), [], "app.git"
    if where == "publish-http":
        folder = write_config(fleet, hld=f"{served}/hld.git", manifests=f"{server.url}manifests.git")
        return folder, ["--publish"], "manifests.git"
    assert where == "download"
    download_only(fleet, f"{server.url}d.yaml")
    return write_config(fleet, hld=f"{served}/hld.git", manifests=f"{served}/manifests.git"), [], "d.yaml"


WHERE = ["hld-http", "hld-git", "app-http", "publish-http", "download"]


@pytest.mark.parametrize("where", WHERE)
def test_a_hanging_server_fails_within_the_timeout_with_one_line(fleet: LocalFleet, where: str) -> None:
    """A server that accepts and says nothing: one line naming it, after about the timeout (not 4 times it)."""
    with HostileServer(answer=None) as server:
        folder, extra, remote = scenario(fleet, where, server)
        done, seconds = run_cli(folder, "-v", "materialize", "dev", *extra)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert re.fullmatch(
        rf"fabpromote: error: (cannot download )?\w+://127\.0\.0\.1:{server.port}/{re.escape(remote)}(: cannot [^:]+)?: "
        rf"no answer within {TIMEOUT} s \(the limit is set by \$FABPROMOTE_NETWORK_TIMEOUT\)",
        lines[0],
    ), lines[0]
    assert TIMEOUT <= seconds < TIMEOUT + SLACK, f"took {seconds:.1f} s with a timeout of {TIMEOUT} s"
    assert server.connections == 1  # a request sent is never sent again: that would wait again


GARBAGE = {
    "not-http": MARKER * 300 + b"\r\n\r\n",
    "bad-headers": b"HTTP/1.1 200 OK\r\n" + MARKER * 300 + b"\r\n\r\n",
    "bad-refs": b"HTTP/1.0 200 OK\r\n\r\n" + MARKER * 300,
    "bad-pkt-lines": b"HTTP/1.0 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n\r\n"
    + MARKER * 300,
}


@pytest.mark.parametrize(
    ("where", "answer"),
    # A download is any body: only an answer that is not HTTP is wrong for it.
    [(where, answer) for where in ("hld-http", "app-http") for answer in GARBAGE] + [("download", "not-http")],
)
def test_a_garbage_answer_is_one_line_without_the_servers_bytes(fleet: LocalFleet, where: str, answer: str) -> None:
    """No urllib3 ``Retrying (...)`` warnings, no traceback, none of the server's bytes: one line naming the remote."""
    with HostileServer(answer=GARBAGE[answer]) as server:
        folder, extra, remote = scenario(fleet, where, server)
        done, _ = run_cli(folder, "-v", "materialize", "dev", *extra)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("fabpromote: error: "), lines[0]
    assert f"127.0.0.1:{server.port}/{remote}" in lines[0]
    assert MARKER.decode() not in done.stderr
    assert "Retrying" not in done.stderr
    assert "WARNING" not in done.stderr


def test_the_timeout_must_be_a_positive_number(fleet: LocalFleet) -> None:
    with HostileServer(answer=None) as server:
        folder, _, _ = scenario(fleet, "hld-http", server)
        done, _ = run_cli(folder, "materialize", "dev", timeout="soon")
    assert done.returncode == 1
    assert done.stderr == (
        "fabpromote: error: $FABPROMOTE_NETWORK_TIMEOUT must be a positive number of seconds, not 'soon'\n"
    )


@pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="pulls a chart: needs helm on PATH and the fabpromote-helm plugin",
)
def test_a_chart_download_from_a_hanging_repository_fails_within_the_timeout(fleet: LocalFleet) -> None:
    """``helm pull`` from a chart repository that accepts and hangs is stopped at the network timeout."""
    with HostileServer(answer=None) as server:
        download_only(fleet, server.url, "type: helm, method: helm, path: demo, version: 0.1.0")
        folder = write_config(fleet, hld=f"{fleet.served}/hld.git", manifests=f"{fleet.served}/manifests.git")
        done, seconds = run_cli(folder, "materialize", "dev")
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"fabpromote: error: helm pull of chart demo 0.1.0 from {server.url} did not finish within {TIMEOUT} s "
        "and was killed; raise FABPROMOTE_NETWORK_TIMEOUT if needed"
    ]
    assert TIMEOUT <= seconds < TIMEOUT + SLACK, f"took {seconds:.1f} s with a timeout of {TIMEOUT} s"


class TestHostSettings:
    """The checks of a REST-API host's settings, raising the plugin's own error."""

    class PluginError(ValueError):
        pass

    def test_api_url(self) -> None:
        from fabpromote.network import api_url_setting

        assert (
            api_url_setting(" https://git.example.com/api/v1/ ", self.PluginError) == "https://git.example.com/api/v1"
        )
        with pytest.raises(self.PluginError, match="api_url must be an http"):
            api_url_setting("ftp://git.example.com", self.PluginError)
        with pytest.raises(self.PluginError, match="must not carry credentials") as error:
            api_url_setting("https://user:s3cret@git.example.com", self.PluginError)
        assert "s3cret" not in str(error.value)

    def test_number(self) -> None:
        from fabpromote.network import number_setting

        assert number_setting("max_retries", "3", int, self.PluginError) == 3
        assert number_setting("backoff", 0, float, self.PluginError) == 0.0
        with pytest.raises(self.PluginError, match="timeout must be positive, not 0"):
            number_setting("timeout", 0, float, self.PluginError)
        with pytest.raises(self.PluginError, match="max_wait must be a number, not 'soon'"):
            number_setting("max_wait", "soon", float, self.PluginError)

    def test_token_env(self) -> None:
        from fabpromote.network import token_env_setting

        assert token_env_setting("", "GITEA_TOKEN", self.PluginError) == "GITEA_TOKEN"
        assert token_env_setting(" MY_TOKEN ", "GITEA_TOKEN", self.PluginError) == "MY_TOKEN"
        with pytest.raises(self.PluginError, match="token_env must name an environment variable, not 'ghp_x-y'"):
            token_env_setting("ghp_x-y", "GITEA_TOKEN", self.PluginError)
