"""Token exchange (RFC 8693) from the home page: "Exchange the access token" trades the
session's access token for one for ``DEMO_CLIENT_EXCHANGE_AUDIENCE``, with the client's
authentication (and a DPoP proof for DPoP-bound tokens), then introspects both tokens side by
side — against the fake server, which checks the form; plus the setting and the
registration."""

from __future__ import annotations

import html
import re

import pytest

from demo_client.config import DEFAULT_EXCHANGE_AUDIENCE, ConfigError, load_config
from demo_client.register import client_document, register_client
from tests.demo_client.conftest import settings
from tests.demo_client.fake_server import (
    ACCESS_TOKEN_TYPE,
    ASSERTION_TYPE,
    CLIENT_ID,
    CLIENT_SECRET,
    DOWNSTREAM,
    ISSUER,
    SUBJECT,
    TOKEN_EXCHANGE_GRANT,
)
from tests.demo_client.test_client_key import TOKEN_ENDPOINT, key_browser  # noqa: F401
from tests.demo_client.test_config_register import FakeAdmin, registering

OTHER = "https://billing.example/api"


def step_html(html: str, key: str) -> str:
    return html.split(f'data-step="{key}"')[1].split("</li>")[0]


def comparison(page: str) -> dict[str, tuple[str, str]]:
    """The side-by-side introspection table: claim → (original, exchanged)."""
    table = page.split('id="exchange-comparison"')[1].split("</table>")[0]
    rows = {}
    for name, cells in re.findall(r'<tr data-claim="([^"]+)">(.*?)</tr>', table, re.S):
        values = re.findall(r"<td>(.*?)</td>", cells, re.S)
        rows[name] = tuple(html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for value in values)
    return rows


# -- the request ------------------------------------------------------------------------


def test_the_exchange_sends_the_subject_token_and_audience_with_basic_auth(browser):
    home = browser.login().text
    assert 'id="exchange-form"' in home and "Exchange the access token" in home
    access = browser.fake.issued[1]
    response = browser.press("/exchange")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    [sent] = browser.fake.exchange_requests
    assert sent["form"] == {
        "grant_type": [TOKEN_EXCHANGE_GRANT],
        "subject_token": [access],
        "subject_token_type": [ACCESS_TOKEN_TYPE],
        "requested_token_type": [ACCESS_TOKEN_TYPE],
        "audience": [DOWNSTREAM],
    }
    auth = sent["authorization"]
    assert (auth.type, auth.username, auth.password) == ("basic", CLIENT_ID, CLIENT_SECRET)
    assert ("POST", "http://authserver.internal:4444/oauth2/token") in browser.fake.requests


def test_the_exchange_authenticates_with_a_client_assertion(key_browser):  # noqa: F811
    key_browser.login()
    assert key_browser.press("/exchange").status_code == 303
    [sent] = key_browser.fake.exchange_requests
    assert sent["authorization"] is None
    assert sent["form"]["client_assertion_type"] == [ASSERTION_TYPE]
    claims = key_browser.fake.assertions[-1]
    assert claims["aud"] == TOKEN_ENDPOINT and claims["_endpoint"].endswith("/oauth2/token")
    assert len({c["jti"] for c in key_browser.fake.assertions}) == 2  # code, exchange


def test_a_dpop_session_exchanges_with_a_proof_and_gets_a_bound_token(make_browser):
    browser = make_browser(DEMO_CLIENT_USE_DPOP="true")
    browser.login()
    thumbprint = browser.app.extensions["demo_client"].dpop_key.thumbprint
    assert browser.press("/exchange").status_code == 303
    proofs = [p for p in browser.fake.proofs if p["_endpoint"] == "/oauth2/token"]
    assert len(proofs) == 2  # the code, then the exchange: each its own proof
    exchange_proof = proofs[-1]
    assert exchange_proof["htu"] == ISSUER.rstrip("/") + "/oauth2/token"
    assert exchange_proof["_jkt"] == thumbprint and "ath" not in exchange_proof
    [new] = browser.fake.exchanged
    assert browser.fake.token_members[new]["cnf"] == {"jkt": thumbprint}
    page = browser.get("/").text
    assert "<code>token_type</code></dt><dd><code>DPoP</code>" in page
    inspector = browser.get("/inspector").text
    assert "DPoP ★" in step_html(inspector, "token-exchange")


# -- what the pages show ----------------------------------------------------------------


def test_the_page_shows_the_answer_and_both_introspections_side_by_side(browser):
    browser.login()
    access = browser.fake.issued[1]
    browser.press("/exchange")
    [new] = browser.fake.exchanged
    page = browser.get("/").text
    assert "The access token was exchanged for one for https://downstream.example/" in page
    assert f'id="exchanged-token">{new[:8]}…</code>' in page
    assert new not in page  # shortened, as on the inspector
    assert f"<code>issued_token_type</code></dt><dd><code>{ACCESS_TOKEN_TYPE}</code>" in page
    assert "none: to renew it, the client exchanges again" in page
    rows = comparison(page)
    assert rows["active"] == ("true", "true")
    assert rows["aud"] == ("—", f'["{DOWNSTREAM}"]')
    assert rows["client_id"] == (CLIENT_ID, CLIENT_ID)
    assert rows["sub"] == (SUBJECT, SUBJECT)
    assert rows["scope"] == ("openid offline_access profile email",) * 2
    assert rows["exp"][0] == "—" and rows["exp"][1].endswith("UTC)")
    # The two introspections were made on the admin API, of the two tokens.
    introspected = [url for _, url in browser.fake.requests if url.endswith("/introspect")]
    assert len(introspected) == 3  # at login, then the original and the exchanged token
    assert browser.fake.access_tokens[access].active  # the subject token is still good


def test_the_inspector_explains_the_exchange_and_cites_rfc_8693(browser):
    browser.login()
    access = browser.fake.issued[1]
    browser.press("/exchange")
    [new] = browser.fake.exchanged
    inspector = browser.get("/inspector").text
    step = step_html(inspector, "token-exchange")
    assert (
        "The client traded the user&#39;s token for one meant for another audience; the "
        "server checked that the token was issued to this client (RFC 8693 §2.1)."
    ) in step
    assert "RFC 8693 §2.1, §2.2" in step
    assert f"{access[:8]}…" in step and access not in inspector
    assert f"{new[:8]}…" in step and new not in inspector
    assert DOWNSTREAM in step and "subject_token_type" in step
    assert "client_secret_basic: Authorization: Basic" in step
    keys = re.findall(r'data-step="([^"]+)"', inspector)
    assert keys[-3:] == ["token-exchange", "introspection", "introspection"]
    assert "Introspection (original token)" in inspector
    assert "Introspection (exchanged token)" in inspector


def test_without_an_admin_url_the_comparison_is_explained(make_browser):
    browser = make_browser(DEMO_CLIENT_ADMIN_URL=None)
    browser.login()
    assert browser.press("/exchange").status_code == 303
    page = browser.get("/").text
    assert 'id="exchange-no-admin"' in page and 'id="exchange-comparison"' not in page
    assert not any("introspect" in url for _, url in browser.fake.requests)


def test_a_refresh_drops_the_stale_comparison(browser):
    browser.login()
    browser.press("/exchange")
    assert 'id="exchange-answer"' in browser.get("/").text
    browser.press("/refresh")
    assert 'id="exchange-answer"' not in browser.get("/").text


# -- errors -----------------------------------------------------------------------------


def test_unauthorized_client_is_shown_with_how_to_register_the_grant_type(browser):
    browser.login()
    browser.fake.exchange_grant = False
    page = browser.press("/exchange")
    assert page.status_code == 400
    assert "The token exchange was refused" in page.text
    assert '<code class="error-code">unauthorized_client</code>' in page.text
    assert TOKEN_EXCHANGE_GRANT in page.text
    assert "demo-client --register" in page.text
    inspector = browser.get("/inspector").text
    step = step_html(inspector, "token-exchange")
    assert "400" in step and "unauthorized_client" in step
    assert 'id="exchange-answer"' not in browser.get("/").text
    assert "You are logged in" in browser.get("/").text  # the session's tokens are kept


def test_an_audience_the_client_may_not_have_is_explained(make_browser):
    browser = make_browser(DEMO_CLIENT_EXCHANGE_AUDIENCE=OTHER)
    browser.login()
    page = browser.press("/exchange")
    assert page.status_code == 400
    assert '<code class="error-code">invalid_target</code>' in page.text
    assert "DEMO_CLIENT_EXCHANGE_AUDIENCE" in page.text and OTHER in page.text
    assert browser.fake.exchange_requests[0]["form"]["audience"] == [OTHER]


def test_a_revoked_subject_token_is_invalid_request(browser):
    browser.login()
    browser.press("/revoke", token="access_token")
    page = browser.press("/exchange")
    assert page.status_code == 400
    assert '<code class="error-code">invalid_request</code>' in page.text
    assert "Log in again for a fresh access token" in page.text


def test_an_unreachable_server_is_explained(browser):
    browser.login()
    browser.fake.reachable.discard("http://authserver.internal:4444")
    page = browser.press("/exchange")
    assert page.status_code == 502
    assert "the token exchange" in page.text


def test_the_button_needs_a_csrf_token(browser):
    browser.login()
    before = len(browser.fake.requests)
    for form in ({}, {"csrf_token": "forged"}):
        page = browser.post("/exchange", data=form)
        assert page.status_code == 400 and "csrf_failed" in page.text
    assert len(browser.fake.requests) == before  # nothing was sent
    assert browser.fake.exchange_requests == []


def test_without_tokens_the_exchange_says_nobody_is_logged_in(browser):
    browser.get("/")  # a session, no tokens
    page = browser.press("/exchange")
    assert page.status_code == 400 and "not_logged_in" in page.text


def test_turned_off_the_action_is_hidden_and_refused(make_browser):
    browser = make_browser(DEMO_CLIENT_EXCHANGE_AUDIENCE="off")
    home = browser.login().text
    assert 'id="exchange-form"' not in home and "Exchange the access token" not in home
    page = browser.press("/exchange")
    assert page.status_code == 400 and "exchange_disabled" in page.text
    assert browser.fake.exchange_requests == []


# -- the setting ------------------------------------------------------------------------


def test_the_setting_defaults_to_a_downstream_audience():
    assert load_config(settings()).exchange_audience == DEFAULT_EXCHANGE_AUDIENCE == DOWNSTREAM
    config = load_config(settings(DEMO_CLIENT_EXCHANGE_AUDIENCE=f"  {OTHER} "))
    assert config.exchange_audience == OTHER
    for off in ("", "  ", "off", "OFF", "none"):
        assert load_config(settings(DEMO_CLIENT_EXCHANGE_AUDIENCE=off)).exchange_audience == ""


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("downstream", "must be an absolute URI"),
        ("https://a.example/#frag", "must not have a fragment"),
        ("https://a.example/ https://b.example/", "must be one URI"),
        ("https://a.example/\x00", "must be one URI"),
    ],
)
def test_a_bad_setting_is_refused_in_one_line(value, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config(settings(DEMO_CLIENT_EXCHANGE_AUDIENCE=value))
    message = str(caught.value)
    assert message.startswith("DEMO_CLIENT_EXCHANGE_AUDIENCE ") and fragment in message
    assert "\n" not in message and "off hides" in message


# -- the registration -------------------------------------------------------------------


def test_the_registration_holds_the_grant_type_and_the_audience():
    admin = FakeAdmin()
    config = registering()
    register_client(config, admin.session())
    stored = admin.clients[CLIENT_ID]
    assert TOKEN_EXCHANGE_GRANT in stored["grant_types"]
    assert stored["grant_types"][:2] == ["authorization_code", "refresh_token"]
    assert stored["audience"] == [DOWNSTREAM]
    assert stored["token_endpoint_auth_method"] == "client_secret_basic"  # confidential


def test_the_registration_follows_the_setting():
    off = client_document(registering(DEMO_CLIENT_EXCHANGE_AUDIENCE="off"))
    assert TOKEN_EXCHANGE_GRANT not in off["grant_types"] and "audience" not in off
    both = client_document(
        registering(DEMO_CLIENT_EXCHANGE_AUDIENCE=OTHER, DEMO_CLIENT_RESOURCE=OTHER)
    )
    assert both["audience"] == [OTHER]  # one entry when the resource is the same URI
    document = client_document(
        registering(DEMO_CLIENT_RESOURCE="https://api.example/v1", DEMO_CLIENT_AUTH_METHOD="")
    )
    assert document["audience"] == ["https://api.example/v1", DOWNSTREAM]
