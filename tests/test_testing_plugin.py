"""fabpromote.testing as a pytest plugin: its fixtures and helpers in a user's own suite."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fabpromote
from fabpromote.testing.strategies import config_shapes, environment_configs, hld_trees

pytest_plugins = ["pytester"]

#: A user's conftest-free test module: the seed's dev/stage/prod cluster on local repos,
#: with static apps (no helm), checked by the plugin's fixtures and assert_idempotent.
USER_SUITE = '''
import subprocess

import pytest

import fabpromote
from fabpromote.testing import assert_idempotent

ENVS = ("dev", "stage", "prod")


def app_files(app, tag):
    return {
        "hld/component.yaml": f"name: {app}-application\\ntype: static\\npath: ./manifests\\n",
        "hld/manifests/deployment.yaml": (
            f"apiVersion: apps/v1\\nkind: Deployment\\nmetadata:\\n  name: {app}\\n"
            f"spec:\\n  template:\\n    spec:\\n      containers:\\n      - name: {app}\\n"
            f"        image: ghcr.io/example/{app}:{tag}\\n"
        ),
    }


@pytest.fixture(name="cluster")
def _cluster(git_repo, fabpromote_cache, tmp_path):
    urls = {}
    for app in ("cat", "dog"):
        repo = git_repo(app, app_files(app, "v1.0.0"))
        for env in ENVS:
            repo.checkout(env)
        urls[app] = repo.url
    hld = git_repo("cluster-hld", {"README.md": "cluster\\n"})
    for env in ENVS:
        entries = "".join(
            f"- name: {app}-application\\n  source: {url}\\n  method: git\\n  branch: {env}\\n  path: hld\\n"
            for app, url in urls.items()
        )
        hld.commit({"component.yaml": f"name: my-cluster\\nsubcomponents:\\n{entries}"}, f"cluster {env}", branch=env)
    manifests = git_repo.bare("manifests.git")
    config = tmp_path / "fabpromote.yaml"
    config.write_text(f"name: demo\\nhld: {hld.url}\\nmanifests: {manifests}\\nenvironments: [dev, stage, prod]\\n")
    return fabpromote.Cluster.from_file(config)


@pytest.mark.parametrize("env", ENVS)
def test_idempotent(cluster, env, fabpromote_cache):
    done = assert_idempotent(cluster, env)
    assert {"cat-application/cat-application.yaml", "dog-application/dog-application.yaml"} <= set(done.manifests)
    assert fabpromote_cache.is_dir()


def test_a_change_is_published_once(cluster, git_repo):
    assert_idempotent(cluster, "dev")
    from fabpromote.testing.gitrepos import WorkRepo
    cat = WorkRepo(git_repo.base / "cat")
    cat.commit(app_files("cat", "v1.1.0"), "cat v1.1.0", branch="dev")
    done = assert_idempotent(cluster, "dev")
    assert b"cat:v1.1.0" in done.manifests["cat-application/cat-application.yaml"]


def test_hld_tree(hld_tree):
    root = hld_tree({
        "component.yaml": """
            name: hello
            type: static
            path: ./manifests
        """,
        "manifests/ns.yaml": "apiVersion: v1\\nkind: Namespace\\nmetadata:\\n  name: hello\\n",
    })
    assert root.name == "hld"
    assert list(fabpromote.generate(root)) == ["hello.yaml"]


def test_servers(git_repo, git_daemon_url, smart_http_url):
    app = git_repo("served/app", {"a.txt": "a\\n"})
    bare = app.path.parent / "app.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(app.path), str(bare)], check=True)
    for url in (git_daemon_url(app.path.parent), smart_http_url(app.path.parent, token="s3cret")):
        remote = url + "app.git"
        if url.startswith("http"):
            remote = remote.replace("http://", "http://user:s3cret@")
        out = subprocess.run(["git", "ls-remote", remote], check=True, capture_output=True, text=True).stdout
        assert app.sha("HEAD") in out
'''


class TestPlugin:
    def test_user_suite(self, pytester: pytest.Pytester) -> None:
        """A user's suite gets the fixtures from the entry point, and assert_idempotent passes."""
        pytester.makepyfile(test_user=USER_SUITE)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
        result.assert_outcomes(passed=6)

    def test_assert_idempotent_fails_on_drift(self, pytester: pytest.Pytester) -> None:
        """A render that changes between two runs makes assert_idempotent fail with a diff."""
        pytester.makepyfile(
            test_drift=USER_SUITE
            + textwrap.dedent(
                """
                def test_drift(cluster, monkeypatch):
                    import itertools
                    from fabpromote._engine import manifests as _manifests
                    counter = itertools.count()
                    original = _manifests.Manifests.__eq__
                    monkeypatch.setattr(_manifests.Manifests, "__eq__", lambda self, other: next(counter) > 0 and original(self, other))
                    with pytest.raises(AssertionError, match="materializing dev twice gave different manifests"):
                        assert_idempotent(cluster, "dev")
                """
            )
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_drift.py::test_drift")
        result.assert_outcomes(passed=1)

    def test_fixtures_are_listed_and_not_autouse(self, pytester: pytest.Pytester) -> None:
        """``pytest --fixtures`` shows every fixture; a test asking for none gets none of them."""
        pytester.makepyfile(
            test_plain="""
            def test_plain(request):
                assert not {"hld_tree", "git_repo", "fabpromote_cache"} & set(request.fixturenames)
            """
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--fixtures")
        for name in ("hld_tree", "git_repo", "fabpromote_cache", "git_daemon_url", "smart_http_url"):
            result.stdout.fnmatch_lines([f"{name}*"])
        pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)

    def test_loads_without_hypothesis(self) -> None:
        """The plugin and fabpromote.testing import nothing from hypothesis."""
        code = "import sys, fabpromote.testing.plugin, fabpromote.testing; assert 'hypothesis' not in sys.modules"
        subprocess.run([sys.executable, "-c", code], check=True)


class TestStrategies:
    @settings(max_examples=25, deadline=None)
    @given(tree=hld_trees(("common", "prod")))
    def test_hld_trees_render_the_same_twice(self, tree: dict[str, str]) -> None:
        """Every drawn tree renders, and rendering is deterministic."""
        with tempfile.TemporaryDirectory() as folder:
            for name, text in tree.items():
                path = Path(folder, name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            first = fabpromote.generate(folder, ["prod"])
            assert first == fabpromote.generate(folder, ["prod"])
            assert len(first) >= 1

    @settings(max_examples=50, deadline=None)
    @given(data=st.data())
    def test_environment_configs_merge_without_clash(self, data: st.DataObject) -> None:
        """Config maps drawn for one shape have it, and merge in any order into a map of that shape.

        The merge is checked against the rules written out here: every key of both
        sides, the higher-priority scalar, lists concatenated, maps merged key by key.
        """
        shape = data.draw(config_shapes())
        configs = data.draw(environment_configs(("a", "b", "c"), shape=shape))
        for config in configs.values():
            _assert_shaped(config, shape)
        for high, low in itertools.permutations(configs.values(), 2):
            merged = fabpromote.merge_values(high, low)
            _assert_shaped(merged, shape)
            _assert_merged(merged, high, low)
        merged = fabpromote.merge_values(fabpromote.merge_values(configs["a"], configs["b"]), configs["c"])
        _assert_merged(merged, fabpromote.merge_values(configs["a"], configs["b"]), configs["c"])


def _assert_shaped(config: dict[str, Any], shape: dict[str, Any], where: str = "config") -> None:
    """Every key of ``config`` is in ``shape`` and holds the kind of value the shape names."""
    for key, value in config.items():
        assert key in shape, f"{where}.{key} is not in the shape {shape}"
        kind = shape[key]
        if kind == "list":
            assert isinstance(value, list), f"{where}.{key} should be a list: {value!r}"
        elif kind == "scalar":
            assert isinstance(value, (bool, int, str)), f"{where}.{key} should be a scalar: {value!r}"
        else:
            assert isinstance(value, dict), f"{where}.{key} should be a map: {value!r}"
            _assert_shaped(value, kind, f"{where}.{key}")


def _assert_merged(merged: dict[str, Any], high: dict[str, Any], low: dict[str, Any]) -> None:
    """``merged`` is ``low`` merged under ``high`` by fabpromote's rules."""
    assert set(merged) == set(high) | set(low)
    for key, value in merged.items():
        if key not in low:
            assert value == high[key]
        elif key not in high:
            assert value == low[key]
        elif isinstance(high[key], list):
            assert value == high[key] + low[key]
        elif isinstance(high[key], dict):
            _assert_merged(value, high[key], low[key])
        else:
            assert value == high[key]
