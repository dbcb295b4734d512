"""`install` then `generate` of roots and components fetched by git, as `fab install && fab generate` do.

Conformance-style: small made-up repositories (a git repository holding a
tiny helm chart, git components around it), run through the CLI, and the
whole ``generated/`` tree compared byte for byte with what Fabrikate's code
writes (see docs/fabrikate.md, "Roots fetched by git" and "Install"):

- a root whose type is not ``component`` (``type: helm``, or ``generator:
  helm`` migrated to it) is not re-read from ``components/<name>``
  (``Component.UpdateComponentPath``): its chart is in ``helm_repos/<name>``;
- a root of type ``component`` with ``method: git`` is cloned into
  ``components/<name>`` (``Component.InstallRoot``) and read from there, with
  the starting folder's config merged above the clone's (``LoadComponent``
  then ``LoadConfig``);
- charts of a git component are installed inside its clone
  (``components/<entry>/<path>/helm_repos/<name>``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from fabpromote import Plugins
from fabpromote.cli import main
from fabpromote.testing.gitrepos import WorkRepo

pytestmark = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="renders a helm chart: needs helm on PATH and the fabpromote-helm plugin",
)

CHART = {
    "keda/Chart.yaml": "apiVersion: v2\nname: keda\nversion: 0.1.0\n",
    "keda/values.yaml": "value: chart-default\nlist: []\n",
    "keda/templates/cm.yaml": (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: {{ .Release.Name }}\n"
        "  namespace: {{ .Release.Namespace }}\n"
        "data:\n"
        "  value: {{ .Values.value | quote }}\n"
        "  list: {{ .Values.list | toJson | quote }}\n"
    ),
}


def manifest(value: str, items: list[str] | None = None, namespace: str = "default") -> bytes:
    """What Fabrikate writes for the chart: helm's output (one chunk: no ``\\n---`` in it) as ``---\\n`` + chunk + ``\\n``."""
    rendered = (
        "---\n# Source: keda/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        f"  name: keda\n  namespace: {namespace}\ndata:\n"
        f"  value: {json.dumps(value)}\n  list: {json.dumps(json.dumps(items or [], separators=(',', ':')))}\n"
    )
    return f"---\n{rendered}\n".encode()


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, relative POSIX paths."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def write(folder: Path, tree: dict[str, str]) -> Path:
    for name, text in tree.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture(name="charts")
def _charts(tmp_path: Path) -> WorkRepo:
    """A git repository holding a chart in keda/."""
    return WorkRepo.create(tmp_path / "charts", CHART)


def install_and_generate(root: Path, *environments: str) -> dict[str, bytes]:
    """`fabpromote install` then `fabpromote generate ENVS`; the generated/<envs> tree."""
    assert main(["install", "--path", str(root)]) == 0
    assert main(["generate", "--path", str(root), *environments]) == 0
    return files(root / "generated" / ("-".join(environments) or "common"))


class TestChartRootFetchedByGit:
    """Item 1: a helm root with method: git is not re-read from components/<name>/<path>."""

    @pytest.mark.parametrize("kind", ["type", "generator"])
    def test_chart_root(self, tmp_path: Path, charts: WorkRepo, kind: str) -> None:
        root = write(
            tmp_path / "hld",
            {
                "component.yaml": f"name: keda\n{kind}: helm\nmethod: git\nsource: {charts.url}\npath: keda\n",
                "config/common.yaml": "config:\n  value: from-root\n",
            },
        )
        assert install_and_generate(root) == {"keda.yaml": manifest("from-root")}
        # Where `fab install` clones a git chart: the whole repository in helm_repos/<name>.
        assert files(root / "helm_repos" / "keda") == {name: text.encode() for name, text in CHART.items()}
        assert not (root / "components").exists()


class TestChartInsideGitComponent:
    """Item 2: a git chart inside a git component is installed inside that component's clone."""

    @pytest.fixture(name="root")
    def _root(self, tmp_path: Path, charts: WorkRepo) -> Path:
        pg = WorkRepo.create(
            tmp_path / "pg",
            {"sub/component.yaml": f"name: keda\ntype: helm\nmethod: git\nsource: {charts.url}\npath: keda\n"},
        )
        return write(
            tmp_path / "hld",
            {
                "component.yaml": f"name: root\nsubcomponents:\n- name: pg\n  method: git\n  source: {pg.url}\n  path: sub\n"
            },
        )

    def test_installed_inside_the_clone(self, root: Path) -> None:
        assert install_and_generate(root) == {"root.yaml": b"", "pg/keda.yaml": manifest("chart-default")}
        installed = files(root / "components")
        assert installed == {
            "pg/sub/component.yaml": (root / "components/pg/sub/component.yaml").read_bytes(),
            **{f"pg/sub/helm_repos/keda/{name}": text.encode() for name, text in CHART.items()},
        }
        assert sorted(os.listdir(root)) == ["component.yaml", "components", "generated"]

    def test_replaces_what_the_clone_holds_there(self, tmp_path: Path, charts: WorkRepo) -> None:
        """A helm_repos/<name> committed in the component's repository is replaced by the chart (os.RemoveAll, then clone)."""
        pg = WorkRepo.create(
            tmp_path / "pg-committed",
            {
                "sub/component.yaml": f"name: keda\ntype: helm\nmethod: git\nsource: {charts.url}\npath: keda\n",
                "sub/helm_repos/keda/stale.txt": "committed\n",
            },
        )
        root = write(
            tmp_path / "hld",
            {
                "component.yaml": f"name: root\nsubcomponents:\n- name: pg\n  method: git\n  source: {pg.url}\n  path: sub\n"
            },
        )
        assert install_and_generate(root) == {"root.yaml": b"", "pg/keda.yaml": manifest("chart-default")}
        assert files(root / "components" / "pg" / "sub" / "helm_repos") == {
            f"keda/{name}": text.encode() for name, text in CHART.items()
        }

    def test_failed_install_changes_nothing(self, tmp_path: Path, root: Path, charts: WorkRepo) -> None:
        """A chart that cannot be fetched leaves the installed tree as it was, with no staging folder."""
        assert main(["install", "--path", str(root)]) == 0
        before = files(root)
        charts.commit({}, "chart removed", delete=("keda",))
        assert main(["install", "--path", str(root)]) == 1
        assert files(root) == before
        assert sorted(os.listdir(root / "components")) == ["pg"]
        assert sorted(os.listdir(root / "components" / "pg" / "sub")) == ["component.yaml", "helm_repos"]
        assert sorted(os.listdir(root / "components" / "pg" / "sub" / "helm_repos")) == ["keda"]

    def test_a_link_out_of_the_clone_is_refused(self, tmp_path: Path, charts: WorkRepo) -> None:
        """A clone whose helm_repos/ links elsewhere: nothing written there (snapshots refuse such links), nothing installed."""
        outside = write(tmp_path / "outside", {"keda/mine.txt": "keep\n"})
        pg = WorkRepo.create(
            tmp_path / "pg-linked",
            {"sub/component.yaml": f"name: keda\ntype: helm\nmethod: git\nsource: {charts.url}\npath: keda\n"},
        )
        (pg.path / "sub" / "helm_repos").symlink_to(outside)
        pg.commit({}, "helm_repos is a link")
        root = write(
            tmp_path / "hld",
            {
                "component.yaml": f"name: root\nsubcomponents:\n- name: pg\n  method: git\n  source: {pg.url}\n  path: sub\n"
            },
        )
        assert main(["install", "--path", str(root)]) == 1
        assert files(outside) == {"keda/mine.txt": b"keep\n"}
        assert sorted(os.listdir(root)) == ["component.yaml"]

    def test_failed_first_install_leaves_nothing(self, root: Path, charts: WorkRepo) -> None:
        charts.commit({}, "chart removed", delete=("keda",))
        assert main(["install", "--path", str(root)]) == 1
        assert sorted(os.listdir(root)) == ["component.yaml"]


@pytest.fixture(name="app")
def _app(tmp_path: Path, charts: WorkRepo) -> WorkRepo:
    """An app repository whose hld/ is a component listing the chart, with its own config."""
    return WorkRepo.create(
        tmp_path / "app",
        {
            "hld/component.yaml": (
                "name: app\nsubcomponents:\n"
                f"- name: keda\n  type: helm\n  method: git\n  source: {charts.url}\n  path: keda\n"
            ),
            "hld/config/common.yaml": (
                "subcomponents:\n  keda:\n    config:\n      value: from-clone\n      list: [clone-common]\n"
            ),
        },
    )


class TestComponentRootFetchedByGit:
    """Items 3 and 4: a component root with method: git is cloned, and the starting folder's config wins."""

    def root(self, tmp_path: Path, app: WorkRepo, config: dict[str, str] | None = None) -> Path:
        return write(
            tmp_path / "hld",
            {"component.yaml": f"name: app\nmethod: git\nsource: {app.url}\npath: hld\n", **(config or {})},
        )

    def test_cloned_into_components(self, tmp_path: Path, app: WorkRepo) -> None:
        root = self.root(tmp_path, app)
        assert install_and_generate(root) == {"app.yaml": b"", "keda.yaml": manifest("from-clone", ["clone-common"])}
        assert sorted(files(root / "components")) == [
            "app/hld/component.yaml",
            "app/hld/config/common.yaml",
            *(f"app/hld/helm_repos/keda/{name}" for name in sorted(CHART)),
        ]

    def test_install_hooks_of_the_starting_component(self, tmp_path: Path, app: WorkRepo) -> None:
        """They run around the clone, in the starting folder (InstallSingleComponent), only when allowed."""
        root = write(
            tmp_path / "hld",
            {
                "component.yaml": (
                    f"name: app\nmethod: git\nsource: {app.url}\npath: hld\n"
                    "hooks:\n  before-install: [echo before > hooked]\n  after-install: [echo after >> hooked]\n"
                )
            },
        )
        assert main(["install", "--path", str(root)]) == 1
        assert sorted(os.listdir(root)) == ["component.yaml"]
        assert main(["install", "--path", str(root), "--allow-hooks"]) == 0
        assert (root / "hooked").read_text() == "before\nafter\n"
        assert sorted(os.listdir(root)) == ["component.yaml", "components", "hooked"]

    def test_generate_without_install(self, tmp_path: Path, app: WorkRepo) -> None:
        """Not installed, the root is fetched through the cache (as git subcomponents are): same bytes, nothing written but generated/."""
        root = self.root(
            tmp_path, app, {"config/common.yaml": "subcomponents:\n  keda:\n    config:\n      value: from-root\n"}
        )
        assert main(["generate", "--path", str(root)]) == 0
        assert sorted(os.listdir(root)) == ["component.yaml", "config", "generated"]
        fetched = files(root / "generated" / "common")
        assert (
            fetched
            == install_and_generate(root)
            == {"app.yaml": b"", "keda.yaml": manifest("from-root", ["clone-common"])}
        )

    def test_starting_folder_config_wins(self, tmp_path: Path, app: WorkRepo) -> None:
        root = self.root(
            tmp_path,
            app,
            {
                "config/common.yaml": "subcomponents:\n  keda:\n    config:\n      value: from-root\n      list: [root]\n"
            },
        )
        assert install_and_generate(root) == {
            "app.yaml": b"",
            "keda.yaml": manifest("from-root", ["root", "clone-common"]),
        }

    def test_environment_order(self, tmp_path: Path, app: WorkRepo) -> None:
        """Every file of the starting folder (common too) ranks above every file of the clone (prod too)."""
        app.commit(
            {
                "hld/config/prod.yaml": (
                    "subcomponents:\n  keda:\n    namespace: clone-prod\n"
                    "    config:\n      value: from-clone-prod\n      list: [clone-prod]\n"
                )
            },
            "prod config",
        )
        root = self.root(
            tmp_path,
            app,
            {
                "config/prod.yaml": "subcomponents:\n  keda:\n    config:\n      list: [root-prod]\n",
                "config/common.yaml": "subcomponents:\n  keda:\n    config:\n      value: from-root-common\n",
            },
        )
        assert install_and_generate(root, "prod") == {
            "app.yaml": b"",
            "keda.yaml": manifest("from-root-common", ["root-prod", "clone-prod", "clone-common"], "clone-prod"),
        }

    def test_a_scalar_above_silences_the_files_below(self, tmp_path: Path, app: WorkRepo) -> None:
        """Each clone file merges under what is merged so far: a root scalar beats a clone map, then a clone scalar."""
        app.commit({"hld/config/prod.yaml": "subcomponents:\n  keda:\n    config:\n      value: {a: map}\n"}, "prod")
        root = self.root(
            tmp_path,
            app,
            {"config/common.yaml": "subcomponents:\n  keda:\n    config:\n      value: from-root\n"},
        )
        assert install_and_generate(root, "prod") == {
            "app.yaml": b"",
            "keda.yaml": manifest("from-root", ["clone-common"]),
        }


class TestMergeOrder:
    """A parent's config for a child, then each of the child's files under it (LoadComponent, then LoadConfig)."""

    def test_a_scalar_above_silences_the_files_below(self, tmp_path: Path) -> None:
        """The parent's scalar beats the child's prod map, then its common scalar: no clash between the two files."""
        root = write(
            tmp_path / "hld",
            {
                "component.yaml": "name: root\nsubcomponents:\n- name: keda\n  source: ./keda-hld\n",
                "config/common.yaml": "subcomponents:\n  keda:\n    config:\n      value: from-parent\n",
                "keda-hld/component.yaml": "name: keda\ntype: helm\npath: ./chart\n",
                "keda-hld/config/prod.yaml": "config:\n  value: {a: map}\n  list: [child-prod]\n",
                "keda-hld/config/common.yaml": "config:\n  value: child-common\n  list: [child-common]\n",
                **{f"keda-hld/chart/{name.removeprefix('keda/')}": text for name, text in CHART.items()},
            },
        )
        assert main(["generate", "--path", str(root), "prod"]) == 0
        assert files(root / "generated" / "prod") == {
            "root.yaml": b"",
            "keda/keda.yaml": manifest("from-parent", ["child-prod", "child-common"]),
        }
