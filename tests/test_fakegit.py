"""fabpromote.testing.fakegit: the server-side git of fake hosts, on a real bare repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from fabpromote.testing.fakegit import ServerGit

GIT = ServerGit("Forge", "noreply@forge.invalid")


def _commit(repo: Path, parent: str | None, files: dict[str, str], message: str) -> str:
    """A commit of ``files`` (the whole tree) on ``parent``, made with plumbing only."""
    entries = "".join(
        f"100644 blob {GIT.run(repo, 'hash-object', '-w', '--stdin', input=text.encode())}\t{name}\n"
        for name, text in files.items()
    )
    tree = GIT.run(repo, "mktree", input=entries.encode())
    return GIT.run(repo, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)


@pytest.fixture(name="repo")
def _repo(tmp_path: Path) -> Path:
    GIT.run(tmp_path, "init", "-q", "--bare", "repo.git")
    return tmp_path / "repo.git"


def test_merges_and_compare_and_swap(repo: Path) -> None:
    base = _commit(repo, None, {"a": "1\n", "b": "1\n"}, "base")
    ours = _commit(repo, base, {"a": "2\n", "b": "1\n"}, "ours")
    theirs = _commit(repo, base, {"a": "1\n", "b": "2\n"}, "theirs")
    clashing = _commit(repo, base, {"a": "3\n", "b": "1\n"}, "clash")
    tree, clean = GIT.merge_tree(repo, ours, theirs)
    assert clean
    assert GIT.run(repo, "cat-file", "-p", f"{tree}:b") == "2"
    assert GIT.merge_tree(repo, ours, clashing)[1] is False
    assert GIT.is_ancestor(repo, base, ours)
    assert not GIT.is_ancestor(repo, ours, theirs)
    assert GIT.update_ref(repo, "refs/heads/main", ours, "0" * 40)
    assert not GIT.update_ref(repo, "refs/heads/main", theirs, base)  # not where the caller said: unmoved
    assert GIT.run(repo, "rev-parse", "refs/heads/main") == ours
    assert GIT.run(repo, "log", "-1", "--format=%an <%ae>", ours) == "Forge <noreply@forge.invalid>"


def test_a_failing_command_says_what_git_said(repo: Path) -> None:
    with pytest.raises(RuntimeError, match="git rev-parse --verify nothing failed: fatal"):
        GIT.run(repo, "rev-parse", "--verify", "nothing")
    assert GIT.run(repo, "rev-parse", "--verify", "nothing", check=False) == ""
