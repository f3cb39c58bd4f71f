"""The device authorization grant (RFC 8628) under test control.

A device (here: ``requests`` calls standing in for a TV app) asks for a device code and
polls the token endpoint; the "user" approves by opening ``verification_uri_complete``, the
harness deciding the login as scripted. The harness's clock replaces every wait: nothing
here sleeps.
"""

import pytest
import requests

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def device(authserver):
    """Start a device authorization for tv-app; returns the server's answer."""
    endpoint = authserver.discovery()["device_authorization_endpoint"]
    answer = requests.post(
        endpoint, data={"client_id": "tv-app", "scope": "openid email"}, timeout=5
    )
    assert answer.status_code == 200
    return answer.json()


def poll(authserver, device) -> requests.Response:
    """One poll of the token endpoint, as the device does every ``interval`` seconds."""
    return requests.post(
        authserver.discovery()["token_endpoint"],
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": device["device_code"],
            "client_id": "tv-app",
        },
        timeout=5,
    )


def approve(device) -> requests.Response:
    """What the user's browser does: open the link (or scan the QR code) shown on the TV."""
    return requests.get(device["verification_uri_complete"], timeout=5)


def test_pending_then_approved(authserver, device):
    authserver.clock.freeze()  # the two polls below happen at the same instant, however slow
    assert poll(authserver, device).json()["error"] == "authorization_pending"
    # Polling again at once is too fast: the device must slow down (RFC 8628 §3.5),
    # and wait five seconds more between polls from now on.
    assert poll(authserver, device).json()["error"] == "slow_down"

    authserver.next_login("alice", claims={"email": "alice@tv.example"})
    page = approve(device)
    assert page.status_code == 200
    assert "/harness/device/done" in page.url

    authserver.clock.advance("7s")  # past the polling interval (1 s + 5 s), without waiting
    tokens = poll(authserver, device)
    assert tokens.status_code == 200
    assert set(tokens.json()) >= {"access_token", "id_token", "expires_in"}
    assert tokens.json()["scope"] == "openid email"


def test_the_code_expires(authserver, device):
    authserver.clock.advance("16m")  # the harness's device_user_code lifetime is 15m
    answer = poll(authserver, device)
    assert answer.status_code == 400
    assert answer.json()["error"] == "expired_token"


def test_the_user_says_no(authserver, device):
    authserver.deny_next()
    page = approve(device)
    assert "error=access_denied" in page.url  # the harness's "done" page tells the user
    answer = poll(authserver, device)
    assert answer.status_code == 400
    assert answer.json()["error"] == "access_denied"
