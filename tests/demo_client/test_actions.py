"""Refresh, revoke and logout: CSRF-protected POST forms, and what each shows."""

from __future__ import annotations

import re

import pytest

from tests.demo_client.conftest import query
from tests.demo_client.fake_server import CLIENT_ID, ISSUER, POST_LOGOUT


@pytest.mark.parametrize("path", ["/refresh", "/revoke", "/logout"])
def test_buttons_need_a_csrf_token(browser, path):
    browser.login()
    requests_before = len(browser.fake.requests)
    for form in ({}, {"csrf_token": "forged"}):
        page = browser.post(path, data=form)
        assert page.status_code == 400
        assert "csrf_failed" in page.text
    assert len(browser.fake.requests) == requests_before  # nothing was sent
    assert "You are logged in" in browser.get("/").text


def test_buttons_without_tokens_explain_that_nobody_is_logged_in(browser):
    browser.login()
    token = browser.csrf_token()
    browser.fake.id_token_overrides = {"nonce": "wrong"}
    browser.callback(browser.fake.authorize(browser.start_login()))  # refused: tokens dropped
    for path in ("/refresh", "/revoke", "/logout"):
        page = browser.post(path, data={"csrf_token": token})
        assert page.status_code == 400
        assert "not_logged_in" in page.text


def test_refresh_rotates_and_shows_old_and_new(browser):
    browser.login()
    old_refresh = browser.fake.issued[2]
    response = browser.press("/refresh")
    assert response.status_code == 303
    page = browser.get("/").text
    new_access, new_refresh = browser.fake.issued[4:6]
    assert new_refresh != old_refresh
    assert f'id="refresh-token">{new_refresh}</code>' in page
    assert f'id="old-refresh-token">{old_refresh[:8]}…</code>' in page
    assert f'id="new-refresh-token">{new_refresh[:8]}…</code>' in page
    assert "The refresh token rotated" in page
    refresh_form = browser.fake.bodies[-1]
    assert refresh_form == {"grant_type": "refresh_token", "refresh_token": old_refresh}
    # Introspection after the refresh: the old refresh token is dead, the new one alive.
    assert re.search(
        r'data-token="old refresh token">\s*<h3>Old refresh token: '
        r'<span class="fail">active: false',
        page,
    )
    assert re.search(
        r'data-token="new refresh token">\s*<h3>New refresh token: '
        r'<span class="pass">active: true',
        page,
    )
    assert new_access in page


def test_refresh_error_is_explained(browser):
    browser.login()
    browser.fake.token_error = ("invalid_grant", "The refresh token was reused.")
    page = browser.press("/refresh")
    assert page.status_code == 400
    assert '<code class="error-code">invalid_grant</code>' in page.text


def test_revoke_then_introspection_is_inactive(browser):
    browser.login()
    refresh = browser.fake.issued[2]
    response = browser.press("/revoke", token="refresh_token")
    assert response.status_code == 303
    assert browser.fake.bodies[-1] == {"token": refresh, "token_type_hint": "refresh_token"}
    page = browser.get("/").text
    assert "The refresh token was revoked" in page
    assert re.search(
        r'data-token="access token">\s*<h3>Access token: '
        r'<span class="fail">active: false',
        page,
    )
    assert re.search(
        r'data-token="refresh token">\s*<h3>Refresh token: '
        r'<span class="fail">active: false',
        page,
    )
    assert ("POST", "http://authserver.internal:4444/oauth2/revoke") in browser.fake.requests
    assert not browser.fake.refresh_tokens[refresh].active


def test_without_admin_url_introspection_is_explained(make_browser):
    browser = make_browser(DEMO_CLIENT_ADMIN_URL=None)
    page = browser.login().text
    assert "No admin URL is configured" in page
    assert not any("introspect" in url for _, url in browser.fake.requests)


def test_logout_goes_to_end_session_and_logged_out_clears_the_session(browser):
    browser.login()
    id_token = browser.fake.issued[3]
    response = browser.press("/logout")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(ISSUER + "oauth2/sessions/logout?")  # browser-facing
    params = query(location)
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == POST_LOGOUT
    assert len(params["state"]) >= 32

    wrong = browser.get("/logged-out?state=not-mine")
    assert wrong.status_code == 400
    assert "state_mismatch" in wrong.text
    assert "You are logged in" in browser.get("/").text  # kept

    done = browser.get(f"/logged-out?state={params['state']}")
    assert done.status_code == 200
    assert "Logged out" in done.text
    assert 'data-step="logged-out"' in done.text
    assert any("demo_client_session_4446=;" in c for c in done.headers.getlist("Set-Cookie"))
    home = browser.get("/").text
    assert "You are logged in" not in home
    assert CLIENT_ID in home
