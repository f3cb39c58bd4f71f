"""The CORS middleware (``authserver.web.cors``) in front of a tiny WSGI app: preflights and
actual requests, the settings' origins, wildcards and ``*``, credentials, header case,
bad origins, and the per-client rule with a fake client directory."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest

from authserver.config import CorsSettings
from authserver.web.cors import ClientOrigins, Cors, CorsPolicy, Origin, cors_layer

APP = "https://app.example"
SETTINGS = CorsSettings(
    enabled=True,
    allowed_origins=(APP, "https://*.wild.example.com", "http://127.0.0.1:3000"),
    max_age=600,
)
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
CORS_NAMES = (
    ALLOW_ORIGIN,
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers",
    "Access-Control-Max-Age",
)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    app_body: bytes | None  # what the app read from wsgi.input; None: the app never ran

    def cors(self) -> dict[str, str]:
        return {name: value for name, value in self.headers.items() if name.startswith("Access")}


def tiny_app(environ, start_response):
    environ["seen_body"] = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Vary", "Cookie")])
    return [b"hello"]


def call(app, method="GET", path="/", headers=None, body=b"", form=None, length=None) -> Answer:
    if form is not None:
        body = urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": (str(len(body)) if body else "") if length is None else length,
        "CONTENT_TYPE": "",
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status[:3])
        started["headers"] = response_headers

    out = b"".join(app(environ, start_response))
    names = [name for name, _ in started["headers"]]
    assert len(names) == len(set(names)), names  # no header twice (Vary merged)
    return Answer(started["status"], dict(started["headers"]), out, environ.get("seen_body"))


def middleware(settings: CorsSettings = SETTINGS, clients=None):
    return Cors(tiny_app, CorsPolicy.of(settings), clients)


def preflight(app, origin, method="POST", headers=None, path="/oauth2/token", **more):
    sent = {"Origin": origin, "Access-Control-Request-Method": method, **more}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return call(app, "OPTIONS", path, sent)


# -- preflights ----------------------------------------------------------------------------

ALLOWED_PREFLIGHTS = [
    pytest.param(APP, "POST", None, id="exact"),
    pytest.param(APP.upper(), "GET", None, id="origin-case-insensitive"),
    pytest.param("https://a.wild.example.com", "GET", None, id="wildcard-one-label"),
    pytest.param("https://a.b.wild.example.com", "GET", None, id="wildcard-two-labels"),
    pytest.param("http://127.0.0.1:3000", "DELETE", None, id="with-port"),
    pytest.param(APP, "POST", "content-type", id="one-header"),
    pytest.param(APP, "POST", "Authorization, CONTENT-TYPE", id="header-case"),
    pytest.param(APP, "POST", "", id="empty-header-list"),
    pytest.param(APP, "OPTIONS", None, id="options-method"),
    pytest.param(APP, "patch", None, id="method-case"),
]


@pytest.mark.parametrize(("origin", "method", "headers"), ALLOWED_PREFLIGHTS)
def test_allowed_preflight(origin, method, headers):
    answer = preflight(middleware(), origin, method, headers, path="/anything")
    assert answer.status == 200 and answer.app_body is None and answer.body == b""
    assert answer.headers[ALLOW_ORIGIN] == origin  # echoed, never * with credentials
    assert answer.headers["Access-Control-Allow-Methods"] == method
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Access-Control-Max-Age"] == "600"
    vary = {v.strip() for v in answer.headers["Vary"].split(",")}
    assert vary == {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"}
    if headers:
        allowed = answer.headers["Access-Control-Allow-Headers"].split(", ")
        assert allowed == [h.strip().lower() for h in headers.split(",")]
    else:
        assert "Access-Control-Allow-Headers" not in answer.headers


REFUSED_PREFLIGHTS = [
    pytest.param("https://evil.example", "POST", None, id="other-origin"),
    pytest.param("https://app.example.evil", "POST", None, id="suffix-trick"),
    pytest.param("https://app.example:8443", "POST", None, id="other-port"),
    pytest.param("http://app.example", "POST", None, id="other-scheme"),
    pytest.param("https://wild.example.com", "POST", None, id="wildcard-needs-a-label"),
    pytest.param("https://a.wild.example.com:444", "POST", None, id="wildcard-other-port"),
    pytest.param("https://evilwild.example.com", "POST", None, id="wildcard-label-boundary"),
    pytest.param("null", "POST", None, id="null-origin"),
    pytest.param("", "POST", None, id="empty-origin"),
    pytest.param(f"{APP}, https://evil.example", "POST", None, id="two-origins"),
    pytest.param(f"{APP}/", "POST", None, id="trailing-slash"),
    pytest.param(f"{APP}/path", "POST", None, id="with-path"),
    pytest.param(f"{APP}\r\nSet-Cookie: a=b", "POST", None, id="crlf"),
    pytest.param("https://ápp.example", "POST", None, id="non-ascii"),
    pytest.param("https://" + "a" * 5000 + ".example", "POST", None, id="huge"),
    pytest.param("https://user@app.example", "POST", None, id="userinfo"),
    pytest.param(APP, "BREW", None, id="method-not-allowed"),
    pytest.param(APP, "PO ST", None, id="method-not-a-token"),
    pytest.param(APP, "", None, id="method-empty"),
    pytest.param(APP, "POST", "X-Custom", id="header-not-allowed"),
    pytest.param(APP, "POST", "Content-Type, X-Custom", id="one-header-not-allowed"),
    pytest.param(APP, "POST", "Content Type", id="header-not-a-token"),
    pytest.param(APP, "POST", "Content-Type\r\nX-A: b", id="header-crlf"),
    pytest.param(APP, "POST", ",".join(["accept"] * 100), id="too-many-headers"),
]


@pytest.mark.parametrize(("origin", "method", "headers"), REFUSED_PREFLIGHTS)
def test_refused_preflight_is_200_without_cors_headers(origin, method, headers):
    answer = preflight(middleware(), origin, method, headers, path="/anything")
    assert answer.status == 200 and answer.app_body is None and answer.body == b""
    assert answer.cors() == {}
    assert "Vary" in answer.headers


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(replace(SETTINGS, allowed_origins=("*",)), "origin", id="star-credentials"),
        pytest.param(
            replace(SETTINGS, allowed_origins=("*",), allow_credentials=False), "*", id="star"
        ),
    ],
)
def test_every_origin_allowed(settings, expected):
    # (An empty list allows none: test_an_empty_origin_list_allows_none.)
    origin = "https://anyone.example"
    for answer in (
        preflight(middleware(settings), origin),
        call(middleware(settings), "GET", "/x", {"Origin": origin}),
    ):
        assert answer.headers[ALLOW_ORIGIN] == (origin if expected == "origin" else "*")
        credentials = answer.headers.get("Access-Control-Allow-Credentials")
        assert credentials == ("true" if settings.allow_credentials else None)


@pytest.mark.parametrize(
    "patterns",
    [
        pytest.param(("https://*foo.example.com",), id="not-a-whole-label"),
        pytest.param(("https://*.com",), id="one-label-base"),
        pytest.param(("http://*",), id="scheme-only"),
        pytest.param(("https://www.*.com",), id="inner"),
        pytest.param(("https://www.example.*",), id="trailing"),
    ],
)
def test_unbounded_wildcards_are_ignored(patterns):
    app = middleware(replace(SETTINGS, allowed_origins=patterns))
    for origin in (
        "https://evilfoo.example.com",
        "https://x.com",
        "http://x.example",
        "https://www.example.org",
    ):
        assert preflight(app, origin).cors() == {}


def test_headers_star_allows_any_header_and_max_age_zero_is_left_out():
    settings = replace(SETTINGS, allowed_headers=("*",), max_age=0)
    answer = preflight(middleware(settings), APP, "PUT", "X-Anything, X-Else")
    assert answer.headers["Access-Control-Allow-Headers"] == "x-anything, x-else"
    assert "Access-Control-Max-Age" not in answer.headers


def test_settings_that_cannot_be_header_values_are_dropped():
    settings = replace(
        SETTINGS,
        exposed_headers=("X-Good", "X-Bad\r\nSet-Cookie: a=b"),
        allowed_methods=("GET", "P T"),
    )
    answer = call(middleware(settings), "GET", "/", {"Origin": APP})
    assert answer.headers["Access-Control-Expose-Headers"] == "X-Good"
    assert preflight(middleware(settings), APP, "P T").cors() == {}


def test_no_methods_allowed_means_no_preflight_passes():
    app = middleware(replace(SETTINGS, allowed_methods=()))
    assert preflight(app, APP, "OPTIONS").cors() == {}


# -- actual requests -----------------------------------------------------------------------


def test_allowed_actual_request():
    answer = call(middleware(), "POST", "/x", {"Origin": APP}, form={"a": "b"})
    assert answer.status == 200 and answer.body == b"hello"
    assert answer.headers[ALLOW_ORIGIN] == APP
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    exposed = answer.headers["Access-Control-Expose-Headers"].split(", ")
    assert "Content-Type" in exposed and "Cache-Control" in exposed
    assert answer.headers["Vary"] == "Cookie, Origin"  # merged with the app's
    assert "Access-Control-Allow-Methods" not in answer.headers
    assert answer.app_body == b"a=b"


@pytest.mark.parametrize(
    ("method", "origin"),
    [
        pytest.param("GET", "https://evil.example", id="other-origin"),
        pytest.param("GET", "null", id="null"),
        pytest.param("GET", "https://app.example\x00", id="nul"),
        pytest.param("BREW", APP, id="method-not-allowed"),
        pytest.param("OPTIONS", "https://evil.example", id="options-without-request-method"),
    ],
)
def test_refused_actual_request_passes_through_without_cors_headers(method, origin):
    answer = call(middleware(), method, "/x", {"Origin": origin})
    assert answer.status == 200 and answer.body == b"hello"
    assert answer.cors() == {}
    assert "Origin" in answer.headers["Vary"]


def test_credentials_off():
    answer = call(
        middleware(replace(SETTINGS, allow_credentials=False)), "GET", "/", {"Origin": APP}
    )
    assert answer.headers[ALLOW_ORIGIN] == APP
    assert "Access-Control-Allow-Credentials" not in answer.headers


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
def test_without_origin_nothing_changes(method):
    answer = call(middleware(), method, "/oauth2/token", {"Access-Control-Request-Method": "POST"})
    assert answer.headers == {"Content-Type": "text/plain", "Vary": "Cookie"}
    assert answer.app_body == b""


def test_disabled_installs_nothing():
    assert cors_layer(replace(SETTINGS, enabled=False)) is None
    assert cors_layer(SETTINGS) is not None


def test_origin_parse():
    assert Origin.parse("HTTPS://App.Example:8443") == Origin("https", "app.example", "8443")
    assert Origin.parse("https://[::1]:8443") == Origin("https", "[::1]", "8443")
    for bad in (
        "ftp://x.example",
        "https://",
        "https://x.example:",
        "https://x.example:123456",
        "x",
    ):
        assert Origin.parse(bad) is None, bad


# -- per client ----------------------------------------------------------------------------

CLIENT_ORIGIN = "https://spa.example"


@dataclass
class FakeDatabase:
    down: bool = False
    opened: int = 0
    closed: int = 0

    def open_session(self, write=True, autocommit=False, driver=False):
        assert write is False and autocommit is True
        if self.down:
            raise ConnectionError("database down")
        self.opened += 1
        return object()

    def close_session(self, session):
        self.closed += 1


@dataclass
class FakeClients:
    origins: dict[str, tuple[str, ...]]
    asked: list[str] = field(default_factory=list)

    def find(self, session, client_id):
        self.asked.append(client_id)
        if client_id not in self.origins:
            return None
        return SimpleNamespace(client=SimpleNamespace(allowed_cors_origins=self.origins[client_id]))


@dataclass
class FakeTokens:
    def lookup(self, session, token):
        owners = {"token-spa": ("spa", True), "token-other": ("other", True), "old": ("spa", False)}
        if token not in owners:
            return None
        client_id, active = owners[token]
        return SimpleNamespace(client_id=client_id, is_active=lambda now, a=active: a)


def per_client_app(database=None):
    services = SimpleNamespace(
        database=database or FakeDatabase(),
        clients=FakeClients({"spa": (CLIENT_ORIGIN,), "other": ("https://other.example",)}),
        access_tokens=FakeTokens(),
        clock=SimpleNamespace(now=lambda: 0),
    )
    return Cors(tiny_app, CorsPolicy.of(SETTINGS), ClientOrigins(services, 1024)), services


def basic(client_id: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:s".encode()).decode()


def assertion(claims) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode({'alg': 'RS256'})}.{encode(claims)}.c2ln"


JWT_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN = "/oauth2/token"


def row(name, allowed, path=TOKEN, method="POST", headers=None, form=None):
    return pytest.param(path, method, headers or {}, form, allowed, id=name)


def jwt_form(iss, sub) -> dict:
    return {
        "client_assertion_type": JWT_TYPE,
        "client_assertion": assertion({"iss": iss, "sub": sub}),
    }


PER_CLIENT = [
    row("basic", True, headers={"Authorization": basic("spa")}, form={"grant_type": "x"}),
    row("post", True, form={"client_id": "spa", "client_secret": "s"}),
    row("none", True, form={"client_id": "spa"}),
    row("assertion", True, form=jwt_form("spa", "spa")),
    row("trailing-slash", True, path=TOKEN + "/", form={"client_id": "spa"}),
    row("revoke", True, path="/oauth2/revoke", headers={"Authorization": basic("spa")}),
    row("device", True, path="/oauth2/device/auth", form={"client_id": "spa"}),
    row("userinfo", True, "/userinfo", "GET", {"Authorization": "Bearer token-spa"}),
    row("userinfo-body", True, "/userinfo", form={"access_token": "token-spa"}),
    row("userinfo-other", False, "/userinfo", "GET", {"Authorization": "Bearer token-other"}),
    row("userinfo-inactive", False, "/userinfo", "GET", {"Authorization": "Bearer old"}),
    row("userinfo-unknown", False, "/userinfo", "GET", {"Authorization": "Bearer nope"}),
    row("userinfo-by-client-id", False, "/userinfo", form={"client_id": "spa"}),
    row("other-client", False, form={"client_id": "other"}),
    row("unknown-client", False, form={"client_id": "unknown"}),
    row("no-client", False, form={"grant_type": "x"}),
    row("disagree", False, headers={"Authorization": basic("other")}, form={"client_id": "spa"}),
    row("assertion-iss-not-sub", False, form=jwt_form("spa", "x")),
    row(
        "assertion-garbage",
        False,
        form={"client_assertion_type": JWT_TYPE, "client_assertion": "a.!.c"},
    ),
    row("basic-garbage", False, headers={"Authorization": "Basic !!!"}),
    row("client-id-nul", False, form={"client_id": "spa\x00"}),
    row("get-no-body", False, method="GET"),
    row("not-a-per-client-path", False, path="/oauth2/auth", form={"client_id": "spa"}),
    row("jwks", False, "/.well-known/jwks.json", "GET"),
]


@pytest.mark.parametrize(("path", "method", "headers", "form", "allowed"), PER_CLIENT)
def test_per_client_origin(path, method, headers, form, allowed):
    app, services = per_client_app()
    answer = call(app, method, path, {"Origin": CLIENT_ORIGIN, **headers}, form=form)
    assert answer.status == 200
    assert (answer.headers.get(ALLOW_ORIGIN) == CLIENT_ORIGIN) is allowed
    if not allowed:
        assert answer.cors() == {}
    if form is not None:  # the app reads the body the layer read first
        assert answer.app_body == urlencode(form).encode()
    assert services.database.opened == services.database.closed


def test_repeated_client_id_names_no_client():
    app, _ = per_client_app()
    body = b"client_id=spa&client_id=spa"
    headers = {"Origin": CLIENT_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    answer = call(app, "POST", "/oauth2/token", headers, body=body)
    assert answer.cors() == {} and answer.app_body == body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"client_id=%FF", id="bad-utf8"),
        pytest.param("client_id=spä".encode(), id="not-ascii"),
        pytest.param(b"&".join([b"a=b"] * 300) + b"&client_id=spa", id="many-fields"),
        pytest.param(b"client_id=spa&" + b"x" * 2000, id="over-the-limit"),
    ],
)
def test_odd_bodies_name_no_client_and_reach_the_app_unchanged(body):
    app, services = per_client_app()
    headers = {"Origin": CLIENT_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    answer = call(app, "POST", "/oauth2/token", headers, body=body)
    assert answer.cors() == {} and answer.app_body == body
    assert services.clients.asked == []


@pytest.mark.parametrize("length", ["9" * 5000, "\u00b2", "-1", "0", ""])
def test_odd_content_lengths_name_no_client(length):
    app, services = per_client_app()
    answer = call(
        app, "POST", "/oauth2/token", {"Origin": CLIENT_ORIGIN}, form={"client_id": "spa"}
    )
    assert answer.headers[ALLOW_ORIGIN] == CLIENT_ORIGIN  # the control case
    environ_headers = {"Origin": CLIENT_ORIGIN, "Content-Type": "application/x-www-form-urlencoded"}
    body = b"client_id=spa"
    answer = call(app, "POST", "/oauth2/token", environ_headers, body=body, length=length)
    assert answer.cors() == {} and answer.app_body == body


def test_settings_origin_needs_no_lookup():
    app, services = per_client_app()
    answer = call(app, "POST", "/oauth2/token", {"Origin": APP}, form={"client_id": "spa"})
    assert answer.headers[ALLOW_ORIGIN] == APP
    assert services.clients.asked == [] and services.database.opened == 0


def test_database_down_means_no_per_client_headers_and_no_error():
    app, services = per_client_app(FakeDatabase(down=True))
    answer = call(
        app, "POST", "/oauth2/token", {"Origin": CLIENT_ORIGIN}, form={"client_id": "spa"}
    )
    assert answer.status == 200 and answer.cors() == {}
    assert answer.app_body == b"client_id=spa"


@pytest.mark.parametrize(
    "path", ["/oauth2/token", "/oauth2/revoke", "/oauth2/device/auth", "/userinfo"]
)
def test_per_client_paths_pass_any_preflight(path):
    app, services = per_client_app()
    answer = preflight(app, "https://anyone.example", "POST", "Authorization", path=path)
    assert answer.headers[ALLOW_ORIGIN] == "https://anyone.example"
    assert answer.headers["Access-Control-Allow-Headers"] == "authorization"
    assert services.database.opened == 0  # a preflight names no client
    assert preflight(app, "null", path=path).cors() == {}
    assert preflight(app, "https://anyone.example", "BREW", path=path).cors() == {}
    assert preflight(app, "https://anyone.example", "POST", "X-Custom", path=path).cors() == {}


def test_other_paths_preflight_by_the_settings_only():
    app, _ = per_client_app()
    assert preflight(app, "https://anyone.example", path="/.well-known/jwks.json").cors() == {}
    assert preflight(app, "https://anyone.example", path="/oauth2/auth").cors() == {}


def test_admin_layer_has_no_per_client_rule():
    answer = preflight(middleware(), "https://anyone.example", path="/oauth2/token")
    assert answer.cors() == {}


def test_an_empty_origin_list_allows_none():
    # Hydra reads an empty list as "every origin, with credentials"; here * must be said.
    settings = replace(SETTINGS, allowed_origins=())
    origin = "https://anyone.example"
    for answer in (
        preflight(middleware(settings), origin),
        call(middleware(settings), "GET", "/x", {"Origin": origin}),
    ):
        assert ALLOW_ORIGIN not in answer.headers
