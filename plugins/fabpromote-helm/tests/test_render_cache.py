"""The render cache and the chart digest: unchanged input starts no helm, any change re-renders."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import fabpromote_helm
import pytest
from fabpromote_helm import HelmGenerator, RenderStats, _chart_digest
from fabpromote_helm._chart_digest import chart_digest
from fabpromote_helm._run_cache import HelmCache

import fabpromote
from fabpromote.cache import Cache
from fabpromote.cli import main

from .conftest import MakeRequest, write_chart

if TYPE_CHECKING:
    from pathlib import Path


def _renders(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache" / "renders"
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


@pytest.mark.helm
class TestRenderCache:
    def test_second_render_makes_no_helm_call(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """Rendering unchanged input again is served from the cache: zero helm calls."""
        first = HelmGenerator.from_env().generate(make_request(chart))
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=0, cache_misses=1)
        second = HelmGenerator.from_env().generate(make_request(chart))
        assert second == first
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1)

    def test_cached_answers_hits_only(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """``cached`` serves a hit without helm, and says None (runs nothing) on a miss."""
        generator = HelmGenerator.from_env()
        assert generator.cached(make_request(chart)) is None
        assert fabpromote_helm.stats() == RenderStats(helm_calls=0, cache_hits=0, cache_misses=0)
        first = generator.generate(make_request(chart))
        assert generator.cached(make_request(chart)) == first
        assert fabpromote_helm.stats() == RenderStats(helm_calls=1, cache_hits=1, cache_misses=1)

    def test_engine_serves_hits_in_the_walking_thread(
        self, helm_binary: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A warm render needs no worker thread: the engine asks ``cached`` as it visits."""
        monkeypatch.setattr(os, "cpu_count", lambda: 2)
        hld = tmp_path / "hld"
        for name in ("a", "b", "c"):
            write_chart(hld / name / "chart")
            (hld / name / "component.yaml").write_text(f"name: {name}\ntype: helm\npath: ./chart\n")
        (hld / "component.yaml").write_text(
            "name: root\nsubcomponents:\n" + "".join(f"- name: {n}\n  source: ./{n}\n" for n in "abc")
        )
        first = fabpromote.generate(hld, ["prod"])
        rendered_in: list[threading.Thread] = []
        render = HelmGenerator.generate

        def recording(self: HelmGenerator, request: object) -> bytes:
            rendered_in.append(threading.current_thread())
            return render(self, request)  # type: ignore[arg-type]

        monkeypatch.setattr(HelmGenerator, "generate", recording)
        assert fabpromote.generate(hld, ["prod"]) == first
        assert rendered_in == []
        assert fabpromote_helm.stats().cache_hits == 3

    def test_cache_survives_the_process_memo(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """Without the in-process digest memo (a new run's cache), the on-disk entry still serves the render."""
        first_request = make_request(chart)
        first = HelmGenerator.from_env().generate(first_request)
        second_request = make_request(chart)
        assert second_request.cache is not first_request.cache
        fabpromote_helm.reset_stats()
        assert HelmGenerator.from_env().generate(second_request) == first
        assert fabpromote_helm.stats().helm_calls == 0

    @pytest.mark.parametrize(
        "change",
        [
            {"config": {"greeting": "hola"}},
            {"namespace": "team-b"},
            {"name": "api"},
            {"namespace": "team-a", "inject_namespace": True},
        ],
    )
    def test_changed_request_re_renders(
        self, helm_binary: str, chart: Path, make_request: MakeRequest, change: dict[str, object]
    ) -> None:
        """A different values key, namespace, release name or injection renders again."""
        generator = HelmGenerator.from_env()
        before = generator.generate(make_request(chart, namespace="team-a", config={"greeting": "hi"}))
        arguments: dict[str, object] = {"namespace": "team-a", "config": {"greeting": "hi"}, **change}
        after = generator.generate(make_request(chart, **arguments))
        assert fabpromote_helm.stats().helm_calls == 2
        assert after != before

    def test_helm_debug_re_renders(
        self, helm_binary: str, chart: Path, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """HELM_DEBUG adds helm's debug lines to a combined output: a render without them is not reused."""
        generator = HelmGenerator.from_env()
        generator.generate(make_request(chart))
        monkeypatch.setenv("HELM_DEBUG", "true")
        generator.generate(make_request(chart))
        in_process = os.environ.get("FABPROMOTE_HELM_BACKEND") == "sdk"  # the SDK reads no HELM_DEBUG
        assert fabpromote_helm.stats().helm_calls == (1 if in_process else 2)

    def test_changed_chart_file_re_renders(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """Editing a template, even keeping its size, renders again with the new text."""
        generator = HelmGenerator.from_env()
        generator.generate(make_request(chart))
        template = chart / "chart" / "templates" / "cm.yaml"
        text = template.read_text()
        template.write_text(text.replace("-cm\n", "-cx\n"))
        output = generator.generate(make_request(chart))
        assert fabpromote_helm.stats().helm_calls == 2
        assert b"name: web-cx" in output

    def test_new_subchart_file_re_renders(self, helm_binary: str, chart: Path, make_request: MakeRequest) -> None:
        """A file added to a subchart under charts/ changes the digest."""
        generator = HelmGenerator.from_env()
        generator.generate(make_request(chart))
        write_chart(chart / "chart" / "charts" / "sub", name="sub")
        output = generator.generate(make_request(chart))
        assert fabpromote_helm.stats().helm_calls == 2
        assert b"# Source: demo/charts/sub/templates/cm.yaml" in output

    def test_corrupt_entry_is_not_trusted(
        self, helm_binary: str, tmp_path: Path, chart: Path, make_request: MakeRequest
    ) -> None:
        """A damaged cache entry is a miss: helm runs again and the entry is rewritten."""
        generator = HelmGenerator.from_env()
        good = generator.generate(make_request(chart))
        [entry] = _renders(tmp_path)
        intact = entry.read_bytes()
        entry.write_bytes(intact.replace(b"web-cm", b"evil!!"))
        assert generator.generate(make_request(chart)) == good
        assert fabpromote_helm.stats() == RenderStats(helm_calls=2, cache_hits=0, cache_misses=2)
        assert entry.read_bytes() == intact

    def test_truncated_entry_is_not_trusted(
        self, helm_binary: str, tmp_path: Path, chart: Path, make_request: MakeRequest
    ) -> None:
        """A partial cache entry is a miss."""
        generator = HelmGenerator.from_env()
        good = generator.generate(make_request(chart))
        [entry] = _renders(tmp_path)
        entry.write_bytes(entry.read_bytes()[:-10])
        assert generator.generate(make_request(chart)) == good
        assert fabpromote_helm.stats().helm_calls == 2

    def test_entry_of_another_key_is_not_trusted(
        self, helm_binary: str, tmp_path: Path, chart: Path, make_request: MakeRequest
    ) -> None:
        """An intact entry copied under another key is rejected by its recorded key."""
        generator = HelmGenerator.from_env()
        generator.generate(make_request(chart, config={"greeting": "one"}))
        [first] = _renders(tmp_path)
        two = generator.generate(make_request(chart, config={"greeting": "two"}))
        second = next(p for p in _renders(tmp_path) if p != first)
        second.write_bytes(first.read_bytes())
        assert generator.generate(make_request(chart, config={"greeting": "two"})) == two
        assert fabpromote_helm.stats().helm_calls == 3

    def test_cache_check_verifies_renders(
        self,
        helm_binary: str,
        tmp_path: Path,
        chart: Path,
        make_request: MakeRequest,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Renders are sealed cache entries: ``fabpromote cache check`` (core, not loading this plugin) verifies them."""
        HelmGenerator.from_env().generate(make_request(chart))
        [entry] = _renders(tmp_path)
        assert main(["cache", "check", "--cache-dir", str(tmp_path / "cache")]) == 0
        entry.write_bytes(entry.read_bytes()[:-1])
        assert main(["cache", "check", "--cache-dir", str(tmp_path / "cache")]) == 1
        assert str(entry) in capsys.readouterr().out

    def test_cache_can_be_disabled(
        self,
        helm_binary: str,
        tmp_path: Path,
        chart: Path,
        make_request: MakeRequest,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """FABPROMOTE_NO_RENDER_CACHE=1 runs helm every time and stores nothing."""
        monkeypatch.setenv("FABPROMOTE_NO_RENDER_CACHE", "1")
        generator = HelmGenerator.from_env()
        generator.generate(make_request(chart))
        generator.generate(make_request(chart))
        assert fabpromote_helm.stats() == RenderStats(helm_calls=2, cache_hits=0, cache_misses=0)
        assert _renders(tmp_path) == []

    def test_chart_linking_outside_is_rendered_uncached(
        self, helm_binary: str, tmp_path: Path, make_request: MakeRequest
    ) -> None:
        """A chart with a symlink leading outside it renders every time."""
        hld = tmp_path / "hld"
        write_chart(hld / "chart")
        (tmp_path / "outside.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: outside\n")
        (hld / "chart" / "templates" / "ns.yaml").symlink_to(tmp_path / "outside.yaml")
        generator = HelmGenerator.from_env()
        generator.generate(make_request(hld))
        output = generator.generate(make_request(hld))
        assert b"name: outside" in output
        assert fabpromote_helm.stats() == RenderStats(helm_calls=2, cache_hits=0, cache_misses=0)

    def test_parallel_renders_count_exactly(self, helm_binary: str, tmp_path: Path, make_request: MakeRequest) -> None:
        """One generator rendering from several threads keeps exact counters."""
        write_chart(tmp_path / "chart")
        generator = HelmGenerator.from_env()
        requests = [make_request(tmp_path, name=f"app{i}") for i in range(6)]
        with ThreadPoolExecutor(max_workers=3) as pool:
            first = list(pool.map(generator.generate, requests))
        with ThreadPoolExecutor(max_workers=3) as pool:
            second = list(pool.map(generator.generate, requests))
        assert first == second
        assert [b"name: app%d-cm" % i in out for i, out in enumerate(first)] == [True] * 6
        assert fabpromote_helm.stats() == RenderStats(helm_calls=6, cache_hits=6, cache_misses=6)


class TestChartDigest:
    def test_same_chart_same_digest(self, tmp_path: Path) -> None:
        """Two identical charts in different places have the same digest."""
        assert chart_digest(str(write_chart(tmp_path / "a"))) == chart_digest(str(write_chart(tmp_path / "b")))

    def test_content_change_changes_digest(self, tmp_path: Path) -> None:
        """Changing a byte of a file changes the digest, also when remembered."""
        chart = write_chart(tmp_path / "a")
        before = chart_digest(str(chart))
        (chart / "values.yaml").write_text("x: 1\n")
        assert chart_digest(str(chart)) != before

    def test_exec_bit_changes_digest(self, tmp_path: Path) -> None:
        """The executable bit is part of the digest."""
        chart = write_chart(tmp_path / "a")
        before = chart_digest(str(chart))
        (chart / "values.yaml").chmod(0o755)
        assert chart_digest(str(chart)) != before

    def test_rename_changes_digest(self, tmp_path: Path) -> None:
        """Relative paths are part of the digest."""
        chart = write_chart(tmp_path / "a")
        before = chart_digest(str(chart))
        (chart / "templates" / "cm.yaml").rename(chart / "templates" / "cm2.yaml")
        assert chart_digest(str(chart)) != before

    def test_packaged_dependency_counts(self, tmp_path: Path) -> None:
        """A .tgz dependency under charts/ is hashed like any file."""
        chart = write_chart(tmp_path / "a")
        before = chart_digest(str(chart))
        (chart / "charts").mkdir()
        (chart / "charts" / "dep-1.0.0.tgz").write_bytes(b"\x1f\x8b not really")
        with_dep = chart_digest(str(chart))
        (chart / "charts" / "dep-1.0.0.tgz").write_bytes(b"\x1f\x8b not really!")
        assert len({before, with_dep, chart_digest(str(chart))}) == 3

    def test_archive_chart_is_hashed(self, tmp_path: Path) -> None:
        """A chart given as an archive file has a digest of its bytes."""
        archive = tmp_path / "demo-0.1.0.tgz"
        archive.write_bytes(b"archive")
        assert chart_digest(str(archive)) is not None

    def test_internal_symlink_is_fine(self, tmp_path: Path) -> None:
        """A symlink that stays inside the chart is hashed by its target."""
        chart = write_chart(tmp_path / "a")
        (chart / "templates" / "alias.yaml").symlink_to("cm.yaml")
        assert chart_digest(str(chart)) is not None

    def test_symlink_outside_is_uncacheable(self, tmp_path: Path) -> None:
        """A symlink that resolves outside the chart makes it uncacheable."""
        chart = write_chart(tmp_path / "a")
        (chart / "templates" / "up").symlink_to(tmp_path)
        assert chart_digest(str(chart)) is None

    def test_missing_chart_has_no_digest(self, tmp_path: Path) -> None:
        """A chart that does not exist has no digest (helm reports it)."""
        assert chart_digest(str(tmp_path / "nothing")) is None

    def test_memo_skips_reading_settled_charts(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A chart whose listing is unchanged is not read again once its files have settled."""
        chart = write_chart(tmp_path / "a")
        monkeypatch.setattr(_chart_digest, "changed_recently", lambda *_: False)  # every entry counts as settled
        state = HelmCache.of(Cache(tmp_path / "cache"))
        first = chart_digest(str(chart), state)
        monkeypatch.setattr(_chart_digest, "_file_sha256", _no_reading)
        assert chart_digest(str(chart), state) == first

    def test_memo_ignores_fresh_files(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Files changed in the last two seconds are read again on every digest."""
        chart = write_chart(tmp_path / "a")
        state = HelmCache.of(Cache(tmp_path / "cache"))
        chart_digest(str(chart), state)
        reads: list[str] = []
        real = _chart_digest._file_sha256

        def counting(path: str) -> bytes:
            reads.append(path)
            return real(path)

        monkeypatch.setattr(_chart_digest, "_file_sha256", counting)
        chart_digest(str(chart), state)
        assert reads


def _no_reading(path: str) -> bytes:
    raise AssertionError(f"read {path} although the listing is unchanged")
