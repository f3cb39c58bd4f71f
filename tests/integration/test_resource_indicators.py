"""Resource indicators (RFC 8707) over real HTTP, on SQLite and PostgreSQL.

A ``resource`` is one more way to ask for an audience: it must be an absolute URI without
a fragment and one of the client's ``audience`` entries (else ``invalid_target``). At the
authorization, pushed-authorization and device endpoints it joins the requested audience
(so the consent app sees it); at the token endpoint of a grant that already has an
audience (code, refresh token, device code) it narrows the access token to the named part
of the grant, which the refresh token keeps whole. Everything runs on the shared
``--dev`` servers.
"""

from __future__ import annotations

import uuid

import jwt
import pytest
import requests

from tests.integration.oauth_flow import TIMEOUT, FlowDriver, create_code_client
from tests.integration.test_authorize_endpoint import assert_client_error
from tests.integration.test_device_flow import (
    Browser,
    create_device_client,
    poll,
    start_device,
)
from tests.integration.test_pushed_authorization import PushingDriver

API = "https://api.example.com"
BILLING = "https://billing.example.com/v1"
REPORTS = "urn:example:reports"  # a URN is an absolute URI too
OUTSIDE = "https://other.example.com"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def assert_error(response: requests.Response, *errors: str, status: int = 400) -> dict:
    """A JSON error of the token-like endpoints: one of ``errors``, never cached, no 5xx."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert "Traceback" not in response.text
    body = response.json()
    assert body["error"] in errors, body
    return body


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["active"] is True, info
    return info


def cc_client(server, **fields) -> dict:
    body = {
        "client_id": unique("rs"),
        "grant_types": ["client_credentials"],
        "scope": "read write",
        "audience": [API, BILLING, REPORTS],
        **fields,
    }
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


_shared: dict[tuple, dict] = {}


def shared(make, server, **fields) -> dict:
    """A client created once per server for tests that only read it (refused requests):
    a confidential client costs a password hash to create."""
    key = (make.__name__, server.public_url, repr(sorted(fields.items())))
    if key not in _shared:
        _shared[key] = make(server, **fields)
    return _shared[key]


def client_credentials(server, client: dict, **form) -> requests.Response:
    return requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )


def code_client(server, **fields) -> dict:
    return create_code_client(
        server, client_id=unique("rs-code"), audience=[API, BILLING, REPORTS], **fields
    )


def granted_code(server, client: dict, resources: list[str]) -> tuple[FlowDriver, dict, str]:
    """A code flow asking for ``resources``; the consent grants what was requested.
    Returns the driver, the consent request and the code."""
    driver = FlowDriver(server, client)
    challenge = driver.start(resource=resources)
    redirect_to = driver.accept_login(challenge, subject=unique("user") + "@example.com")
    consent_challenge = driver.consent_challenge_after(redirect_to)
    consent = driver.get_consent(consent_challenge).json()
    redirect_to = driver.accept_consent(
        consent_challenge,
        grant_access_token_audience=consent["requested_access_token_audience"],
    )
    return driver, consent, driver.callback_after(redirect_to)["code"]


# -- client credentials ------------------------------------------------------------------


def test_client_credentials_resource_is_the_audience(dev_server):
    client = cc_client(dev_server)
    response = client_credentials(dev_server, client, resource=API)
    assert response.status_code == 200, response.text
    assert introspect(dev_server, response.json()["access_token"])["aud"] == [API]

    two = client_credentials(dev_server, client, resource=[API, REPORTS])
    assert two.status_code == 200, two.text
    assert introspect(dev_server, two.json()["access_token"])["aud"] == [API, REPORTS]


def test_client_credentials_resource_and_audience_together(dev_server):
    client = cc_client(dev_server)
    response = client_credentials(dev_server, client, audience=BILLING, resource=API)
    assert response.status_code == 200, response.text
    aud = introspect(dev_server, response.json()["access_token"])["aud"]
    assert sorted(aud) == sorted([API, BILLING])
    # The same value both ways is one audience.
    response = client_credentials(dev_server, client, audience=API, resource=[API, API])
    assert response.status_code == 200, response.text
    assert introspect(dev_server, response.json()["access_token"])["aud"] == [API]


def test_client_credentials_resource_not_allowed(dev_server):
    client = shared(cc_client, dev_server)
    assert_error(client_credentials(dev_server, client, resource=OUTSIDE), "invalid_target")
    assert_error(client_credentials(dev_server, client, resource=[API, OUTSIDE]), "invalid_target")
    # A client without any audience may name none.
    bare = shared(cc_client, dev_server, audience=[])
    assert_error(client_credentials(dev_server, bare, resource=API), "invalid_target")


BAD_RESOURCES = [
    pytest.param("/relative/path", id="relative"),
    pytest.param("api.example.com", id="no-scheme"),
    pytest.param(API + "#section", id="fragment"),
    pytest.param(API + "/#", id="empty-fragment"),
    pytest.param("not a uri", id="not-a-uri"),
    pytest.param("", id="empty"),
    pytest.param(API + "/\x00", id="nul-byte"),
    pytest.param(API + "/a b", id="space"),
    pytest.param(API + "/\r\nX-Injected: 1", id="crlf"),
    pytest.param(API + "/\udcff", id="lone-surrogate"),
    pytest.param(API + "/é", id="non-ascii"),
    pytest.param(API + "/" + "a" * 3000, id="3000-chars"),
    pytest.param([API] * 1 + [f"{API}/{i}" for i in range(25)], id="too-many"),
]


@pytest.mark.parametrize("resource", BAD_RESOURCES)
def test_bad_resource_at_the_token_endpoint(dev_server, resource):
    client = shared(cc_client, dev_server)
    if isinstance(resource, str):
        resource = resource.encode("utf-8", "surrogatepass")
    assert_error(
        client_credentials(dev_server, client, resource=resource),
        "invalid_target",
        "invalid_request",
    )


@pytest.mark.parametrize("resource", BAD_RESOURCES)
def test_bad_resource_at_the_device_endpoint(dev_server, resource):
    client = shared(create_device_client, dev_server, public=True, audience=[API])
    if isinstance(resource, str):
        resource = resource.encode("utf-8", "surrogatepass")
    response = requests.post(
        dev_server.public_url + "/oauth2/device/auth",
        data={"client_id": client["client_id"], "scope": "openid", "resource": resource},
        timeout=TIMEOUT,
    )
    assert_error(response, "invalid_target", "invalid_request")


def test_jwt_access_token_carries_the_resource(dev_server):
    client = cc_client(dev_server, access_token_strategy="jwt")
    response = client_credentials(dev_server, client, resource=[API, BILLING])
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert sorted(aud) == sorted([API, BILLING])


# -- the authorization code flow ---------------------------------------------------------


def test_code_flow_resource_reaches_consent_and_token(dev_server):
    client = code_client(dev_server)
    driver, consent, code = granted_code(dev_server, client, [API])
    assert consent["requested_access_token_audience"] == [API]
    response = driver.exchange(code)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert introspect(dev_server, tokens["access_token"])["aud"] == [API]


def test_code_flow_resource_joins_the_audience_parameter(dev_server):
    client = code_client(dev_server)
    driver = FlowDriver(dev_server, client)
    challenge = driver.start(audience=BILLING, resource=API)
    login = driver.get_login(challenge).json()
    assert sorted(login["requested_access_token_audience"]) == sorted([API, BILLING])


def test_code_exchange_narrows_to_one_resource(dev_server):
    client = code_client(dev_server)
    driver, consent, code = granted_code(dev_server, client, [API, BILLING])
    assert sorted(consent["requested_access_token_audience"]) == sorted([API, BILLING])
    response = driver.exchange(code, resource=BILLING)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert introspect(dev_server, tokens["access_token"])["aud"] == [BILLING]
    # The refresh token keeps the whole grant.
    refreshed = driver.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    aud = introspect(dev_server, refreshed.json()["access_token"])["aud"]
    assert sorted(aud) == sorted([API, BILLING])


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(REPORTS, id="client-audience-not-granted"),
        pytest.param(OUTSIDE, id="not-the-clients"),
        pytest.param([API, REPORTS], id="one-of-two-outside"),
        pytest.param(API + "#x", id="malformed"),
    ],
)
def test_code_exchange_resource_outside_the_grant_keeps_the_code(dev_server, resource):
    client = code_client(dev_server)
    driver, _, code = granted_code(dev_server, client, [API, BILLING])
    assert_error(driver.exchange(code, resource=resource), "invalid_target")
    # Refused before the code was used: it still redeems.
    response = driver.exchange(code)
    assert response.status_code == 200, response.text
    aud = introspect(dev_server, response.json()["access_token"])["aud"]
    assert sorted(aud) == sorted([API, BILLING])


def test_refresh_narrows_and_keeps_the_grant(dev_server):
    client = code_client(dev_server)
    driver, _, code = granted_code(dev_server, client, [API, BILLING])
    tokens = driver.exchange(code).json()

    narrowed = driver.refresh(tokens["refresh_token"], resource=API)
    assert narrowed.status_code == 200, narrowed.text
    narrowed = narrowed.json()
    assert introspect(dev_server, narrowed["access_token"])["aud"] == [API]

    whole = driver.refresh(narrowed["refresh_token"])
    assert whole.status_code == 200, whole.text
    aud = introspect(dev_server, whole.json()["access_token"])["aud"]
    assert sorted(aud) == sorted([API, BILLING])


@pytest.mark.parametrize("resource", [REPORTS, OUTSIDE, "relative"])
def test_refresh_resource_outside_the_grant_keeps_the_refresh_token(dev_server, resource):
    client = code_client(dev_server)
    driver, _, code = granted_code(dev_server, client, [API])
    tokens = driver.exchange(code).json()
    assert_error(driver.refresh(tokens["refresh_token"], resource=resource), "invalid_target")
    # Not rotated, not revoked: the same refresh token still works.
    refreshed = driver.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert introspect(dev_server, refreshed.json()["access_token"])["aud"] == [API]


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        pytest.param(OUTSIDE, "invalid_target", id="not-the-clients"),
        pytest.param(API + "#fragment", "invalid_target", id="fragment"),
        pytest.param("/relative", "invalid_target", id="relative"),
    ],
)
def test_bad_resource_at_the_authorization_endpoint_goes_to_the_client(dev_server, resource, error):
    driver = FlowDriver(dev_server, code_client(dev_server))
    received = assert_client_error(driver.authorize(resource=resource), dev_server, driver, error)
    assert received["state"] == driver.state


def test_jwt_access_token_of_a_narrowed_code_exchange(dev_server):
    client = code_client(dev_server, access_token_strategy="jwt")
    driver, _, code = granted_code(dev_server, client, [API, BILLING])
    response = driver.exchange(code, resource=API)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert aud == [API]


# -- pushed authorization requests and the device flow --------------------------------------


def test_pushed_request_with_resource(dev_server):
    client = code_client(dev_server)
    driver = PushingDriver(dev_server, client)
    request_uri = driver.pushed(resource=[API, REPORTS])
    challenge = driver.start_pushed(request_uri, resource=BILLING)  # ignored: not pushed
    redirect_to = driver.accept_login(challenge, subject=unique("user") + "@example.com")
    consent_challenge = driver.consent_challenge_after(redirect_to)
    consent = driver.get_consent(consent_challenge).json()
    assert sorted(consent["requested_access_token_audience"]) == sorted([API, REPORTS])
    callback = driver.callback_after(
        driver.accept_consent(
            consent_challenge,
            grant_access_token_audience=consent["requested_access_token_audience"],
        )
    )
    response = driver.exchange(callback["code"], resource=REPORTS)
    assert response.status_code == 200, response.text
    assert introspect(dev_server, response.json()["access_token"])["aud"] == [REPORTS]


def test_device_flow_with_resource(dev_server):
    client = create_device_client(dev_server, audience=[API, BILLING])
    device = start_device(
        dev_server, client, scope="openid offline_access", resource=[API, BILLING]
    )

    browser = Browser(dev_server)
    login_challenge = browser.enter(device["user_code"])
    redirect_to = browser.accept_login(login_challenge, unique("device") + "@example.com")
    consent_challenge = browser.consent_challenge_after(redirect_to)
    consent = browser.admin(
        "GET",
        "/admin/oauth2/auth/requests/consent",
        params={"consent_challenge": consent_challenge},
    ).json()
    assert sorted(consent["requested_access_token_audience"]) == sorted([API, BILLING])
    redirect_to = browser.accept_consent(
        consent_challenge,
        grant_access_token_audience=consent["requested_access_token_audience"],
    )
    assert browser.get(redirect_to).status_code == 302

    # Outside the grant: refused, and the device code is not used up.
    assert_error(
        poll(dev_server, client, device["device_code"], resource=REPORTS), "invalid_target"
    )
    response = poll(dev_server, client, device["device_code"], resource=BILLING)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert introspect(dev_server, tokens["access_token"])["aud"] == [BILLING]
    refreshed = requests.post(
        dev_server.public_url + "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text
    aud = introspect(dev_server, refreshed.json()["access_token"])["aud"]
    assert sorted(aud) == sorted([API, BILLING])


def test_device_authorization_resource_not_allowed(dev_server):
    client = create_device_client(dev_server, audience=[API])
    response = requests.post(
        dev_server.public_url + "/oauth2/device/auth",
        data={"scope": "openid", "resource": OUTSIDE},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert_error(response, "invalid_target")
