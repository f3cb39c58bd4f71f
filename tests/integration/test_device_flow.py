"""The device authorization grant (RFC 8628, Hydra v25's interface) over real HTTP, on
SQLite and PostgreSQL: the device (``POST /oauth2/device/auth``, polls of the token
endpoint), the browser (a ``requests.Session`` at ``/oauth2/device/verify``) and the
login/consent app (the admin API, ``…/requests/device/accept`` and the usual login and
consent requests). Assertions are on RFC error codes and statuses, not wording."""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from authserver.domain.clients import DEVICE_CODE_GRANT
from tests.integration.oauth_flow import query

TIMEOUT = 10
SCOPE = "openid offline_access profile"


def unique_subject() -> str:
    return f"device-{uuid.uuid4().hex[:12]}@example.com"


def create_device_client(server, public: bool = False, **fields) -> dict:
    body = {
        "grant_types": [DEVICE_CODE_GRANT, "refresh_token"],
        "scope": "openid offline_access offline profile",
        **({"token_endpoint_auth_method": "none"} if public else {}),
        **fields,
    }
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def client_auth(client: dict) -> dict:
    """requests keyword arguments authenticating ``client`` (Basic, or its id alone)."""
    if client.get("client_secret"):
        return {"auth": (client["client_id"], client["client_secret"])}
    return {"data": {"client_id": client["client_id"]}}


def device_authorization(server, client: dict, **form) -> requests.Response:
    auth = client_auth(client)
    data = {**auth.pop("data", {}), **form}
    return requests.post(
        server.public_url + "/oauth2/device/auth", data=data, timeout=TIMEOUT, **auth
    )


def start_device(server, client: dict, scope: str = SCOPE, **form) -> dict:
    response = device_authorization(server, client, scope=scope, **form)
    assert response.status_code == 200, response.text
    return response.json()


def poll(server, client: dict, device_code: str, **form) -> requests.Response:
    auth = client_auth(client)
    data = {
        **auth.pop("data", {}),
        "grant_type": DEVICE_CODE_GRANT,
        "device_code": device_code,
        **form,
    }
    return requests.post(server.public_url + "/oauth2/token", data=data, timeout=TIMEOUT, **auth)


def assert_error(response: requests.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert "no-store" in response.headers.get("Cache-Control", "")


class Browser:
    """The user's browser plus the login/consent app, driven through the admin API."""

    def __init__(self, server):
        self.server = server
        self.session = requests.Session()

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.session.get(url, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.server.admin_url + path, timeout=TIMEOUT, **kwargs)

    def open_verification(self, user_code: str | None = None) -> str:
        """GET the verification URI; the device challenge the user-code page receives."""
        params = {"user_code": user_code} if user_code else {}
        response = self.get(self.server.public_url + "/oauth2/device/verify", params=params)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert urlsplit(location).path == "/oauth2/fallbacks/device", location
        found = query(location)
        if user_code:
            assert found["user_code"] == user_code
        return found["device_challenge"]

    def submit_user_code(self, challenge: str, user_code) -> requests.Response:
        return self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/device/accept",
            params={"device_challenge": challenge},
            json={"user_code": user_code},
        )

    def login_challenge_after(self, redirect_to: str) -> tuple[str, requests.Response]:
        response = self.get(redirect_to)
        assert response.status_code == 302, response.text
        return query(response.headers["Location"]).get("login_challenge", ""), response

    def accept_login(self, challenge: str, subject: str, **body) -> str:
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/login/accept",
            params={"login_challenge": challenge},
            json={"subject": subject, **body},
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def consent_challenge_after(self, redirect_to: str) -> str:
        response = self.get(redirect_to)
        assert response.status_code == 302, response.text
        return query(response.headers["Location"])["consent_challenge"]

    def accept_consent(self, challenge: str, **body) -> str:
        requested = self.admin(
            "GET", "/admin/oauth2/auth/requests/consent", params={"consent_challenge": challenge}
        ).json()
        response = self.admin(
            "PUT",
            "/admin/oauth2/auth/requests/consent/accept",
            params={"consent_challenge": challenge},
            json={"grant_scope": requested["requested_scope"], **body},
        )
        assert response.status_code == 200, response.text
        return response.json()["redirect_to"]

    def enter(self, user_code: str) -> str:
        """Verification page, user code accepted; the login challenge."""
        challenge = self.open_verification()
        response = self.submit_user_code(challenge, user_code)
        assert response.status_code == 200, response.text
        redirect_to = response.json()["redirect_to"]
        assert redirect_to.startswith(self.server.public_url + "/oauth2/device/verify?")
        login_challenge, _ = self.login_challenge_after(redirect_to)
        assert login_challenge
        return login_challenge

    def approve(self, user_code: str, subject: str | None = None, **login) -> str:
        """The whole browser side, accepted; the final Location."""
        login_challenge = self.enter(user_code)
        redirect_to = self.accept_login(login_challenge, subject or unique_subject(), **login)
        consent_challenge = self.consent_challenge_after(redirect_to)
        redirect_to = self.accept_consent(consent_challenge)
        response = self.get(redirect_to)
        assert response.status_code == 302, response.text
        return response.headers["Location"]


def approved_device(server, client: dict | None = None, scope: str = SCOPE):
    client = client or create_device_client(server)
    device = start_device(server, client, scope=scope)
    Browser(server).approve(device["user_code"])
    return client, device


# -- the device authorization endpoint ---------------------------------------------------


def test_device_authorization_response(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    assert device["device_code"].startswith("ory_dc_")
    base = dev_server.public_url
    assert device["verification_uri"] == base + "/oauth2/device/verify"
    assert device["verification_uri_complete"] == (
        base + "/oauth2/device/verify?user_code=" + device["user_code"]
    )
    assert len(device["user_code"]) == 8 and device["user_code"].isupper()
    assert device["expires_in"] == 900
    assert device["interval"] == 5


def test_a_public_client_authenticates_with_its_id(dev_server):
    client = create_device_client(dev_server, public=True)
    device = start_device(dev_server, client)
    assert_error(poll(dev_server, client, device["device_code"]), "authorization_pending")


@pytest.mark.parametrize(
    "case",
    ["unknown-client", "wrong-secret", "no-grant", "bad-scope", "bad-audience"],
)
def test_device_authorization_errors(dev_server, case):
    client = create_device_client(dev_server, audience=["https://api.example.com"])
    form = {"scope": "openid"}
    if case == "unknown-client":
        client = {"client_id": "nobody-" + uuid.uuid4().hex, "client_secret": "x" * 32}
        expected = ("invalid_client", 401)
    elif case == "wrong-secret":
        client = {**client, "client_secret": "wrong-secret-wrong-secret"}
        expected = ("invalid_client", 401)
    elif case == "no-grant":
        client = create_device_client(dev_server, grant_types=["client_credentials"])
        expected = ("unauthorized_client", 400)
    elif case == "bad-scope":
        form["scope"] = "openid admin"
        expected = ("invalid_scope", 400)
    else:
        form["audience"] = "https://elsewhere.example.com"
        expected = ("invalid_request", 400)
    assert_error(device_authorization(dev_server, client, **form), *expected)


# -- the whole flow ------------------------------------------------------------------------


def test_the_whole_flow_headless(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client, scope="openid offline_access profile")
    assert_error(poll(dev_server, client, device["device_code"]), "authorization_pending")

    browser = Browser(dev_server)
    challenge = browser.open_verification(device["user_code"])
    # Case- and dash-insensitive, as a person types it.
    typed = device["user_code"][:4].lower() + "-" + device["user_code"][4:].lower()
    response = browser.submit_user_code(challenge, typed)
    assert response.status_code == 200, response.text
    login_challenge, _ = browser.login_challenge_after(response.json()["redirect_to"])
    login_request = browser.admin(
        "GET", "/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge}
    ).json()
    assert login_request["request_url"].startswith(dev_server.public_url + "/oauth2/device/verify")
    assert login_request["client"]["client_id"] == client["client_id"]
    assert login_request["requested_scope"] == ["openid", "offline_access", "profile"]
    subject = unique_subject()
    redirect_to = browser.accept_login(login_challenge, subject)
    assert redirect_to.startswith(dev_server.public_url + "/oauth2/device/verify?")
    consent_challenge = browser.consent_challenge_after(redirect_to)
    consent_request = browser.admin(
        "GET",
        "/admin/oauth2/auth/requests/consent",
        params={"consent_challenge": consent_challenge},
    ).json()
    assert consent_request["request_url"].startswith(
        dev_server.public_url + "/oauth2/device/verify"
    )
    final = browser.get(browser.accept_consent(consent_challenge))
    assert final.status_code == 302
    assert final.headers["Location"] == dev_server.public_url + "/oauth2/fallbacks/device/done"
    assert browser.get(final.headers["Location"]).status_code == 200

    response = poll(dev_server, client, device["device_code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["scope"] == "openid offline_access profile"
    assert tokens["expires_in"] > 0
    assert tokens["refresh_token"] and tokens["id_token"]
    introspection = requests.post(
        dev_server.admin_url + "/admin/oauth2/introspect",
        data={"token": tokens["access_token"]},
        timeout=TIMEOUT,
    ).json()
    assert introspection["active"] is True
    assert introspection["sub"] == subject
    assert introspection["client_id"] == client["client_id"]
    # The refresh token works as any other.
    refreshed = requests.post(
        dev_server.public_url + "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert refreshed.status_code == 200, refreshed.text


def test_no_refresh_token_without_offline_and_no_id_token_without_openid(dev_server):
    client, device = approved_device(dev_server, scope="profile")
    response = poll(dev_server, client, device["device_code"])
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert "refresh_token" not in tokens and "id_token" not in tokens


# -- errors at the token endpoint ----------------------------------------------------------


def test_slow_down_grows_the_interval(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    assert_error(poll(dev_server, client, device["device_code"]), "authorization_pending")
    assert_error(poll(dev_server, client, device["device_code"]), "slow_down")
    assert_error(poll(dev_server, client, device["device_code"]), "slow_down")


@pytest.mark.parametrize("step", ["login", "consent"])
def test_a_rejection_denies_the_device(dev_server, step):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    browser = Browser(dev_server)
    login_challenge = browser.enter(device["user_code"])
    if step == "login":
        path, params = "login/reject", {"login_challenge": login_challenge}
    else:
        redirect_to = browser.accept_login(login_challenge, unique_subject())
        path = "consent/reject"
        params = {"consent_challenge": browser.consent_challenge_after(redirect_to)}
    rejected = browser.admin(
        "PUT",
        f"/admin/oauth2/auth/requests/{path}",
        params=params,
        json={"error": "access_denied", "error_description": "no"},
    )
    assert rejected.status_code == 200, rejected.text
    final = browser.get(rejected.json()["redirect_to"])
    assert final.status_code == 302
    location = final.headers["Location"]
    assert location.startswith(dev_server.public_url + "/oauth2/fallbacks/device/done?")
    assert query(location)["error"] == "access_denied"
    assert_error(poll(dev_server, client, device["device_code"]), "access_denied")


@pytest.mark.parametrize("case", ["garbled", "forged", "other-client", "wrong-prefix"])
def test_bad_device_codes_are_invalid_grant(dev_server, case):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    code = device["device_code"]
    if case == "garbled":
        code = "ory_dc_garbage\x7f"
    elif case == "forged":
        body, _, signature = code.rpartition(".")
        code = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    elif case == "other-client":
        client = create_device_client(dev_server)
    else:
        code = "ory_ac_" + code[len("ory_dc_") :]
    assert_error(poll(dev_server, client, code), "invalid_grant")


def test_missing_device_code_is_invalid_request(dev_server):
    client = create_device_client(dev_server)
    response = requests.post(
        dev_server.public_url + "/oauth2/token",
        data={"grant_type": DEVICE_CODE_GRANT},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert_error(response, "invalid_request")


def test_a_client_without_the_grant_is_unauthorized(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    other = create_device_client(dev_server, grant_types=["client_credentials"])
    assert_error(poll(dev_server, other, device["device_code"]), "unauthorized_client")


def test_a_second_redemption_fails_and_revokes_the_first(dev_server):
    client, device = approved_device(dev_server)
    first = poll(dev_server, client, device["device_code"])
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert_error(poll(dev_server, client, device["device_code"]), "invalid_grant")
    for token in (tokens["access_token"], tokens["refresh_token"]):
        introspection = requests.post(
            dev_server.admin_url + "/admin/oauth2/introspect",
            data={"token": token},
            timeout=TIMEOUT,
        ).json()
        assert introspection == {"active": False}


def test_concurrent_polls_give_exactly_one_success(dev_server):
    client, device = approved_device(dev_server)
    statuses: list[tuple[int, str]] = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        response = poll(dev_server, client, device["device_code"])
        statuses.append((response.status_code, response.json().get("error", "")))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses).count((200, "")) == 1, statuses
    assert all(status == (400, "invalid_grant") for status in statuses if status[0] != 200)


def test_expiry(server_factory, backend):
    server = server_factory(backend, env={"TTL_DEVICE_USER_CODE": "1s"}, args=("--dev",))
    client = create_device_client(server)
    device = start_device(server, client)
    assert device["expires_in"] == 1
    time.sleep(1.2)
    assert_error(poll(server, client, device["device_code"]), "expired_token")
    browser = Browser(server)
    challenge = browser.open_verification()
    assert_error(browser.submit_user_code(challenge, device["user_code"]), "invalid_grant")


# -- the user code at the admin API --------------------------------------------------------


def test_user_code_errors(dev_server):
    browser = Browser(dev_server)
    challenge = browser.open_verification()
    unknown = browser.admin(
        "PUT",
        "/admin/oauth2/auth/requests/device/accept",
        params={"device_challenge": "nope"},
        json={"user_code": "ABCDEFGH"},
    )
    assert_error(unknown, "not_found", 404)
    missing = browser.admin(
        "PUT",
        "/admin/oauth2/auth/requests/device/accept",
        params={"device_challenge": challenge},
        json={},
    )
    assert_error(missing, "invalid_request")


def test_a_used_user_code_and_a_replayed_challenge(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    browser = Browser(dev_server)
    challenge = browser.open_verification()
    accepted = browser.submit_user_code(challenge, device["user_code"])
    assert accepted.status_code == 200
    replayed = browser.submit_user_code(challenge, device["user_code"])
    assert replayed.status_code == 410
    assert replayed.json()["redirect_to"] == dev_server.public_url + "/oauth2/device/verify"
    other = Browser(dev_server)
    assert_error(
        other.submit_user_code(other.open_verification(), device["user_code"]), "invalid_grant"
    )


def test_guessing_is_bounded_per_challenge(dev_server):
    browser = Browser(dev_server)
    challenge = browser.open_verification()
    for _ in range(5):
        assert_error(browser.submit_user_code(challenge, "WRONGCOD"), "invalid_grant")
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    dead = browser.submit_user_code(challenge, device["user_code"])
    assert dead.status_code == 410
    assert dead.json()["redirect_to"] == dev_server.public_url + "/oauth2/device/verify"


def test_guessing_is_bounded_per_browser(dev_server):
    browser = Browser(dev_server)
    for _ in range(4):
        challenge = browser.open_verification()
        for _ in range(5):
            assert_error(browser.submit_user_code(challenge, "WRONGCOD"), "invalid_grant")
    refused = browser.get(dev_server.public_url + "/oauth2/device/verify")
    assert refused.status_code == 429


def test_the_device_verifier_is_bound_to_the_browser(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    browser = Browser(dev_server)
    response = browser.submit_user_code(browser.open_verification(), device["user_code"])
    stranger = requests.get(response.json()["redirect_to"], allow_redirects=False, timeout=TIMEOUT)
    assert stranger.status_code == 403


def test_a_remembered_login_skips_the_login_form(dev_server):
    client = create_device_client(dev_server)
    browser = Browser(dev_server)
    subject = unique_subject()
    first = start_device(dev_server, client)
    browser.approve(first["user_code"], subject, remember=True, remember_for=3600)

    second = start_device(dev_server, client)
    login_challenge = browser.enter(second["user_code"])
    login_request = browser.admin(
        "GET", "/admin/oauth2/auth/requests/login", params={"login_challenge": login_challenge}
    ).json()
    assert login_request["skip"] is True
    assert login_request["subject"] == subject


def test_revoking_the_consent_revokes_the_devices_tokens(dev_server):
    client = create_device_client(dev_server)
    device = start_device(dev_server, client)
    subject = unique_subject()
    Browser(dev_server).approve(device["user_code"], subject)
    tokens = poll(dev_server, client, device["device_code"]).json()
    revoked = requests.delete(
        dev_server.admin_url + "/admin/oauth2/auth/sessions/consent",
        params={"subject": subject, "client": client["client_id"]},
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 204, revoked.text
    introspection = requests.post(
        dev_server.admin_url + "/admin/oauth2/introspect",
        data={"token": tokens["access_token"]},
        timeout=TIMEOUT,
    ).json()
    assert introspection == {"active": False}


def test_the_sdk_way_without_a_body(dev_server):
    """Ory's SDK posts to the device authorization endpoint without a body."""
    client = create_device_client(dev_server)
    response = requests.post(
        dev_server.public_url + "/oauth2/device/auth",
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.json()["device_code"].startswith("ory_dc_")
