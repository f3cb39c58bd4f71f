"""Ory's own Python SDK (``ory-hydra-client``, PyPI) against authserver: it parses our
discovery document (it requires Hydra v25's device fields) and drives the device flow
with its ``o_auth2_device_flow`` and ``accept_user_code_request``."""

from __future__ import annotations

import base64

import ory_hydra_client as hydra  # a test dependency (pyproject: test extra)

from tests.integration.oauth_flow import query
from tests.integration.test_device_flow import (
    Browser,
    create_device_client,
    poll,
    unique_subject,
)


def api_client(url: str):
    return hydra.ApiClient(hydra.Configuration(host=url))


def test_the_sdk_parses_our_discovery(dev_server):
    with api_client(dev_server.public_url) as client:
        document = hydra.OidcApi(client).discover_oidc_configuration()
    base = dev_server.public_url
    assert document.device_authorization_endpoint == base + "/oauth2/device/auth"
    assert document.id_token_signed_response_alg[0] == "RS256"
    assert "ES256" in document.id_token_signed_response_alg
    assert document.userinfo_signed_response_alg == ["RS256"]
    assert "urn:ietf:params:oauth:grant-type:device_code" in document.grant_types_supported


def test_the_sdk_drives_the_device_flow(dev_server):
    client = create_device_client(dev_server)
    # The SDK's oAuth2DeviceFlow sends no body and no credentials of its own: the client
    # authenticates with HTTP Basic through a header.
    credentials = f"{client['client_id']}:{client['client_secret']}".encode()
    basic = "Basic " + base64.b64encode(credentials).decode()
    with api_client(dev_server.public_url) as public:
        device = hydra.OAuth2Api(public).o_auth2_device_flow(_headers={"Authorization": basic})
    assert device.device_code.startswith("ory_dc_")
    assert device.verification_uri == dev_server.public_url + "/oauth2/device/verify"

    browser = Browser(dev_server)
    challenge = browser.open_verification(device.user_code)
    with api_client(dev_server.admin_url) as admin:
        api = hydra.OAuth2Api(admin)
        accepted = api.accept_user_code_request(
            challenge, hydra.AcceptDeviceUserCodeRequest(user_code=device.user_code)
        )
        login_challenge, _ = browser.login_challenge_after(accepted.redirect_to)
        login_request = api.get_o_auth2_login_request(login_challenge)
        assert login_request.client.client_id == client["client_id"]
        redirect = api.accept_o_auth2_login_request(
            login_challenge, hydra.AcceptOAuth2LoginRequest(subject=unique_subject())
        ).redirect_to
        consent_challenge = browser.consent_challenge_after(redirect)
        consent = api.get_o_auth2_consent_request(consent_challenge)
        redirect = api.accept_o_auth2_consent_request(
            consent_challenge,
            hydra.AcceptOAuth2ConsentRequest(grant_scope=consent.requested_scope),
        ).redirect_to
    final = browser.get(redirect)
    assert final.status_code == 302
    assert "error" not in query(final.headers["Location"])
    tokens = poll(dev_server, client, device.device_code)
    assert tokens.status_code == 200, tokens.text
