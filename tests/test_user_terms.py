"""Errors speak the user's terms: a repository, a ref and a path in it, never a folder of the cache;
an unknown generator or engine names the file and line that asked for it, and the installed names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fabpromote import Plugins, Sources, generate, load_component
from fabpromote.cli import main
from fabpromote.exceptions import HLDError, UnknownBackendError
from fabpromote.testing.gitrepos import git

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


def push(repo: Path, branch: str, files: dict[str, str | None], work: Path) -> None:
    """Change ``files`` (None deletes) on ``branch`` of the bare ``repo``, as a user would."""
    if not work.exists():
        git("clone", "-q", str(repo), str(work))
    git("checkout", "-q", branch, cwd=work)
    for name, text in files.items():
        path = work / name
        if text is None:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        else:
            path.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "change", cwd=work)
    git("push", "-q", "origin", branch, cwd=work)


def test_a_snapshot_is_named_by_repository_ref_and_path(tmp_path: Path) -> None:
    bare = tmp_path / "app.git"
    work = tmp_path / "work"
    git("init", "-q", "-b", "master", str(work))
    (work / "README.md").write_text("hello\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("clone", "-q", "--bare", str(work), str(bare))
    sources = Sources()
    sha = sources.resolve(str(bare), "master")
    with pytest.raises(HLDError) as caught, sources.user_terms():
        load_component(sources.snapshot(str(bare), sha) / "hld")
    assert str(caught.value) == f"error loading component in {bare} {sha[:12]}:hld: no component.yaml or component.json"
    assert str(sources.cache_dir) not in str(caught.value)


def test_unknown_inline_type_names_file_line_and_field(write_tree) -> None:  # type: ignore[no-untyped-def]
    root = write_tree(
        {"component.yaml": "name: a\nsubcomponents:\n  - name: b\n    type: static\n  - name: c\n    type: jsonnet\n"}
    )
    with pytest.raises(UnknownBackendError) as caught:
        generate(root)
    assert str(caught.value).startswith(
        f"{root / 'component.yaml'}:6 (subcomponents[1].type): no generator named 'jsonnet' is installed "
        "(installed: component, "
    )


def test_unknown_generator_field_of_a_component_file(write_tree) -> None:  # type: ignore[no-untyped-def]
    root = write_tree({"component.yaml": '{"name": "a", "generator": "jsonnet"}'})
    with pytest.raises(UnknownBackendError, match=r"component.yaml:1 \(generator\): no generator named 'jsonnet'"):
        generate(root)


@needs_helm
class TestCluster:
    @pytest.fixture(name="demo")
    def _demo(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        assert main(["demo", str(tmp_path / "demo")]) == 0
        monkeypatch.chdir(tmp_path / "demo")
        return tmp_path / "demo"

    def error(self, capsys: pytest.CaptureFixture[str], *args: str) -> str:
        code = main(list(args))
        _, err = capsys.readouterr()
        assert code == 1, err
        assert err.count("\n") == 1, err
        assert str(Sources().cache_dir) not in err
        assert "snapshots" not in err
        return err

    def test_broken_app_files(self, demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        cat = demo / "repos" / "cat.git"
        work = tmp_path / "cat-work"
        push(cat, "dev", {"hld/component.yaml": "name: cat-application\ntype: helm\npath: [./chart\n"}, work)
        err = self.error(capsys, "materialize", "dev")
        assert f"error: {cat} dev:hld/component.yaml:4: invalid YAML" in err
        push(cat, "dev", {"hld/component.yaml": "name: cat-application\ntype: helmx\npath: ./chart\n"}, work)
        err = self.error(capsys, "materialize", "dev")
        assert f"error: {cat} dev:hld/component.yaml:2 (type): no generator named 'helmx' is installed" in err
        assert "(installed: component, helm, kustomize, static" in err
        push(cat, "dev", {"hld/component.yaml": "name: cat-application\ntype: helm\npath: ./chart\n"}, work)
        push(cat, "dev", {"hld/chart": None}, work)
        err = self.error(capsys, "materialize", "dev")
        assert f"{cat} dev:hld/chart" in err

    def test_broken_cluster_hld_in_status(self, demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        hld = demo / "repos" / "cluster-hld.git"
        push(hld, "stage", {"component.yaml": "name: [\n"}, tmp_path / "hld-work")
        err = self.error(capsys, "status")
        assert f"error: {hld} stage:component.yaml:2: invalid YAML" in err

    def test_unknown_engine_names_the_line_of_the_cluster_file(
        self, demo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        config = demo / "fabpromote.yaml"
        config.write_text(config.read_text() + "settings:\n  allow_hooks: false\n  engine: fabrik8\n")
        err = self.error(capsys, "materialize", "dev")
        assert "error: fabpromote.yaml:8 (settings.engine): no engine named 'fabrik8' is installed (installed: " in err
        assert "native" in err
