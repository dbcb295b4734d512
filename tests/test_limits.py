"""Size limits on remote content: ``method: http`` downloads and chart archives.

Each limit stops the transfer or the expansion as soon as it is passed, ends in
a FabpromoteError naming the URL (redacted) or the archive and the limit, and
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fabpromote import Fetcher, Plugins, generate, install
from fabpromote._cli.cachecheck import check_cache
from fabpromote._util.limits import ARCHIVE_BYTES, ARCHIVE_MEMBERS, FILE_BYTES
from fabpromote.exceptions import ArchiveError, DownloadError, FabpromoteError, HLDError
from fabpromote.fetch import DOWNLOAD_BYTES, ArchiveBudget
from fabpromote.testing.httpfaults import FaultyHTTPServer

MiB = 1024 * 1024
SECRET = "s3cr3t-T0KEN"


@pytest.fixture(name="limit")
def _limit(monkeypatch: pytest.MonkeyPatch) -> int:
    """Downloads limited to 1 MiB."""
    monkeypatch.setenv(DOWNLOAD_BYTES.variable, str(MiB))
    return MiB


def download(url: str) -> bytes:
    return Fetcher(prefer_installed=False).download("c", url)


def http_hld(root: Path, url: str) -> Path:
    root.mkdir(parents=True)
    (root / "component.yaml").write_text(
        f"name: r\nsubcomponents:\n- name: big\n  type: static\n  method: http\n  source: {url}\n"
    )
    return root


class TestDownloads:
    def test_announced_length_refused_unread(self, limit: int) -> None:
        """A Content-Length past the limit is refused at once: the body (here: never sent) is not waited for."""
        with FaultyHTTPServer(content_length=10 * 1024 * MiB, body_bytes=0, stall=True) as server:
            started = time.monotonic()
            with pytest.raises(DownloadError) as info:
                download(server.url + "big.yaml")
            assert time.monotonic() - started < 5
        assert str(info.value) == (
            f"cannot download {server.url}big.yaml: larger than {limit} bytes "
            f"(the limit is set by $FABPROMOTE_MAX_DOWNLOAD_BYTES) (Content-Length {10 * 1024 * MiB})"
        )

    def test_endless_body_cut_at_the_limit(self, limit: int) -> None:
        """A body without a length that never ends is cut just past the limit."""
        with FaultyHTTPServer(content_length=None, body_bytes=None) as server:
            with pytest.raises(DownloadError, match=rf"big\.yaml: larger than {limit} bytes \(the limit is set by"):
                download(server.url + "big.yaml")
            server.stop()
        # What the server got out is what was read plus the socket buffers: far from endless.
        assert server.sent < limit + 16 * MiB

    @pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
    def test_exactly_the_limit_passes(self, limit: int, announced: bool) -> None:
        """limit bytes download; limit + 1 do not."""
        for size, fits in ((limit, True), (limit + 1, False)):
            with FaultyHTTPServer(content_length=size if announced else None, body_bytes=size) as server:
                if fits:
                    assert len(download(server.url + f"{size}.yaml")) == size
                else:
                    with pytest.raises(DownloadError, match="larger than"):
                        download(server.url + f"{size}.yaml")

    def test_gzip_bomb_counted_expanded(self, limit: int) -> None:
        """The limit counts the decoded bytes: 64 MiB of zeros gzipped into 64 KiB is refused."""
        bomb = gzip.compress(bytes(64 * MiB), compresslevel=9)
        assert len(bomb) < limit
        with (
            FaultyHTTPServer(content_length=len(bomb), payload=bomb, content_encoding="gzip") as server,
            pytest.raises(DownloadError, match="larger than"),
        ):
            download(server.url + "bomb.yaml")

    def test_credentials_redacted(self, limit: int) -> None:
        """The URL in the error has its user info replaced."""
        with FaultyHTTPServer(content_length=None, body_bytes=None) as server:
            url = server.url.replace("http://", f"http://user:{SECRET}@")
            with pytest.raises(DownloadError) as info:
                download(url + "big.yaml")
        assert SECRET not in str(info.value)
        assert "http://***@127.0.0.1:" in str(info.value)

    def test_default_limit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the variable the limit is 256 MiB; a bad value is an error naming the variable."""
        monkeypatch.delenv(DOWNLOAD_BYTES.variable, raising=False)
        assert DOWNLOAD_BYTES.value() == 256 * MiB
        assert FILE_BYTES.value() == 16 * MiB
        monkeypatch.setenv(DOWNLOAD_BYTES.variable, "1e9")
        with pytest.raises(HLDError, match=r"\$FABPROMOTE_MAX_DOWNLOAD_BYTES must be a positive number of bytes"):
            download("http://127.0.0.1:9/never-asked.yaml")

    @pytest.mark.parametrize("command", ["generate", "install"])
    def test_nothing_written(self, tmp_path: Path, limit: int, command: str) -> None:
        """generate and install stop with the error and leave the tree and the cache as they were."""
        with FaultyHTTPServer(content_length=None, body_bytes=None) as server:
            root = http_hld(tmp_path / "hld", server.url + "big.yaml")
            with pytest.raises(DownloadError):
                {"generate": generate, "install": install}[command](root, plugins=Plugins.load(autoload=False))
        assert sorted(os.listdir(root)) == ["component.yaml"]
        cache = Path(os.environ["FABPROMOTE_CACHE_DIR"])
        assert not (cache / "downloads").exists() or os.listdir(cache / "downloads") == []
        assert check_cache(cache, debris_age=0) == []


def tar_gz(members: list[tuple[str, int]]) -> bytes:
    """A gzipped tar of ``(name, size)`` regular files full of zeros."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, size in members:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


def read_with_budget(data: bytes, budget: ArchiveBudget) -> int:
    """Read every member as an expander would, counting it first; returns the bytes read."""
    read = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            budget.take(member.size if member.isreg() else 0)
            handle = tar.extractfile(member)
            read += len(handle.read()) if handle is not None else 0
    return read


class TestArchives:
    def test_bytes_bomb(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A small archive that expands past the limit stops before the entry that passes it is read."""
        monkeypatch.setenv(ARCHIVE_BYTES.variable, str(MiB))
        bomb = tar_gz([("chart/Chart.yaml", 100), ("chart/zeros", 64 * MiB)])
        assert len(bomb) < MiB
        budget = ArchiveBudget("chart-0.1.0.tgz")
        with pytest.raises(ArchiveError) as info:
            read_with_budget(bomb, budget)
        assert str(info.value) == (
            f"archive chart-0.1.0.tgz expands to more than {MiB} bytes (the limit is set by $FABPROMOTE_MAX_ARCHIVE_BYTES)"
        )
        assert budget.members == 2

    def test_member_bomb(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Many empty entries cost no bytes, but stop at the entry limit."""
        monkeypatch.setenv(ARCHIVE_MEMBERS.variable, "100")
        bomb = tar_gz([(f"chart/templates/{i}.yaml", 0) for i in range(1000)])
        budget = ArchiveBudget("many.tgz")
        with pytest.raises(ArchiveError, match=r"many\.tgz has more than 100 entries \(the limit is set by"):
            read_with_budget(bomb, budget)
        assert budget.members == 101

    def test_within_limits(self) -> None:
        """A normal chart passes with the defaults (100 MiB, 10 000 entries)."""
        assert (ARCHIVE_BYTES.value(), ARCHIVE_MEMBERS.value()) == (100 * MiB, 10_000)
        chart = tar_gz([("chart/Chart.yaml", 100), ("chart/values.yaml", 5000)])
        assert read_with_budget(chart, ArchiveBudget("ok.tgz")) == 5100


# Chart archives as the helm plugin pulls them: `helm pull` from a chart repository on 127.0.0.1.

HELM = shutil.which("helm") or os.environ.get("FABPROMOTE_HELM")
needs_helm = pytest.mark.skipif(HELM is None, reason="needs the real helm on PATH")
CHART_YAML = "apiVersion: v2\nname: bomb\nversion: 0.1.0\n"


@pytest.fixture(name="chart_repo")
def _chart_repo(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """An empty folder served as a chart repository; write it with :func:`publish`."""
    folder = tmp_path / "repo"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def publish(chart_repo: tuple[Path, str], entries: list[tarfile.TarInfo | tuple[str, bytes]]) -> None:
    """Chart ``bomb`` 0.1.0 made of ``entries`` (raw members, or name and content), and its index."""
    folder, url = chart_repo
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for entry in [("bomb/Chart.yaml", CHART_YAML.encode()), *entries]:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
                continue
            info = tarfile.TarInfo(entry[0])
            info.size = len(entry[1])
            tar.addfile(info, io.BytesIO(entry[1]))
    archive = buffer.getvalue()
    (folder / "bomb-0.1.0.tgz").write_bytes(archive)
    (folder / "index.yaml").write_text(
        "apiVersion: v1\nentries:\n  bomb:\n  - apiVersion: v2\n    name: bomb\n    version: 0.1.0\n"
        f"    digest: {hashlib.sha256(archive).hexdigest()}\n    urls: [{url}/bomb-0.1.0.tgz]\n"
        'generated: "2025-01-01T00:00:00Z"\n'
    )


def render_chart(tmp_path: Path, url: str) -> bytes:
    root = tmp_path / "hld"
    root.mkdir(exist_ok=True)
    (root / "component.yaml").write_text(
        f"name: r\nsubcomponents:\n- name: bomb\n  type: helm\n  method: helm\n  source: {url}\n"
        "  path: bomb\n  version: 0.1.0\n"
    )
    return generate(root)["bomb.yaml"]


def assert_nothing_kept() -> None:
    cache = Path(os.environ["FABPROMOTE_CACHE_DIR"])
    assert not (cache / "charts").exists() or list((cache / "charts").iterdir()) == []
    assert check_cache(cache, debris_age=0) == []


@needs_helm
class TestChartArchives:
    def test_member_bomb(self, tmp_path: Path, chart_repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
        """A chart of more entries than FABPROMOTE_MAX_ARCHIVE_MEMBERS is refused before any is written."""
        monkeypatch.setenv(ARCHIVE_MEMBERS.variable, "100")
        publish(chart_repo, [(f"bomb/templates/t{i}.yaml", b"") for i in range(1000)])
        with pytest.raises(FabpromoteError, match=r"bomb-0\.1\.0\.tgz has more than 100 entries \(the limit is set"):
            render_chart(tmp_path, chart_repo[1])
        assert_nothing_kept()

    def test_bytes_bomb(self, tmp_path: Path, chart_repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
        """A chart that expands past FABPROMOTE_MAX_ARCHIVE_BYTES is refused."""
        monkeypatch.setenv(ARCHIVE_BYTES.variable, str(MiB))
        publish(chart_repo, [("bomb/templates/zeros.yaml", bytes(8 * MiB))])
        with pytest.raises(FabpromoteError, match=rf"expands to more than {MiB} bytes \(the limit is set"):
            render_chart(tmp_path, chart_repo[1])
        assert_nothing_kept()

    def test_archive_larger_than_download_limit(
        self, tmp_path: Path, chart_repo: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A pulled archive larger than FABPROMOTE_MAX_DOWNLOAD_BYTES is refused, whatever it holds."""
        monkeypatch.setenv(DOWNLOAD_BYTES.variable, str(MiB))
        publish(chart_repo, [("bomb/files/noise", os.urandom(2 * MiB))])
        with pytest.raises(
            FabpromoteError, match=rf"larger than {MiB} bytes \(the limit is set by \$FABPROMOTE_MAX_DOWN"
        ):
            render_chart(tmp_path, chart_repo[1])
        assert_nothing_kept()

    def test_default_bytes_limit(self, tmp_path: Path, chart_repo: tuple[Path, str]) -> None:
        """With no setting, 100 MiB expanded is the most (helm's own limit): 101 MiB of zeros are refused."""
        publish(chart_repo, [("bomb/templates/zeros.yaml", bytes(101 * MiB))])
        with pytest.raises(FabpromoteError, match=rf"\b{100 * MiB} bytes"):
            render_chart(tmp_path, chart_repo[1])
        assert_nothing_kept()

    @pytest.mark.parametrize("name", ["bomb/../../escaped.yaml", "bomb//tmp/escaped.yaml", "bomb/templates/../../../x"])
    def test_paths_out_of_the_chart(self, tmp_path: Path, chart_repo: tuple[Path, str], name: str) -> None:
        """Entries climbing out of the chart are refused; nothing is written anywhere."""
        publish(chart_repo, [(name, b"kind: ConfigMap\n")])
        with pytest.raises(FabpromoteError, match=r"chart illegally"):
            render_chart(tmp_path, chart_repo[1])
        assert_nothing_kept()
        assert not list(tmp_path.rglob("escaped.yaml"))

    def test_links_become_plain_files(self, tmp_path: Path, chart_repo: tuple[Path, str]) -> None:
        """A symlink or hard link entry is expanded as a regular file (as helm does), never as a link."""
        links = []
        for kind, name in ((tarfile.SYMTYPE, "sym"), (tarfile.LNKTYPE, "hard")):
            info = tarfile.TarInfo(f"bomb/templates/{name}.yaml")
            info.type, info.linkname = kind, "/etc/passwd"
            links.append(info)
        publish(chart_repo, [("bomb/templates/cm.yaml", b"kind: ConfigMap\n"), *links])
        assert b"kind: ConfigMap" in render_chart(tmp_path, chart_repo[1])
        cache = Path(os.environ["FABPROMOTE_CACHE_DIR"])
        for name in ("sym", "hard"):
            (expanded,) = (cache / "charts").glob(f"*/bomb/templates/{name}.yaml")
            assert expanded.is_file()
            assert not expanded.is_symlink()
            assert expanded.read_bytes() == b""


@pytest.mark.parametrize(("text", "error"), [("name: piped\n", None), ("#" * 5000, "larger than 4096 bytes")])
def test_a_file_of_unknown_size_is_read_to_its_end_and_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, error: str | None
) -> None:
    """An HLD file whose size the system does not give up front (a pipe says 0 bytes, as a growing
    file says fewer than it will hold) is read on to its end, and never past the limit."""
    from fabpromote._hld.convert import parse_file

    monkeypatch.setenv("FABPROMOTE_MAX_FILE_BYTES", "4096")
    fifo = tmp_path / "component.yaml"
    os.mkfifo(fifo)

    def feed() -> None:
        # The reader stops at the limit: the rest of a write meets a closed pipe.
        with contextlib.suppress(BrokenPipeError), open(fifo, "w") as pipe:
            pipe.write(text)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        if error is None:
            node = parse_file(fifo)
            assert node is not None
            assert node.value[0][1].value == "piped"
        else:
            with pytest.raises(HLDError, match=error):
                parse_file(fifo)
    finally:
        writer.join(timeout=10)
