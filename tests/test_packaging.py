"""The core and every plugin are released together: versions in lock-step, metadata complete."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).parent.parent
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
REQUIRED = ("name", "version", "description", "readme", "license", "requires-python", "classifiers", "entry-points")


def project(folder: Path) -> dict:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]


CORE = project(ROOT)


class TestVersions:
    def test_core_version(self) -> None:
        """The core is at the release version."""
        assert CORE["version"] == "0.1.0"

    @pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
    def test_plugins_in_lock_step(self, plugin: Path) -> None:
        """Each plugin has the core's version and depends on exactly that version."""
        meta = project(plugin)
        assert meta["version"] == CORE["version"]
        assert f"fabpromote=={CORE['version']}" in meta["dependencies"]

    def test_every_plugin_is_found(self) -> None:
        """The first-party plugins are there (the local Git host is in the core)."""
        assert {p.name for p in PLUGINS} >= {
            "fabpromote-azure-devops",
            "fabpromote-fabrikate",
            "fabpromote-github",
            "fabpromote-gitlab",
            "fabpromote-gitea",
            "fabpromote-helm",
        }


class TestMetadata:
    @pytest.mark.parametrize("folder", [ROOT, *PLUGINS], ids=lambda p: p.name)
    def test_required_fields(self, folder: Path) -> None:
        """name, version, description, readme, license, requires-python, classifiers and entry points are set."""
        meta = project(folder)
        assert [field for field in REQUIRED if not meta.get(field)] == []
        assert (folder / meta["readme"]).is_file()
        assert meta["requires-python"] == CORE["requires-python"]
        assert meta["name"] == ("fabpromote" if folder == ROOT else folder.name)

    def test_core_entry_points(self) -> None:
        """The core registers the CLI and its pytest plugin."""
        assert CORE["scripts"] == {"fabpromote": "fabpromote._cli.console:main"}
        assert CORE["entry-points"]["pytest11"] == {"fabpromote": "fabpromote.testing.plugin"}

    @pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
    def test_plugin_entry_point(self, plugin: Path) -> None:
        """Each plugin registers its module in group ``fabpromote``."""
        meta = project(plugin)
        module = meta["name"].replace("-", "_")
        assert list(meta["entry-points"]["fabpromote"].values()) == [module]
        assert (plugin / module / "__init__.py").is_file()

    @pytest.mark.parametrize("folder", [ROOT, *PLUGINS], ids=lambda p: p.name)
    def test_sdist_ships_tests(self, folder: Path) -> None:
        """The sdist includes the tests, so a downstream packager can run them."""
        build = tomllib.loads((folder / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
        assert "tests" in build["sdist"]["include"]

    def test_demo_chart_in_wheel(self) -> None:
        """The demo chart lives inside the package, so the wheel ships it."""
        build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]
        assert build["wheel"]["packages"] == ["fabpromote"]
        assert (ROOT / "fabpromote" / "demo" / "chart" / "Chart.yaml").is_file()
