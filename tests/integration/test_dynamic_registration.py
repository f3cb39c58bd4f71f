"""Dynamic client registration (RFC 7591) and management (RFC 7592) on a real server, on
SQLite and on PostgreSQL: one server per database with registration on (started once for
the module), one with a small rate limit, and the shared default server, where it is off.

The registering side is plain ``requests``: Authlib implements the server side of RFC
7591/7592 only, and a registration is one JSON POST.
"""

from __future__ import annotations

import json
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests

from tests.conftest import dedicated_server
from tests.integration.oauth_flow import REDIRECT_URI, FlowDriver

TIMEOUT = 10
DEFAULT_SCOPE = "openid offline registered"
REGISTRATION_ON = {
    "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED": "true",
    "OIDC_DYNAMIC_CLIENT_REGISTRATION_DEFAULT_SCOPE": DEFAULT_SCOPE.replace(" ", ","),
    "OIDC_DYNAMIC_CLIENT_REGISTRATION_RATE_LIMIT": "0",  # the rate limit has its own server
}
CC = {"grant_types": ["client_credentials"], "scope": "read write"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def registrar(request, tmp_path_factory):
    """A server with registration on (``--dev``: the code flow's cookies over http)."""
    with dedicated_server(request, tmp_path_factory, "registration", REGISTRATION_ON) as server:
        yield server


def register(server, body, **kwargs) -> requests.Response:
    return requests.post(
        server.public_url + "/oauth2/register", timeout=TIMEOUT, json=body, **kwargs
    )


def registered(server, body) -> dict:
    response = register(server, body)
    assert response.status_code == 201, response.text
    return response.json()


def manage(method: str, client: dict, token: str | None = None, **kwargs) -> requests.Response:
    token = client["registration_access_token"] if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, client["registration_client_uri"], headers=headers, timeout=TIMEOUT, **kwargs
    )


def client_credentials(server, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        auth=(client_id, secret),
        timeout=TIMEOUT,
    )


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["Cache-Control"] == "no-store"


def test_register_use_read_update_delete(registrar):
    response = register(registrar, {**CC, "client_name": "lifecycle"})
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    client = response.json()
    client_id, secret, first_token = (
        client["client_id"],
        client["client_secret"],
        client["registration_access_token"],
    )
    assert response.headers["Location"] == client["registration_client_uri"]
    assert client["registration_client_uri"].endswith(f"/oauth2/register/{client_id}")
    assert client["client_secret_expires_at"] == 0
    assert abs(client["client_id_issued_at"] - time.time()) < 120
    assert "metadata" not in client

    assert client_credentials(registrar, client_id, secret).status_code == 200

    read = manage("GET", client)
    assert read.status_code == 200, read.text
    assert read.headers["Cache-Control"] == "no-store"
    shown = read.json()
    assert "client_secret" not in shown
    assert shown["registration_access_token"] == first_token  # not rotated by a read
    assert shown["client_name"] == "lifecycle" and shown["scope"] == "read write"

    # RFC 7592 §2.2: the client sends back what it read, with its change.
    updated = manage("PUT", client, json={**shown, "client_name": "renamed"})
    assert updated.status_code == 200, updated.text
    new = updated.json()
    assert new["client_name"] == "renamed" and "client_secret" not in new
    assert new["registration_access_token"] != first_token
    assert_invalid_token(manage("GET", client))  # the old token is dead
    assert manage("GET", new).json()["client_name"] == "renamed"
    assert client_credentials(registrar, client_id, secret).status_code == 200  # secret kept

    assert_invalid_token(manage("DELETE", client))
    deleted = manage("DELETE", new)
    assert deleted.status_code == 204, deleted.text
    assert_invalid_token(manage("GET", new))
    assert_invalid_token(manage("DELETE", new))
    assert client_credentials(registrar, client_id, secret).status_code == 401
    gone = requests.get(f"{registrar.admin_url}/admin/clients/{client_id}", timeout=TIMEOUT)
    assert gone.status_code == 404


def test_public_client_runs_the_code_flow(registrar):
    client = registered(
        registrar,
        {
            "token_endpoint_auth_method": "none",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid offline",
        },
    )
    assert "client_secret" not in client and client["token_endpoint_auth_method"] == "none"
    driver = FlowDriver(registrar, client)
    code = driver.run(scope="openid offline")["code"]
    tokens = requests.post(
        registrar.public_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"],
            "code_verifier": driver.code_verifier,
        },
        timeout=TIMEOUT,
    )
    assert tokens.status_code == 200, tokens.text
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens.json())


def test_default_scope_when_none_is_asked_for(registrar):
    client = registered(registrar, {"grant_types": ["client_credentials"]})
    assert client["scope"] == DEFAULT_SCOPE
    assert manage("GET", client).json()["scope"] == DEFAULT_SCOPE


NUL = '{"client_name": "a\\u0000b", "grant_types": ["client_credentials"]}'
SURROGATE = '{"client_name": "a\\ud800b", "grant_types": ["client_credentials"]}'
DEEP = '{"grant_types": ["client_credentials"], "jwks": ' + "[" * 200 + "]" * 200 + "}"
BAD_BODIES = [
    # (id, raw body or JSON document, error)
    ("not JSON", "{", "invalid_request"),
    ("not an object", "[]", "invalid_request"),
    ("a string", '"client"', "invalid_request"),
    ("NUL", NUL, "invalid_request"),
    ("lone surrogate", SURROGATE, "invalid_request"),
    ("deep JSON", DEEP, "invalid_request"),
    ("unknown field", {**CC, "colour": "blue"}, "invalid_client_metadata"),
    ("wrong type", {**CC, "redirect_uris": "https://app.example/cb"}, "invalid_client_metadata"),
    (
        "public and client_credentials",
        {**CC, "token_endpoint_auth_method": "none"},
        "invalid_client_metadata",
    ),
    (
        "post-logout URI of another origin",
        {
            "redirect_uris": ["https://app.example/cb"],
            "post_logout_redirect_uris": ["https://other.example/bye"],
        },
        "invalid_redirect_uri",
    ),
    ("code flow without redirect URIs", {"client_name": "x"}, "invalid_redirect_uri"),
    (
        "huge redirect_uris",
        {"redirect_uris": [f"https://app.example/{i}" for i in range(21)]},
        "invalid_client_metadata",
    ),
    ("huge contacts", {**CC, "contacts": ["a@b.example"] * 21}, "invalid_client_metadata"),
    ("custom scheme", {"redirect_uris": ["com.example.app:/cb"]}, "invalid_redirect_uri"),
    ("fragment", {"redirect_uris": ["https://app.example/cb#x"]}, "invalid_redirect_uri"),
    ("user info", {"redirect_uris": ["https://a.example@b.example/cb"]}, "invalid_redirect_uri"),
    ("http elsewhere", {"redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ("javascript", {"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
    ("chosen client_id", {**CC, "client_id": "mine"}, "invalid_client_metadata"),
    ("chosen secret", {**CC, "client_secret": "s3cret-s3cret"}, "invalid_client_metadata"),
    # Fields only an administrator sets.
    ("metadata", {**CC, "metadata": {"tier": "gold"}}, "invalid_client_metadata"),
    ("skip_consent", {**CC, "skip_consent": True}, "invalid_client_metadata"),
    ("skip_logout_consent", {**CC, "skip_logout_consent": True}, "invalid_client_metadata"),
    ("access_token_strategy", {**CC, "access_token_strategy": "jwt"}, "invalid_client_metadata"),
    ("owner", {**CC, "owner": "admin"}, "invalid_client_metadata"),
    (
        "a lifespan",
        {**CC, "client_credentials_grant_access_token_lifespan": "24h"},
        "invalid_client_metadata",
    ),
    ("expiring secret", {**CC, "client_secret_expires_at": 99}, "invalid_client_metadata"),
]


@pytest.mark.parametrize(
    ("body", "error"), [case[1:] for case in BAD_BODIES], ids=[case[0] for case in BAD_BODIES]
)
def test_bad_registrations_are_refused(registrar, body, error):
    raw = body if isinstance(body, str) else json.dumps(body)
    response = requests.post(
        registrar.public_url + "/oauth2/register",
        data=raw.encode(),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"


def test_an_oversized_body_is_refused(registrar):
    response = register(registrar, {**CC, "client_name": "x" * 70_000})
    assert response.status_code == 413


def test_tokens_open_their_own_client_only(registrar):
    mine, theirs = registered(registrar, CC), registered(registrar, CC)
    other_token = theirs["registration_access_token"]
    for method, kwargs in (("GET", {}), ("PUT", {"json": CC}), ("DELETE", {})):
        assert_invalid_token(manage(method, mine, other_token, **kwargs))
    missing = {**mine, "registration_client_uri": mine["registration_client_uri"] + "-nope"}
    admin_made = requests.post(registrar.admin_url + "/admin/clients", json=CC, timeout=TIMEOUT)
    admin_uri = f"{registrar.public_url}/oauth2/register/{admin_made.json()['client_id']}"
    basic = {"Authorization": "Basic " + mine["registration_access_token"]}
    answers = [
        manage("GET", mine, ""),  # no Authorization header
        requests.get(mine["registration_client_uri"], headers=basic, timeout=TIMEOUT),
        manage("GET", mine, "garbage"),
        manage("GET", missing, mine["registration_access_token"]),
        manage("GET", {"registration_client_uri": admin_uri}, other_token),
        manage("DELETE", {"registration_client_uri": admin_uri}, other_token),
    ]
    for answer in answers:
        assert_invalid_token(answer)
    # Not one answer tells a client that exists from one that does not.
    assert len({answer.text for answer in answers}) == 1
    assert manage("GET", mine).status_code == 200
    assert manage("GET", theirs).status_code == 200
    admin_read = requests.get(
        f"{registrar.admin_url}/admin/clients/{admin_made.json()['client_id']}", timeout=TIMEOUT
    )
    assert admin_read.status_code == 200


def test_updates_follow_the_registration_rules(registrar):
    client = registered(registrar, {**CC, "client_name": "rules"})
    token, secret, client_id = (
        client["registration_access_token"],
        client["client_secret"],
        client["client_id"],
    )
    # Refused updates change nothing, the token included.
    for body, error in (
        ({**CC, "skip_consent": True}, "invalid_client_metadata"),
        ({**CC, "client_id": "another"}, "invalid_client_metadata"),
        ({**CC, "client_secret": "a-secret-of-my-own"}, "invalid_client_metadata"),
        ({**CC, "redirect_uris": ["http://app.example/cb"]}, "invalid_redirect_uri"),
    ):
        refused = manage("PUT", client, token, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == error
    assert manage("GET", client, token).json()["client_name"] == "rules"

    # An administrator's settings survive the client's own update, and stay hidden.
    admin_url = f"{registrar.admin_url}/admin/clients/{client_id}"
    admin_view = requests.get(admin_url, timeout=TIMEOUT).json()
    assert admin_view["metadata"] == {}
    patched = requests.patch(
        admin_url,
        json=[{"op": "replace", "path": "/metadata", "value": {"tier": "gold"}}],
        timeout=TIMEOUT,
    )
    assert patched.status_code == 200, patched.text
    kept = manage("PUT", client, token, json={**CC, "client_secret": secret})
    assert kept.status_code == 200, kept.text
    assert "metadata" not in kept.json()
    assert requests.get(admin_url, timeout=TIMEOUT).json()["metadata"] == {"tier": "gold"}
    token = kept.json()["registration_access_token"]

    # Public: the secret goes. Back to a secret: a new one, shown once.
    public = manage(
        "PUT",
        client,
        token,
        json={"token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT_URI]},
    )
    assert public.status_code == 200, public.text
    assert client_credentials(registrar, client_id, secret).status_code == 401
    token = public.json()["registration_access_token"]
    back = manage(
        "PUT", client, token, json={**CC, "token_endpoint_auth_method": "client_secret_post"}
    )
    assert back.status_code == 200, back.text
    new_secret = back.json()["client_secret"]
    assert new_secret != secret
    issued = requests.post(
        registrar.public_url + "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": new_secret,
        },
        timeout=TIMEOUT,
    )
    assert issued.status_code == 200, issued.text


def discovery(server) -> dict:
    return requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()


def test_discovery_names_the_endpoint_only_when_on(registrar, server):
    assert discovery(registrar)["registration_endpoint"] == (
        registrar.public_url + "/oauth2/register"
    )
    assert "registration_endpoint" not in discovery(server)


def test_two_updates_with_one_token_rotate_it_once(registrar):
    client = registered(registrar, CC)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: manage("PUT", client, json={**CC, "client_name": "x"}), range(2))
        )
    assert sorted(answer.status_code for answer in answers) in ([200, 200], [200, 401])
    tokens = {a.json()["registration_access_token"] for a in answers if a.status_code == 200}
    # However the two interleaved, exactly one new token opens the client afterwards.
    working = [token for token in tokens if manage("GET", client, token).status_code == 200]
    assert len(working) == 1
    assert_invalid_token(manage("GET", client))  # the one both presented is dead


def test_registration_is_off_by_default(server):
    """The shared server runs with the defaults: every route is as absent as any other."""
    anywhere = f"{server.public_url}/oauth2/register/some-client"
    for method, url in (
        ("POST", server.public_url + "/oauth2/register"),
        ("GET", anywhere),
        ("PUT", anywhere),
        ("DELETE", anywhere),
    ):
        response = requests.request(
            method, url, json=CC, headers={"Authorization": "Bearer x"}, timeout=TIMEOUT
        )
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"] == "not_found"


def test_registrations_are_rate_limited(backend, server_factory):
    limited = server_factory(
        backend, env={**REGISTRATION_ON, "OIDC_DYNAMIC_CLIENT_REGISTRATION_RATE_LIMIT": "3"}
    )
    answers = [register(limited, CC) for _ in range(2)] + [register(limited, {"x": 1})]
    assert [answer.status_code for answer in answers] == [201, 201, 400]  # refused ones count
    refused = register(limited, CC)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"] == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20  # one earned back every 20 s
    assert refused.headers["Cache-Control"] == "no-store"
    # Managing a registration is not limited.
    assert manage("GET", answers[0].json()).status_code == 200
    # An X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
    spoofed = register(limited, CC, headers={"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 429


@pytest.mark.timeout(300)
def test_the_registration_operations_conform_to_the_description(registrar):
    """The shared OpenAPI fuzz (test_openapi.py) meets these operations switched off;
    here schemathesis sends them generated requests with registration on."""
    import schemathesis

    from tests.integration import openapi_tools as tools
    from tests.integration.test_openapi import CHECKS

    schema = schemathesis.openapi.from_path(tools.PUBLIC_SPEC).include(
        path_regex="^/oauth2/register"
    )
    target = registered(registrar, CC)["client_id"]
    doomed = registered(registrar, CC)["client_id"]
    seed_value = int(os.environ.get("AUTHSERVER_OPENAPI_SEED") or random.randrange(1 << 30))
    with tools.serialised_ast_parsing():
        report = tools.fuzz(
            schema,
            base_url=registrar.public_url,
            budget=300,
            make_seed=lambda: SimpleNamespace(target_client_id=target, doomed_client_id=doomed),
            weights=lambda path: 1.0,
            checks=CHECKS,
            seed_value=seed_value,
        )
    print(report.coverage())
    # Generated bodies are hardly ever valid registrations: the answers to real ones.
    created = register(registrar, CC)
    client = created.json()
    read = manage("GET", client)
    updated = manage("PUT", client, json={**CC, "client_name": "conform"})
    stale = manage("GET", client)
    deleted = manage("DELETE", updated.json())
    for path, method, response, status in (
        ("/oauth2/register", "POST", created, 201),
        ("/oauth2/register", "POST", register(registrar, {"x": 1}), 400),
        ("/oauth2/register/{client_id}", "GET", read, 200),
        ("/oauth2/register/{client_id}", "PUT", updated, 200),
        ("/oauth2/register/{client_id}", "GET", stale, 401),
        ("/oauth2/register/{client_id}", "DELETE", deleted, 204),
    ):
        assert response.status_code == status, response.text
        schema[path][method].validate_response(response)
    assert not report.failures, (
        f"(rerun with AUTHSERVER_OPENAPI_SEED={seed_value}):\n{report.summary()}"
    )
    assert report.requests >= 300
