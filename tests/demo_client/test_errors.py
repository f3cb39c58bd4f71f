"""Errors become explanation pages (error code, description, what to do), never a trace;
a bad callback never reaches the token endpoint."""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey

from tests.demo_client.conftest import query
from tests.demo_client.fake_server import ISSUER


def test_wrong_state_is_refused_without_a_token_request(browser):
    callback = browser.fake.authorize(browser.start_login())
    forged = callback.replace("state=", "state=forged")
    page = browser.callback(forged)
    assert page.status_code == 400
    assert "state_mismatch" in page.text
    assert "possible CSRF" in page.text or "cross-site request forgery" in page.text
    assert "stale tab" in page.text
    assert browser.fake.token_requests() == []


def test_missing_state_is_refused_without_a_token_request(browser):
    callback = browser.fake.authorize(browser.start_login())
    code = query(callback)["code"]
    page = browser.get(f"/callback?code={code}")
    assert page.status_code == 400
    assert "state_mismatch" in page.text
    assert browser.fake.token_requests() == []


def test_a_state_is_single_use(browser):
    callback = browser.fake.authorize(browser.start_login())
    assert browser.callback(callback).status_code == 303
    replay = browser.callback(callback)
    assert replay.status_code == 400
    assert "state_mismatch" in replay.text
    assert len(browser.fake.token_requests()) == 1


def test_missing_session_cookie_is_explained(browser, make_browser):
    callback = browser.fake.authorize(browser.start_login())
    other_browser = make_browser()  # no cookie: e.g. localhost vs 127.0.0.1
    page = other_browser.callback(callback)
    assert page.status_code == 400
    assert "missing_session" in page.text
    assert "localhost" in page.text and "127.0.0.1" in page.text
    assert browser.fake.token_requests() == []


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        ("access_denied", "You — or the login/consent app — said no"),
        ("login_required", "prompt=none"),
        ("consent_required", "prompt=none"),
        ("interaction_required", "prompt=none"),
        ("invalid_request", "malformed"),
    ],
)
def test_authorization_errors_are_explained(browser, error, phrase):
    state = query(browser.start_login())["state"]
    page = browser.get(f"/callback?error={error}&error_description=The+reason+given&state={state}")
    assert page.status_code == 400
    assert f'<code class="error-code">{error}</code>' in page.text
    assert "The reason given" in page.text
    assert phrase in page.text
    assert "What to do next" in page.text
    assert "matched this browser&#39;s request" in page.text
    assert "Traceback" not in page.text
    assert browser.fake.token_requests() == []


def test_token_endpoint_error_is_explained(browser):
    browser.fake.token_error = ("invalid_grant", "The code was already used.")
    page = browser.callback(browser.fake.authorize(browser.start_login()))
    assert page.status_code == 400
    assert '<code class="error-code">invalid_grant</code>' in page.text
    assert "The code was already used." in page.text
    assert "PKCE" in page.text  # what invalid_grant usually means
    assert "You are logged in" not in browser.get("/").text


def test_wrong_client_secret_is_explained(make_browser):
    browser = make_browser(DEMO_CLIENT_SECRET="not-the-secret")
    page = browser.callback(browser.fake.authorize(browser.start_login()))
    assert '<code class="error-code">invalid_client</code>' in page.text
    assert "demo-client --register" in page.text


@pytest.mark.parametrize(
    ("override", "failed_check"),
    [
        ({"nonce": "not-the-nonce"}, "nonce"),
        ({"aud": ["another-client"]}, "aud"),
        ({"iss": "http://evil.example/"}, "iss"),
        ({"exp": 1000}, "exp"),
    ],
)
def test_id_token_failing_a_check_is_refused(browser, override, failed_check):
    browser.fake.id_token_overrides = override
    page = browser.callback(browser.fake.authorize(browser.start_login()))
    assert page.status_code == 400
    assert '<code class="error-code">invalid_id_token</code>' in page.text
    assert f"Failed: {failed_check}" in page.text
    assert f'<tr class="fail"><th scope="row"><code>{failed_check}</code>' in page.text
    home = browser.get("/").text
    assert "You are logged in" not in home  # the tokens were thrown away
    assert 'id="access-token"' not in home


def test_id_token_with_a_bad_signature_is_refused(browser):
    browser.fake.id_token_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    page = browser.callback(browser.fake.authorize(browser.start_login()))
    assert page.status_code == 400
    assert "Failed: signature" in page.text
    assert "You are logged in" not in browser.get("/").text


def test_issuer_mismatch_is_a_clear_error(browser):
    browser.fake.metadata_issuer = "http://somewhere-else.example/"
    page = browser.get("/login")
    assert page.status_code == 502
    assert "issuer_mismatch" in page.text
    assert ISSUER in page.text and "http://somewhere-else.example/" in page.text
    assert "DEMO_CLIENT_ISSUER" in page.text


def test_issuer_trailing_slash_does_not_matter(make_browser):
    browser = make_browser(DEMO_CLIENT_ISSUER=ISSUER.rstrip("/"))
    assert browser.get("/login").status_code == 302


def test_unreachable_server_names_the_url_it_tried(make_browser):
    browser = make_browser(DEMO_CLIENT_BACKCHANNEL_URL="http://nowhere.internal:4444/")
    page = browser.get("/login")
    assert page.status_code == 502
    assert "unreachable" in page.text
    assert "http://nowhere.internal:4444/.well-known/openid-configuration" in page.text
    assert "DEMO_CLIENT_BACKCHANNEL_URL" in page.text


def test_unreachable_during_the_code_exchange(browser):
    location = browser.start_login()
    callback = browser.fake.authorize(location)
    browser.fake.reachable.clear()
    page = browser.callback(callback)
    assert page.status_code == 502
    assert "http://authserver.internal:4444/oauth2/token" in page.text
    assert 'data-step="token-request"' in page.text  # the failed step is in the inspector
    assert "no response (the connection failed" in page.text


def test_unknown_pages_are_plain_404s(browser):
    page = browser.get("/nope")
    assert page.status_code == 404
    assert "Traceback" not in page.text
