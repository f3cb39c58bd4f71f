"""``authserver harness`` (issue #14) over real HTTP against the CLI's process, on SQLite
(in memory) and PostgreSQL: scripted decisions, minted tokens, the request log, the
clock, users at run time, reset, and a table of bad input for every helper endpoint.
``serve`` has none of it."""

from __future__ import annotations

import base64
import hashlib
import secrets
import textwrap
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import requests
from joserfc import jwt as jose_jwt
from joserfc.jwk import OctKey

from authserver.testing import Harness
from tests.conftest import (
    POSTGRES_ENV,
    _postgres_admin_dsn,
    _skipped_postgres,
    create_postgres_database,
    drop_postgres_database,
    run_cli,
)
from tests.integration.harness_process import start_harness

CALLBACK = "http://127.0.0.1:8000/callback"
SCOPE = "openid offline_access email"
CONFIG = textwrap.dedent(
    f"""\
    token_strategy: opaque
    default_user: bob
    users:
      alice: {{email: alice@example.com, name: Alice, groups: [admin]}}
      bob: {{email: bob@example.com}}
    clients:
      - client_id: my-app
        client_secret: my-secret
        redirect_uris: [{CALLBACK}]
        grant_types: [authorization_code, refresh_token]
        scope: openid offline_access email profile
        audience: [https://api.example.com]
      - client_id: other-app
        client_secret: other-secret
        redirect_uris: [{CALLBACK}]
        scope: openid email
    lifetimes: {{access_token: 1h, auth_code: 10m}}
    """
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def harness_process(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("harness")
    config = directory / "harness.yaml"
    config.write_text(CONFIG)
    args, database = [], None
    if request.param == "postgres":
        if _postgres_admin_dsn() is None:
            _skipped_postgres.append(request.node.nodeid)
            pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
        database = create_postgres_database(_postgres_admin_dsn(), "authserver_harness")
        args = ["--dsn", database.dsn]
    process = start_harness(config, directory / "harness.log", *args)
    yield process
    process.stop()
    if database is not None:
        drop_postgres_database(_postgres_admin_dsn(), database)


@pytest.fixture
def harness(harness_process):
    """One harness per backend and module, reset after every test (as the plugin does)."""
    yield harness_process
    assert harness_process.admin("POST", "/admin/harness/reset").status_code == 204


def authorize(harness, client_id="my-app", scope=SCOPE, browser=None, **extra):
    """The app sends the browser to /oauth2/auth with PKCE; the browser's part (login and
    consent, as the harness decides) is ``Harness.follow``. Returns the callback's
    parameters and the PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **extra,
    }
    client = Harness(harness.public_url, harness.admin_url, issuer=harness.issuer)
    landed = client.follow(f"{harness.public_url}/oauth2/auth?{urlencode(params)}", browser)
    assert landed.startswith(CALLBACK), landed
    return {k: v[0] for k, v in parse_qs(urlparse(landed).query).items()}, verifier


def exchange(harness, code: str, verifier: str, client=("my-app", "my-secret")):
    return harness.public(
        "POST",
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=client,
    )


def login(harness, client=("my-app", "my-secret"), scope=SCOPE, browser=None, **extra):
    """A whole login, headless: the callback's error, or the token endpoint's answer."""
    answer, verifier = authorize(harness, client[0], scope, browser, **extra)
    if "code" not in answer:
        return answer
    tokens = exchange(harness, answer["code"], verifier, client)
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def introspect(harness, token: str) -> dict:
    return harness.admin("POST", "/admin/oauth2/introspect", data={"token": token}).json()


def decide(harness, **document) -> requests.Response:
    return harness.admin("POST", "/admin/harness/decisions", json=document)


# -- start ---------------------------------------------------------------------------------


def test_the_harness_warns_and_starts_fast(harness):
    assert "for tests only" in harness.log()
    assert harness.ready_ms > 0  # how fast is measured by `python -m bench.harness`, not here
    discovery = harness.public("GET", "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == harness.issuer
    assert harness.public("GET", "/.well-known/jwks.json").json()["keys"]


# -- scripted decisions --------------------------------------------------------------------


def test_without_a_decision_the_default_user_logs_in_with_its_claims(harness):
    tokens = login(harness)
    identity = claims_of(tokens["id_token"])
    assert identity["sub"] == "bob" and identity["email"] == "bob@example.com"
    assert set(tokens) >= {"access_token", "refresh_token", "id_token"}


def test_decisions_are_used_first_in_first_out(harness):
    assert decide(harness, subject="alice", claims={"email": "a2@example.com"}).status_code == 201
    assert decide(harness, subject="bob").status_code == 201
    first, second, third = (claims_of(login(harness)["id_token"]) for _ in range(3))
    assert (first["sub"], first["email"], "groups" in first) == ("alice", "a2@example.com", False)
    assert second["sub"] == "bob"
    assert third["sub"] == "bob"  # the queue is empty: the default user
    assert harness.admin("GET", "/admin/harness/decisions").json() == []


def test_a_decision_for_one_client_waits_for_that_client(harness):
    decide(harness, subject="alice", client_id="other-app")
    assert claims_of(login(harness)["id_token"])["sub"] == "bob"
    other = login(harness, client=("other-app", "other-secret"), scope="openid email")
    assert claims_of(other["id_token"])["sub"] == "alice"


def test_the_granted_scopes_and_the_claims_come_from_the_decision(harness):
    decide(harness, subject="alice", grant_scope=["openid"], claims={"role": "auditor"})
    tokens = login(harness)
    assert tokens["scope"] == "openid" and "refresh_token" not in tokens
    assert claims_of(tokens["id_token"])["role"] == "auditor"
    assert introspect(harness, tokens["access_token"])["ext"] == {"role": "auditor"}
    userinfo = harness.public(
        "GET", "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert userinfo == {"role": "auditor", "sub": "alice"}


@pytest.mark.parametrize("error", ["access_denied", "login_required", "temporarily_unavailable"])
def test_a_denial_reaches_the_client_with_its_error(harness, error):
    decide(harness, error=error, error_description="scripted by the test")
    answer = login(harness)
    assert answer["error"] == error and answer["error_description"] == "scripted by the test"
    assert answer["iss"] == harness.issuer
    assert claims_of(login(harness)["id_token"])["sub"] == "bob"  # one login only


def test_login_hint_names_the_user(harness):
    assert claims_of(login(harness, login_hint="alice")["id_token"])["sub"] == "alice"
    # A hint naming nobody falls back to the default user.
    assert claims_of(login(harness, login_hint="mallory")["id_token"])["sub"] == "bob"


def test_without_any_user_to_log_in_the_client_gets_login_required(harness):
    assert harness.admin("DELETE", "/admin/harness/users/bob").status_code == 204
    assert login(harness)["error"] == "login_required"


def test_remember_makes_the_next_login_skip(harness):
    decide(harness, subject="alice", remember=True)
    browser = requests.Session()  # the login session's cookie lives in the browser
    first = login(harness, scope="openid", browser=browser)
    second = login(harness, scope="openid", browser=browser, prompt="none")
    assert claims_of(first["id_token"])["sub"] == claims_of(second["id_token"])["sub"] == "alice"
    # Another browser has no session: prompt=none cannot log it in.
    assert login(harness, scope="openid", prompt="none")["error"] == "login_required"


# -- minted tokens -------------------------------------------------------------------------


def test_a_minted_token_is_a_real_token(harness):
    minted = harness.admin(
        "POST",
        "/admin/harness/tokens",
        json={
            "client_id": "my-app",
            "subject": "alice",
            "scope": "openid offline_access email",
            "audience": ["https://api.example.com"],
            "claims": {"tenant": "t1"},
            "expires_in": "5m",
        },
    )
    assert minted.status_code == 200 and minted.headers["Cache-Control"] == "no-store"
    tokens = minted.json()
    assert tokens["expires_in"] == 300 and tokens["token_type"] == "bearer"
    active = introspect(harness, tokens["access_token"])
    assert active["active"] is True and active["sub"] == "alice"
    assert active["aud"] == ["https://api.example.com"] and active["exp"] - active["iat"] == 300
    assert active["ext"]["tenant"] == "t1" and active["ext"]["email"] == "alice@example.com"
    keys = jwt.PyJWKClient(harness.public_url + "/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(tokens["id_token"])
    identity = jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"], audience="my-app")
    assert identity["iss"] == harness.issuer and identity["groups"] == ["admin"]
    refreshed = harness.public(
        "POST",
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("my-app", "my-secret"),
    )
    assert refreshed.status_code == 200


def test_minted_tokens_follow_the_scopes(harness):
    bare = harness.admin(
        "POST", "/admin/harness/tokens", json={"client_id": "my-app", "subject": "bob"}
    ).json()
    assert set(bare) == {"access_token", "expires_in", "scope", "token_type"}


def test_a_client_with_jwt_access_tokens_gets_a_verifiable_jwt(harness):
    created = harness.admin(
        "POST",
        "/admin/clients",
        json={"client_id": "jwt-app", "scope": "read", "access_token_strategy": "jwt"},
    )
    assert created.status_code == 201
    token = harness.admin(
        "POST",
        "/admin/harness/tokens",
        json={"client_id": "jwt-app", "subject": "bob", "scope": "read"},
    ).json()["access_token"]
    keys = jwt.PyJWKClient(harness.public_url + "/.well-known/jwks.json")
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        options={"verify_aud": False},  # no audience was asked for
    )
    assert claims["sub"] == "bob" and claims["client_id"] == "jwt-app"
    assert claims["iss"] == harness.issuer and claims["ext"]["email"] == "bob@example.com"


# -- the clock -----------------------------------------------------------------------------


def test_the_clock_expires_tokens_without_sleeping(harness):
    tokens = harness.admin(
        "POST",
        "/admin/harness/tokens",
        json={"client_id": "my-app", "subject": "bob", "expires_in": 60},
    ).json()
    assert introspect(harness, tokens["access_token"])["active"] is True
    moved = harness.admin("POST", "/admin/harness/clock", json={"advance": "61s"}).json()
    assert moved["offset"] == 61 and moved["frozen"] is False
    assert introspect(harness, tokens["access_token"]) == {"active": False}


def test_a_frozen_clock_stands_still_and_advances_on_request(harness):
    frozen = harness.admin("POST", "/admin/harness/clock", json={"freeze": True}).json()
    mint = {"client_id": "my-app", "subject": "bob", "scope": "openid"}
    first = claims_of(harness.admin("POST", "/admin/harness/tokens", json=mint).json()["id_token"])
    assert first["iat"] == frozen["now"]
    harness.admin("POST", "/admin/harness/clock", json={"advance": 3600})
    later = claims_of(harness.admin("POST", "/admin/harness/tokens", json=mint).json()["id_token"])
    assert later["iat"] == frozen["now"] + 3600
    thawed = harness.admin("POST", "/admin/harness/clock", json={"freeze": False}).json()
    assert thawed["frozen"] is False and thawed["offset"] >= 3599


def test_an_authorization_code_expires_on_the_harness_clock(harness):
    answer, verifier = authorize(harness, scope="openid")
    harness.admin("POST", "/admin/harness/clock", json={"advance": "11m"})  # auth_code: 10m
    late = exchange(harness, answer["code"], verifier)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


# -- the request log -----------------------------------------------------------------------


def test_the_request_log_shows_what_the_app_sent_with_secrets_masked(harness):
    login(harness)
    harness.public(
        "POST",
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("other-app", "wrong"),
    )
    entries = harness.admin("GET", "/admin/harness/requests", params={"client_id": "my-app"})
    token_calls = [e for e in entries.json() if e["path"] == "/oauth2/token"]
    assert len(token_calls) == 1
    call = token_calls[0]
    assert call["method"] == "POST" and call["status"] == 200
    assert call["params"]["code"] == "***" and call["params"]["code_verifier"] == "***"
    assert call["params"]["grant_type"] == "authorization_code"
    authorize = [e for e in entries.json() if e["path"] == "/oauth2/auth"][0]
    assert authorize["params"]["scope"] == "openid offline_access email"
    others = harness.admin("GET", "/admin/harness/requests", params={"client_id": "other-app"})
    assert [e["status"] for e in others.json()] == [401]
    # A client assertion names its client by its iss; the assertion itself is masked.
    assertion = jose_jwt.encode(
        {"alg": "HS256"},
        {"iss": "keyed-app", "sub": "keyed-app", "aud": "x", "exp": 2**31},
        OctKey.import_key(b"k" * 32),
    )
    harness.public(
        "POST",
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )
    keyed = harness.admin("GET", "/admin/harness/requests", params={"client_id": "keyed-app"})
    assert [e["params"]["client_assertion"] for e in keyed.json()] == ["***"]
    log = harness.admin("GET", "/admin/harness/requests").text
    assert "my-secret" not in log and "wrong" not in log and assertion not in log
    assert harness.admin("DELETE", "/admin/harness/requests").status_code == 204
    assert harness.admin("GET", "/admin/harness/requests").json() == []


# -- users and reset -----------------------------------------------------------------------


def test_users_are_created_changed_and_deleted_at_run_time(harness):
    created = harness.admin("PUT", "/admin/harness/users/carol", json={"email": "c@example.com"})
    assert created.status_code == 201
    assert created.json() == {"subject": "carol", "claims": {"email": "c@example.com"}}
    changed = harness.admin("PUT", "/admin/harness/users/carol", json={"email": "c2@example.com"})
    assert changed.status_code == 200
    decide(harness, subject="carol")
    assert claims_of(login(harness)["id_token"])["email"] == "c2@example.com"
    subjects = [user["subject"] for user in harness.admin("GET", "/admin/harness/users").json()]
    assert subjects == ["alice", "bob", "carol"]
    assert harness.admin("DELETE", "/admin/harness/users/carol").status_code == 204
    assert harness.admin("GET", "/admin/harness/users/carol").status_code == 404


def test_reset_goes_back_to_the_configuration(harness):
    tokens = login(harness)
    harness.admin("POST", "/admin/clients", json={"client_id": "made-in-a-test"})
    harness.admin(
        "PUT",
        "/admin/clients/my-app",
        json={"client_id": "my-app", "redirect_uris": ["http://127.0.0.1:9/elsewhere"]},
    )
    harness.admin("PUT", "/admin/harness/users/carol", json={})
    decide(harness, subject="alice")
    harness.admin("POST", "/admin/harness/clock", json={"advance": "1h"})

    assert harness.admin("POST", "/admin/harness/reset").status_code == 204

    assert introspect(harness, tokens["access_token"]) == {"active": False}
    assert harness.admin("GET", "/admin/clients/made-in-a-test").status_code == 404
    restored = harness.admin("GET", "/admin/clients/my-app").json()
    assert restored["redirect_uris"] == [CALLBACK]
    assert harness.admin("GET", "/admin/harness/users/carol").status_code == 404
    assert harness.admin("GET", "/admin/harness/decisions").json() == []
    assert harness.admin("GET", "/admin/harness/clock").json()["offset"] == 0
    assert claims_of(login(harness)["id_token"])["sub"] == "bob"  # the secret works again


# -- bad input -----------------------------------------------------------------------------

BAD_DECISIONS = [
    ({"subject": "mallory"}, "invalid_request"),  # not a user
    ({"subject": "alice", "client_id": "nobody"}, "invalid_client"),
    ({"subject": "alice", "client_id": "other-app", "grant_scope": ["offline"]}, "invalid_scope"),
    ({"subject": "alice", "claims": {"iss": "https://evil.example"}}, "invalid_request"),
    ({"subject": "alice", "claims": {"sub": "root"}}, "invalid_request"),
    ({"subject": "alice", "claims": ["email"]}, "invalid_request"),
    ({"subject": "alice", "claims": "{"}, "invalid_request"),
    ({"subject": "alice", "remember": "yes"}, "invalid_request"),
    ({"subject": "alice", "grant_scope": [1]}, "invalid_request"),
    ({"subject": "alice", "colour": "red"}, "invalid_request"),
    ({"subject": "al\u0000ice"}, "invalid_request"),
    ({"subject": ""}, "invalid_request"),
    ({"subject": 7}, "invalid_request"),
    ({}, "invalid_request"),
    ({"error": "bad error"}, "invalid_request"),
    ({"error": ""}, "invalid_request"),
    ({"error": "access_denied", "subject": "alice"}, "invalid_request"),
    ({"error": "access_denied", "error_description": 5}, "invalid_request"),
]


@pytest.mark.parametrize(("document", "error"), BAD_DECISIONS)
def test_bad_decisions_are_refused(harness, document, error):
    response = decide(harness, **document)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert harness.admin("GET", "/admin/harness/decisions").json() == []


BAD_MINTS = [
    ({"client_id": "nobody", "subject": "bob"}, "invalid_client"),
    ({"subject": "bob"}, "invalid_client"),
    ({"client_id": "my-app", "subject": "mallory"}, "invalid_request"),
    ({"client_id": "my-app"}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "scope": "admin"}, "invalid_scope"),
    ({"client_id": "my-app", "subject": "bob", "audience": ["https://other"]}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "claims": {"exp": 1}}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "claims": {"aud": "x"}}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "claims": "x"}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "expires_in": -5}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "expires_in": 0}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "expires_in": "forever"}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "expires_in": 10**12}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "expires_in": True}, "invalid_request"),
    ({"client_id": "my-app", "subject": "bob", "lifetime": 5}, "invalid_request"),
]


@pytest.mark.parametrize(("document", "error"), BAD_MINTS)
def test_bad_mint_requests_are_refused(harness, document, error):
    response = harness.admin("POST", "/admin/harness/tokens", json=document)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/admin/harness/clock", {"advance": "-1h"}),
        ("POST", "/admin/harness/clock", {"advance": "soon"}),
        ("POST", "/admin/harness/clock", {"freeze": "yes"}),
        ("POST", "/admin/harness/clock", {"advance": "1h", "freeze": True}),
        ("POST", "/admin/harness/clock", {}),
        ("PUT", "/admin/harness/users/carol", ["not", "an", "object"]),
        ("PUT", "/admin/harness/users/carol", {"nonce": "x"}),
        ("PUT", "/admin/harness/users/carol", {"": "x"}),
        ("POST", "/admin/harness/decisions", "not json"),
        ("POST", "/admin/harness/tokens", [1, 2]),
    ],
)
def test_bad_helper_requests_are_refused(harness, method, path, body):
    if isinstance(body, str):
        response = harness.admin(
            method, path, data=body.encode(), headers={"Content-Type": "application/json"}
        )
    else:
        response = harness.admin(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"subject": "alice"',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"subject":"\\ud800"}',
    ],
)
def test_malformed_json_is_a_400(harness, raw):
    response = harness.admin(
        "POST", "/admin/harness/decisions", data=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/harness/login", 400),
        ("/harness/login?login_challenge=unknown", 404),
        ("/harness/consent?consent_challenge=unknown", 404),
        ("/harness/logout?logout_challenge=unknown", 404),
        ("/harness/device?device_challenge=unknown&user_code=ABCD-EFGH", 404),
        # Refused at the edge (web.guard), as everywhere: a JSON 400.
        ("/harness/login?login_challenge=%00", 400),
    ],
)
def test_the_login_app_answers_bad_challenges_with_an_error_page(harness, path, status):
    response = harness.public("GET", path, allow_redirects=False)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith(("text/html", "application/json"))
    assert "Traceback" not in response.text


def test_a_form_post_without_its_csrf_token_is_refused(harness):
    response = harness.public(
        "POST", "/harness/login", data={"login_challenge": "x", "subject": "alice"}
    )
    assert response.status_code == 400


# -- the CLI and serve ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("default_user: zoe\nusers: {bob: {}}\n", "default_user"),
        ("token_strategy: paseto\n", "token_strategy"),
        ("users: {bob: {iss: x}}\n", "iss"),
        ("clients: [{client_id: a, redirect_uris: [not-a-url]}]\n", "clients"),
        ("colour: red\n", "colour"),
        ("users: [\n", "YAML"),
        ("lifetimes: {access_token: soon}\n", "lifetimes"),
    ],
)
def test_a_bad_config_file_stops_the_harness_with_its_reason(tmp_path, content, problem):
    config = tmp_path / "harness.yaml"
    config.write_text(content)
    result = run_cli("harness", "--config", str(config), "--public-port", "0", "--admin-port", "0")
    assert result.returncode != 0
    assert problem in result.stderr and "Traceback" not in result.stderr


def test_serve_has_no_harness_endpoints(server):
    for method, path in [
        ("POST", "/admin/harness/decisions"),
        ("POST", "/admin/harness/tokens"),
        ("GET", "/admin/harness/requests"),
        ("POST", "/admin/harness/clock"),
        ("PUT", "/admin/harness/users/alice"),
        ("POST", "/admin/harness/reset"),
        ("POST", "/harness/reset"),
    ]:
        response = requests.request(method, server.admin_url + path, json={}, timeout=10)
        assert response.status_code == 404, (method, path)
    for path in ("/harness/login?login_challenge=x", "/harness/consent?consent_challenge=x"):
        assert requests.get(server.public_url + path, timeout=10).status_code == 404
