"""The cluster model and the cluster file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fabpromote import Cluster, Environment, Fleet, Pipeline
from fabpromote.exceptions import HLDError, PromotionRefused, UnknownNameError, UnsafePathError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fabpromote.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


class TestModel:
    def test_environment_defaults(self) -> None:
        """Both branches and the Fabrikate environments default to the environment's name."""
        env = Environment(name="stage")
        assert (env.hld_branch, env.manifests_branch, env.fabrikate_environments) == ("stage", "stage", ("stage",))

    def test_pipeline_next_only(self) -> None:
        """By default each environment may be promoted only into the next."""
        pipeline = Pipeline(environments=[Environment(name=n) for n in ("dev", "stage", "prod")])
        pipeline.check_promotion("dev", "stage")
        pipeline.check_promotion("stage", "prod")
        with pytest.raises(PromotionRefused, match="dev may not be promoted into prod: dev goes only into stage"):
            pipeline.check_promotion("dev", "prod")
        with pytest.raises(PromotionRefused, match="into nothing"):
            pipeline.check_promotion("prod", "dev")
        assert pipeline.previous("stage") == Environment(name="dev")
        assert pipeline.previous("dev") is None

    def test_unknown_environment(self) -> None:
        """An unknown environment lists the known ones."""
        pipeline = Pipeline(environments=[Environment(name="dev")])
        with pytest.raises(UnknownNameError, match=r"unknown environment 'qa' \(known: dev\)"):
            pipeline.environment("qa")


class TestFile:
    def test_single_cluster(self, tmp_path: Path) -> None:
        """The short form: one cluster at the top level, defaults filled in."""
        cluster = Cluster.from_file(write(tmp_path, "name: east\nhld: /srv/hld\nmanifests: {url: /srv/m}\n"))
        assert cluster.name == "east"
        assert cluster.hld.url == "/srv/hld"
        assert cluster.manifests.url == "/srv/m"
        assert cluster.pipeline.names() == ["dev", "stage", "prod"]
        assert [env.protected for env in cluster.pipeline.environments] == [False, True, True]

    def test_every_field(self, tmp_path: Path) -> None:
        """Every documented field is read."""
        path = write(
            tmp_path,
            """
            name: east
            hld: {url: https://git.example.com/hld, path: east, host: gitlab, token_env: T}
            manifests: https://git.example.com/m
            environments:
              - dev
              - {name: prod, hld_branch: main, manifests_branch: live, fabrikate: [prod, east], protected: false}
            promotions: {dev: [prod]}
            settings: {engine: fabrikate, allow_hooks: true, cache_dir: /c, fix_disabled: true}
            hosts:
              git.example.com: {type: gitlab, api_url: https://git.example.com/api/v4, token_env: GL}
            """,
        )
        cluster = Cluster.from_file(path)
        assert (cluster.hld.host, cluster.hld.token_env, cluster.hld_path) == ("gitlab", "T", "east")
        prod = cluster.pipeline.environment("prod")
        assert (prod.hld_branch, prod.manifests_branch, prod.fabrikate_environments, prod.protected) == (
            "main",
            "live",
            ("prod", "east"),
            False,
        )
        cluster.pipeline.check_promotion("dev", "prod")
        assert cluster.settings.engine == "fabrikate"
        assert cluster.settings.allow_hooks
        assert dict(cluster.hosts["git.example.com"]) == {
            "type": "gitlab",
            "api_url": "https://git.example.com/api/v4",
            "token_env": "GL",
        }

    def test_fleet(self, tmp_path: Path) -> None:
        """Several clusters share top-level defaults; --cluster picks one."""
        path = write(
            tmp_path,
            """
            environments: [dev, prod]
            clusters:
              - {name: east, hld: /h, manifests: /e}
              - {name: west, hld: /h, manifests: /w, environments: [dev, stage, prod]}
            """,
        )
        fleet = Fleet.from_file(path)
        assert fleet.names() == ["east", "west"]
        assert fleet.cluster("east").pipeline.names() == ["dev", "prod"]
        assert fleet.cluster("west").pipeline.names() == ["dev", "stage", "prod"]
        with pytest.raises(UnknownNameError, match="several clusters; pass --cluster NAME"):
            fleet.cluster()
        with pytest.raises(UnknownNameError, match=r"unknown cluster 'north' \(known: east, west\)"):
            fleet.cluster("north")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("name: a\nhld: /h\n", r"missing field 'manifests'"),
            ("name: a\nhld: {url: /h, pth: x}\nmanifests: /m\n", r":2 \(hld\.pth\): unknown field"),
            ("name: a\nhld: ''\nmanifests: /m\n", r"\(hld\): must not be empty"),
            ("name: a\nhld: /h\nmanifests: /m\nenvironments: [dev, dev]\n", r"duplicate environment 'dev'"),
            ("name: a\nhld: /h\nmanifests: /m\npromotions: {dev: [qa]}\n", r"unknown environment 'qa'"),
            (
                "clusters:\n- {name: a, hld: /h, manifests: /m}\n- {name: a, hld: /h, manifests: /m}\n",
                r"duplicate cluster name 'a'",
            ),
            ("clusters: []\n", r"expected at least one cluster"),
            ("", r"empty"),
            ("name: a\nhld: [/h]\nmanifests: /m\n", r"\(hld\): expected a map"),
            ("name: a\nhld: /h\nmanifests: /m\nsettings: {allow_hooks: 'yes'}\n", r"expected true or false"),
            ("name: [a\n", r"invalid YAML"),
        ],
    )
    def test_errors_name_the_field(self, tmp_path: Path, text: str, message: str) -> None:
        """Malformed cluster files are errors naming the file, line and field."""
        with pytest.raises(HLDError, match=message) as info:
            Cluster.from_file(write(tmp_path, text))
        assert "fabpromote.yaml" in str(info.value)

    def test_environment_names_are_file_names(self, tmp_path: Path) -> None:
        """An environment name that is not a file name is refused."""
        with pytest.raises(UnsafePathError):
            Cluster.from_file(write(tmp_path, "name: a\nhld: /h\nmanifests: /m\nenvironments: ['../x']\n"))

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing cluster file is an error naming it."""
        with pytest.raises(HLDError, match=r"nowhere\.yaml: cannot read"):
            Cluster.from_file(tmp_path / "nowhere.yaml")
