"""What the plugin-author modules promise: the branch policy core gives hosts, sealed cache entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabpromote import Cluster, Environment, Pipeline, Repo, host_for
from fabpromote._cli.cachecheck import check_cache
from fabpromote.cache import atomic_write, seal, unseal
from fabpromote.exceptions import BranchPolicyError, FabpromoteError, ProtectedBranchError
from fabpromote.git import HLD_PURPOSES, MANIFESTS_PURPOSES, BranchPolicy, Sources

PROD_ONLY = {"prod": ("promote", "rollback")}


class TestBranchPolicy:
    def test_a_read_only_mapping_of_branch_to_purposes(self) -> None:
        """Branch names lose ``refs/heads/``; branches not named accept everything."""
        policy = BranchPolicy({"refs/heads/prod": ["promote", "rollback"], "dev": ("publish",)})
        assert policy == {"prod": ("promote", "rollback"), "dev": ("publish",)}
        assert policy["refs/heads/prod"] == ("promote", "rollback")
        assert policy.accepts("prod", "rollback")
        assert not policy.accepts("prod", "set-image")
        assert policy.accepts("feature", "set-image")
        assert BranchPolicy(policy) == policy
        assert BranchPolicy(None) == {}
        with pytest.raises(TypeError):
            policy["x"] = ("publish",)  # type: ignore[index]

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ({"prod": "promote"}, "protected\\['prod'\\] must be a sequence of purposes, not the string 'promote'"),
            ("prod", "protected must map branch names to the purposes they accept"),
            (["prod"], "protected must map branch names to the purposes they accept"),
        ],
    )
    def test_bad_policy_refused(self, value: object, message: str) -> None:
        """A slip in ``protected`` is refused with a message saying what is expected."""
        with pytest.raises(BranchPolicyError, match=message) as caught:
            BranchPolicy(value)  # type: ignore[arg-type]
        assert isinstance(caught.value, TypeError)
        assert isinstance(caught.value, FabpromoteError)

    def test_check(self) -> None:
        """A refused purpose raises ProtectedBranchError naming the branch, purpose and what it accepts."""
        policy = BranchPolicy(PROD_ONLY)
        policy.check("prod", "promote", url="https://***@example.com/app.git")
        policy.check("dev", "set-image", url="https://***@example.com/app.git")
        with pytest.raises(ProtectedBranchError) as caught:
            policy.check("refs/heads/prod", "publish", url="https://***@example.com/app.git")
        error = caught.value
        assert (error.branch, error.purpose, error.allowed) == ("prod", "publish", ("promote", "rollback"))
        assert str(error).startswith("https://***@example.com/app.git: branch 'prod' is protected")

    def test_change_request_branches(self) -> None:
        """Branches changed only by promotions and rollbacks get server-side protection; pushed ones do not."""
        policy = BranchPolicy({"dev": MANIFESTS_PURPOSES, "stage": HLD_PURPOSES, "prod": ("rollback",)})
        assert policy.change_request_branches() == ["stage", "prod"]


def test_hosts_get_cores_policy(tmp_path: Path) -> None:
    """host_for gives each host the one policy: manifests branches take publish and rollback,
    protected environments' HLD branches promote and rollback, and the host enforces it."""
    cluster = Cluster(
        name="east",
        hld=Repo(url=str(tmp_path / "hld.git")),
        manifests=Repo(url=str(tmp_path / "manifests.git")),
        pipeline=Pipeline(
            environments=[Environment(name="dev"), Environment(name="stage", protected=True), Environment(name="prod")]
        ),
    )
    sources = Sources(cache_dir=tmp_path / "cache")
    manifests = host_for(cluster, cluster.manifests.url, sources=sources)
    hld = host_for(cluster, cluster.hld.url, sources=sources)
    assert isinstance(manifests.protected, BranchPolicy)  # type: ignore[attr-defined]
    assert manifests.protected == dict.fromkeys(("dev", "stage", "prod"), ("publish", "rollback"))  # type: ignore[attr-defined]
    assert hld.protected == {"stage": ("promote", "rollback")}  # type: ignore[attr-defined]
    with pytest.raises(ProtectedBranchError, match="not 'set-image'"):
        hld.commit_files(cluster.hld.url, "stage", {"a": b"a"}, "A", expected=None, purpose="set-image")


class TestSealedEntries:
    def test_round_trip(self) -> None:
        """The body comes back for its key (and label); anything else is None."""
        data = seal("myplugin thing 1", "k" * 64, b"body\nwith lines\n")
        assert unseal("k" * 64, data) == b"body\nwith lines\n"
        assert unseal("k" * 64, data, "myplugin thing 1") == b"body\nwith lines\n"
        assert unseal("k" * 64, data, "myplugin thing 2") is None
        assert unseal("j" * 64, data) is None
        assert unseal("k" * 64, data[:-1]) is None
        assert unseal("k" * 64, b"") is None
        with pytest.raises(ValueError, match="single lines"):
            seal("two\nlines", "k", b"")

    def test_cache_check_knows_sealed_entries_of_any_plugin(self, tmp_path: Path) -> None:
        """``cache check`` verifies a plugin's sealed renders without importing the plugin."""
        renders = tmp_path / "renders"
        good, bad = "a" * 64, "b" * 64
        atomic_write(renders / good, seal("otherplugin render 7", good, b"manifest"))
        atomic_write(renders / bad, seal("otherplugin render 7", bad, b"manifest")[:-3])
        problems = check_cache(tmp_path)
        assert len(problems) == 1
        assert str(renders / bad) in problems[0]
