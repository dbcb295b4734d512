"""SHAs as people write them: any unambiguous abbreviation of 7 hex digits or more, wherever a SHA is taken."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fabpromote import Plugins, Sources
from fabpromote.cli import main
from fabpromote.exceptions import AmbiguousCommitError, RefNotFoundError
from fabpromote.testing.gitrepos import colliding_commits, git

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None or "helm" not in Plugins.load().generators.names(),
    reason="the demo renders helm charts: needs helm on PATH and the fabpromote-helm plugin",
)


@pytest.fixture(name="repo")
def _repo(tmp_path: Path) -> Path:
    bare = tmp_path / "app.git"
    work = tmp_path / "work"
    git("init", "-q", "--bare", "-b", "master", str(bare))
    git("clone", "-q", str(bare), str(work))
    for n in range(3):
        (work / "file.txt").write_text(f"{n}\n")
        git("add", "-A", cwd=work)
        git("commit", "-qm", f"commit {n}", cwd=work)
    git("push", "-q", "origin", "HEAD:master", cwd=work)
    return bare


class TestSources:
    def test_abbreviations_resolve_to_the_full_sha(self, repo: Path) -> None:
        """The tip and an older commit, by 7 and 12 hex digits, any case; over a local path and file://."""
        shas = git("--git-dir", str(repo), "rev-list", "master").split()
        for url in (str(repo), repo.as_uri()):
            sources = Sources()
            for sha in shas:
                assert sources.resolve(url, sha[:7]) == sha
                assert sources.resolve(url, sha[:12].upper()) == sha

    def test_ambiguous_names_the_remote_and_the_candidates(self, repo: Path) -> None:
        first, second = colliding_commits(repo, "master")
        with pytest.raises(AmbiguousCommitError) as caught:
            Sources().resolve(repo.as_uri(), first[:7])
        message = str(caught.value)
        assert message.startswith(f"{repo.as_uri()}: commit {first[:7]!r} is ambiguous")
        assert first[:11] in message
        assert second[:11] in message
        # One more digit tells them apart.
        longer = next(n for n in range(8, 41) if first[:n] != second[:n])
        assert Sources().resolve(repo.as_uri(), first[:longer]) == first

    def test_unknown_and_too_short(self, repo: Path) -> None:
        sha = git("--git-dir", str(repo), "rev-parse", "master")
        unknown = "0000000" if not sha.startswith("0000000") else "1111111"
        with pytest.raises(RefNotFoundError, match=rf"{repo}: no branch, tag or commit named '{unknown}'"):
            Sources().resolve(str(repo), unknown)
        with pytest.raises(RefNotFoundError, match="at least 7 hex digits"):
            Sources().resolve(str(repo), sha[:6])

    def test_a_branch_named_like_a_sha_wins(self, repo: Path) -> None:
        """As in git: a branch or tag of that name comes before an abbreviation."""
        older = git("--git-dir", str(repo), "rev-parse", "master~2")
        tip = git("--git-dir", str(repo), "rev-parse", "master")
        git("--git-dir", str(repo), "update-ref", f"refs/heads/{older[:8]}", tip)
        assert Sources().resolve(str(repo), older[:8]) == tip


@needs_helm
class TestCommands:
    @pytest.fixture(name="demo")
    def _demo(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        assert main(["demo", str(tmp_path / "demo")]) == 0
        monkeypatch.chdir(tmp_path / "demo")
        return tmp_path / "demo"

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    def test_rollback_manifests_to_what_history_prints(self, demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """`history` prints 12 digits; `rollback --manifests --to` takes them."""
        assert self.run(capsys, "set-image", "cat-application", "dev", "v1.1.0")[0] == 0
        assert self.run(capsys, "materialize", "dev", "--publish")[0] == 0
        code, out, err = self.run(capsys, "history", "dev")
        assert code == 0, err
        newest, older = (line.split()[0] for line in out.splitlines()[:2])
        assert len(older) == 12
        code, out, err = self.run(capsys, "rollback", "--manifests", "dev", "--to", older)
        assert (code, err) == (0, "fabpromote: the next publish of dev brings the apps back; roll the app back too\n")
        manifests = str(demo / "repos" / "manifests.git")
        message = git("--git-dir", manifests, "log", "-1", "--format=%s", "dev")
        assert message == f"fabpromote: emergency rollback of dev to {older}"
        assert git("--git-dir", manifests, "rev-parse", "dev^{tree}") == git(
            "--git-dir", manifests, "rev-parse", f"{older}^{{tree}}"
        )
        assert newest != older

    def test_rollback_an_app_to_seven_digits(self, demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
        cat = str(demo / "repos" / "cat.git")
        before = git("--git-dir", cat, "rev-parse", "dev")
        assert self.run(capsys, "set-image", "cat-application", "dev", "v1.1.0")[0] == 0
        code, _, err = self.run(capsys, "rollback", "cat-application", "dev", "--to", before[:7])
        assert (code, err) == (0, "fabpromote: publish it with: fabpromote materialize dev --publish\n")
        assert git("--git-dir", cat, "rev-parse", "dev^{tree}") == git(
            "--git-dir", cat, "rev-parse", f"{before}^{{tree}}"
        )
        assert (
            git("--git-dir", cat, "log", "-1", "--format=%s", "dev")
            == f"Roll back cat-application in dev to {before[:12]}"
        )

    def test_ambiguous_and_unknown_are_one_line_naming_the_remote(
        self, demo: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        cat = demo / "repos" / "cat.git"
        first, _ = colliding_commits(cat, "dev")
        head = git("--git-dir", str(cat), "rev-parse", "dev")
        code, _, err = self.run(capsys, "rollback", "cat-application", "dev", "--to", first[:7])
        assert code == 1
        assert err.count("\n") == 1
        assert f"{cat}: commit {first[:7]!r} is ambiguous" in err
        code, _, err = self.run(capsys, "rollback", "--manifests", "dev", "--to", "abcdef0")
        assert code == 1
        assert f"abcdef0 is not a publish on {demo / 'repos' / 'manifests.git'} branch dev" in err
        for bad in ("dev", "abc123"):  # a branch would be a promotion past the pipeline; 6 digits are too few
            code, _, err = self.run(capsys, "rollback", "cat-application", "prod", "--to", bad)
            assert (code, err) == (
                1,
                f"fabpromote: error: --to takes a commit SHA (7 to 40 hex digits, as `history` prints), not {bad!r}\n",
            )
        assert git("--git-dir", str(cat), "rev-parse", "dev") == head
