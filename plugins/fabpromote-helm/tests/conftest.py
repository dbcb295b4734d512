"""Fixtures: the real helm binary, small charts built in tmp_path, an isolated cache.

Also a helm chart repository served on 127.0.0.1 (:class:`ChartServer`) and
real git repositories made with the ``git`` CLI, for the fetching tests.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fabpromote_helm
import pytest

from fabpromote import Component, ComponentConfig, Fetcher, RenderRequest
from fabpromote.testing.unavailable import unavailable

#: Variables of the generator that a developer's shell might set; every test starts without them.
_SETTINGS_ENV = (
    "FABPROMOTE_HELM_TIMEOUT",
    "FABPROMOTE_HELM_STDERR",
    "FABPROMOTE_HELM_SPLIT",
    "FABPROMOTE_NO_RENDER_CACHE",
    "FABPROMOTE_HELM_BACKEND",
)


def _find_helm() -> str | None:
    explicit = os.environ.get("FABPROMOTE_HELM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("helm")


def _major(binary: str | None) -> int | None:
    if binary is None or not os.access(binary, os.X_OK):
        return None
    version = subprocess.run([binary, "version", "--short"], capture_output=True, text=True, check=False).stdout
    return int(version.strip().lstrip("v").split(".")[0]) if version.startswith("v") else None


#: The helms the tests run against, by major: the reference v3.18.0 (FABPROMOTE_HELM or PATH)
#: and helm 4 (FABPROMOTE_HELM4, which scripts/test.sh sets to scripts/install-helm.sh 4's).
_HELMS = {3: _find_helm(), 4: os.environ.get("FABPROMOTE_HELM4") or None}
#: The major each of them really is, asked once per session (None: missing or not helm).
_MAJORS = {major: _major(binary) for major, binary in _HELMS.items()}
#: helm v4.2.3 (scripts/install-helm.sh 4.2), the helm inside helm-python-sdk 0.2.2: the in-process
#: backend's output is compared with its output, and it pulls and builds charts for that backend.
HELM42 = os.environ.get("FABPROMOTE_HELM42") or None
HELM42_VERSION = "v4.2.3"


@functools.cache  # asked by every test of the in-process backend: one helm process per session
def _version(binary: str | None) -> str | None:
    if binary is None or not os.access(binary, os.X_OK):
        return None
    return subprocess.run([binary, "version", "--template", "{{.Version}}"], capture_output=True, text=True).stdout


def sdk_missing() -> str | None:
    """Why the in-process backend's tests cannot run, or None when they can."""
    if importlib.util.find_spec("helm_python") is None:
        return "needs helm-python-sdk: pip install 'fabpromote-helm[sdk]' (scripts/bootstrap.sh does)"
    if _version(HELM42) != HELM42_VERSION:
        return f"needs helm {HELM42_VERSION}: set FABPROMOTE_HELM42 to `bash scripts/install-helm.sh 4.2`'s helm"
    return None


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the home, the cache, helm's homes and temporary files in tmp_path; zero the counters."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "helm-home" / name.lower()))
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    # Requests to the test servers must not go through a proxy of the developer's shell.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # git made by the tests: no user or system config, a fixed author.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    fabpromote_helm.reset_stats()


@pytest.fixture(name="helm_binary", params=[3, 4, "sdk"], ids=["helm3", "helm4", "sdk"])
def _helm_binary(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real helm of each major, also exported as FABPROMOTE_HELM: every test using it runs with each.

    The third run renders in-process (FABPROMOTE_HELM_BACKEND=sdk), with
    helm v4.2.3 as the binary for what still runs one (pulls, dependency builds).
    Without that helm the test skips, except in CI (``CI`` set), where scripts/bootstrap.sh installed all.
    """
    if request.param == "sdk":
        missing = sdk_missing()
        if missing:
            unavailable(missing)
        assert HELM42 is not None
        monkeypatch.setenv("FABPROMOTE_HELM", HELM42)
        monkeypatch.setenv("FABPROMOTE_HELM_BACKEND", "sdk")
        return HELM42
    major: int = request.param
    binary = _HELMS[major]
    if _MAJORS[major] != major:
        why = (
            f"needs helm {major}: "
            + ("set FABPROMOTE_HELM to it or put helm on PATH" if major == 3 else "set FABPROMOTE_HELM4 to it")
            + f" (`bash scripts/install-helm.sh {major}` installs it and prints its folder)"
        )
        unavailable(why)
    assert binary is not None
    monkeypatch.setenv("FABPROMOTE_HELM", binary)
    return binary


@pytest.fixture(name="helm_major")
def _helm_major(helm_binary: str, request: pytest.FixtureRequest) -> int:
    """The major version of ``helm_binary``: 3 or 4 (the fixture checked it is that major; the SDK's helm is 4)."""
    param = request.node.callspec.params["helm_binary"]
    return 4 if param == "sdk" else int(param)


@pytest.fixture(name="helm_minor")
def _helm_minor(helm_major: int, request: pytest.FixtureRequest) -> tuple[int, int]:
    """(major, minor) of the helm that renders: v3.18.0, v4.1.4 (FABPROMOTE_HELM4) or the SDK's v4.2.3."""
    param = request.node.callspec.params["helm_binary"]
    return {3: (3, 18), 4: (4, 1), "sdk": (4, 2)}[param]


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  greeting: {{ .Values.greeting | default "hello" | quote }}
  namespace: {{ .Release.Namespace }}
"""


def write_chart(
    directory: Path,
    *,
    name: str = "demo",
    version: str = "0.1.0",
    templates: dict[str, str] | None = None,
    deprecated: bool = False,
    values: str = "",
    dependencies: str = "",
) -> Path:
    """Write a small helm chart into ``directory`` and return it.

    ``dependencies`` is the YAML list under ``dependencies:`` in Chart.yaml.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\n"
    if deprecated:
        chart_yaml += "deprecated: true\n"
    if dependencies:
        chart_yaml += "dependencies:\n" + textwrap.dedent(dependencies)
    (directory / "Chart.yaml").write_text(chart_yaml)
    (directory / "values.yaml").write_text(values)
    (directory / "templates").mkdir(exist_ok=True)
    for file, text in (templates or {"cm.yaml": CONFIGMAP}).items():
        (directory / "templates" / file).write_text(textwrap.dedent(text))
    return directory


@pytest.fixture(name="chart")
def _chart(tmp_path: Path) -> Path:
    """An HLD folder with a one-ConfigMap chart at ``chart/``."""
    hld = tmp_path / "hld"
    write_chart(hld / "chart")
    return hld


MakeRequest = Callable[..., RenderRequest]


@pytest.fixture(name="make_request")
def _make_request() -> MakeRequest:
    """Build the RenderRequest of an inlined helm component."""

    def make(
        directory: Path,
        *,
        name: str = "web",
        method: str = "",
        path: str = "chart",
        source: str = "",
        version: str = "",
        branch: str = "",
        namespace: str = "",
        inject_namespace: bool = False,
        config: dict[str, Any] | None = None,
        fetcher: Fetcher | None = None,
        boundary: Path | None = None,
    ) -> RenderRequest:
        component = Component(
            name=name, type="helm", method=method, path=path, source=source, version=version, branch=branch
        )
        merged = ComponentConfig(namespace=namespace, inject_namespace=inject_namespace, config=config or {})
        return RenderRequest(
            component=component,
            config=merged,
            directory=directory,
            logical_path="",
            environments=("prod",),
            entry_path=name,
            boundary=boundary,
            fetcher=fetcher,
        )

    return make


# A helm chart repository on 127.0.0.1

#: The server shuts itself down after this many seconds, should a test never stop it.
SERVER_LIFETIME = 300.0
#: At most this many requests are served at once; a client silent this long is dropped.
SERVER_CONCURRENCY = 16
SERVER_SOCKET_TIMEOUT = 30.0


def versioned_configmap(version: str) -> dict[str, str]:
    """Templates of a chart whose ConfigMap tells the chart version."""
    return {"cm.yaml": CONFIGMAP + f'  version: "{version}"\n'}


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _CountingServer
    timeout = SERVER_SOCKET_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record(self.path)
        super().do_GET()


class _CountingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: Path) -> None:
        super().__init__(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(SERVER_CONCURRENCY)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)


class ChartServer:
    """A chart repository (``index.yaml`` and ``.tgz`` files) served over HTTP on 127.0.0.1.

    Attributes:
        directory: The served folder.
        url: ``http://127.0.0.1:<port>``.
        requests: The paths asked for, in order.
    """

    def __init__(self, directory: Path, helm: str) -> None:
        self.directory = directory
        self.helm = helm
        self._server = _CountingServer(directory)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(SERVER_LIFETIME, self._server.shutdown)
        self._timer.daemon = True

    @property
    def requests(self) -> list[str]:
        return list(self._server.requests)

    def add(self, chart: Path) -> Path:
        """``helm package`` the chart folder into the repository and index it again; returns the archive."""
        done = subprocess.run(
            [self.helm, "package", str(chart), "--destination", str(self.directory)],
            capture_output=True,
            text=True,
            check=True,
        )
        archive = Path(done.stdout.strip().rsplit(": ", 1)[-1])
        subprocess.run(
            [self.helm, "repo", "index", str(self.directory), "--url", self.url], capture_output=True, check=True
        )
        return archive

    def start(self) -> None:
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(name="chart_server")
def _chart_server(helm_binary: str, tmp_path: Path) -> Iterator[ChartServer]:
    """A chart repository with chart ``demo`` at 0.1.0, 0.2.0 and 0.3.0-rc.1 (a pre-release)."""
    directory = tmp_path / "chart-repo"
    directory.mkdir()
    server = ChartServer(directory, helm_binary)
    sources = tmp_path / "chart-sources"
    for version in ("0.1.0", "0.2.0", "0.3.0-rc.1"):
        server.add(write_chart(sources / version, version=version, templates=versioned_configmap(version)))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class OciRegistry:
    """A real OCI registry (Debian's ``docker-registry``, Distribution) on 127.0.0.1, storing in a folder.

    Attributes:
        url: ``oci://127.0.0.1:<port>/charts``, where :meth:`push` puts charts.
        host: ``127.0.0.1:<port>``, to list in ``FABPROMOTE_HELM_PLAIN_HTTP`` (it speaks plain HTTP).
    """

    def __init__(self, folder: Path, helm: str) -> None:
        self.folder = folder
        self.helm = helm
        self.host = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"oci://{self.host}/charts"

    def start(self, binary: str) -> None:
        """Serve on a free port; a port another test took meanwhile is tried again with another one."""
        for _ in range(5):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                self.host = f"127.0.0.1:{sock.getsockname()[1]}"
            config = self.folder / "config.yml"
            config.write_text(
                f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {self.folder}/data}}}}\n"
                f"http: {{addr: '{self.host}'}}\n"
            )
            self._process = subprocess.Popen(
                [binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            if self._answers():
                return
            self.stop()
        raise RuntimeError("docker-registry did not start on 127.0.0.1")

    def _answers(self) -> bool:
        import urllib.request

        for _ in range(100):
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1):
                    return True
            except OSError:
                threading.Event().wait(0.05)
        return False

    def push(self, chart: Path) -> Path:
        """``helm package`` the chart folder and ``helm push`` it here; returns the archive pushed."""
        done = subprocess.run(
            [self.helm, "package", str(chart), "--destination", str(self.folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        archive = Path(done.stdout.strip().rsplit(": ", 1)[-1])
        subprocess.run([self.helm, "push", str(archive), self.url, "--plain-http"], capture_output=True, check=True)
        return archive

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)


@pytest.fixture(name="oci_registry")
def _oci_registry(helm_binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OciRegistry]:
    """An OCI registry holding chart ``demo`` at 0.1.0 and 0.2.0, reached over plain HTTP.

    Needs ``docker-registry`` (scripts/install-debian-tools.sh installs it): skips without
    it, except in CI, where that is a failure.
    """
    binary = shutil.which("docker-registry")
    if binary is None:
        why = "needs Debian's docker-registry (scripts/install-debian-tools.sh installs it)"
        unavailable(why)
    registry = OciRegistry(tmp_path / "registry", helm_binary)
    registry.folder.mkdir()
    registry.start(binary)
    try:
        sources = tmp_path / "oci-sources"
        for version in ("0.1.0", "0.2.0"):
            registry.push(write_chart(sources / version, version=version, templates=versioned_configmap(version)))
        monkeypatch.setenv("FABPROMOTE_HELM_PLAIN_HTTP", registry.host)
        yield registry
    finally:
        registry.stop()


@pytest.fixture(name="closed_url")
def _closed_url() -> Iterator[str]:
    """An http URL on 127.0.0.1 that refuses connections: its port is bound, never listening, held for the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


# Git repositories


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; return its stripped stdout."""
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in ``repo``; return the commit SHA."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def init_repo(repo: Path) -> Path:
    """An empty git repository on branch ``main``."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    return repo
