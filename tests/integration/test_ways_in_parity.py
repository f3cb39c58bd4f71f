"""Both ways in give the same answer (issue #11).

The token and introspection endpoints have two ways in: the hot path (``web.hotpath``)
for the plain well-formed case, and the Flask views for everything. One table of
requests (good, refused, malformed, and with the database down) goes through the full
WSGI stack of each app twice, once with its hot paths and once without them (every
request then reaches Flask), and the answers must agree in status, headers and body.
The apps run in-process because only there can the hot paths be left out.

Tokens differ between two issuances by nature, so an issued token's value is compared by
its shape; every other byte must match.
"""

from __future__ import annotations

import base64
import json
import re
import socket
from urllib.parse import urlencode

import pytest

from authserver.admin.app import create_admin_app
from authserver.config import load_settings
from authserver.domain.tokens import TokenKind
from authserver.public.app import create_public_app
from authserver.runtime.boot import prepare
from authserver.services import build_services

SECRET = "parity-secret-0123456789"
SYSTEM_SECRET = "ways-in-parity-system-secret-01"
REQUEST_ID = "parity-request-1"


def _settings(dsn: str, **extra: str):
    env = {
        "DSN": dsn,
        "SECRETS_SYSTEM": SYSTEM_SECRET,
        "URLS_SELF_ISSUER": "http://127.0.0.1:4444/",
        **extra,
    }
    return load_settings(env=env, dev=True)


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


GOOD = _basic("parity", SECRET)

# (name, form, headers): token requests. Each is sent as a form POST to /oauth2/token.
TOKEN_REQUESTS = [
    ("basic", {"grant_type": "client_credentials"}, {"Authorization": GOOD}),
    (
        "basic with scope",
        {"grant_type": "client_credentials", "scope": "read"},
        {"Authorization": GOOD},
    ),
    (
        "audience twice",
        [
            ("grant_type", "client_credentials"),
            ("audience", "https://api"),
            ("audience", "https://api"),
        ],
        {"Authorization": GOOD},
    ),
    (
        "secret in the body",
        {"grant_type": "client_credentials", "client_id": "parity", "client_secret": SECRET},
        {},
    ),
    (
        "wrong secret",
        {"grant_type": "client_credentials"},
        {"Authorization": _basic("parity", "x" * 24)},
    ),
    (
        "unknown client",
        {"grant_type": "client_credentials"},
        {"Authorization": _basic("nobody", SECRET)},
    ),
    ("no credentials", {"grant_type": "client_credentials"}, {}),
    ("public client id only", {"grant_type": "client_credentials", "client_id": "parity"}, {}),
    ("basic not base64", {"grant_type": "client_credentials"}, {"Authorization": "Basic %%%"}),
    (
        "basic without colon",
        {"grant_type": "client_credentials"},
        {"Authorization": "Basic cGFyaXR5"},
    ),
    (
        "bearer instead of basic",
        {"grant_type": "client_credentials"},
        {"Authorization": "Bearer abc"},
    ),
    (
        "both methods",
        {"grant_type": "client_credentials", "client_id": "parity", "client_secret": SECRET},
        {"Authorization": GOOD},
    ),
    (
        "body id differs from basic",
        {"grant_type": "client_credentials", "client_id": "other"},
        {"Authorization": GOOD},
    ),
    (
        "scope not allowed",
        {"grant_type": "client_credentials", "scope": "admin"},
        {"Authorization": GOOD},
    ),
    (
        "audience not allowed",
        {"grant_type": "client_credentials", "audience": "https://elsewhere"},
        {"Authorization": GOOD},
    ),
    (
        "other grant",
        {"grant_type": "password", "username": "a", "password": "b"},
        {"Authorization": GOOD},
    ),
    ("unknown grant", {"grant_type": "urn:nothing"}, {"Authorization": GOOD}),
    ("no grant type", {"scope": "read"}, {"Authorization": GOOD}),
    ("repeated grant type", [("grant_type", "client_credentials")] * 2, {"Authorization": GOOD}),
    ("empty body", {}, {"Authorization": GOOD}),
    (
        "client not allowed this grant",
        {"grant_type": "client_credentials"},
        {"Authorization": _basic("codes-only", SECRET)},
    ),
    # Malformed Basic headers (issue #12): named as such, invalid_client, 401.
    (
        "basic not utf-8",
        {"grant_type": "client_credentials"},
        {"Authorization": "Basic " + base64.b64encode(b"\xffparity:\xfe").decode()},
    ),
    (
        "basic with control character",
        {"grant_type": "client_credentials"},
        {"Authorization": _basic("par\x01ity", SECRET)},
    ),
    (
        "basic empty secret",
        {"grant_type": "client_credentials"},
        {"Authorization": _basic("parity", "")},
    ),
    ("basic scheme alone", {"grant_type": "client_credentials"}, {"Authorization": "Basic"}),
    # The grant type asked for is named in the description, cleaned and shortened.
    (
        "unknown grant, odd characters",
        {"grant_type": '"\\<script>' + "x" * 300},
        {"Authorization": GOOD},
    ),
    (
        "unknown grant, control characters",
        {"grant_type": "urn:\x01\x7f\u00e9"},
        {"Authorization": GOOD},
    ),
]

ISSUED = {"basic", "basic with scope", "audience twice"}

# (status, error) of the refusals whose message issue #12 is about.
REFUSED = {
    "wrong secret": (401, "invalid_client"),
    "unknown client": (401, "invalid_client"),
    "no credentials": (401, "invalid_client"),
    "public client id only": (401, "invalid_client"),
    "basic not base64": (401, "invalid_client"),
    "basic without colon": (401, "invalid_client"),
    "basic not utf-8": (401, "invalid_client"),
    "basic with control character": (401, "invalid_client"),
    "basic empty secret": (401, "invalid_client"),
    "basic scheme alone": (401, "invalid_client"),
    "bearer instead of basic": (401, "invalid_client"),
    "both methods": (400, "invalid_request"),
    "other grant": (400, "unsupported_grant_type"),
    "unknown grant": (400, "unsupported_grant_type"),
    "unknown grant, odd characters": (400, "unsupported_grant_type"),
    "unknown grant, control characters": (400, "unsupported_grant_type"),
    "no grant type": (400, "invalid_request"),
}

# (name, form): introspection requests, sent to /admin/oauth2/introspect. "{token}" is
# replaced with an active access token.
INTROSPECTION_REQUESTS = [
    ("active token", {"token": "{token}"}),
    ("active token, granted scope", {"token": "{token}", "scope": "read"}),
    ("active token, scope not granted", {"token": "{token}", "scope": "write"}),
    ("tampered token", {"token": "{token}x"}),
    ("unknown opaque token", {"token": "ory_at_bogus.bogus"}),
    ("not a token", {"token": "hello"}),
    ("refresh-shaped token", {"token": "ory_rt_bogus.bogus"}),
    ("jwt-shaped token", {"token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"}),
    ("empty token", {"token": ""}),
    ("no token", {"scope": "read"}),
    ("token twice", [("token", "a"), ("token", "b")]),
]


def _answer(response) -> tuple:
    """Status, headers and body, byte for byte; in an answer that issues a token, the
    token's value is replaced by its shape (and the length by a placeholder)."""
    headers = sorted((name.lower(), value) for name, value in response.headers.items())
    body = response.get_data(as_text=True)
    if not body.startswith('{"access_token"'):
        return response.status_code, headers, body
    document = json.loads(body)
    for name in ("access_token", "refresh_token"):
        if isinstance(document.get(name), str):
            document[name] = re.sub(r"[A-Za-z0-9_\-]{20,}", "<random>", document[name])
    headers = [(name, "<n>" if name == "content-length" else value) for name, value in headers]
    return response.status_code, headers, document


def _post(client, path: str, form, headers: dict):
    return client.post(
        path,
        data=urlencode(form),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Request-Id": REQUEST_ID, **headers},
    )


def _both_ways(services) -> dict:
    """The public and admin test clients, with (True) and without (False) hot paths."""
    return {
        hot: (
            create_public_app(services, hot_paths=hot).test_client(),
            create_admin_app(services, hot_paths=hot).test_client(),
        )
        for hot in (True, False)
    }


@pytest.fixture
def both_ways(backend, make_database):
    database = make_database(backend)
    services = prepare(_settings(database.dsn))
    admin = create_admin_app(services).test_client()
    for document in (
        {
            "client_id": "parity",
            "client_secret": SECRET,
            "grant_types": ["client_credentials"],
            "scope": "read write",
            "audience": ["https://api"],
        },
        {
            "client_id": "codes-only",
            "client_secret": SECRET,
            "grant_types": ["authorization_code"],
            "redirect_uris": ["http://127.0.0.1:5555/cb"],
        },
    ):
        assert admin.post("/admin/clients", json=document).status_code == 201
    ways = _both_ways(services)
    yield services, ways
    services.close()


@pytest.mark.parametrize(
    ("name", "form", "headers"), TOKEN_REQUESTS, ids=[r[0] for r in TOKEN_REQUESTS]
)
def test_token_endpoint_answers_alike_both_ways(both_ways, name, form, headers):
    _services, ways = both_ways
    response = _post(ways[True][0], "/oauth2/token", form, headers)
    hot = _answer(response)
    flask = _answer(_post(ways[False][0], "/oauth2/token", form, headers))
    assert hot == flask
    assert (hot[0] == 200) == (name in ISSUED), hot
    _check_token_answer(response, REFUSED.get(name))


def _check_token_answer(response, refused: tuple[int, str] | None) -> None:
    """Compact JSON, as every answer of the server; a refusal with its status and code,
    a description that lists nothing as a Python list, and a Basic challenge with 401."""
    body = response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    document = json.loads(body)
    assert body == json.dumps(document, separators=(",", ":")), body
    if refused is None:
        return
    assert (response.status_code, document["error"]) == refused, body
    assert document["error_description"]
    assert not re.search(r"\[\s*'", document["error_description"]), body
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic"), response.headers


# (name, form, headers, status): revocation has one way in (Flask), Authlib renders it.
REVOCATION_REQUESTS = [
    ("revoked", {"token": "ory_at_bogus.bogus"}, {"Authorization": GOOD}, 200),
    ("no token", {}, {"Authorization": GOOD}, 400),
    ("basic not base64", {"token": "x"}, {"Authorization": "Basic %%%"}, 401),
    ("wrong secret", {"token": "x"}, {"Authorization": _basic("parity", "x" * 24)}, 401),
]


@pytest.mark.parametrize(
    ("name", "form", "headers", "status"),
    REVOCATION_REQUESTS,
    ids=[r[0] for r in REVOCATION_REQUESTS],
)
def test_revocation_answers_compact_json(both_ways, name, form, headers, status):
    _services, ways = both_ways
    response = _post(ways[True][0], "/oauth2/revoke", form, headers)
    assert response.status_code == status
    refused = (status, "invalid_client" if status == 401 else "invalid_request")
    _check_token_answer(response, None if status == 200 else refused)


@pytest.mark.parametrize(
    ("name", "form"), INTROSPECTION_REQUESTS, ids=[r[0] for r in INTROSPECTION_REQUESTS]
)
def test_introspection_answers_alike_both_ways(both_ways, name, form):
    _services, ways = both_ways
    issued = _post(
        ways[True][0],
        "/oauth2/token",
        {"grant_type": "client_credentials", "scope": "read"},
        {"Authorization": GOOD},
    ).get_json()["access_token"]
    pairs = form.items() if isinstance(form, dict) else form
    filled = [(key, value.replace("{token}", issued)) for key, value in pairs]
    hot = _answer(_post(ways[True][1], "/admin/oauth2/introspect", filled, {}))
    flask = _answer(_post(ways[False][1], "/admin/oauth2/introspect", filled, {}))
    assert hot == flask
    if name.startswith("active token") and "not granted" not in name:
        assert json.loads(hot[2])["active"] is True


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database_down():
    """Apps whose PostgreSQL refuses connections (nothing listens on its port)."""
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/down?connect_timeout=2"
    services = build_services(_settings(dsn, DATABASE_CONNECT_TIMEOUT="2s"))
    ways = _both_ways(services)
    yield services, ways
    services.close()


@pytest.mark.parametrize(
    ("app", "path", "form", "headers"),
    [
        (0, "/oauth2/token", {"grant_type": "client_credentials"}, {"Authorization": GOOD}),
        (
            0,
            "/oauth2/token",
            {"grant_type": "client_credentials", "scope": "read"},
            {"Authorization": GOOD},
        ),
        (1, "/admin/oauth2/introspect", {"token": "ory_rt_bogus.bogus"}, {}),
        # Flask-only endpoints (both "ways" are Flask): the same 503 with Retry-After.
        (0, "/oauth2/device/auth", {"scope": "read"}, {"Authorization": GOOD}),
        (
            0,
            "/oauth2/token",
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": "ory_dc_bogus.bogus",
            },
            {"Authorization": GOOD},
        ),
    ],
    ids=["token", "token with scope", "introspection", "device authorization", "device poll"],
)
def test_database_down_answers_alike_both_ways(database_down, app, path, form, headers):
    services, ways = database_down
    if "introspect" in path:
        # An access token with a valid signature, so that the lookup reaches the database.
        form = {"token": services.codec.mint(TokenKind.ACCESS_TOKEN).value}
    hot = _answer(_post(ways[True][app], path, form, headers))
    flask = _answer(_post(ways[False][app], path, form, headers))
    assert hot == flask
    assert hot[0] == 503
    assert json.loads(hot[2])["error"] == "temporarily_unavailable"
    assert ("retry-after", "1") in hot[1]


def test_both_ways_carry_the_request_id_and_one_access_line(both_ways, caplog):
    _services, ways = both_ways
    form = {"grant_type": "client_credentials"}
    with caplog.at_level("INFO", logger="authserver.access"):
        for hot in (True, False):
            response = _post(ways[hot][0], "/oauth2/token", form, {"Authorization": GOOD})
            assert response.headers["X-Request-Id"] == REQUEST_ID
    lines = [record for record in caplog.records if record.name == "authserver.access"]
    assert [(r.method, r.path, r.status) for r in lines] == [("POST", "/oauth2/token", 200)] * 2
