"""``/oauth2/auth``: what the authorization endpoint does with bad input, on each backend.

RFC 6749 §4.1.2.1 splits bad requests in two. While the client or its redirect URI cannot
be trusted, the server shows an error page itself and never redirects (else it would be an
open redirector). Once both are known good, every other problem goes back to the client's
registered redirect URI as ``error=<code>`` with the client's ``state`` (and, RFC 9207,
``iss``). The table below is that split, case by case.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.oauth_flow import (
    REDIRECT_URI,
    TIMEOUT,
    FlowDriver,
    create_code_client,
    query,
)

AUDIENCE = "https://api.example.com"
SECOND_REDIRECT_URI = "http://127.0.0.1:9999/other-callback"
LOGIN_CSRF_COOKIE = "authserver_login_csrf"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- assertions ---------------------------------------------------------------------------


def assert_error_page(response: requests.Response, error: str | None = None) -> None:
    """The server's own error page: 4xx HTML, no redirect anywhere."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert "Location" not in response.headers, response.headers["Location"]
    assert response.headers["Content-Type"].split(";")[0].strip() == "text/html"
    assert "Traceback" not in response.text
    if error is not None:
        assert error in response.text, response.text


def assert_client_error(response: requests.Response, server, driver: FlowDriver, error: str):
    """A 302 to the registered redirect URI carrying ``error``, the state and ``iss``."""
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["Location"]
    parts = urlsplit(location)
    # Never anywhere but the registered redirect URI.
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI, location
    assert not parts.fragment, location
    params = query(location)
    assert params["error"] == error, params
    assert "code" not in params, params
    assert params["iss"].rstrip("/") == server.public_url, params
    return params


def foreign_id_token(server) -> str:
    """A well-formed RS256 ID token naming this server as issuer, signed with another key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": server.public_url + "/",
        "sub": "someone@example.com",
        "aud": ["some-client"],
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "not-ours"})


# -- the table ----------------------------------------------------------------------------

# A parameter value may be a callable of (server, client document): for values that depend
# on the client created for the case (``client_id`` twice) or on the server.
Value = str | list[str] | None | Callable[[object, dict], object]


@dataclass(frozen=True)
class Case:
    id: str
    params: dict[str, Value]
    error: str
    redirect: bool  # True: sent to the client's redirect URI; False: an error page
    client: dict = field(default_factory=dict)  # fields for create_code_client
    pkce: bool = True
    state_any_of: tuple[str, ...] = ()  # when the state itself was sent more than once


def client_id_of(_server, client: dict) -> str:
    return client["client_id"]


PAGE_CASES = [
    Case("missing-client_id", {"client_id": None}, "invalid_request", False),
    Case("unknown-client_id", {"client_id": "no-such-client-" + "x" * 8}, "invalid_client", False),
    Case(
        "client_id-twice",
        {"client_id": lambda _s, c: [c["client_id"], c["client_id"]]},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-not-registered",
        {"redirect_uri": "https://evil.example.com/callback"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-prefix-of-registered",
        {"redirect_uri": "http://127.0.0.1:9999/call"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-suffix-path",
        {"redirect_uri": REDIRECT_URI + "/evil"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-suffix-chars",
        {"redirect_uri": REDIRECT_URI + "x"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-extra-query",
        {"redirect_uri": REDIRECT_URI + "?next=https://evil.example.com"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-other-port",
        {"redirect_uri": "http://127.0.0.1:9998/callback"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-other-scheme",
        {"redirect_uri": "https://127.0.0.1:9999/callback"},
        "invalid_request",
        False,
    ),
    Case(
        "redirect_uri-missing-two-registered",
        {"redirect_uri": None},
        "invalid_request",
        False,
        client={"redirect_uris": [REDIRECT_URI, SECOND_REDIRECT_URI]},
    ),
    Case(
        "redirect_uri-twice",
        {"redirect_uri": [REDIRECT_URI, REDIRECT_URI]},
        "invalid_request",
        False,
    ),
]

REDIRECT_CASES = [
    Case("missing-response_type", {"response_type": None}, "invalid_request", True),
    Case("response_type-token", {"response_type": "token"}, "unsupported_response_type", True),
    Case(
        "response_type-code-id_token",
        {"response_type": "code id_token"},
        "unsupported_response_type",
        True,
    ),
    Case("scope-not-allowed", {"scope": "openid admin"}, "invalid_scope", True),
    Case("scope-bad-character", {"scope": 'openid "profile"'}, "invalid_scope", True),
    Case(
        "audience-not-allowed",
        {"audience": "https://evil.example.com"},
        "invalid_request",
        True,
    ),
    Case("prompt-none-and-login", {"prompt": "none login"}, "invalid_request", True),
    Case("prompt-unknown", {"prompt": "bogus"}, "invalid_request", True),
    Case("max_age-not-a-number", {"max_age": "abc"}, "invalid_request", True),
    Case("pkce-plain", {"code_challenge_method": "plain"}, "invalid_request", True),
    Case("pkce-challenge-without-method", {"code_challenge_method": None}, "invalid_request", True),
    Case("pkce-method-without-challenge", {"code_challenge": None}, "invalid_request", True),
    Case("pkce-challenge-too-short", {"code_challenge": "abc123"}, "invalid_request", True),
    Case(
        "public-client-without-pkce",
        {},
        "invalid_request",
        True,
        client={"token_endpoint_auth_method": "none"},
        pkce=False,
    ),
    Case("request-object", {"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported", True),
    Case(
        "request_uri",
        {"request_uri": "https://client.example.com/request.jwt"},
        "request_uri_not_supported",
        True,
    ),
    Case("response_mode-fragment", {"response_mode": "fragment"}, "invalid_request", True),
    Case("display-bogus", {"display": "bogus"}, "invalid_request", True),
    Case(
        "client-without-authorization_code-grant",
        {},
        "unauthorized_client",
        True,
        client={"grant_types": ["client_credentials"]},
    ),
    Case(
        "id_token_hint-not-ours",
        {"id_token_hint": lambda s, _c: foreign_id_token(s)},
        "invalid_request",
        True,
    ),
    Case(
        "state-twice",
        {"state": ["first-state-value", "second-state-value"]},
        "invalid_request",
        True,
        state_any_of=("first-state-value", "second-state-value"),
    ),
]


@pytest.mark.parametrize("case", PAGE_CASES + REDIRECT_CASES, ids=lambda case: case.id)
def test_bad_authorization_request(dev_server, case: Case):
    server = dev_server
    client = create_code_client(
        server, client_id=unique("authz"), audience=[AUDIENCE], **case.client
    )
    driver = FlowDriver(server, client)
    params = {
        name: value(server, client) if callable(value) else value
        for name, value in case.params.items()
    }
    response = driver.authorize(pkce=case.pkce, **params)

    if not case.redirect:
        assert_error_page(response, case.error)
        return
    received = assert_client_error(response, server, driver, case.error)
    if case.state_any_of:
        assert received.get("state") in case.state_any_of, received
    else:
        assert received["state"] == driver.state, received
    # Nothing was started: the login CSRF cookie is only set on the way to the login app.
    assert LOGIN_CSRF_COOKIE not in response.cookies


def test_valid_request_reaches_the_login_app(dev_server):
    """The table's baseline: the same defaults without the fault go to the login app."""
    server = dev_server
    driver = FlowDriver(server, create_code_client(server, audience=[AUDIENCE]))
    response = driver.authorize(audience=AUDIENCE, prompt="consent", max_age="60")
    assert response.status_code == 302, response.text
    assert "login_challenge=" in response.headers["Location"]
    assert not response.headers["Location"].startswith(REDIRECT_URI)


def test_pkce_enforced_refuses_confidential_client_without_pkce(backend, server_factory):
    server = server_factory(backend, env={"OAUTH2_PKCE_ENFORCED": "true"}, args=("--dev",))
    driver = FlowDriver(server, create_code_client(server))
    response = driver.authorize(pkce=False)
    assert_client_error(response, server, driver, "invalid_request")
    assert query(response.headers["Location"])["state"] == driver.state

    # With PKCE the same client is welcome.
    response = driver.authorize()
    assert response.status_code == 302, response.text
    assert "login_challenge=" in response.headers["Location"]


def test_confidential_client_without_pkce_allowed_by_default(dev_server):
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    response = driver.authorize(pkce=False)
    assert response.status_code == 302, response.text
    assert "login_challenge=" in response.headers["Location"]


def _form(driver: FlowDriver) -> dict[str, str]:
    return {
        "client_id": driver.client["client_id"],
        "response_type": "code",
        "redirect_uri": driver.redirect_uri,
        "scope": "openid offline_access",
        "state": driver.state,
        "nonce": driver.nonce,
        "code_challenge": driver.code_challenge,
        "code_challenge_method": "S256",
    }


def test_post_with_form_body_works_like_get(dev_server):
    server = dev_server
    driver = FlowDriver(server, create_code_client(server))
    response = driver.browser.post(
        server.public_url + "/oauth2/auth",
        data=_form(driver),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    challenge = query(location)["login_challenge"]
    assert LOGIN_CSRF_COOKIE in response.cookies

    login = driver.get_login(challenge)
    assert login.status_code == 200, login.text
    assert login.json()["client"]["client_id"] == driver.client["client_id"]
    assert login.json()["requested_scope"] == ["openid", "offline_access"]

    # And the flow completes from there.
    redirect_to = driver.accept_login(challenge, subject=unique("user") + "@example.com")
    consent_challenge = driver.consent_challenge_after(redirect_to)
    callback = driver.callback_after(driver.accept_consent(consent_challenge))
    assert callback["state"] == driver.state
    assert callback["code"]


def test_post_with_form_body_reports_errors_to_the_client(dev_server):
    server = dev_server
    driver = FlowDriver(server, create_code_client(server))
    form = {**_form(driver), "response_type": "token"}
    response = driver.browser.post(
        server.public_url + "/oauth2/auth", data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 303, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    assert query(location)["error"] == "unsupported_response_type"
    assert query(location)["state"] == driver.state


def test_post_with_json_body_is_an_error_page(dev_server):
    server = dev_server
    driver = FlowDriver(server, create_code_client(server))
    response = driver.browser.post(
        server.public_url + "/oauth2/auth",
        json=_form(driver),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert_error_page(response, "invalid_request")
    assert LOGIN_CSRF_COOKIE not in response.cookies


def _login_csrf_set_cookie(response: requests.Response) -> tuple[SimpleCookie, str]:
    headers = response.raw.headers.getlist("Set-Cookie")
    matching = [header for header in headers if header.startswith(LOGIN_CSRF_COOKIE + "=")]
    assert len(matching) == 1, headers
    cookie = SimpleCookie()
    cookie.load(matching[0])
    return cookie, matching[0]


def _attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_login_csrf_cookie_is_secure_httponly_lax_without_dev(server):
    driver = FlowDriver(server, create_code_client(server))
    response = driver.authorize()
    assert response.status_code == 302, response.text
    cookie, header = _login_csrf_set_cookie(response)
    morsel = cookie[LOGIN_CSRF_COOKIE]
    assert morsel.value
    attributes = _attributes(header)
    assert "secure" in attributes, header
    assert "httponly" in attributes, header
    assert morsel["samesite"].lower() == "lax", header


def test_login_csrf_cookie_is_httponly_but_not_secure_with_dev(dev_server):
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    response = driver.authorize()
    assert response.status_code == 302, response.text
    cookie, header = _login_csrf_set_cookie(response)
    attributes = _attributes(header)
    assert "secure" not in attributes, header
    assert "httponly" in attributes, header
    assert cookie[LOGIN_CSRF_COOKIE]["samesite"].lower() == "lax", header
    # The scripted browser keeps it (it would not keep a Secure cookie over http).
    assert driver.browser.cookies.get(LOGIN_CSRF_COOKIE)
