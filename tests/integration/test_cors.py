"""CORS over real HTTP (``authserver.web.cors``, docs/cors.md), on SQLite and PostgreSQL:
the settings' origins on both ports, the per-client origins of the token, revocation,
device authorization and userinfo endpoints for every way a client names itself (the
token endpoint's hot path included), preflights, odd input, and nothing at all when
CORS is off. Assertions are on headers present or absent, never on wording."""

from __future__ import annotations

import base64
import contextlib
import subprocess
import uuid
from collections.abc import Iterator

import pytest
import requests

from authserver.domain.clients import DEVICE_CODE_GRANT
from tests.conftest import (
    _postgres_admin_dsn,
    drop_postgres_database,
    migrated_database,
    start_server,
)

TIMEOUT = 10
GLOBAL = "https://global.example"
ADMIN_UI = "https://admin-ui.example"
SPA = "https://spa.example"
ELSEWHERE = "https://elsewhere.example"
ALLOW = "Access-Control-Allow-Origin"
ENV = {
    "SERVE_PUBLIC_CORS_ENABLED": "true",
    "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": f"{GLOBAL},https://*.wild.example.com",
    "SERVE_PUBLIC_CORS_MAX_AGE": "600",
    "SERVE_ADMIN_CORS_ENABLED": "true",
    "SERVE_ADMIN_CORS_ALLOWED_ORIGINS": ADMIN_UI,
    "SERVE_ADMIN_CORS_ALLOW_CREDENTIALS": "false",
}


@pytest.fixture(scope="module")
def _cors_servers(tmp_path_factory) -> Iterator:
    """One server with CORS on per backend for the whole module (and xdist worker)."""
    servers, created = {}, []

    def get(backend: str):
        if backend not in servers:
            log_dir = tmp_path_factory.mktemp(f"cors-{backend}")
            database = migrated_database(backend, log_dir, "authserver_cors")
            if backend == "postgres":
                created.append(database)
            servers[backend] = start_server(database, log_dir, ENV)
        return servers[backend]

    yield get
    for server in servers.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.stop()
    for database in created:
        drop_postgres_database(_postgres_admin_dsn(), database)


@pytest.fixture
def cors_server(backend, request, _cors_servers):
    if backend == "postgres" and _postgres_admin_dsn() is None:
        request.getfixturevalue("server")  # conftest's report of PostgreSQL tests not run
    return _cors_servers(backend)


def new_client(server, origins=(), **fields) -> dict:
    body = {
        "client_id": f"cors-{uuid.uuid4().hex[:12]}",
        "grant_types": ["client_credentials"],
        "allowed_cors_origins": list(origins),
        **fields,
    }
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def basic(client: dict) -> dict[str, str]:
    raw = f"{client['client_id']}:{client['client_secret']}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def send(method: str, url: str, origin: str | None = None, **kwargs) -> requests.Response:
    headers = {**kwargs.pop("headers", {}), **({"Origin": origin} if origin else {})}
    response = requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
    assert response.status_code < 500, response.text
    return response


def preflight(url: str, origin: str, method="POST", headers: str | None = None):
    sent = {"Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    response = send("OPTIONS", url, origin, headers=sent)
    assert response.status_code == 200 and response.content == b""
    return response


def cors_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control")}


def allowed(response: requests.Response, origin: str) -> bool:
    """The answer lets ``origin`` read it; when it does not, it says nothing of CORS."""
    if response.headers.get(ALLOW) == origin:
        return True
    assert cors_headers(response) == {}, response.headers
    return False


def varies_on_origin(response: requests.Response) -> bool:
    return "origin" in response.headers.get("Vary", "").lower()


# -- the settings' origins -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration", "/.well-known/jwks.json"])
def test_settings_origins_on_discovery_and_jwks(cors_server, path):
    url = cors_server.public_url + path
    for origin in (GLOBAL, "https://a.wild.example.com"):
        response = send("GET", url, origin)
        assert response.status_code == 200 and allowed(response, origin)
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "content-type" in response.headers["Access-Control-Expose-Headers"].lower()
        assert varies_on_origin(response)
    for origin in (ELSEWHERE, "https://wild.example.com", "null"):
        response = send("GET", url, origin)
        assert response.status_code == 200 and not allowed(response, origin)
        assert varies_on_origin(response)
    assert cors_headers(send("GET", url)) == {}  # no Origin: untouched


PREFLIGHTS = [
    # (origin, method, requested headers, allowed)
    (GLOBAL, "GET", None, True),
    (GLOBAL, "POST", "Authorization, Content-Type", True),
    (GLOBAL, "DELETE", "ACCEPT", True),
    ("https://x.y.wild.example.com", "PUT", None, True),
    (GLOBAL, "BREW", None, False),
    (GLOBAL, "PROPFIND", None, False),
    (GLOBAL, "GET", "X-Requested-With", False),
    (GLOBAL, "GET", "Content-Type, Cookie", False),
    (GLOBAL, "GET", ",".join(["accept"] * 200), False),
    (ELSEWHERE, "GET", None, False),
    ("null", "GET", None, False),
    (f"{GLOBAL}, {ELSEWHERE}", "GET", None, False),
    ("https://" + "a" * 4000 + ".example", "GET", None, False),
    ("https://glöbal.example", "GET", None, False),
    ("https://global.example:8443", "GET", None, False),
]


@pytest.mark.parametrize(("origin", "method", "headers", "expected"), PREFLIGHTS)
def test_preflight_table(cors_server, origin, method, headers, expected):
    response = preflight(
        cors_server.public_url + "/.well-known/openid-configuration", origin, method, headers
    )
    assert allowed(response, origin) is expected
    assert varies_on_origin(response)
    if expected:
        assert response.headers["Access-Control-Allow-Methods"] == method
        assert response.headers["Access-Control-Max-Age"] == "600"
        requested = [h.strip().lower() for h in (headers or "").split(",") if h.strip()]
        listed = response.headers.get("Access-Control-Allow-Headers", "")
        assert [h.strip() for h in listed.split(",") if h.strip()] == requested


# -- per client --------------------------------------------------------------------------------


def test_token_client_secret_basic_on_the_hot_path(cors_server):
    listed, unlisted = new_client(cors_server, [SPA]), new_client(cors_server)
    url = cors_server.public_url + "/oauth2/token"
    data = {"grant_type": "client_credentials"}
    response = send("POST", url, SPA, data=data, headers=basic(listed))
    assert response.status_code == 200 and allowed(response, SPA)
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    response = send("POST", url, SPA, data=data, headers=basic(unlisted))
    assert response.status_code == 200 and not allowed(response, SPA)
    # Another grant is Flask's (the hot path declines it): the same headers on its error.
    refresh = {"grant_type": "refresh_token", "refresh_token": "x"}
    response = send("POST", url, SPA, data=refresh, headers=basic(listed))
    assert response.status_code == 400 and allowed(response, SPA)


def test_token_client_secret_post(cors_server):
    """Hydra bug #3456: a client that authenticates in the body is found too."""
    client = new_client(cors_server, [SPA], token_endpoint_auth_method="client_secret_post")
    form = {
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    response = send("POST", cors_server.public_url + "/oauth2/token", SPA, data=form)
    assert response.status_code == 200 and allowed(response, SPA)
    # A wrong secret: the browser app may read its invalid_client.
    response = send(
        "POST", cors_server.public_url + "/oauth2/token", SPA, data={**form, "client_secret": "x"}
    )
    assert response.status_code == 401 and allowed(response, SPA)
    # The settings' origin needs no client.
    response = send("POST", cors_server.public_url + "/oauth2/token", GLOBAL, data=form)
    assert allowed(response, GLOBAL)


def test_public_client_device_authorization_and_token(cors_server):
    def public_client(origins):
        return new_client(
            cors_server,
            origins,
            grant_types=[DEVICE_CODE_GRANT, "refresh_token"],
            token_endpoint_auth_method="none",
            scope="openid offline_access",
        )

    listed, unlisted = public_client([SPA]), public_client([ELSEWHERE])
    url = cors_server.public_url
    response = send(
        "POST", url + "/oauth2/device/auth", SPA, data={"client_id": listed["client_id"]}
    )
    assert response.status_code == 200 and allowed(response, SPA)
    poll = {
        "grant_type": DEVICE_CODE_GRANT,
        "client_id": listed["client_id"],
        "device_code": response.json()["device_code"],
    }
    response = send("POST", url + "/oauth2/token", SPA, data=poll)
    assert response.json()["error"] == "authorization_pending" and allowed(response, SPA)
    response = send(
        "POST", url + "/oauth2/device/auth", SPA, data={"client_id": unlisted["client_id"]}
    )
    assert response.status_code == 200 and not allowed(response, SPA)


def test_userinfo_follows_the_tokens_client(cors_server):
    def token_of(client):
        response = send(
            "POST",
            cors_server.public_url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers=basic(client),
        )
        return {"Authorization": "Bearer " + response.json()["access_token"]}

    listed, unlisted = new_client(cors_server, [SPA]), new_client(cors_server)
    url = cors_server.public_url + "/userinfo"
    response = send("GET", url, SPA, headers=token_of(listed))
    assert response.status_code == 403 and allowed(response, SPA)  # no openid scope
    assert not allowed(send("GET", url, SPA, headers=token_of(unlisted)), SPA)
    assert not allowed(send("GET", url, SPA, headers={"Authorization": "Bearer ory_at_x.y"}), SPA)


def test_revocation(cors_server):
    listed, unlisted = new_client(cors_server, [SPA]), new_client(cors_server)
    url = cors_server.public_url + "/oauth2/revoke"
    response = send("POST", url, SPA, data={"token": "not-a-token"}, headers=basic(listed))
    assert response.status_code == 200 and allowed(response, SPA)
    response = send("POST", url, SPA, data={"token": "not-a-token"}, headers=basic(unlisted))
    assert response.status_code == 200 and not allowed(response, SPA)


@pytest.mark.parametrize(
    "path", ["/oauth2/token", "/oauth2/revoke", "/oauth2/device/auth", "/userinfo"]
)
def test_per_client_paths_pass_any_well_formed_preflight(cors_server, path):
    """A preflight names no client: Hydra's x/oauth2cors lets every origin ask."""
    url = cors_server.public_url + path
    assert allowed(preflight(url, ELSEWHERE, "POST", "authorization, content-type"), ELSEWHERE)
    assert not allowed(preflight(url, "null", "POST"), "null")
    assert not allowed(preflight(url, ELSEWHERE, "BREW"), ELSEWHERE)
    assert not allowed(preflight(url, ELSEWHERE, "POST", "x-custom"), ELSEWHERE)


def test_other_public_paths_preflight_by_the_settings_only(cors_server):
    for path in ("/oauth2/auth", "/.well-known/jwks.json", "/oauth2/sessions/logout"):
        assert not allowed(preflight(cors_server.public_url + path, SPA), SPA)


ODD_REQUESTS = [
    ("GET", "/.well-known/jwks.json", {"Origin": "https://" + "a" * 6000 + ".example"}),
    ("GET", "/.well-known/jwks.json", {"Origin": "https://glöbal.example"}),
    ("POST", "/oauth2/token", {"Origin": "null", "Authorization": "Basic %%%"}),
    ("POST", "/oauth2/token", {"Origin": SPA, "Authorization": "Basic " + "A" * 3000}),
    ("POST", "/oauth2/token", {"Origin": SPA, "Content-Type": "application/x-www-form-urlencoded"}),
    ("GET", "/userinfo", {"Origin": SPA, "Authorization": "Bearer a.b.c"}),
    ("BREW", "/oauth2/token", {"Origin": GLOBAL}),
    ("OPTIONS", "/oauth2/token", {"Origin": SPA}),
]


@pytest.mark.parametrize(("method", "path", "headers"), ODD_REQUESTS)
def test_odd_requests_are_never_a_server_error(cors_server, method, path, headers):
    body = "client_id=%FF%00&client_assertion=a.%FF.c" if method == "POST" else None
    response = send(method, cors_server.public_url + path, headers=headers, data=body)
    assert response.headers.get(ALLOW) in (None, GLOBAL)


# -- the admin port, and CORS off ---------------------------------------------------------------


def test_admin_settings(cors_server):
    url = cors_server.admin_url + "/admin/clients"
    response = send("GET", url, ADMIN_UI)
    assert response.status_code == 200 and allowed(response, ADMIN_UI)
    assert "Access-Control-Allow-Credentials" not in response.headers  # configured off
    assert not allowed(send("GET", url, GLOBAL), GLOBAL)
    assert allowed(preflight(url, ADMIN_UI, "DELETE", "content-type"), ADMIN_UI)
    # No per-client rule on the admin port, even for a client that lists the origin.
    client = new_client(cors_server, [SPA])
    introspect = cors_server.admin_url + "/admin/oauth2/introspect"
    response = send("POST", introspect, SPA, data={"token": "x"}, headers=basic(client))
    assert response.status_code == 200 and not allowed(response, SPA)
    # The introspection hot path gets the settings' headers like Flask does.
    response = send("POST", introspect, ADMIN_UI, data={"token": "x"})
    assert response.json() == {"active": False} and allowed(response, ADMIN_UI)


@pytest.mark.parametrize(
    ("port", "path"),
    [
        ("public_url", "/.well-known/openid-configuration"),
        ("public_url", "/oauth2/token"),
        ("admin_url", "/admin/clients"),
    ],
)
def test_cors_off_adds_nothing(server, port, path):
    url = getattr(server, port) + path
    for method in ("GET", "POST"):
        response = send(method, url, GLOBAL, data={"grant_type": "client_credentials"})
        assert cors_headers(response) == {} and not varies_on_origin(response)
    response = send("OPTIONS", url, GLOBAL, headers={"Access-Control-Request-Method": "POST"})
    assert cors_headers(response) == {} and not varies_on_origin(response)
