"""The authorization request, the callback and what the home page shows after login."""

from __future__ import annotations

import re

from demo_client.discovery import to_backchannel
from tests.demo_client.conftest import query
from tests.demo_client.fake_server import (
    BACKCHANNEL,
    CLIENT_ID,
    ISSUER,
    REDIRECT_URI,
    SUBJECT,
    s256,
)


def test_home_explains_the_app_and_offers_log_in(browser):
    page = browser.get("/")
    assert page.status_code == 200
    assert "authorization code flow with PKCE" in page.text
    assert re.search(r'<a class="button" href="/login">Log in</a>', page.text)
    assert browser.fake.requests == []  # the home page makes no network call


def test_login_redirect_carries_pkce_s256_state_and_nonce(browser):
    location = browser.start_login()
    assert location.startswith(ISSUER + "oauth2/auth?")  # the browser-facing endpoint
    params = query(location)
    assert params["response_type"] == "code"
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "openid offline_access profile email"
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert "prompt" not in params
    # A second login gets fresh values.
    again = query(browser.start_login())
    assert again["state"] != params["state"]
    assert again["nonce"] != params["nonce"]
    assert again["code_challenge"] != params["code_challenge"]


def test_login_sets_only_the_apps_own_cookie(browser):
    response = browser.get("/login")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    assert cookies[0].startswith("demo_client_session_4446=")
    assert "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]


def test_prompt_is_passed_through(browser):
    assert query(browser.start_login("/login?prompt=login"))["prompt"] == "login"
    page = browser.get("/login?prompt=bogus")
    assert page.status_code == 400
    assert "invalid_prompt" in page.text


def test_login_from_localhost_moves_to_the_callback_host(browser):
    response = browser.client.get("http://localhost:4446/login?prompt=login")
    assert response.status_code == 302
    assert response.headers["Location"] == "http://127.0.0.1:4446/login?prompt=login"


def test_callback_exchanges_the_code_with_the_pkce_verifier(browser):
    location = browser.start_login()
    challenge = query(location)["code_challenge"]
    callback = browser.fake.authorize(location)
    response = browser.callback(callback)
    assert response.status_code == 303
    [token_form] = browser.fake.bodies
    assert token_form["grant_type"] == "authorization_code"
    assert token_form["code"] == query(callback)["code"]
    assert token_form["redirect_uri"] == REDIRECT_URI
    assert s256(token_form["code_verifier"]) == challenge
    assert "client_secret" not in token_form  # client_secret_basic: in the header


def test_after_login_the_page_shows_tokens_claims_userinfo_and_introspection(browser):
    page = browser.login().text
    fake = browser.fake
    access, refresh, id_token = fake.issued[1:4]
    for token_id, value in (
        ("access-token", access),
        ("refresh-token", refresh),
        ("id-token", id_token),
    ):
        assert f'<code class="full" id="{token_id}">{value}</code>' in page
        assert f'id="{token_id}-short">{value[:8]}…</code>' in page
    assert re.search(r'data-claim="sub">.*?<code>' + re.escape(SUBJECT), page, re.S)
    assert re.search(r'data-claim="name">.*?<code>Foo Bar</code>', page, re.S)
    assert "Subject: the user&#39;s stable, unique id" in page
    assert "The nonce this client sent, echoed back" in page
    assert 'id="userinfo"' in page
    assert re.search(
        r'data-token="access token">\s*<h3>Access token: <span class="pass">'
        r"active: true",
        page,
    )
    for label in ("Refresh tokens", "Revoke", "Log out"):
        assert re.search(f'<button type="submit"[^>]*>{label}</button>', page)


def test_back_channel_endpoints_are_rewritten_and_the_browser_ones_are_not(browser):
    location = browser.start_login()
    assert location.startswith(ISSUER)
    browser.callback(browser.fake.authorize(location))
    backchannel = BACKCHANNEL.rstrip("/")
    called = [url for _, url in browser.fake.requests]
    assert called == [
        backchannel + "/.well-known/openid-configuration",
        backchannel + "/oauth2/token",
        backchannel + "/.well-known/jwks.json",
        backchannel + "/userinfo",
        "http://admin.internal:4445/admin/oauth2/introspect",
    ]
    # The fake refuses connections to the issuer origin: nothing went there.
    assert not any(url.startswith(ISSUER.rstrip("/")) for url in called)


def test_to_backchannel_only_touches_the_issuer_origin():
    assert (
        to_backchannel(
            "http://127.0.0.1:9000/oauth2/token",
            "http://127.0.0.1:9000/",
            "http://authserver:4444/",
        )
        == "http://authserver:4444/oauth2/token"
    )
    other = "https://keys.example/jwks.json"
    assert to_backchannel(other, "http://127.0.0.1:9000/", "http://authserver:4444/") == other


def test_issuer_and_back_channel_default_to_each_other(make_browser):
    browser = make_browser(DEMO_CLIENT_BACKCHANNEL_URL=None, DEMO_CLIENT_ISSUER=BACKCHANNEL)
    browser.fake.issuer = BACKCHANNEL
    page = browser.login()
    assert "You are logged in" in page.text
    called = {url.split("/")[2] for _, url in browser.fake.requests}
    assert called == {"authserver.internal:4444", "admin.internal:4445"}
