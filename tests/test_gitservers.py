"""The test Git servers: real `git daemon` and `git http-backend` on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import socket
import subprocess
from pathlib import Path

import pytest

from fabpromote.testing.gitservers import GitDaemon, SmartHTTPServer, git_daemon, smart_http


def git(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True)


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep git away from the user's configuration, and from prompting."""
    for name, value in {
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(name="served")
def _served(tmp_path: Path) -> Path:
    """A directory holding one bare repository, app.git, with one commit on master."""
    work = tmp_path / "work"
    git("-c", "init.defaultBranch=master", "init", "-q", str(work))
    (work / "README").write_text("hello\n")
    git("add", "README", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    served = tmp_path / "served"
    served.mkdir()
    git("clone", "-q", "--bare", str(work), str(served / "app.git"))
    return served


def push_commit(clone: Path, name: str, url: str | None = None) -> None:
    (clone / name).write_text(f"{name}\n")
    git("add", name, cwd=clone)
    git("commit", "-qm", name, cwd=clone)
    git("push", "-q", url or "origin", "master", cwd=clone)


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class TestGitDaemon:
    def test_clone_and_push(self, served: Path, tmp_path: Path) -> None:
        """git clones from the daemon and pushes to it."""
        with git_daemon(served) as base:
            assert base.startswith("git://127.0.0.1:")
            git("clone", "-q", f"{base}app.git", str(tmp_path / "clone"))
            assert (tmp_path / "clone" / "README").read_text() == "hello\n"
            push_commit(tmp_path / "clone", "pushed")
        assert git("log", "--format=%s", "-1", "master", cwd=served / "app.git").stdout == "pushed\n"

    def test_stop_and_restart_on_the_same_port(self, served: Path, tmp_path: Path) -> None:
        """After stop() the port refuses connections; start() serves there again."""
        daemon = GitDaemon(served)
        with daemon:
            port = daemon.port
            daemon.stop()
            assert refuses_connections(port)
            daemon.start()
            assert daemon.port == port
            git("clone", "-q", f"{daemon.url}app.git", str(tmp_path / "clone"))
        assert refuses_connections(port)


class TestSmartHTTP:
    def test_clone_and_push(self, served: Path, tmp_path: Path) -> None:
        """git clones over smart HTTP and pushes (http.receivepack is on)."""
        with smart_http(served) as base:
            assert base.startswith("http://127.0.0.1:")
            git("clone", "-q", f"{base}app.git", str(tmp_path / "clone"))
            push_commit(tmp_path / "clone", "pushed")
        assert git("log", "--format=%s", "-1", "master", cwd=served / "app.git").stdout == "pushed\n"

    def test_protocol_v2(self, served: Path) -> None:
        """The Git-Protocol header reaches upload-pack, which then speaks v2."""
        with SmartHTTPServer(served) as server:
            status, body = request(
                server, "GET", "/app.git/info/refs?service=git-upload-pack", {"Git-Protocol": "version=2"}
            )
        assert status == 200
        assert b"version 2" in body

    def test_token_required(self, served: Path, tmp_path: Path) -> None:
        """With a token, requests without it get 401 and a challenge; with it they succeed."""
        with SmartHTTPServer(served, token="s3cret") as server:
            status, _ = request(server, "GET", "/app.git/info/refs?service=git-upload-pack")
            assert status == 401
            assert server.requests[-1] == ("GET", "/app.git/info/refs?service=git-upload-pack", 401)
            refused = git("clone", "-q", f"{server.url}app.git", str(tmp_path / "refused"), check=False)
            assert refused.returncode != 0
            url = server.url.replace("http://", "http://anyone:s3cret@")
            git("clone", "-q", f"{url}app.git", str(tmp_path / "clone"))
        assert (tmp_path / "clone" / "README").is_file()

    def test_chunked_and_gzip_bodies(self, served: Path) -> None:
        """Chunked and gzip-encoded request bodies are decoded before reaching git."""
        head = git("rev-parse", "master", cwd=served / "app.git").stdout.strip()
        want = pkt_line(f"want {head}\n") + b"0000" + pkt_line("done\n")
        headers = {"Content-Type": "application/x-git-upload-pack-request", "Content-Encoding": "gzip"}
        with SmartHTTPServer(served) as server:
            status, body = request(server, "POST", "/app.git/git-upload-pack", headers, iter([gzip.compress(want)]))
        assert status == 200
        assert b"PACK" in body

    def test_git_pushes_chunked(self, served: Path, tmp_path: Path) -> None:
        """A push larger than http.postBuffer goes chunked, and lands."""
        with smart_http(served) as base:
            clone = tmp_path / "clone"
            git("clone", "-q", f"{base}app.git", str(clone))
            (clone / "big").write_bytes(bytes(range(256)) * 400)
            git("add", "big", cwd=clone)
            git("commit", "-qm", "big", cwd=clone)
            git("-c", "http.postBuffer=1024", "push", "-q", "origin", "master", cwd=clone)
        assert git("log", "--format=%s", "-1", "master", cwd=served / "app.git").stdout == "big\n"

    def test_stop_after_bytes(self, served: Path, tmp_path: Path) -> None:
        """The fault cuts an upload-pack response and stops the server; start() brings it back."""
        with SmartHTTPServer(served) as server:
            server.stop_after_bytes = 10
            failed = git("clone", "-q", f"{server.url}app.git", str(tmp_path / "cut"), check=False)
            assert failed.returncode != 0
            assert refuses_connections(server.port)
            server.start()
            git("clone", "-q", f"{server.url}app.git", str(tmp_path / "clone"))

    def test_before_request_hook(self, served: Path) -> None:
        """A hook returning a status answers the request with it."""
        seen: list[tuple[str, str]] = []

        def hook(method: str, path: str) -> int | None:
            seen.append((method, path))
            return 403

        with SmartHTTPServer(served, before_request=hook) as server:
            status, _ = request(server, "GET", "/app.git/info/refs?service=git-upload-pack")
        assert status == 403
        assert seen == [("GET", "/app.git/info/refs?service=git-upload-pack")]


def pkt_line(text: str) -> bytes:
    data = text.encode()
    return f"{len(data) + 4:04x}".encode() + data


def request(
    server: SmartHTTPServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: object = None,
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {}, encode_chunked=body is not None)  # type: ignore[arg-type]
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
