"""Logging in with PAR (RFC 9126), DPoP (RFC 9449) and a resource indicator (RFC 8707),
against the fake server, which checks every proof (signature with the header's jwk, htm,
htu, iat, jti, nonce, ath) — and what the inspector then shows."""

from __future__ import annotations

import base64
import json
import re

import pytest

from demo_client.config import ConfigError, load_config
from demo_client.inspector import binding_notes
from tests.demo_client.conftest import query, settings
from tests.demo_client.fake_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    DPOP_NONCE,
    ISSUER,
    PAR_PREFIX,
    REDIRECT_URI,
    s256,
)
from tests.demo_client.test_client_key import RSA, key_browser  # noqa: F401 (a fixture)

ISSUER_BASE = ISSUER.rstrip("/")
RESOURCE = "https://api.example/v1"


def steps_of(html: str) -> list[str]:
    return re.findall(r'data-step="([^"]+)"', html)


def step_html(html: str, key: str) -> str:
    return html.split(f'data-step="{key}"')[1].split("</li>")[0]


def proofs_at(fake, path: str) -> list[dict]:
    return [proof for proof in fake.proofs if proof["_endpoint"] == path]


# -- settings -------------------------------------------------------------------------------


def test_the_defaults_are_off():
    config = load_config(settings())
    assert (config.use_par, config.use_dpop, config.resource) == (False, False, "")


def test_the_settings_are_read():
    config = load_config(
        settings(
            DEMO_CLIENT_USE_PAR="true", DEMO_CLIENT_USE_DPOP="yes", DEMO_CLIENT_RESOURCE=RESOURCE
        )
    )
    assert (config.use_par, config.use_dpop, config.resource) == (True, True, RESOURCE)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEMO_CLIENT_RESOURCE", "https://api.example/#part", "must not have a fragment"),
        ("DEMO_CLIENT_RESOURCE", "/relative/path", "must be an absolute URI"),
        ("DEMO_CLIENT_RESOURCE", "https://a b", "one URI"),
        ("DEMO_CLIENT_USE_PAR", "maybe", "DEMO_CLIENT_USE_PAR must be true or false"),
        ("DEMO_CLIENT_USE_DPOP", "2", "DEMO_CLIENT_USE_DPOP must be true or false"),
    ],
)
def test_bad_settings_are_refused_at_start_in_one_line(name, value, message):
    with pytest.raises(ConfigError) as refused:
        load_config(settings(**{name: value}))
    assert message in str(refused.value)
    assert name in str(refused.value) and "\n" not in str(refused.value)


# -- PAR ------------------------------------------------------------------------------------


def test_par_login_pushes_the_parameters_and_redirects_with_a_reference(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true")
    location = browser.start_login()

    assert location.startswith(ISSUER_BASE + "/oauth2/auth?")
    params = query(location)
    assert set(params) == {"client_id", "request_uri"}
    assert params["client_id"] == CLIENT_ID and params["request_uri"].startswith(PAR_PREFIX)
    [pushed] = browser.fake.bodies
    assert pushed["response_type"] == "code" and pushed["client_id"] == CLIENT_ID
    assert pushed["redirect_uri"] == REDIRECT_URI and pushed["code_challenge_method"] == "S256"
    assert {"state", "nonce", "code_challenge", "scope"} <= set(pushed)
    assert "client_secret" not in pushed  # client_secret_basic: in the header
    assert ("POST", "http://authserver.internal:4444/oauth2/par") in browser.fake.requests

    page = browser.callback(browser.fake.authorize(location))
    assert page.status_code == 303
    token_form = browser.fake.bodies[-1]
    assert s256(token_form["code_verifier"]) == pushed["code_challenge"]


def test_par_authenticates_with_a_client_assertion(key_browser):  # noqa: F811
    location = key_browser.get("/login")  # the default: no PAR
    assert "request_uri" not in query(location.headers["Location"])
    response = key_browser.press("/login", use_par="on")
    assert set(query(response.headers["Location"])) == {"client_id", "request_uri"}
    [assertion] = [a for a in key_browser.fake.assertions if a["_endpoint"].endswith("/par")]
    assert assertion["aud"] == ISSUER_BASE + "/oauth2/token"
    assert RSA.as_dict(private=True)["d"] not in key_browser.get("/inspector").text


def test_discovery_requiring_par_turns_it_on(browser):
    browser.fake.par_required = True
    params = query(browser.start_login())
    assert set(params) == {"client_id", "request_uri"}
    assert "You are logged in" in browser.login().text
    assert "require_pushed_authorization_requests: true" in browser.get("/inspector").text


def test_the_inspector_shows_the_pushed_request_and_its_answer(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true")
    browser.login()
    html = browser.get("/inspector").text
    keys = steps_of(html)
    assert keys.index("par") < keys.index("authorization-request")
    step = step_html(html, "par")
    assert "POST http://authserver.internal:4444/oauth2/par" in step and "HTTP 201" in step
    assert "the browser only carried a reference (RFC 9126 §2)" in step
    assert "client_secret_basic: Authorization: Basic " in step
    assert "<code>request_uri</code>" in step and PAR_PREFIX in step
    assert CLIENT_SECRET not in html
    assert "request_uri" in step_html(html, "authorization-request")


def test_a_refused_push_is_explained(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true", DEMO_CLIENT_SECRET="wrong-secret-0000000")
    page = browser.get("/login")
    assert page.status_code >= 400
    assert "invalid_client" in page.text
    assert 'data-step="par"' in browser.get("/inspector").text


# -- DPoP -----------------------------------------------------------------------------------


def test_dpop_login_without_par_sends_dpop_jkt_and_proofs(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    thumbprint = browser.app.extensions["demo_client"].dpop_key.thumbprint
    location = browser.start_login()
    assert query(location)["dpop_jkt"] == thumbprint

    page = browser.callback(browser.fake.authorize(location))
    assert page.status_code == 303
    [token_proof] = proofs_at(browser.fake, "/oauth2/token")
    assert token_proof["htm"] == "POST" and token_proof["htu"] == ISSUER_BASE + "/oauth2/token"
    assert token_proof["_jkt"] == thumbprint and "ath" not in token_proof
    assert set(token_proof["_header"]["jwk"]) == {"kty", "crv", "x", "y"}  # public only
    home = browser.get("/").text
    assert "You are logged in" in home and "token_type</code> DPoP" in home
    [userinfo_proof] = proofs_at(browser.fake, "/userinfo")
    access = browser.fake.issued[1]
    assert userinfo_proof["htm"] == "GET" and userinfo_proof["htu"] == ISSUER_BASE + "/userinfo"
    assert userinfo_proof["ath"] == s256(access)
    assert 'id="userinfo"' in home


def test_par_with_dpop_binds_the_code_with_a_proof_at_par(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true", DEMO_CLIENT_USE_DPOP="true")
    location = browser.start_login()
    [par_proof] = proofs_at(browser.fake, "/oauth2/par")
    assert par_proof["htu"] == ISSUER_BASE + "/oauth2/par" and par_proof["htm"] == "POST"
    assert "dpop_jkt" not in browser.fake.bodies[0]  # the proof binds the code instead
    browser.callback(browser.fake.authorize(location))
    jtis = [proof["jti"] for proof in browser.fake.proofs]
    assert len(jtis) == 3 and len(set(jtis)) == 3  # PAR, token, userinfo: each a new jti
    code_grant_jkt = proofs_at(browser.fake, "/oauth2/token")[0]["_jkt"]
    assert code_grant_jkt == par_proof["_jkt"]


def test_refresh_carries_a_fresh_proof(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.login()
    response = browser.press("/refresh")
    assert response.status_code == 303
    token_proofs = proofs_at(browser.fake, "/oauth2/token")
    assert len(token_proofs) == 2 and token_proofs[0]["jti"] != token_proofs[1]["jti"]
    assert browser.fake.bodies[-1]["grant_type"] == "refresh_token"


def test_use_dpop_nonce_is_retried_once_with_the_nonce(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.fake.dpop_nonce = DPOP_NONCE
    page = browser.login()
    assert "You are logged in" in page.text
    assert all(proof["nonce"] == DPOP_NONCE for proof in browser.fake.proofs)
    token_calls = browser.fake.token_requests()
    assert len(token_calls) == 2  # refused for want of a nonce, then accepted
    html = browser.get("/inspector").text
    keys = steps_of(html)
    assert keys.count("dpop-nonce") == 2  # the token request and userinfo
    assert keys.index("dpop-nonce") == keys.index("token-request") - 1
    assert DPOP_NONCE in step_html(html, "dpop-nonce")


def test_a_nonce_refused_twice_is_not_retried_again(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.fake.dpop_nonce = DPOP_NONCE
    browser.fake.dpop_nonce_handed = "stale"  # the nonce handed out is refused too
    location = browser.start_login()
    page = browser.callback(browser.fake.authorize(location))
    assert page.status_code >= 400 and "use_dpop_nonce" in page.text
    assert len(browser.fake.token_requests()) == 2


def test_the_inspector_shows_each_proof_decoded(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true", DEMO_CLIENT_USE_DPOP="true")
    browser.login()
    thumbprint = browser.app.extensions["demo_client"].dpop_key.thumbprint
    html = browser.get("/inspector").text
    for key in ("par", "token-request", "userinfo"):
        step = step_html(html, key)
        assert "DPoP proof, decoded (public-key signed, single-use)" in step
        for row in ("header.typ", "header.jwk", "claims.jti", "claims.htm", "claims.htu"):
            assert f'data-proof="{row}"' in step, (key, row)
        assert thumbprint in step  # jwk → thumbprint
        assert "This request only" in step and "Single use" in step and "Fresh" in step
    assert "Tied to this token" in step_html(html, "userinfo")  # ath
    token = step_html(html, "token-request")
    assert "DPoP ★" in token  # token_type: DPoP highlighted
    assert f"cnf.jkt {thumbprint} equals it" in token
    private = browser.app.extensions["demo_client"].dpop_key.key.as_dict(private=True)["d"]
    for page in (html, browser.get("/").text):
        assert private not in page


def test_the_api_button_works_for_a_dpop_token(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.login()
    response = browser.press("/call-api")
    assert response.status_code == 303
    page = browser.get("/").text
    assert 'id="api-status">HTTP 200' in page
    body = json.loads(
        re.search(r'id="api-body"><code>(.*?)</code>', page, re.S)[1].replace("&#34;", '"')
    )
    assert body["token_type"] == "DPoP" and body["claims"]["name"] == "Foo Bar"
    assert "Authorization: DPoP" in page
    step = step_html(browser.get("/inspector").text, "api-call")
    assert 'data-proof="claims.ath"' in step and "http://127.0.0.1:4446/api/profile" in step


def test_the_private_key_is_never_logged(make_browser, caplog):
    caplog.set_level("DEBUG")
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.login()
    private = browser.app.extensions["demo_client"].dpop_key.key.as_dict(private=True)["d"]
    assert private not in caplog.text
    assert private not in repr(browser.app.extensions["demo_client"])


# -- the login form -------------------------------------------------------------------------


def test_the_form_picks_the_options_per_login(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_PAR="true")
    home = browser.get("/").text
    assert re.search(r'name="use_par" value="on" checked', home)
    assert not re.search(r'name="use_dpop" value="on" checked', home)
    response = browser.press("/login", use_dpop="on", resource=RESOURCE)  # PAR unticked
    params = query(response.headers["Location"])
    assert "request_uri" not in params and params["resource"] == RESOURCE
    assert params["dpop_jkt"]


def test_the_form_needs_a_csrf_token(browser):
    assert browser.post("/login", data={"use_par": "on"}).status_code == 400
    assert browser.fake.requests == []


def test_the_form_refuses_a_bad_resource(browser):
    response = browser.press("/login", resource="https://api.example/#frag")
    assert response.status_code == 400 and "fragment" in response.text
    assert browser.fake.requests == []


# -- resource indicators --------------------------------------------------------------------


def test_resource_is_sent_at_the_authorization_and_token_requests(make_browser):
    browser = make_browser(DEMO_CLIENT_RESOURCE=RESOURCE)
    location = browser.start_login()
    assert query(location)["resource"] == RESOURCE
    browser.callback(browser.fake.authorize(location))
    assert browser.fake.bodies[0]["resource"] == RESOURCE
    step = step_html(browser.get("/inspector").text, "token-request")
    assert f"Asked for resource {RESOURCE}: introspection says aud = [&#34;{RESOURCE}" in step


def test_resource_is_pushed_with_par(make_browser):
    browser = make_browser(DEMO_CLIENT_RESOURCE=RESOURCE, DEMO_CLIENT_USE_PAR="true")
    browser.login()
    assert browser.fake.bodies[0]["resource"] == RESOURCE  # the PAR body
    assert browser.fake.bodies[1]["resource"] == RESOURCE  # the token request


def test_without_introspection_the_aud_is_opaque(make_browser):
    browser = make_browser(DEMO_CLIENT_RESOURCE=RESOURCE, DEMO_CLIENT_ADMIN_URL=None)
    browser.login()
    step = step_html(browser.get("/inspector").text, "token-request")
    assert "the access token is opaque" in step


def test_a_jwt_access_token_shows_its_aud():
    claims = base64.urlsafe_b64encode(json.dumps({"aud": [RESOURCE]}).encode()).decode()
    token = f"eyJhbGciOiJub25lIn0.{claims.rstrip('=')}.sig"
    [note] = binding_notes({"access_token": token}, None, None, RESOURCE)
    assert note == f'Asked for resource {RESOURCE}: the JWT access token says aud = ["{RESOURCE}"].'


def test_registration_asks_for_the_resource_as_an_audience():
    from demo_client.register import client_document

    no_exchange = {"DEMO_CLIENT_EXCHANGE_AUDIENCE": ""}
    document = client_document(load_config(settings(DEMO_CLIENT_RESOURCE=RESOURCE, **no_exchange)))
    assert document["audience"] == [RESOURCE]
    assert "audience" not in client_document(load_config(settings(**no_exchange)))
    # With the token exchange's audience (the default) both are the client's.
    document = client_document(load_config(settings(DEMO_CLIENT_RESOURCE=RESOURCE)))
    assert document["audience"] == [RESOURCE, "https://downstream.example/"]
