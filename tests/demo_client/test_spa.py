"""``/spa``, the single-page app: the page and its policy, its script's storage rules, and
the public client ``--register`` creates for it. The app itself runs in a browser:
``e2e/test_spa.py`` drives it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demo_client import CONTENT_SECURITY_POLICY, spa_content_security_policy
from demo_client.config import load_config
from demo_client.register import (
    Registration,
    RegistrationError,
    register_client,
    register_spa_client,
    spa_client_document,
)
from tests.demo_client.fake_server import CLIENT_SECRET, ISSUER
from tests.demo_client.test_config_register import FakeAdmin, registering

SCRIPT = Path(__file__).resolve().parents[2] / "demo_client" / "static" / "spa.js"
SPA_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self' http://issuer.example:9000; frame-ancestors 'none'"
)


def data_attributes(html: str) -> dict[str, str]:
    root = re.search(r'<div id="spa"([^>]*)>', html)[1]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', root))


def test_the_page_hands_the_script_its_settings_and_nothing_secret(browser):
    response = browser.get("/spa")
    html = response.text
    assert response.status_code == 200
    assert data_attributes(html) == {
        "issuer": ISSUER,
        "client-id": "demo-spa",
        "redirect-uri": "http://127.0.0.1:4446/spa",
        "scope": "openid offline_access",
    }
    assert CLIENT_SECRET not in html
    assert re.search(r"in this\s+script's variables, and nowhere else", html)  # said
    assert 'href="/"' in html  # the way back


def test_the_page_runs_one_script_from_this_app_and_may_fetch_the_issuer_only(browser):
    response = browser.get("/spa")
    html = response.text
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/spa.js">']
    assert "</script>" in html and '<script src="/static/spa.js"></script>' in html
    assert " on" + "click" not in html and " style=" not in html
    assert response.headers["Content-Security-Policy"] == SPA_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    # Only this page gets the looser policy.
    assert browser.get("/").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_redirect_back_is_left_to_the_script(browser):
    response = browser.get("/spa?code=the-code&state=the-state&scope=openid")
    assert response.status_code == 200
    assert "the-code" not in response.text
    assert browser.fake.requests == []  # this server made no call: the browser does
    assert browser.get("/spa?error=access_denied%0d%0aforged").status_code == 200


def test_the_script_is_served_and_keeps_tokens_out_of_storage(browser):
    response = browser.get("/static/spa.js")
    script = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200
    assert "javascript" in response.headers["Content-Type"]
    assert script == SCRIPT.read_text()
    # Tokens in variables only: no localStorage, no cookie, and sessionStorage written
    # once, for the login in progress (verifier, challenge, state, nonce, the URL).
    assert "localStorage" not in script
    assert "document.cookie" not in script
    writes = re.findall(r"sessionStorage\.setItem\(([^;]*)\);", script)
    assert writes == [
        "PENDING, JSON.stringify({ verifier, challenge, state, nonce, url: url.href })"
    ]
    assert "crypto.getRandomValues" in script and "Math.random(" not in script
    assert '"SHA-256"' in script and 'code_challenge_method: "S256"' in script
    assert ".innerHTML" not in script  # what the server sends is text, never markup


def test_the_home_page_and_the_menu_link_the_spa(browser):
    html = browser.get("/").text
    assert re.search(r'<a class="button secondary" href="/spa" id="spa-link">', html)
    assert html.count('href="/spa"') == 2  # the menu and the intro


@pytest.mark.parametrize(
    ("origin", "connect"),
    [
        ("http://127.0.0.1:9000", "connect-src 'self' http://127.0.0.1:9000;"),
        ("https://auth.example", "connect-src 'self' https://auth.example;"),
        ("http://[::1]:4444", "connect-src 'self' http://[::1]:4444;"),
        ("http://user:pw@auth.example", "connect-src 'self';"),  # no secret in a header
        ("http://a.example; script-src *", "connect-src 'self';"),
    ],
)
def test_the_policy_names_only_a_clean_origin(origin, connect):
    policy = spa_content_security_policy(origin)
    assert connect in policy
    assert "pw" not in policy and "script-src *" not in policy


def test_the_spa_client_settings():
    config = load_config({"PORT": "5000", "DEMO_CLIENT_ISSUER": "http://127.0.0.1:9000/x/"})
    assert config.spa_client_id == "demo-spa" and config.spa_client_id_given is False
    assert config.spa_redirect_uri == "http://127.0.0.1:5000/spa"
    assert config.issuer_origin == "http://127.0.0.1:9000"
    named = load_config({"DEMO_CLIENT_SPA_ID": " my-spa "})
    assert (named.spa_client_id, named.spa_client_id_given) == ("my-spa", True)
    behind = load_config({"DEMO_CLIENT_REDIRECT_URI": "https://demo.example/callback"})
    assert behind.spa_redirect_uri == "https://demo.example/spa"


# -- registration ------------------------------------------------------------------------


def test_register_creates_a_public_client_for_the_spa_then_updates_it():
    admin = FakeAdmin()
    config = registering()
    assert register_spa_client(config, admin.session()) == Registration("created", "demo-spa")
    stored = admin.clients["demo-spa"]
    assert stored == spa_client_document(config)
    assert stored["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in stored
    assert stored["grant_types"] == ["authorization_code", "refresh_token"]
    assert stored["response_types"] == ["code"]
    assert stored["scope"] == "openid offline_access"
    assert stored["redirect_uris"] == ["http://127.0.0.1:4446/spa"]
    assert stored["allowed_cors_origins"] == ["http://127.0.0.1:4446"]
    assert register_spa_client(config, admin.session()) == Registration("updated", "demo-spa")
    # The confidential client is registered apart, and unchanged by the SPA's.
    assert register_client(config, admin.session()) == Registration("created", "demo-client")
    assert admin.clients["demo-client"]["token_endpoint_auth_method"] == "client_secret_basic"
    assert "allowed_cors_origins" not in admin.clients["demo-client"]


def test_a_second_demo_client_gets_its_own_spa_client():
    admin = FakeAdmin()
    first = registering(DEMO_CLIENT_REDIRECT_URI="http://127.0.0.1:9010/callback")
    register_spa_client(first, admin.session())
    before = dict(admin.clients["demo-spa"])
    second = registering()
    assert register_spa_client(second, admin.session()) == Registration("created", "demo-spa-4446")
    assert admin.clients["demo-spa"] == before
    assert admin.clients["demo-spa-4446"]["redirect_uris"] == ["http://127.0.0.1:4446/spa"]


def test_a_named_spa_id_held_for_another_page_is_one_line_unless_overwrite():
    admin = FakeAdmin()
    register_spa_client(registering(DEMO_CLIENT_SPA_ID="shared-spa"), admin.session())
    other = registering(
        DEMO_CLIENT_SPA_ID="shared-spa", DEMO_CLIENT_REDIRECT_URI="http://h:5/callback"
    )
    with pytest.raises(RegistrationError) as error:
        register_spa_client(other, admin.session())
    message = str(error.value)
    assert "\n" not in message
    assert "'shared-spa'" in message and "http://h:5/spa" in message
    assert "DEMO_CLIENT_SPA_ID" in message and "--overwrite" in message
    overwrite = registering(
        DEMO_CLIENT_SPA_ID="shared-spa",
        DEMO_CLIENT_REDIRECT_URI="http://h:5/callback",
        DEMO_CLIENT_OVERWRITE="true",
    )
    assert register_spa_client(overwrite, admin.session()) == Registration("updated", "shared-spa")
    assert admin.clients["shared-spa"]["allowed_cors_origins"] == ["http://h:5"]


def test_registering_the_spa_needs_an_admin_url_but_no_secret():
    with pytest.raises(RegistrationError, match="DEMO_CLIENT_ADMIN_URL"):
        register_spa_client(load_config({}))
    admin = FakeAdmin()
    no_secret = registering(DEMO_CLIENT_SECRET="")
    assert register_spa_client(no_secret, admin.session()).outcome == "created"
