"""A secret in any URL field, or in a token variable, never shows: not in any output, file or file name.

The secret is put in every place a URL is written (the cluster HLD's and the
manifests' URLs of ``fabpromote.yaml``, a ``repos:`` entry's token variable,
the app sources, a helm repository and a download in the HLD) and served by
real servers on 127.0.0.1 that require it. Then the CLI runs (``-v``) what
reads and writes them all, and everything it leaves is scanned: stdout,
stderr and log lines, the ``--json`` lock and a lock file made from it (which
must still reproduce the render), the trailers and files of the manifests
repository, the ``--out`` folder, and every file name and file of the cache.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import marshal
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from fabpromote import Plugins
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.gitservers import SmartHTTPServer

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="renders a helm chart: needs helm on PATH and the fabpromote-helm plugin",
)

#: In the user info of every URL (percent-encoded there: it holds characters URLs quote).
SECRET = "pa ss/w0rd:9f2b"
#: The value of a token variable (``token_env``) of one repository.
TOKEN = "tok-7c41e0aa"
CHART_YAML = "apiVersion: v2\nname: demo\nversion: 0.1.0\n"
TEMPLATE = "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: from-chart\n"


def forms(secret: str) -> list[bytes]:
    """Every spelling of ``secret`` that would give it away."""
    return [form.encode() for form in {secret, quote(secret, safe=""), quote(secret)}]


SECRETS = forms(SECRET) + forms(TOKEN)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(name="files_server")
def _files_server(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A folder served over HTTP on 127.0.0.1 (a chart repository, a download): the folder and its port."""
    folder = tmp_path / "files"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield folder, int(server.server_address[1])
    server.shutdown()
    server.server_close()


def publish_chart(folder: Path) -> None:
    """Chart ``demo`` 0.1.0 (one ConfigMap) and its index, the chart's URL relative to the index."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in (("demo/Chart.yaml", CHART_YAML), ("demo/templates/cm.yaml", TEMPLATE)):
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    archive = buffer.getvalue()
    (folder / "demo-0.1.0.tgz").write_bytes(archive)
    (folder / "index.yaml").write_text(
        "apiVersion: v1\nentries:\n  demo:\n  - apiVersion: v2\n    name: demo\n    version: 0.1.0\n"
        f"    digest: {hashlib.sha256(archive).hexdigest()}\n    urls: [demo-0.1.0.tgz]\n"
        'generated: "2025-01-01T00:00:00Z"\n'
    )


def with_secret(url: str) -> str:
    return url.replace("http://", f"http://user:{quote(SECRET, safe='')}@", 1)


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fabpromote", "-v", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def leaks(data: bytes) -> list[str]:
    return [form.decode() for form in SECRETS if form in data]


def committed_files(served: Path) -> set[bytes]:
    """The content of every file committed in the served repositories: the user's own files."""
    found = set()
    for repo in served.iterdir():
        listing = git("--git-dir", str(repo), "rev-list", "--all", "--objects")
        for line in listing.splitlines():
            sha = line.split(" ", 1)[0]
            if git("--git-dir", str(repo), "cat-file", "-t", sha) == "blob":
                found.add(
                    subprocess.run(
                        ["git", "--git-dir", str(repo), "cat-file", "blob", sha], capture_output=True, check=True
                    ).stdout
                )
    return found


def scan_tree(folder: Path, users_files: set[bytes]) -> list[str]:
    """Secrets in the names and files under ``folder``.

    Left out: copies of the user's own committed files (snapshots of the
    HLD, which holds the URLs it was written with) and git objects of
    mirrors (those same files, compressed).
    """
    found = []
    for path in folder.rglob("*"):
        relative = str(path.relative_to(folder))
        found += [f"file name {relative}: {leak}" for leak in leaks(relative.encode())]
        if path.is_symlink() or not path.is_file():
            continue
        if "objects" in path.relative_to(folder).parts and "mirrors" in path.relative_to(folder).parts:
            continue
        data = path.read_bytes()
        if data in users_files:
            continue
        if path.parent.name == "parsed":
            data = b"\n".join(unwritten_strings(data, users_files))
        found += [f"file {relative}: {leak}" for leak in leaks(data)]
    return found


def unwritten_strings(record: bytes, users_files: set[bytes]) -> list[bytes]:
    """The strings of a parse cache file (magic line, digest line, marshal body) that no user's file holds.

    The parse cache keeps the components it read, sources and all: a URL
    the user wrote into their HLD is kept as written, as in the snapshot.
    """
    body = record.split(b"\n", 2)[2]
    strings: list[bytes] = []
    pending = [marshal.loads(body)]  # a file this run of the test wrote
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple)):
            pending += value
        elif isinstance(value, str):
            strings.append(value.encode())
    return [string for string in strings if not any(string in file for file in users_files)]


@needs_helm
def test_a_secret_in_every_url_field_never_shows(
    tmp_path: Path, files_server: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    cache = tmp_path / "cache"
    monkeypatch.setenv("FABPROMOTE_CACHE_DIR", str(cache))
    monkeypatch.setenv("APP2_TOKEN", TOKEN)
    folder, port = files_server
    publish_chart(folder)
    (folder / "d.yaml").write_text("kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: downloaded\n")
    files = with_secret(f"http://127.0.0.1:{port}/")

    fleet = LocalFleet(tmp_path / "fleet")
    git("clone", "-q", "--bare", str(fleet.served / "app.git"), str(fleet.served / "app2.git"))
    with SmartHTTPServer(fleet.served, token=SECRET, tokens={"app2.git": TOKEN}) as server:
        base = server.url
        hld = (
            "name: cluster\nsubcomponents:\n"
            f"- {{name: app, method: git, source: '{with_secret(base)}app.git', branch: dev, path: hld}}\n"
            f"- {{name: app2, method: git, source: '{base}app2.git', branch: dev, path: hld}}\n"
            f"- {{name: chart, type: helm, method: helm, source: '{files}', path: demo, version: 0.1.0}}\n"
            f"- {{name: d, type: static, method: http, source: '{files}d.yaml'}}\n"
        )
        fleet.hld_work.commit({"component.yaml": hld}, "hld", branch="dev")
        git("push", "-q", "served", "dev", cwd=fleet.hld_work.path)
        work = tmp_path / "work"
        work.mkdir()
        (work / "fabpromote.yaml").write_text(
            f"name: test\nhld: '{with_secret(base)}hld.git'\nmanifests: '{with_secret(base)}manifests.git'\n"
            f"repos:\n  - {{url: '{base}app2.git', token_env: APP2_TOKEN}}\n"
        )
        runs = [run_cli(work, "materialize", "dev"), run_cli(work, "materialize", "dev", "--json")]
        assert runs[-1].returncode == 0, runs[-1].stderr
        lock = work / "lock.json"
        lock.write_text(runs[-1].stdout)
        out = tmp_path / "out"
        runs.append(run_cli(work, "materialize", "dev", "--lock", str(lock), "--out", str(out), "--publish"))
        assert runs[-1].returncode == 0, runs[-1].stderr  # the lock, redacted, still pins every part
        runs += [run_cli(work, "history", "dev"), run_cli(work, "history", "dev", "--json"), run_cli(work, "status")]
        # A failure naming a credentialed remote: a lock pinning a commit the server does not have.
        bad = json.loads(lock.read_text())
        app = next(entry for entry in bad["lock"] if entry["component"] == "app")
        app["sha"] = "1" * 40
        (work / "bad.json").write_text(json.dumps(bad))
        runs.append(run_cli(work, "materialize", "dev", "--lock", str(work / "bad.json")))
        assert runs[-1].returncode == 1
        assert "http://***@127.0.0.1" in runs[-1].stderr  # the remote is named, redacted

    trailers = git("--git-dir", str(fleet.served / "manifests.git"), "log", "--all", "-p", "--format=%H%n%B")
    assert "Fabpromote-Source: " in trailers
    # Every part was rendered and published.
    assert "from-chart" in trailers
    assert "downloaded" in trailers
    found = []
    for number, done in enumerate(runs):
        found += [
            f"run {number} {stream}: {leak}"
            for stream in ("stdout", "stderr")
            for leak in leaks(getattr(done, stream).encode())
        ]
    found += [f"manifests repository: {leak}" for leak in leaks(trailers.encode())]
    users_files = committed_files(fleet.served)
    found += (
        scan_tree(cache, users_files)
        + scan_tree(out, users_files)
        + scan_tree(work, users_files | {(work / "fabpromote.yaml").read_bytes()})
    )
    assert found == []
    # The log lines (-v) name the remotes they fetch, redacted.
    assert f"INFO: fetching 1 commit from {base.replace('http://', 'http://***@')}app.git" in runs[0].stderr
    shown = [entry["url"] for entry in json.loads(lock.read_text())["lock"]]
    assert f"{base.replace('http://', 'http://***@')}app.git" in shown
    assert f"{files.split('@')[0].split('//')[0]}//***@127.0.0.1:{port}/" in shown


def test_one_redaction_knows_every_secret_of_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Token values of any Credentials and passwords met in URLs are hidden by redact(), errors and locks alike."""
    from fabpromote import LockEntry
    from fabpromote._util.credentials import Credentials, redact, remember_url
    from fabpromote.exceptions import FabpromoteError

    monkeypatch.setenv("ONE_REPO_TOKEN", "tok-0b3c9e")
    monkeypatch.setenv("SHORT_TOKEN", "ab")
    Credentials({"git.example.com/org/app": "ONE_REPO_TOKEN", "other.example.com": "SHORT_TOKEN"})
    remember_url("https://me:pw%2F77@host/x.git")
    assert redact("sent tok-0b3c9e and pw/77 and pw%2F77") == "sent *** and *** and ***"
    # Too short to hide outside a URL without mangling every SHA and manifest: hidden in URLs only.
    assert redact("a tab, https://x:ab@host/") == "a tab, https://***@host/"
    assert str(FabpromoteError("the server said tok-0b3c9e")) == "the server said ***"
    entry = LockEntry(component="app", url="https://me:pw%2F77@host/x.git", ref="dev", sha="1" * 40)
    assert entry.to_json()["url"] == "https://***@host/x.git"
    assert "pw" not in repr(entry)
    assert entry.url == "https://me:pw%2F77@host/x.git"  # kept as given, to fetch with
