"""The flow inspector: steps in order, each with its parts, and never a whole secret."""

from __future__ import annotations

import re

from demo_client.inspector import safe_url, short
from tests.demo_client.conftest import query
from tests.demo_client.fake_server import CLIENT_SECRET


def steps_of(html: str) -> list[str]:
    return re.findall(r'data-step="([^"]+)"', html)


def test_steps_are_recorded_in_order(browser):
    browser.login()
    html = browser.get("/inspector").text
    assert steps_of(html) == [
        "discovery",
        "authorization-request",
        "browser-authorize",
        "browser-login",
        "login-accept",
        "browser-login-verifier",
        "browser-consent",
        "consent-accept",
        "browser-consent-verifier",
        "callback",
        "token-request",
        "jwks",
        "id-token-checks",
        "userinfo",
        "introspection",
    ]
    browser.press("/refresh")
    browser.press("/revoke")
    keys = steps_of(browser.get("/inspector").text)
    assert keys[15:] == [
        "refresh",
        "introspection",
        "introspection",
        "introspection",
        "revoke",
        "introspection",
        "introspection",
    ]


def test_each_step_has_lanes_time_status_duration_purpose_and_reference(browser):
    browser.login()
    html = browser.get("/inspector").text
    token_step = html.split('data-step="token-request"')[1].split("</li>")[0]
    assert "Client → Authorization server" in token_step
    assert "span-2-3 ltr" in token_step  # the arrow from the client lane to the server lane
    assert re.search(r"<time>\d\d:\d\d:\d\d\.\d{3}</time>", token_step)
    assert "HTTP 200" in token_step
    assert re.search(r"\d+\.\d ms", token_step)
    assert "RFC 6749 §4.1.3" in token_step
    assert "POST http://authserver.internal:4444/oauth2/token" in token_step
    assert "client_secret_basic: Authorization: Basic " in token_step
    assert "matches the code_challenge" in token_step
    described = html.split('data-step="browser-login"')[1].split("</li>")[0]
    assert "described, not recorded" in described
    assert "Browser → Login/consent app" in described
    assert "login_challenge" in described
    assert "Hydra" in described


def test_authorization_request_parameters_are_explained(browser):
    location = browser.start_login()
    html = browser.get("/inspector").text
    step = html.split('data-step="authorization-request"')[1].split("</li>")[0]
    params = query(location)
    for name, ref in (
        ("response_type", "RFC 6749 §4.1.1"),
        ("client_id", "RFC 6749 §4.1.1"),
        ("redirect_uri", "RFC 6749 §4.1.1"),
        ("scope", "RFC 6749 §3.3"),
        ("state", "RFC 6749 §4.1.1"),
        ("nonce", "OIDC Core §3.1.2.1"),
        ("code_challenge", "RFC 7636 §4.3"),
        ("code_challenge_method", "RFC 7636 §4.3"),
    ):
        row = step.split(f"<code>{name}</code>")[1].split("</tr>")[0]
        assert params[name] in row
        assert ref in row


def test_inspector_never_shows_a_whole_token_code_verifier_or_secret(browser):
    location = browser.start_login()
    callback = browser.fake.authorize(location)
    browser.callback(callback)
    browser.press("/refresh")
    code = query(callback)["code"]
    verifier = browser.fake.bodies[0]["code_verifier"]
    secrets = [code, verifier, *browser.fake.issued[1:], CLIENT_SECRET]
    html = browser.get("/inspector").text
    for secret in secrets:
        assert len(secret) > 8
        assert secret not in html
    for secret in [code, verifier, *browser.fake.issued[1:4]]:
        assert short(secret) in html
    # The refresh step shows the old and the new refresh token, shortened.
    refresh_step = html.split('data-step="refresh"')[1].split("</li>")[0]
    assert short(browser.fake.issued[2]) in refresh_step
    assert short(browser.fake.issued[5]) in refresh_step
    assert "rotated" in refresh_step


def test_the_client_secret_is_on_no_page(browser):
    pages = [browser.get("/").text, browser.login().text]
    browser.press("/refresh")
    pages += [browser.get("/").text, browser.get("/inspector").text]
    browser.fake.token_error = ("invalid_grant", "x")
    pages.append(browser.press("/refresh").text)
    for html in pages:
        assert CLIENT_SECRET not in html
        assert CLIENT_SECRET[:8] not in html


def test_safe_url_shortens_secret_parameters_only():
    url = "http://x/cb?code=ory_ac_abcdefghijkl&state=visible-state-value&iss=http%3A%2F%2Fx%2F"
    assert safe_url(url) == "http://x/cb?code=ory_ac_a…&state=visible-state-value&iss=http://x/"
