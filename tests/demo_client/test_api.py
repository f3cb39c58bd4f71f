"""The protected API (``/api/profile``) and its metadata (RFC 9728): Bearer and DPoP
tokens checked by introspection on the fake admin API, the RFC 6750 / RFC 9449 errors and
challenges, bad input, a failing introspection endpoint, and the home page's button."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import warnings

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from demo_client.resource import ReplayCache, token_hash
from tests.demo_client.conftest import BASE
from tests.demo_client.fake_server import ADMIN, CLIENT_ID, ISSUER, SUBJECT, Grant

API = "/api/profile"
URL = BASE + API
METADATA = "/.well-known/oauth-protected-resource"


@pytest.fixture
def api(browser):
    return browser


def issue(fake, scope: str = "openid profile", **members) -> str:
    """An access token the fake authorization server knows (and introspects)."""
    token = "at_" + secrets.token_urlsafe(32)
    fake.access_tokens[token] = Grant("", "", "", scope)
    if members:
        fake.token_members[token] = members
    return token


def call(api, authorization: str | None = None, dpop: str | list[str] | None = None, **kw):
    headers = [("Authorization", authorization)] if authorization is not None else []
    for proof in [dpop] if isinstance(dpop, str) else dpop or []:
        headers.append(("DPoP", proof))
    return api.get(API, headers=headers, **kw)


def parse_challenges(response) -> dict[str, dict[str, str]]:
    """{scheme: {param: value}} from every WWW-Authenticate header (one challenge each)."""
    found = {}
    for value in response.headers.getlist("WWW-Authenticate"):
        scheme, _, rest = value.partition(" ")
        found[scheme] = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return found


def error_of(response, scheme: str = "Bearer") -> str | None:
    return parse_challenges(response).get(scheme, {}).get("error")


# -- DPoP proofs --------------------------------------------------------------------------

KEYS = {
    "ES256": lambda: ECKey.generate_key("P-256"),
    "RS256": lambda: RSAKey.generate_key(2048),
    "PS256": lambda: RSAKey.generate_key(2048),
    "EdDSA": lambda: OKPKey.generate_key("Ed25519"),
}


def proof(key, token: str, alg: str = "ES256", header: dict | None = None, **claims) -> str:
    protected = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    payload = {
        "htm": "GET",
        "htu": URL,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
        "ath": token_hash(token),
        **claims,
    }
    with warnings.catch_warnings():  # joserfc: EdDSA is deprecated (RFC 9864)
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(
            {**protected, **(header or {})},
            json.dumps({k: v for k, v in payload.items() if v is not None}),
            key,
            algorithms=[alg],
        )


@pytest.fixture
def ec_key():
    return ECKey.generate_key("P-256")


@pytest.fixture
def bound(api, ec_key) -> str:
    """A DPoP-bound access token (its introspection carries cnf.jkt of ``ec_key``)."""
    return issue(api.fake, cnf={"jkt": ec_key.thumbprint()}, ext={"department": "R&D"})


# -- Bearer ---------------------------------------------------------------------------------


def test_a_bearer_token_gets_the_profile(api):
    token = issue(api.fake)

    response = call(api, f"Bearer {token}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["sub"] == SUBJECT and body["client_id"] == CLIENT_ID
    assert body["scope"] == "openid profile" and body["token_type"] == "Bearer"
    assert body["claims"] == {"sub": SUBJECT, "name": "Foo Bar"}
    assert ("POST", ADMIN + "/admin/oauth2/introspect") in api.fake.requests
    assert ("GET", "http://authserver.internal:4444/userinfo") in api.fake.requests


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_case_insensitive(api, scheme):
    assert call(api, f"{scheme} {issue(api.fake)}").status_code == 200


def test_without_a_token_the_challenges_point_at_the_metadata(api):
    response = call(api)

    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"
    challenges = parse_challenges(response)
    assert set(challenges) == {"Bearer", "DPoP"}
    assert "error" not in challenges["Bearer"]  # no credentials: no error code (§3.1)
    assert challenges["DPoP"]["algs"].split() == ["ES256", "RS256", "PS256", "EdDSA"]
    url = challenges["Bearer"]["resource_metadata"]
    assert url == challenges["DPoP"]["resource_metadata"] == BASE + METADATA
    assert response.get_json()["error"]

    document = api.get(url.removeprefix(BASE))
    assert document.status_code == 200
    assert document.headers["Content-Type"] == "application/json"
    assert "max-age=300" in document.headers["Cache-Control"]
    metadata = document.get_json()
    assert metadata["resource"] == BASE
    assert ISSUER in metadata["authorization_servers"]
    assert metadata["bearer_methods_supported"] == ["header"]
    assert {"openid", "profile", "email"} <= set(metadata["scopes_supported"])
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert metadata["dpop_bound_access_tokens_required"] is False
    assert metadata["resource_name"]
    assert api.fake.requests == []  # nothing was introspected


@pytest.mark.parametrize("which", ["unknown", "revoked", "refresh token"])
def test_an_inactive_or_wrong_token_is_invalid_token(api, which):
    token = issue(api.fake)
    if which == "unknown":
        token = "at_" + secrets.token_urlsafe(32)
    elif which == "revoked":
        api.fake.access_tokens[token].active = False
    else:
        token = "rt_x"
        api.fake.refresh_tokens[token] = Grant("", "", "", "openid")

    response = call(api, f"Bearer {token}")

    assert response.status_code == 401
    assert error_of(response) == "invalid_token"
    assert response.get_json()["error"] == "invalid_token"


def test_a_token_without_the_scope_is_forbidden(api):
    response = call(api, f"Bearer {issue(api.fake, scope='profile email')}")

    assert response.status_code == 403
    challenge = parse_challenges(response)["Bearer"]
    assert challenge["error"] == "insufficient_scope"
    assert challenge["scope"] == "openid"
    assert response.get_json()["error"] == "insufficient_scope"


def test_the_required_scope_is_configurable(make_browser):
    api = make_browser(DEMO_CLIENT_API_SCOPE="email")
    assert call(api, f"Bearer {issue(api.fake, scope='openid')}").status_code == 403
    assert call(api, f"Bearer {issue(api.fake, scope='openid email')}").status_code == 200
    assert "email" in api.get(METADATA).get_json()["scopes_supported"]


@pytest.mark.parametrize("where", ["query", "form"])
def test_a_token_outside_the_header_is_refused(api, where):
    token = issue(api.fake)
    if where == "query":
        response = api.get(f"{API}?access_token={token}")
    else:
        response = api.client.open(
            URL, method="GET", data={"access_token": token}, headers={"X": "y"}
        )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"
    assert error_of(response) == "invalid_request"
    assert api.fake.requests == []


def test_a_userinfo_failure_leaves_the_claims_empty_with_a_note(api):
    token = issue(api.fake)
    api.fake.reachable.discard("http://authserver.internal:4444")

    response = call(api, f"Bearer {token}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["claims"] == {} and body["note"]


# -- bad input: always a 4xx ------------------------------------------------------------------

API_ERRORS = ("invalid_request", "invalid_token", "invalid_dpop_proof")
BAD_AUTHORIZATION = {  # raw header values, as a WSGI server hands them over (latin-1)
    "empty": "",
    "scheme only": "Bearer",
    "two tokens": "Bearer a b",
    "two headers": "Bearer a, Bearer b",
    "NUL": "Bearer abc\x00def",
    "CR LF": "Bearer abc\r\nX-Injected: 1",
    "non-ASCII": "Bearer tök",
    "invalid UTF-8": "Bearer \xff\xfe\xed\xa0\x80",
    "quote": 'Bearer a"b',
    "huge": "Bearer " + "a" * 9000,
    "unknown scheme": "Token abc",
    "Basic": "Basic ZGVtbzpzZWNyZXQ=",
    "NUL scheme": "\x00 abc",
    "non-ASCII scheme": "Bëarer abc",
    "DPoP without a proof": "DPoP abc",
}
BAD_PROOFS = {
    "junk": "junk",
    "NUL": "a.b\x00.c",
    "CR LF": "a.b.c\r\nX: 1",
    "invalid UTF-8": "\xff.\xfe.\xed",
    "huge": "a." * 5000 + "b",
    "not JSON": "bm90IGpzb24.e30.c2ln",
    "JSON array header": "W10.e30.c2ln",
    "no signature": "eyJhbGciOiJFUzI1NiJ9.e30.",
}


@pytest.mark.parametrize("value", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION)
def test_bad_authorization_headers_are_a_4xx(api, value):
    response = api.get(API, environ_overrides={"HTTP_AUTHORIZATION": value})

    assert 400 <= response.status_code < 500, response.status_code
    assert response.get_json()["error"] in (
        "invalid_request",
        "invalid_token",
        "invalid_dpop_proof",
    )
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("value", BAD_PROOFS.values(), ids=BAD_PROOFS)
def test_bad_dpop_headers_are_a_4xx(api, bound, value):
    response = api.get(
        API, environ_overrides={"HTTP_AUTHORIZATION": f"DPoP {bound}", "HTTP_DPOP": value}
    )

    assert 400 <= response.status_code < 500, response.status_code
    assert response.get_json()["error"] in ("invalid_request", "invalid_dpop_proof")


def test_specific_answers_to_bad_headers(api):
    def answer(value):
        return api.get(API, environ_overrides={"HTTP_AUTHORIZATION": value})

    assert answer("Basic ZGVtbzpzZWNyZXQ=").status_code == 401  # with the challenges
    assert set(parse_challenges(answer("Token abc"))) == {"Bearer", "DPoP"}
    assert answer("Bearer a, Bearer b").status_code == 400
    assert answer("Bearer " + "a" * 9000).status_code in (400, 431)
    several = api.get(API, headers=[("Authorization", "Bearer a")] * 2)
    assert several.status_code == 400


def test_post_is_405_with_allow(api):
    response = api.post(API, data={"x": "1"})

    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert response.get_json()["error"]


# -- the introspection endpoint failing --------------------------------------------------------


@pytest.mark.parametrize("failure", ["unreachable", "HTTP 500", "not JSON"])
def test_introspection_down_is_a_503_with_retry_after(api, failure):
    token = issue(api.fake)
    if failure == "unreachable":
        api.fake.reachable.discard(ADMIN)
    else:
        status = 500 if failure == "HTTP 500" else 200
        api.fake.introspection_answer = (status, "text/html", "<h1>oops</h1>")

    response = call(api, f"Bearer {token}")

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert "Traceback" not in response.text


def test_without_an_admin_url_the_api_says_what_to_set(make_browser):
    api = make_browser(DEMO_CLIENT_ADMIN_URL=None)

    response = call(api, "Bearer abc")

    assert response.status_code == 503
    assert "DEMO_CLIENT_ADMIN_URL" in response.get_json()["error_description"]


def test_tokens_are_never_logged(api, bound, caplog):
    token = issue(api.fake)
    with caplog.at_level(logging.DEBUG):
        call(api, f"Bearer {token}")
        call(api, f"Bearer {bound}")
        call(api, f"Bearer {token}x")
        api.fake.reachable.discard(ADMIN)
        call(api, f"Bearer {token}")
    assert caplog.records
    assert token not in caplog.text and bound not in caplog.text


# -- DPoP (RFC 9449 §7) -------------------------------------------------------------------------


@pytest.mark.parametrize("alg", KEYS)
def test_a_bound_token_with_a_valid_proof_gets_the_profile(api, alg):
    key = KEYS[alg]()
    token = issue(api.fake, cnf={"jkt": key.thumbprint()}, ext={"department": "R&D"})

    response = call(api, f"DPoP {token}", proof(key, token, alg))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "DPoP" and body["sub"] == SUBJECT
    assert body["claims"] == {"department": "R&D"}
    assert body["note"]
    assert not any(url.endswith("/userinfo") for _, url in api.fake.requests)


@pytest.mark.parametrize(
    "htu",
    [URL, "HTTP://127.0.0.1:4446/api/profile", "http://127.0.0.1:4446/api/profile?x#y"],
)
def test_htu_compares_scheme_and_host_case_insensitively(api, bound, ec_key, htu):
    assert call(api, f"dpop {bound}", proof(ec_key, bound, htu=htu)).status_code == 200


def test_a_bound_token_sent_as_bearer_is_refused(api, bound, ec_key):
    response = call(api, f"Bearer {bound}", proof(ec_key, bound))

    assert response.status_code == 401
    assert error_of(response, "DPoP") == "invalid_token"


def test_an_unbound_token_sent_as_dpop_is_refused(api, ec_key):
    token = issue(api.fake)

    response = call(api, f"DPoP {token}", proof(ec_key, token))

    assert response.status_code == 401
    assert error_of(response, "DPoP") == "invalid_token"


def test_a_dpop_token_type_without_cnf_is_refused_as_bearer(api, ec_key):
    token = issue(api.fake, token_type="DPoP")

    assert error_of(call(api, f"Bearer {token}"), "DPoP") == "invalid_token"


def _bad_proofs(key, token):
    other = ECKey.generate_key("P-256")
    private = {"jwk": key.as_dict(private=True)}
    others = {"jwk": other.as_dict(private=False)}
    return {  # made on demand: each test builds only its own
        "wrong ath": lambda: proof(key, token, ath=token_hash(token + "x")),
        "no ath": lambda: proof(key, token, ath=None),
        "wrong htu": lambda: proof(key, token, htu="http://127.0.0.1:4446/api/other"),
        "other origin": lambda: proof(key, token, htu="https://127.0.0.1:4446/api/profile"),
        "wrong htm": lambda: proof(key, token, htm="POST"),
        "stale iat": lambda: proof(key, token, iat=int(time.time()) - 600),
        "future iat": lambda: proof(key, token, iat=int(time.time()) + 600),
        "iat as text": lambda: proof(key, token, iat=str(int(time.time()))),
        "no jti": lambda: proof(key, token, jti=None),
        "other key": lambda: proof(other, token),
        "wrong typ": lambda: proof(key, token, header={"typ": "JWT"}),
        "private jwk": lambda: proof(key, token, header=private),
        "jwk of another key": lambda: proof(key, token, header=others),
        "alg not allowed": lambda: proof(key, token, "ES384"),
        "two proofs": lambda: [proof(key, token), proof(key, token)],
        "missing": lambda: [],
    }


BAD_PROOF_NAMES = (
    "wrong ath",
    "no ath",
    "wrong htu",
    "other origin",
    "wrong htm",
    "stale iat",
    "future iat",
    "iat as text",
    "no jti",
    "other key",
    "wrong typ",
    "private jwk",
    "jwk of another key",
    "alg not allowed",
    "two proofs",
    "missing",
)


@pytest.mark.parametrize("name", BAD_PROOF_NAMES)
def test_bad_proofs_are_invalid_dpop_proof(api, bound, ec_key, name):
    if name == "alg not allowed":
        ec_key = ECKey.generate_key("P-384")
        bound = issue(api.fake, cnf={"jkt": ec_key.thumbprint()})
    bad = _bad_proofs(ec_key, bound)[name]()

    response = call(api, f"DPoP {bound}", bad)

    assert response.status_code == 401
    assert error_of(response, "DPoP") == "invalid_dpop_proof"
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_is_refused(api, bound, ec_key):
    once = proof(ec_key, bound)

    assert call(api, f"DPoP {bound}", once).status_code == 200
    again = call(api, f"DPoP {bound}", once)

    assert again.status_code == 401
    assert error_of(again, "DPoP") == "invalid_dpop_proof"


def test_the_replay_cache_is_bounded_and_expires():
    cache = ReplayCache(max_entries=2, keep_seconds=10)
    assert cache.first_use("a", 0) and not cache.first_use("a", 5)
    assert cache.first_use("a", 11)  # expired, then seen again
    assert cache.first_use("b", 12) and cache.first_use("c", 12)
    assert cache.first_use("a", 13)  # the oldest went first


# -- the home page's button -----------------------------------------------------------------


def test_the_home_page_calls_the_api_and_shows_the_answer(browser):
    browser.login()
    access = browser.fake.issued[1]

    response = browser.press("/call-api")

    assert response.status_code == 303
    page = browser.get("/").text
    assert 'id="api-status">HTTP 200' in page
    assert SUBJECT in page.split('id="api-body"')[1]
    assert access not in page.split('id="api-answer"')[1].split("</section>")[0]
    inspector = browser.get("/inspector").text
    assert 'data-step="api-call"' in inspector
    assert "RFC 6750 §2.1" in inspector and "RFC 9728" in inspector
    assert access not in inspector


def test_the_home_page_shows_the_challenge_of_a_refusal(browser):
    browser.login()
    browser.press("/revoke", token="access_token")

    browser.press("/call-api")

    page = browser.get("/").text
    assert 'id="api-status">HTTP 401' in page
    assert "error=&#34;invalid_token&#34;" in page or 'error="invalid_token"' in page
    assert "resource_metadata" in page


def test_the_api_button_needs_a_csrf_token(browser):
    browser.login()
    requests_before = len(browser.fake.requests)

    assert browser.post("/call-api", data={}).status_code == 400
    assert len(browser.fake.requests) == requests_before
