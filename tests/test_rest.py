"""fabpromote.rest, the REST client base of hosted Git hosts, as a third-party plugin uses it: against a fake
served by fabpromote.testing.restserver on 127.0.0.1."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import attrs
import pytest
import requests

from fabpromote.exceptions import GitHostError
from fabpromote.rest import (
    ClientsByApi,
    HostErrors,
    RestClient,
    SettingChecks,
    TokenAuth,
    client_settings,
    error_message,
    same_origin,
    sources_setting,
)
from fabpromote.testing.clock import FakeClock
from fabpromote.testing.restserver import Answer, FakeRestHost, RestRequest, RestServer, Routes

TOKEN = "frg_S3cretT0kenOfTheTests0nly"
TOKEN_ENV = "FABPROMOTE_TEST_FORGE_TOKEN"


class ForgeError(GitHostError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, host="forge", status=status)


class ForgeNotFoundError(ForgeError, LookupError):
    pass


class ForgeAuthenticationError(ForgeError, PermissionError):
    def __init__(self, message: str, *, status: int | None = None, variable: str) -> None:
        self.variable = variable
        super().__init__(message, status=status)


class ForgeRateLimitError(ForgeError):
    pass


class ForgeSettingsError(ForgeError, ValueError):
    pass


CHECKS = SettingChecks(ForgeSettingsError, "FORGE_TOKEN")


def _api_url(value: Any) -> str:
    return CHECKS.api_url(value)


@attrs.define
class ForgeClient(RestClient):
    """A third-party host's client: all it writes is what differs."""

    label: ClassVar[str] = "Forge"
    auth: ClassVar[TokenAuth] = TokenAuth.with_scheme("token")
    errors: ClassVar[HostErrors] = HostErrors(
        error=ForgeError,
        not_found=ForgeNotFoundError,
        authentication=ForgeAuthenticationError,
        rate_limit=ForgeRateLimitError,
    )

    api_url: str = attrs.field(converter=_api_url)
    token_env: str = TOKEN_ENV
    timeout: float = 5.0
    max_retries: int = 2
    backoff: float = 0.01
    max_wait: float = 5.0
    clock: Any = attrs.field(factory=FakeClock, kw_only=True)
    session: requests.Session = attrs.field(factory=requests.Session, init=False)

    def __attrs_post_init__(self) -> None:
        self.mount_retries()


class FakeForge(FakeRestHost):
    """Repositories by name; a token required; ``fail`` answers the next requests with a status."""

    routes = Routes(
        [("GET", r"/repos/(?P<name>[^/]+)", "get_repo"), ("POST", r"/repos/(?P<name>[^/]+)/echo", "echo")],
        prefix="/api",
    )

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[RestRequest] = []
        self.fail: list[Answer] = []
        self.repos = {"app": {"name": "app"}}
        self.lock = threading.Lock()

    def answer(self, request: RestRequest) -> Answer:
        with self.lock:
            self.seen.append(request)
            if self.fail:
                return self.fail.pop(0)
        if request.headers.get("Authorization") != f"token {TOKEN}":
            return Answer(401, {"message": f"bad credentials: {request.headers.get('Authorization')}"})
        found = self.routes.find(request.method, request.path)
        if found is None:
            return Answer(404, {"message": "Not Found", "errors": [{"resource": "Repo", "code": "missing"}]})
        name, params = found
        return getattr(self, name)(request, **params)

    def get_repo(self, request: RestRequest, *, name: str) -> Answer:
        del request
        repo = self.repos.get(name)
        if repo is None:
            return Answer(404, {"message": f"no repository {name}"})
        return Answer(200, repo, {"Link": f'<{self.url}/api/repos/{name}?page=2>; rel="next"'})

    def echo(self, request: RestRequest, *, name: str) -> Answer:
        return Answer(201, {"name": name, "body": request.json(), "query": request.query})


@pytest.fixture(name="forge")
def _forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeForge]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with FakeForge() as fake:
        yield fake


@pytest.fixture(name="client")
def _client(forge: FakeForge) -> ForgeClient:
    return ForgeClient(forge.url + "/api/")


class TestRequests:
    def test_the_token_goes_in_the_hosts_header_and_json_both_ways(self, forge: FakeForge, client: ForgeClient) -> None:
        response = client.request("POST", "/repos/app/echo", params={"q": "1"}, json={"a": [1]}, expect=(201,))
        assert response.json() == {"name": "app", "body": {"a": [1]}, "query": {"q": "1"}}
        assert forge.seen[-1].headers["Authorization"] == f"token {TOKEN}"
        assert client.api_url == forge.url + "/api"  # checked: no trailing slash

    def test_a_missing_token_is_asked_for_by_its_variable(
        self, forge: FakeForge, client: ForgeClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv(TOKEN_ENV)
        with pytest.raises(ForgeAuthenticationError) as caught:
            client.request("GET", "/repos/app")
        assert caught.value.status == 401
        assert caught.value.variable == TOKEN_ENV
        assert (
            f"Forge GET /api/repos/app: authentication failed (HTTP 401: bad credentials: None): set ${TOKEN_ENV}"
            in (str(caught.value))
        )
        assert "Authorization" not in forge.seen[-1].headers

    def test_a_refused_token_is_never_shown(self, forge: FakeForge, client: ForgeClient) -> None:
        forge.fail.append(Answer(401, {"message": f"token {TOKEN} revoked"}))
        with pytest.raises(ForgeAuthenticationError) as caught:
            client.request("GET", "/repos/app")
        assert TOKEN not in str(caught.value)
        assert f"the token in ${TOKEN_ENV} was refused" in str(caught.value)

    def test_not_found_is_the_plugins_lookup_error_with_the_answers_words(self, client: ForgeClient) -> None:
        with pytest.raises(
            ForgeNotFoundError, match=r"Forge GET /api/nothing: not found \(HTTP 404\): Not Found; Repo missing"
        ):
            client.request("GET", "/nothing")
        assert client.request("GET", "/repos/gone", expect=(404,)).status_code == 404

    def test_403_asks_to_check_the_scopes(self, forge: FakeForge, client: ForgeClient) -> None:
        forge.fail.append(Answer(403, {"message": "Resource not accessible"}))
        with pytest.raises(
            ForgeError,
            match=rf"access denied \(HTTP 403\): Resource not accessible; check the scopes of the token in \${TOKEN_ENV}",
        ):
            client.request("GET", "/repos/app")

    def test_a_5xx_is_retried_then_told_with_why_it_stopped(self, forge: FakeForge, client: ForgeClient) -> None:
        forge.fail += [Answer(502, b"<html><body><h1>Bad Gateway</h1></body></html>")] * 3
        with pytest.raises(ForgeError) as caught:
            client.request("GET", "/repos/app")
        assert len(forge.seen) == 3  # the first try and max_retries=2
        assert caught.value.status == 502
        assert "Forge GET /api/repos/app: HTTP 502: <html><body><h1>Bad Gateway</h1></body></html>" in str(caught.value)

    def test_a_rate_limit_past_max_wait_is_the_rate_limit_error(self, forge: FakeForge, client: ForgeClient) -> None:
        forge.fail.append(Answer(429, {"message": "slow down"}, {"Retry-After": "3600"}))
        with pytest.raises(ForgeRateLimitError, match=r"rate limited \(HTTP 429\): slow down"):
            client.request("GET", "/repos/app")
        assert len(forge.seen) == 1  # an hour is past max_wait: not waited for

    def test_a_link_off_the_apis_origin_gets_no_request(self, forge: FakeForge, client: ForgeClient) -> None:
        with pytest.raises(ForgeError, match=r"refusing to follow https://elsewhere.example/api/x off the API host"):
            client.request("GET", "https://elsewhere.example/api/x")
        assert forge.seen == []
        following = client.request("GET", "/repos/app").links["next"]["url"]
        assert client.request("GET", following).json() == {"name": "app"}  # on the origin: followed

    def test_an_unreachable_api_says_so_and_why(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))  # bound, never listening: refused
            client = ForgeClient(f"http://127.0.0.1:{sock.getsockname()[1]}/api", max_retries=0)
            with pytest.raises(
                ForgeError,
                match=r"cannot reach Forge at http://127\.0\.0\.1:\d+/api: .*refused.* \(GET /api/repos/app\)",
            ):
                client.request("GET", "/repos/app")

    def test_a_post_that_timed_out_is_not_sent_again(self, forge: FakeForge) -> None:
        slow = threading.Event()

        def answer(request: RestRequest) -> Answer:
            slow.wait(5)
            return Answer(201, {})

        forge.server.answer = answer
        client = ForgeClient(forge.url + "/api", timeout=0.3)
        try:
            with pytest.raises(ForgeError, match=r"Read timed out.*; not sent again, as the POST may have been done"):
                client.request("POST", "/repos/app/echo", json={})
        finally:
            slow.set()


class TestClientsByApi:
    def test_one_client_per_api_made_with_the_hosts_settings_of_first_use(self, forge: FakeForge) -> None:
        @attrs.define
        class Host:
            token_env: str = TOKEN_ENV
            timeout: float = 5.0
            max_retries: int = 2
            backoff: float = 0.01
            max_wait: float = 5.0
            clock: Any = None

        host = Host()
        clients = ClientsByApi(lambda api_url: ForgeClient(api_url, **client_settings(host)))
        host.clock = FakeClock()  # set after the host is built, as tests do: the clients get it
        first = clients.get(forge.url + "/api")
        assert clients.get(forge.url + "/api") is first
        assert clients.get(forge.url + "/other") is not first
        assert (first.clock, first.timeout, first.max_retries) == (host.clock, 5.0, 2)


class TestTokenAuth:
    @pytest.mark.parametrize(
        ("auth", "expected"),
        [
            (TokenAuth.bearer(), {"Authorization": "Bearer t0k"}),
            (TokenAuth.with_scheme("token"), {"Authorization": "token t0k"}),
            (TokenAuth.http_basic(), {"Authorization": "Basic " + base64.b64encode(b":t0k").decode()}),
            (TokenAuth.in_header("PRIVATE-TOKEN"), {"PRIVATE-TOKEN": "t0k"}),
        ],
    )
    def test_each_hosts_way(self, auth: TokenAuth, expected: dict[str, str]) -> None:
        assert auth.headers("t0k") == expected
        assert auth.headers(None) == {}


class TestErrorMessage:
    def _response(self, status: int, body: bytes, reason: str = "Bad Gateway") -> requests.Response:
        response = requests.Response()
        response.status_code, response._content, response.reason = status, body, reason
        return response

    def test_message_and_errors(self) -> None:
        body = b'{"message": "Validation Failed", "errors": ["one", {"message": "two"}, {"field": "head", "code": "invalid"}]}'
        assert error_message(self._response(422, body)) == "Validation Failed; one; two; head invalid"

    def test_a_page_gives_its_words_an_empty_body_its_reason(self) -> None:
        assert error_message(self._response(502, b"  <h1>Bad\n Gateway</h1> ")) == "<h1>Bad Gateway</h1>"
        assert error_message(self._response(502, b"")) == "Bad Gateway"
        assert error_message(self._response(502, b"x" * 900), length=10) == "x" * 10

    def test_a_host_reads_its_own_fields(self) -> None:
        assert error_message(self._response(400, b'{"error": "nope"}'), lambda data: data["error"]) == "nope"


class TestSettingChecks:
    def test_each_check_raises_the_plugins_settings_error(self) -> None:
        for check in (
            lambda: CHECKS.api_url("ftp://x"),
            lambda: CHECKS.token_env("not a name"),
            lambda: CHECKS.number("timeout", "0", float),
            lambda: CHECKS.boolean("strict", "perhaps"),
            lambda: CHECKS.branch_policy({"prod": "promote"}),
            lambda: CHECKS.known({"api_url": "", "colour": ""}, ("api_url",), "forge"),
        ):
            with pytest.raises(ForgeSettingsError):
                check()

    def test_values_as_a_cluster_file_writes_them(self) -> None:
        assert CHECKS.token_env("") == "FORGE_TOKEN"
        assert CHECKS.optional_api_url("") is None
        assert CHECKS.number("max_retries", "3", int) == 3
        assert (CHECKS.boolean("strict", "Yes"), CHECKS.boolean("strict", "off")) == (True, False)
        assert CHECKS.branch_policy({"prod": ["promote"]}).accepts("prod", "promote")
        with pytest.raises(
            ForgeSettingsError, match=r"unknown setting\(s\) of the forge host: colour \(known: api_url\)"
        ):
            CHECKS.known({"colour": "red"}, ("api_url",), "forge")
        assert sources_setting(None) is not None

    def test_take_hands_settings_on_converted_and_leaves_the_rest(self) -> None:
        settings = {"required_statuses": ["ci"], "required_reviews": "2", "strict": "yes", "timeout": "3"}
        taken = CHECKS.take(
            settings, renamed={"required_statuses": "contexts"}, counts=("required_reviews",), booleans=("strict",)
        )
        assert taken == {"contexts": ["ci"], "required_reviews": 2, "strict": True}
        assert settings == {"timeout": "3"}
        with pytest.raises(ForgeSettingsError, match="required_reviews must be a number"):
            CHECKS.take({"required_reviews": "two"}, counts=("required_reviews",))

    def test_same_origin_knows_default_ports(self) -> None:
        assert same_origin("https://h.example:443/a?page=2", "https://H.example/api")
        assert not same_origin("http://h.example/a", "https://h.example/api")


class TestRestServer:
    def test_a_bug_in_the_fake_is_a_500_and_serving_goes_on(self) -> None:
        calls: list[str] = []

        def answer(request: RestRequest) -> Answer:
            calls.append(request.path)
            if len(calls) == 1:
                raise RuntimeError("boom")
            return Answer(200, {"ok": True})

        with RestServer(answer) as server:
            first = requests.get(server.url + "/a", timeout=5)
            second = requests.get(server.url + "/b", timeout=5)
        assert (first.status_code, "boom" in first.json()["message"]) == (500, True)
        assert second.json() == {"ok": True}
        assert second.headers["Content-Type"] == "application/json; charset=utf-8"

    def test_a_chunked_body_is_put_together(self) -> None:
        with RestServer(lambda request: Answer(200, request.body)) as server:
            sent = requests.post(server.url + "/", data=iter([b"ab", b"cd"]), timeout=5)
        assert sent.content == b"abcd"

    def test_routes_match_whole_paths_and_unquote_their_parts(self) -> None:
        routes = Routes([("GET", r"/b/(?P<name>.+)", "branch")], prefix="/api")
        assert routes.find("GET", "/api/b/feature%2Fx") == ("branch", {"name": "feature/x"})
        assert routes.find("POST", "/api/b/x") is None
        assert routes.find("GET", "/api/b/x/../y/extra/api") == ("branch", {"name": "x/../y/extra/api"})
        assert routes.find("GET", "/other/api/b/x") is None
