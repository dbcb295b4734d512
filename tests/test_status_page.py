"""``status --html FILE`` and ``status --markdown``: the status page, escaped, and read in a real browser.

The browser is Debian's ``chromium`` with ``chromium-driver``, driven by
selenium (the ``test`` extra), headless. scripts/install-debian-tools.sh installs
them (scripts/bootstrap.sh calls it). Without them the browser tests skip on a
developer's machine, and fail in CI (``CI`` set): there they must run.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote._workflow.gates import GateResult
from fabpromote._workflow.history import HistoryEntry
from fabpromote._workflow.pagehtml import render_status_html
from fabpromote._workflow.pagemarkdown import md, render_status_markdown
from fabpromote._workflow.pending import PendingCommit
from fabpromote._workflow.status import StatusRow
from fabpromote._workflow.statuspage import Cell, Change, ClusterPage, Publish, StatusPage
from fabpromote.cli import main
from fabpromote.testing.gitrepos import GIT_ENV, git
from fabpromote.testing.unavailable import unavailable

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)

HOSTILE = "<script>alert('x')</script>"


@contextlib.contextmanager
def _own_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A home and cache of its own for a module's fixture (the autouse isolation is per test)."""
    home = tmp_path_factory.mktemp("demo-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(home))
        env.setenv("FABPROMOTE_CACHE_DIR", str(home / "cache"))
        env.delenv("XDG_CACHE_HOME", raising=False)
        for name, value in GIT_ENV.items():
            env.setenv(name, value)
        yield home


@pytest.fixture(name="demo", scope="module")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's cluster file, every environment published. The tests only read it (helm renders it once)."""
    with _own_home(tmp_path_factory) as home:
        assert main(["demo", str(home / "demo")]) == 0
    return home / "demo" / "fabpromote.yaml"


SUBJECTS = {
    "v1.1.0": "cat v1.1.0: faster purring",
    "v1.2.0": "cat v1.2.0: a long subject that must wrap rather than widen the page " * 3,
    "v1.3.0": HOSTILE,
}


@pytest.fixture(name="moved", scope="module")
def _moved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """Another demo whose cat moved on dev three times (the last subject a script), dev published after.

    Returns the cluster file, stage's cat commit before, and each tag's commit.
    """
    with _own_home(tmp_path_factory) as home:
        assert main(["demo", str(home / "demo")]) == 0
        config = home / "demo" / "fabpromote.yaml"
        before = _tip(config, "cat.git", "stage")
        shas = {tag: _commit_on_dev(config, tag, subject) for tag, subject in SUBJECTS.items()}
        assert main(["materialize", "dev", "--publish", "--config", str(config)]) == 0
    return config, before, shas


def _tip(config: Path, repo: str, branch: str) -> str:
    return git("rev-parse", branch, cwd=config.parent / "repos" / repo).strip()


def _commit_on_dev(config: Path, tag: str, message: str) -> str:
    """A commit on cat's dev branch (a new image tag), as a person makes it."""
    bare = config.parent / "repos" / "cat.git"
    work = config.parent / f"work-{tag}"
    git("clone", "-q", "--branch", "dev", str(bare), str(work))
    path = work / "hld" / "config" / "common.yaml"
    path.write_text(re.sub(r"tag: .*", f"tag: {tag}", path.read_text()))
    git("commit", "-qm", message, "--", "hld/config/common.yaml", cwd=work)
    git("push", "-q", "origin", "dev", cwd=work)
    shutil.rmtree(work)
    return _tip(config, "cat.git", "dev")


def _page(config: Path, folder: Path) -> tuple[Path, str]:
    """``status --html`` into ``folder``: the file and its text."""
    out = folder / "status.html"
    assert main(["status", "--html", str(out), "--config", str(config)]) == 0
    return out, out.read_text(encoding="utf-8")


def _markdown(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["status", "--markdown", "--config", str(config)]) == 0
    return capsys.readouterr().out


class _Tables(HTMLParser):
    """The cells of every table (text, scope), and every tag and attribute seen."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []  # (tag, scope, text)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._open: list[list[str]] = []
        self._scope: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("th", "td"):
            self._open.append([])
            self._scope.append((tag, dict(attrs).get("scope") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._open:
            text = " ".join("".join(self._open.pop()).split())
            kind, scope = self._scope.pop()
            self.cells.append((kind, scope, text))

    def handle_data(self, data: str) -> None:
        for cell in self._open:
            cell.append(data)


@needs_helm
def test_html_page_of_the_demo(demo: Path, tmp_path: Path) -> None:
    """One self-contained file: the matrix in a real table with scoped headers, versions in the cells."""
    _, page = _page(demo, tmp_path)
    parsed = _Tables()
    parsed.feed(page)
    headers = [(scope, text) for kind, scope, text in parsed.cells if kind == "th"]
    assert ("col", "App") in headers
    assert [text for scope, text in headers if scope == "col"][1:] == ["dev", "stage", "prod"]
    assert [text for scope, text in headers if scope == "row"] == ["cat-application", "dog-application"]
    data = [text for kind, _, text in parsed.cells if kind == "td"]
    cat, dog = _tip(demo, "cat.git", "dev"), _tip(demo, "dog.git", "dev")
    assert sum(cat[:12] in cell and "ghcr.io/example/cat:v1.0.0" in cell for cell in data) == 3
    assert sum(dog[:12] in cell and "ghcr.io/example/dog:v2.3.1" in cell for cell in data) == 3
    # Gates carry a symbol and a word, not only a colour.
    assert sum("✓ published met: published:" in cell for cell in data) == 4
    # Nothing is loaded from anywhere: no script, no stylesheet link, no image, no remote URL.
    assert {tag for tag, _ in parsed.tags} & {"script", "link", "img", "iframe", "object"} == set()
    assert not [attrs for _, attrs in parsed.tags if "src" in attrs or "href" in attrs]
    assert "http://" not in page
    assert "https://" not in page
    assert "Last publishes" in page


@needs_helm
def test_pending_commits_and_publishes(moved: tuple[Path, str, dict[str, str]], tmp_path: Path) -> None:
    """The commits waiting on dev are listed under stage, newest first; dev's last publish says what changed."""
    config, before, shas = moved
    _, page = _page(config, tmp_path)
    assert "3 commits pending" in page
    first = page.index(f'<code title="{shas["v1.3.0"]}">')
    assert first < page.index(f'<code title="{shas["v1.2.0"]}">') < page.index(f'<code title="{shas["v1.1.0"]}">')
    assert f'<code title="{shas["v1.1.0"]}">{shas["v1.1.0"][:12]}</code> cat v1.1.0: faster purring' in page
    assert f"cat-application {before[:12]} → {shas['v1.3.0'][:12]}" in page


@needs_helm
def test_markdown_of_the_demo(moved: tuple[Path, str, dict[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    config, _, shas = moved
    text = _markdown(config, capsys)
    assert "| App | dev | stage | prod |\n|---|---|---|---|\n" in text
    cell = f"| **cat-application** | `{shas['v1.3.0'][:12]}`<br>ghcr.io/example/cat:v1.3.0<br>published |"
    assert cell in text
    assert "- **cat-application** into stage: 3 commits\n" in text
    assert f"  - `{shas['v1.1.0'][:12]}` cat v1.1.0: faster purring (" in text
    assert "  - ✓ met: published: " in text
    assert "### Last publishes" in text


@needs_helm
def test_script_in_a_commit_message_shows_as_text(
    moved: tuple[Path, str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, _ = moved
    _, page = _page(config, tmp_path)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    text = _markdown(config, capsys)
    assert "<script" not in text
    assert "&lt;script&gt;alert\\('x'\\)&lt;/script&gt;" in text


def _hostile_page() -> StatusPage:
    """Every string the page shows, made of markup."""
    row = StatusRow(
        cluster=f"c{HOSTILE}",
        app=f"<img src=x onerror=alert(1)>{HOSTILE}",
        env=f"e{HOSTILE}",
        sha="a" * 40,
        images=[f"i{HOSTILE}"],
        pending=1,
        materialized=False,
        gates=[GateResult(gate=f"g{HOSTILE}", met=False, reason=f"r{HOSTILE}")],
    )
    commit = PendingCommit(sha="b" * 40, subject=f"s{HOSTILE}", author=f"a{HOSTILE}", time=0)
    entry = HistoryEntry(commit="c" * 40, time=0, digest="d" * 64, engine="native", version="1", sources=[])
    publish = Publish(entry=entry, changes=[Change(component=f"p{HOSTILE}", before="1" * 40, after="2" * 40)])
    cluster = ClusterPage(
        name=f"n{HOSTILE}",
        environments=[row.env],
        cells=[Cell(row=row, commits=[commit])],
        publishes=[(row.env, [publish])],
    )
    return StatusPage(clusters=[cluster], generated=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))


def test_every_field_is_escaped() -> None:
    """App, cluster and environment names, images, gates, commit subjects and authors: all shown as text."""
    fields = [
        f"n{HOSTILE}",
        f"<img src=x onerror=alert(1)>{HOSTILE}",
        f"e{HOSTILE}",
        f"i{HOSTILE}",
        f"g{HOSTILE}",
        f"r{HOSTILE}",
        f"s{HOSTILE}",
        f"a{HOSTILE}",
        f"p{HOSTILE}",
    ]
    page = render_status_html(_hostile_page())
    assert "<script" not in page
    assert "<img" not in page
    assert [field for field in fields if html.escape(field) not in page] == []
    markdown = render_status_markdown(_hostile_page())
    assert "<script" not in markdown
    assert "<img" not in markdown
    shown = [field for field in fields if field not in ("g" + HOSTILE,)]  # the markdown says a gate by its reason
    assert [field for field in shown if md(field) not in markdown] == []


def test_json_goes_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["status", "--json", "--markdown", "--config", str(tmp_path / "none.yaml")])
    assert exited.value.code == 2
    assert "--json prints the rows alone" in capsys.readouterr().err


@needs_helm
def test_unwritable_file_is_one_line_and_nothing_written(
    demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing-folder" / "status.html"
    assert main(["status", "--html", str(target), "--config", str(demo)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"fabpromote: error: cannot write the status page to {target}: No such file or directory"
    assert not target.parent.exists()


# The browser


def _driver_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(name="browser")
def _browser() -> Iterator[object]:
    """Headless chromium through chromedriver; a missing browser fails in CI and skips elsewhere."""
    paths = _driver_paths()
    if paths is None:
        unavailable("chromium and chromedriver are not installed (scripts/install-debian-tools.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=paths[1]))
    try:
        yield driver
    finally:
        driver.quit()


def _console_errors(driver: object) -> list[dict[str, object]]:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]  # type: ignore[attr-defined]


@needs_helm
def test_browser_renders_the_demo_matrix(demo: Path, tmp_path: Path, browser: object) -> None:
    """In chromium: the matrix's cells hold the apps, environments and versions; the console stays clean."""
    from selenium.webdriver.common.by import By

    page, _ = _page(demo, tmp_path)
    browser.set_window_size(1280, 900)  # type: ignore[attr-defined]
    browser.get(page.as_uri())  # type: ignore[attr-defined]
    table = browser.find_element(By.CSS_SELECTOR, ".matrix table")  # type: ignore[attr-defined]
    columns = [th.text for th in table.find_elements(By.CSS_SELECTOR, 'thead th[scope="col"]')]
    assert columns == ["App", "dev", "stage", "prod"]
    for app, repo, image in (("cat", "cat.git", "cat:v1.0.0"), ("dog", "dog.git", "dog:v2.3.1")):
        row = table.find_element(By.XPATH, f'.//tbody/tr[th[@scope="row"]="{app}-application"]')
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert len(cells) == 3
        sha = _tip(demo, repo, "dev")[:12]
        assert all(sha in cell and f"ghcr.io/example/{image}" in cell for cell in cells), cells
    assert _console_errors(browser) == []


@needs_helm
def test_browser_reads_well_at_phone_width(
    moved: tuple[Path, str, dict[str, str]], tmp_path: Path, browser: object
) -> None:
    """At 390x844 only the matrix scrolls sideways, inside its own container; no text is smaller than 12px."""
    page, _ = _page(moved[0], tmp_path)
    browser.set_window_size(390, 844)  # type: ignore[attr-defined]
    browser.get(page.as_uri())  # type: ignore[attr-defined]
    run = browser.execute_script  # type: ignore[attr-defined]
    assert run("return window.innerWidth") <= 390
    assert run("return document.documentElement.scrollWidth <= window.innerWidth")
    assert run("return document.body.scrollWidth <= window.innerWidth")
    # The matrix is wider than the phone: it scrolls inside its container, which stays within the page.
    matrix = run(
        "const m = document.querySelector('.matrix');"
        "return {scroll: m.scrollWidth, client: m.clientWidth, right: m.getBoundingClientRect().right,"
        " overflow: getComputedStyle(m).overflowX};"
    )
    assert matrix["scroll"] > matrix["client"]
    assert matrix["overflow"] == "auto"
    assert matrix["right"] <= run("return window.innerWidth")
    smallest = run(
        "let least = Infinity;"
        "for (const el of document.body.querySelectorAll('*')) {"
        "  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());"
        "  if (own && el.getClientRects().length) least = Math.min(least, parseFloat(getComputedStyle(el).fontSize));"
        "}"
        "return least;"
    )
    assert smallest >= 12
    assert _console_errors(browser) == []


@needs_helm
def test_browser_shows_a_script_in_a_commit_message_as_text(
    moved: tuple[Path, str, dict[str, str]], tmp_path: Path, browser: object
) -> None:
    from selenium.webdriver.common.by import By

    page, _ = _page(moved[0], tmp_path)
    browser.get(page.as_uri())  # type: ignore[attr-defined]
    assert browser.find_elements(By.TAG_NAME, "script") == []  # type: ignore[attr-defined]
    listed = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".matrix details li")]  # type: ignore[attr-defined]
    assert any(HOSTILE in text for text in listed), listed
    assert _console_errors(browser) == []
