"""admin_api.AdminApi: Hydra's paths, parameters and bodies; its answers and failures.

A fake ``requests.Session`` records what would be sent and returns canned answers, so these
tests need no network. The real server is exercised in tests/integration.
"""

from __future__ import annotations

import json

import pytest
import requests

from consent_ui.admin_api import (
    TIMEOUT,
    AdminApi,
    AdminApiError,
    AdminApiUnreachable,
    ChallengeGone,
    ChallengeNotFound,
)

BASE = "http://hydra-admin:4445"
REQUESTS = BASE + "/admin/oauth2/auth/requests"


class FakeSession:
    def __init__(self, status=200, body=None, raises=None, text=None):
        self.status, self.body, self.raises, self.text = status, body, raises, text
        self.sent: list[dict] = []

    def request(self, method, url, params=None, json=None, timeout=None):
        self.sent.append(
            {"method": method, "url": url, "params": params, "json": json, "timeout": timeout}
        )
        if self.raises:
            raise self.raises
        response = requests.Response()
        response.status_code = self.status
        if self.text is not None:
            response._content = self.text.encode()
        elif self.body is not None:
            response._content = _dumps(self.body)
            response.headers["Content-Type"] = "application/json"
        else:
            response._content = b""
        return response


def _dumps(body) -> bytes:
    return json.dumps(body).encode()


def api(**answer) -> tuple[AdminApi, FakeSession]:
    session = FakeSession(**answer)
    return AdminApi(BASE + "/", session=session), session


HYDRA_LOGIN_REQUEST = {
    "challenge": "c1",
    "skip": False,
    "subject": "",
    "client": {
        "client_id": "app",
        "client_name": "",
        "logo_uri": "https://app.example/logo.png",
        "policy_uri": None,
        "skip_consent": False,
    },
    "request_url": "http://127.0.0.1:4444/oauth2/auth?client_id=app",
    "requested_scope": ["openid", "email"],
    "requested_access_token_audience": None,
    "oidc_context": {"login_hint": "ann@example.com", "ui_locales": None},
    "session_id": "",
}


def test_get_login_request_reads_hydras_fields():
    client, session = api(body=HYDRA_LOGIN_REQUEST)

    login = client.get_login_request("c1")

    assert session.sent == [
        {
            "method": "GET",
            "url": REQUESTS + "/login",
            "params": {"login_challenge": "c1"},
            "json": None,
            "timeout": (3, 10),
        }
    ]
    assert TIMEOUT == (3, 10)
    assert login.skip is False
    assert login.login_hint == "ann@example.com"
    assert login.requested_scope == ("openid", "email")
    assert login.client.name == "app"  # no client_name: the client id
    assert login.client.logo_uri == "https://app.example/logo.png"
    assert login.client.policy_uri == ""  # null in the JSON


def test_accept_login_sends_hydras_body():
    client, session = api(body={"redirect_to": "http://auth/oauth2/auth?login_verifier=v"})

    redirect_to = client.accept_login(
        "c1", subject="ann", remember=True, remember_for=60, acr="urn:x", amr=["pwd"]
    )

    assert redirect_to == "http://auth/oauth2/auth?login_verifier=v"
    [sent] = session.sent
    assert (sent["method"], sent["url"]) == ("PUT", REQUESTS + "/login/accept")
    assert sent["params"] == {"login_challenge": "c1"}
    assert sent["json"] == {
        "subject": "ann",
        "remember": True,
        "remember_for": 60,
        "acr": "urn:x",
        "amr": ["pwd"],
    }


def test_accept_login_without_remember_sends_no_remember_for():
    client, session = api(body={"redirect_to": "http://auth/x"})

    client.accept_login("c1", subject="ann")

    assert session.sent[0]["json"] == {"subject": "ann", "remember": False}


def test_reject_login_and_consent_send_error_and_description():
    client, session = api(body={"redirect_to": "http://auth/x"})

    client.reject_login("c1", "access_denied", "The user denied the login.")
    client.reject_consent("c2", "access_denied", "no")

    assert [(s["url"], s["params"], s["json"]) for s in session.sent] == [
        (
            REQUESTS + "/login/reject",
            {"login_challenge": "c1"},
            {"error": "access_denied", "error_description": "The user denied the login."},
        ),
        (
            REQUESTS + "/consent/reject",
            {"consent_challenge": "c2"},
            {"error": "access_denied", "error_description": "no"},
        ),
    ]


def test_consent_request_and_accept():
    body = {
        "challenge": "c2",
        "skip": True,
        "subject": "ann",
        "client": {"client_id": "app", "client_name": "App", "skip_consent": True},
        "requested_scope": ["openid", "profile"],
        "requested_access_token_audience": ["https://api"],
    }
    client, session = api(body=body)

    consent = client.get_consent_request("c2")

    assert session.sent[0]["url"] == REQUESTS + "/consent"
    assert session.sent[0]["params"] == {"consent_challenge": "c2"}
    assert consent.skip is True and consent.client.skip_consent is True
    assert consent.requested_access_token_audience == ("https://api",)

    session.body = {"redirect_to": "http://auth/y"}
    client.accept_consent(
        "c2",
        grant_scope=["openid"],
        grant_access_token_audience=["https://api"],
        remember=True,
        remember_for=30,
        id_token_claims={"name": "Ann"},
    )
    assert session.sent[1]["method"] == "PUT"
    assert session.sent[1]["url"] == REQUESTS + "/consent/accept"
    assert session.sent[1]["json"] == {
        "grant_scope": ["openid"],
        "grant_access_token_audience": ["https://api"],
        "remember": True,
        "remember_for": 30,
        "session": {"id_token": {"name": "Ann"}, "access_token": {}},
    }


def test_logout_get_accept_and_reject():
    client, session = api(body={"challenge": "c3", "subject": "ann", "client": None})

    logout = client.get_logout_request("c3")
    assert logout.client is None and logout.subject == "ann"

    session.body = {"redirect_to": "http://auth/oauth2/sessions/logout?logout_verifier=v"}
    assert client.accept_logout("c3").endswith("logout_verifier=v")

    session.status, session.body = 204, None
    assert client.reject_logout("c3") is None
    assert [(s["method"], s["url"], s["params"]) for s in session.sent] == [
        ("GET", REQUESTS + "/logout", {"logout_challenge": "c3"}),
        ("PUT", REQUESTS + "/logout/accept", {"logout_challenge": "c3"}),
        ("PUT", REQUESTS + "/logout/reject", {"logout_challenge": "c3"}),
    ]


def test_410_is_challenge_gone_with_redirect_to():
    client, _ = api(status=410, body={"redirect_to": "http://auth/oauth2/auth?client_id=app"})

    with pytest.raises(ChallengeGone) as caught:
        client.get_login_request("c1")

    assert caught.value.redirect_to == "http://auth/oauth2/auth?client_id=app"


def test_404_is_challenge_not_found():
    client, _ = api(status=404, body={"error": "not_found", "error_description": "unknown"})

    with pytest.raises(ChallengeNotFound):
        client.get_consent_request("c1")


def test_other_errors_carry_status_error_and_description():
    client, _ = api(
        status=400, body={"error": "invalid_request", "error_description": "bad grant_scope"}
    )

    with pytest.raises(AdminApiError) as caught:
        client.accept_consent("c", grant_scope=["x"], grant_access_token_audience=[])

    assert (caught.value.status, caught.value.error) == (400, "invalid_request")
    assert caught.value.description == "bad grant_scope"


def test_a_non_json_error_is_still_an_admin_api_error():
    client, _ = api(status=500, text="<html>oops</html>")

    with pytest.raises(AdminApiError) as caught:
        client.get_login_request("c1")

    assert caught.value.status == 500


def test_a_success_without_redirect_to_is_an_error():
    client, _ = api(body={"something": "else"})

    with pytest.raises(AdminApiError):
        client.accept_logout("c3")


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("refused"), requests.Timeout("slow"), requests.ReadTimeout()],
)
def test_connection_failures_are_unreachable(failure):
    client, _ = api(raises=failure)

    with pytest.raises(AdminApiUnreachable):
        client.get_logout_request("c3")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_in_front_that_cannot_reach_it_is_unreachable(status):
    client, _ = api(status=status, text="Bad Gateway")

    with pytest.raises(AdminApiUnreachable):
        client.get_login_request("c1")


def test_logs_never_contain_the_challenge(caplog):
    client, _ = api(body=HYDRA_LOGIN_REQUEST)
    caplog.set_level("DEBUG")

    client.get_login_request("secret-challenge-value")

    assert caplog.records
    assert "secret-challenge-value" not in caplog.text
