"""``token_env`` is per repository: repositories on one host are each read and written with their own token.

One real smart-HTTP server on 127.0.0.1 serves the cluster HLD, the
manifests and an app, and wants a different token for each. The HLD and
the manifests name their own ``token_env``; the app has none, so the token
of its host's ``hosts:`` entry applies to it. Every command that reads or
writes them succeeds only when each request carries its repository's
token; a wrong token fails naming that repository's variable, whichever
order the file lists them in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fabpromote.cli import main
from fabpromote.testing.fleet import LocalFleet
from fabpromote.testing.gitrepos import GIT_ENV
from fabpromote.testing.gitservers import SmartHTTPServer

TOKENS = {"hld.git": "hld-token", "manifests.git": "manifests-token", "app.git": "host-token"}
VARIABLES = {"hld.git": "HLD_TOKEN", "manifests.git": "MANIFESTS_TOKEN", "app.git": "HOST_TOKEN"}


@pytest.fixture(name="served")
def _served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalFleet:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    for repo, variable in VARIABLES.items():
        monkeypatch.setenv(variable, TOKENS[repo])
    return LocalFleet(tmp_path / "fleet")


def configure(fleet: LocalFleet, server: SmartHTTPServer, *, manifests_first: bool) -> Path:
    """The cluster file: the HLD and the manifests with their own token, the host with another."""
    hld = f"hld: {{url: {server.url}hld.git, token_env: HLD_TOKEN}}\n"
    manifests = f"manifests: {{url: {server.url}manifests.git, token_env: MANIFESTS_TOKEN}}\n"
    host = f"hosts:\n  127.0.0.1:{server.port}: {{type: local, token_env: HOST_TOKEN}}\n"
    repos = manifests + hld if manifests_first else hld + manifests
    folder = fleet.root / "cluster"
    folder.mkdir(exist_ok=True)
    (folder / "fabpromote.yaml").write_text(f"name: test\n{repos}{host}")
    fleet.write_hld(server.url)  # the app is on the same host, without a token of its own
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("manifests_first", [False, True], ids=["hld-first", "manifests-first"])
def test_each_repository_with_its_own_token(
    served: LocalFleet,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    manifests_first: bool,
) -> None:
    """materialize --publish, history, status, promote: every request carries its repository's token."""
    with SmartHTTPServer(served.served, tokens=TOKENS) as server:
        monkeypatch.chdir(configure(served, server, manifests_first=manifests_first))
        for args in (
            ["materialize", "dev", "--publish"],
            ["history", "dev"],
            ["status"],
            ["promote", "app", "--from", "dev", "--to", "stage", "--publish"],
        ):
            code, _, err = run(capsys, *args)
            assert code == 0, f"fabpromote {' '.join(args)}: {err}"
        asked = {path.split("/")[1] for _, path, _ in server.requests}
        refused = [request for request in server.requests if request[2] == 401]
    assert asked == set(TOKENS)
    assert refused == []
    assert served.branch("dev") is not None


@pytest.mark.parametrize("repo", list(TOKENS))
@pytest.mark.parametrize("manifests_first", [False, True], ids=["hld-first", "manifests-first"])
def test_a_wrong_token_fails_naming_its_variable(
    served: LocalFleet,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    repo: str,
    manifests_first: bool,
) -> None:
    """Only the repository whose token is wrong is refused, and the error names its variable."""
    monkeypatch.setenv(VARIABLES[repo], "wrong")
    with SmartHTTPServer(served.served, tokens=TOKENS) as server:
        monkeypatch.chdir(configure(served, server, manifests_first=manifests_first))
        code, _, err = run(capsys, "materialize", "dev", "--publish")
        refused = {path.split("/")[1] for _, path, status in server.requests if status == 401}
    assert code == 1
    assert err.startswith(f"fabpromote: error: {server.url}{repo}: ")
    assert f"the token in ${VARIABLES[repo]} was refused" in err
    assert refused == {repo}
