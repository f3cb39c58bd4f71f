"""The login and consent flow (Hydra's headless model) and its state machine, end to end.

The scripted browser and login/consent app of ``oauth_flow.FlowDriver`` drive the flow
through the public and admin APIs: what the apps are told, how their answers reach the
client, that every challenge and verifier works exactly once and only in the browser that
started the flow, remembered logins and consents (skip), ``prompt=none``, and the admin
API's consent and login sessions.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import urlsplit

import requests

from tests.integration.oauth_flow import (
    REDIRECT_URI,
    TIMEOUT,
    FlowDriver,
    create_code_client,
    query,
)

AUDIENCE = "https://api.example.com"
LOGIN_REQUEST = "/admin/oauth2/auth/requests/login"
CONSENT_REQUEST = "/admin/oauth2/auth/requests/consent"
CONSENT_SESSIONS = "/admin/oauth2/auth/sessions/consent"
LOGIN_SESSIONS = "/admin/oauth2/auth/sessions/login"


def subject() -> str:
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_claims(token: str) -> dict:
    return b64url_json(token.split(".")[1])


def new_driver(server, driver: FlowDriver | None = None, **client_fields) -> FlowDriver:
    """A flow for a new client, or for ``driver``'s client in ``driver``'s browser."""
    if driver is None:
        return FlowDriver(server, create_code_client(server, **client_fields))
    second = FlowDriver(server, driver.client)
    second.browser = driver.browser
    return second


def put(driver: FlowDriver, path: str, challenge_name: str, challenge: str, **kwargs):
    return driver.admin("PUT", path, params={challenge_name: challenge}, **kwargs)


def assert_api_error(response: requests.Response, status: int, error: str | None = None):
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    if error is not None:
        assert response.json()["error"] == error, response.text


def assert_gone(response: requests.Response, server) -> None:
    """Hydra's 410 for a handled or expired challenge, with where to restart the flow."""
    assert response.status_code == 410, (response.status_code, response.text)
    redirect_to = response.json()["redirect_to"]
    assert redirect_to.startswith(server.public_url + "/oauth2/auth?"), redirect_to


def assert_error_page(response: requests.Response, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert "Location" not in response.headers, response.headers["Location"]
    assert response.headers["Content-Type"].split(";")[0].strip() == "text/html"
    assert "Traceback" not in response.text


def client_callback(response: requests.Response, driver: FlowDriver) -> dict[str, str]:
    """The 302 to the client's registered redirect URI; its query."""
    assert response.status_code == 302, (response.status_code, response.text)
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI, location
    params = query(location)
    assert params["iss"].rstrip("/") == driver.server.public_url, params
    return params


def login_and_get_consent(driver: FlowDriver, user: str, login: dict | None = None, **params):
    """Start, accept the login; return (consent challenge, consent request document)."""
    challenge = driver.start(**params)
    consent_challenge = driver.consent_challenge_after(
        driver.accept_login(challenge, subject=user, **(login or {}))
    )
    response = driver.get_consent(consent_challenge)
    assert response.status_code == 200, response.text
    return consent_challenge, response.json()


def complete(driver: FlowDriver, consent_challenge: str, **consent) -> dict:
    """Accept the consent, follow the verifier, exchange the code; the token response."""
    callback = driver.callback_after(driver.accept_consent(consent_challenge, **consent))
    assert callback["state"] == driver.state
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    return response.json()


# -- what the login and consent apps are told ----------------------------------------------


def test_login_request_has_hydras_fields(dev_server):
    server = dev_server
    driver = new_driver(server, audience=[AUDIENCE])
    challenge = driver.start(
        audience=AUDIENCE,
        login_hint="alice@example.com",
        ui_locales="de-CH en",
        acr_values="urn:acr:silver urn:acr:gold",
        display="popup",
    )
    response = driver.get_login(challenge)
    assert response.status_code == 200, response.text
    login = response.json()
    assert login["challenge"] == challenge
    assert login["skip"] is False
    assert login["subject"] == ""
    assert login["client"]["client_id"] == driver.client["client_id"]
    assert "client_secret" not in login["client"]
    assert login["request_url"].startswith(server.public_url + "/oauth2/auth?")
    request_params = query(login["request_url"])
    assert request_params["client_id"] == driver.client["client_id"]
    assert request_params["state"] == driver.state
    assert login["requested_scope"] == ["openid", "offline_access"]
    assert login["requested_access_token_audience"] == [AUDIENCE]
    context = login["oidc_context"]
    assert context["login_hint"] == "alice@example.com"
    assert context["ui_locales"] == ["de-CH", "en"]
    assert context["acr_values"] == ["urn:acr:silver", "urn:acr:gold"]
    assert context["display"] == "popup"
    assert isinstance(login["session_id"], str) and login["session_id"]


def test_consent_request_has_hydras_fields(dev_server):
    server = dev_server
    user = subject()
    driver = new_driver(server, audience=[AUDIENCE])
    challenge = driver.start(audience=AUDIENCE)
    redirect_to = driver.accept_login(
        challenge,
        subject=user,
        acr="urn:acr:gold",
        amr=["pwd", "otp"],
        context={"tenant": "acme", "level": 2},
    )
    consent_challenge = driver.consent_challenge_after(redirect_to)
    response = driver.get_consent(consent_challenge)
    assert response.status_code == 200, response.text
    consent = response.json()
    assert consent["challenge"] == consent_challenge
    assert consent["skip"] is False
    assert consent["subject"] == user
    assert consent["client"]["client_id"] == driver.client["client_id"]
    assert "client_secret" not in consent["client"]
    assert consent["requested_scope"] == ["openid", "offline_access"]
    assert consent["requested_access_token_audience"] == [AUDIENCE]
    assert isinstance(consent["login_session_id"], str) and consent["login_session_id"]
    assert consent["acr"] == "urn:acr:gold"
    assert consent["amr"] == ["pwd", "otp"]
    assert consent["context"] == {"tenant": "acme", "level": 2}

    # The ID token's sid is the login session the consent app was told about.
    tokens = complete(driver, consent_challenge, grant_access_token_audience=[AUDIENCE])
    claims = jwt_claims(tokens["id_token"])
    assert claims["sid"] == consent["login_session_id"]
    assert claims["acr"] == "urn:acr:gold"
    assert claims["amr"] == ["pwd", "otp"]


# -- rejections ------------------------------------------------------------------------------


def test_login_reject_reaches_the_client_as_access_denied(dev_server):
    driver = new_driver(dev_server)
    challenge = driver.start()
    redirect_to = driver.reject_login(
        challenge, error="access_denied", error_description="The user said no."
    )
    callback = client_callback(driver.follow(redirect_to), driver)
    assert callback["error"] == "access_denied"
    assert callback["error_description"]
    assert callback["state"] == driver.state
    assert "code" not in callback


def test_consent_reject_reaches_the_client_as_access_denied(dev_server):
    driver = new_driver(dev_server)
    consent_challenge, _ = login_and_get_consent(driver, subject())
    redirect_to = driver.reject_consent(
        consent_challenge, error="access_denied", error_description="Not today."
    )
    callback = client_callback(driver.follow(redirect_to), driver)
    assert callback["error"] == "access_denied"
    assert callback["error_description"]
    assert callback["state"] == driver.state
    assert "code" not in callback


def test_reject_with_a_custom_error_code_passes_it_through(dev_server):
    driver = new_driver(dev_server)
    redirect_to = driver.reject_login(driver.start(), error="interaction_required")
    callback = client_callback(driver.follow(redirect_to), driver)
    assert callback["error"] == "interaction_required"
    assert callback["state"] == driver.state

    driver = new_driver(dev_server)
    consent_challenge, _ = login_and_get_consent(driver, subject())
    redirect_to = driver.reject_consent(consent_challenge, error="temporarily_unavailable")
    callback = client_callback(driver.follow(redirect_to), driver)
    assert callback["error"] == "temporarily_unavailable"
    assert callback["state"] == driver.state


def test_reject_with_status_code_200_is_refused(dev_server):
    driver = new_driver(dev_server)
    challenge = driver.start()
    body = {"error": "access_denied", "status_code": 200}
    response = put(driver, LOGIN_REQUEST + "/reject", "login_challenge", challenge, json=body)
    assert_api_error(response, 400, "invalid_request")
    # The challenge is still open.
    assert driver.get_login(challenge).status_code == 200

    consent_challenge, _ = login_and_get_consent(new_driver(dev_server, driver), subject())
    response = put(
        driver, CONSENT_REQUEST + "/reject", "consent_challenge", consent_challenge, json=body
    )
    assert_api_error(response, 400, "invalid_request")
    assert driver.get_consent(consent_challenge).status_code == 200


# -- every challenge and verifier works once, in one browser -------------------------------


def test_login_challenge_replay(dev_server):
    server = dev_server
    driver = new_driver(server)
    challenge = driver.start()
    driver.accept_login(challenge, subject=subject())

    assert_gone(driver.get_login(challenge), server)
    again = put(
        driver, LOGIN_REQUEST + "/accept", "login_challenge", challenge, json={"subject": "x"}
    )
    assert_gone(again, server)
    rejected = put(driver, LOGIN_REQUEST + "/reject", "login_challenge", challenge, json={})
    assert_gone(rejected, server)

    assert_api_error(driver.get_login("no-such-challenge-" + uuid.uuid4().hex), 404)
    unknown = put(
        driver,
        LOGIN_REQUEST + "/accept",
        "login_challenge",
        uuid.uuid4().hex,
        json={"subject": "x"},
    )
    assert_api_error(unknown, 404)
    assert_api_error(driver.admin("GET", LOGIN_REQUEST), 400, "invalid_request")
    missing = driver.admin("PUT", LOGIN_REQUEST + "/accept", json={"subject": "x"})
    assert_api_error(missing, 400, "invalid_request")


def test_consent_challenge_replay(dev_server):
    server = dev_server
    driver = new_driver(server)
    consent_challenge, _ = login_and_get_consent(driver, subject())
    driver.accept_consent(consent_challenge, grant_scope=["openid"])

    assert_gone(driver.get_consent(consent_challenge), server)
    again = put(
        driver,
        CONSENT_REQUEST + "/accept",
        "consent_challenge",
        consent_challenge,
        json={"grant_scope": ["openid"]},
    )
    assert_gone(again, server)
    rejected = put(
        driver, CONSENT_REQUEST + "/reject", "consent_challenge", consent_challenge, json={}
    )
    assert_gone(rejected, server)

    assert_api_error(driver.get_consent(uuid.uuid4().hex), 404)
    unknown = put(
        driver, CONSENT_REQUEST + "/accept", "consent_challenge", uuid.uuid4().hex, json={}
    )
    assert_api_error(unknown, 404)
    assert_api_error(driver.admin("GET", CONSENT_REQUEST), 400, "invalid_request")
    missing = driver.admin("PUT", CONSENT_REQUEST + "/accept", json={"grant_scope": []})
    assert_api_error(missing, 400, "invalid_request")


def test_a_login_challenge_is_not_a_consent_challenge(dev_server):
    driver = new_driver(dev_server)
    challenge = driver.start()
    assert_api_error(driver.get_consent(challenge), 404)
    consent_challenge, _ = login_and_get_consent(new_driver(dev_server, driver), subject())
    assert_api_error(driver.get_login(consent_challenge), 404)


def test_login_verifier_works_once(dev_server):
    driver = new_driver(dev_server)
    redirect_to = driver.accept_login(driver.start(), subject=subject())
    first = driver.follow(redirect_to)
    assert first.status_code == 302, first.text
    assert "consent_challenge=" in first.headers["Location"]

    second = driver.follow(redirect_to)
    assert_error_page(second)


def test_consent_verifier_works_once(dev_server):
    driver = new_driver(dev_server)
    consent_challenge, _ = login_and_get_consent(driver, subject())
    redirect_to = driver.accept_consent(consent_challenge)
    callback = client_callback(driver.follow(redirect_to), driver)
    assert callback["code"]

    second = driver.follow(redirect_to)
    assert_error_page(second)
    # The code of the first redemption is still good.
    assert driver.exchange(callback["code"]).status_code == 200


def test_login_verifier_from_another_browser_is_refused(dev_server):
    driver = new_driver(dev_server)
    challenge = driver.start()
    csrf = driver.browser.cookies.get("authserver_login_csrf")
    assert csrf
    redirect_to = driver.accept_login(challenge, subject=subject())
    verifier = query(redirect_to)["login_verifier"]

    other = requests.Session()
    response = other.get(redirect_to, allow_redirects=False, timeout=TIMEOUT)
    assert_error_page(response, 403)
    for secret in (csrf, challenge, verifier):
        assert secret not in response.text
    assert not response.cookies.get("authserver_session")


def test_consent_verifier_from_another_browser_is_refused(dev_server):
    driver = new_driver(dev_server)
    consent_challenge, _ = login_and_get_consent(driver, subject())
    csrf = driver.browser.cookies.get("authserver_consent_csrf")
    assert csrf
    redirect_to = driver.accept_consent(consent_challenge)
    verifier = query(redirect_to)["consent_verifier"]

    other = requests.Session()
    response = other.get(redirect_to, allow_redirects=False, timeout=TIMEOUT)
    assert_error_page(response, 403)
    for secret in (csrf, consent_challenge, verifier):
        assert secret not in response.text
    assert "code=" not in response.text


# -- expiry ----------------------------------------------------------------------------------


def test_challenges_expire(backend, server_factory):
    server = server_factory(backend, env={"TTL_LOGIN_CONSENT_REQUEST": "3s"}, args=("--dev",))
    driver = new_driver(server)
    challenge = driver.start()
    assert driver.get_login(challenge).status_code == 200
    time.sleep(4)
    assert_gone(driver.get_login(challenge), server)
    accept = put(
        driver, LOGIN_REQUEST + "/accept", "login_challenge", challenge, json={"subject": "x"}
    )
    assert_gone(accept, server)
    reject = put(driver, LOGIN_REQUEST + "/reject", "login_challenge", challenge, json={})
    assert_gone(reject, server)


# -- what the login app may send -------------------------------------------------------------


def test_login_accept_validation(dev_server):
    driver = new_driver(dev_server)
    challenge = driver.start()

    def accept(**kwargs):
        return put(driver, LOGIN_REQUEST + "/accept", "login_challenge", challenge, **kwargs)

    assert_api_error(accept(json={}), 400, "invalid_request")
    assert_api_error(accept(json={"subject": ""}), 400, "invalid_request")
    assert_api_error(accept(json={"subject": subject(), "remember": "true"}), 400)
    assert_api_error(accept(json={"subject": subject(), "remember_for": "1h"}), 400)
    assert_api_error(accept(json=[{"subject": subject()}]), 400, "invalid_request")
    not_json = accept(data="subject=alice", headers={"Content-Type": "application/json"})
    assert_api_error(not_json, 400, "invalid_request")
    # None of that consumed the challenge.
    assert driver.get_login(challenge).status_code == 200
    assert driver.accept_login(challenge, subject=subject())


# -- what the consent app may grant ----------------------------------------------------------


def test_consent_accept_cannot_grant_more_than_the_client_may_have(dev_server):
    driver = new_driver(dev_server, audience=[AUDIENCE])
    consent_challenge, _ = login_and_get_consent(driver, subject())

    def accept(body):
        return put(
            driver, CONSENT_REQUEST + "/accept", "consent_challenge", consent_challenge, json=body
        )

    assert_api_error(accept({"grant_scope": ["openid", "admin"]}), 400, "invalid_request")
    outside = {"grant_scope": ["openid"], "grant_access_token_audience": ["https://evil.example"]}
    assert_api_error(accept(outside), 400, "invalid_request")
    # Still open, and a grant within the client's limits works.
    assert driver.get_consent(consent_challenge).status_code == 200
    tokens = complete(
        driver, consent_challenge, grant_scope=["openid"], grant_access_token_audience=[AUDIENCE]
    )
    assert tokens["scope"] == "openid"
    assert AUDIENCE in driver.introspect(tokens["access_token"])["aud"]


def test_consent_session_claims_reach_tokens_but_reserved_claims_do_not(dev_server):
    server = dev_server
    user = subject()
    driver = new_driver(server)
    consent_challenge, _ = login_and_get_consent(driver, user, scope="openid email")
    session = {
        "id_token": {
            "sub": "attacker",
            "iss": "https://evil.example.com",
            "aud": ["evil"],
            "email": "alice@example.com",
            "email_verified": True,
        },
        "access_token": {"tenant": "acme", "roles": ["reader"]},
    }
    tokens = complete(driver, consent_challenge, session=session)

    claims = jwt_claims(tokens["id_token"])
    assert claims["sub"] == user
    assert claims["iss"].rstrip("/") == server.public_url
    assert driver.client["client_id"] in (
        claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    )
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["nonce"] == driver.nonce

    response = requests.get(
        server.public_url + "/userinfo",
        headers={"Authorization": "Bearer " + tokens["access_token"]},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    userinfo = response.json()
    assert userinfo["sub"] == user
    assert userinfo["email"] == "alice@example.com"

    introspection = driver.introspect(tokens["access_token"])
    assert introspection["active"] is True
    assert introspection["sub"] == user
    assert introspection["ext"]["tenant"] == "acme"
    assert introspection["ext"]["roles"] == ["reader"]


# -- remembered logins -----------------------------------------------------------------------


def test_remembered_login_is_skipped_in_the_same_browser(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(login={"subject": user, "remember": True})

    second = new_driver(server, first)
    challenge = second.start()
    login = second.get_login(challenge).json()
    assert login["skip"] is True
    assert login["subject"] == user

    # When skip is true, the login app must accept the same subject.
    other = put(
        second, LOGIN_REQUEST + "/accept", "login_challenge", challenge, json={"subject": subject()}
    )
    assert_api_error(other, 400)
    consent_challenge = second.consent_challenge_after(second.accept_login(challenge, subject=user))
    assert second.get_consent(consent_challenge).json()["subject"] == user

    # Another browser is not logged in.
    third = FlowDriver(server, first.client)
    assert third.get_login(third.start()).json()["skip"] is False


def test_prompt_login_and_max_age_force_a_new_login(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(login={"subject": user, "remember": True})

    forced = new_driver(server, first)
    login = forced.get_login(forced.start(prompt="login")).json()
    assert login["skip"] is False

    time.sleep(1.2)
    aged = new_driver(server, first)
    login = aged.get_login(aged.start(max_age="0")).json()
    assert login["skip"] is False

    # A generous max_age still skips.
    fresh = new_driver(server, first)
    login = fresh.get_login(fresh.start(max_age="3600")).json()
    assert login["skip"] is True
    assert login["subject"] == user


# -- remembered consents -----------------------------------------------------------------------


def test_remembered_consent_is_skipped_for_the_same_scopes_only(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(
        login={"subject": user, "remember": True},
        consent={"grant_scope": ["openid", "offline_access"], "remember": True},
    )

    same = new_driver(server, first)
    consent_challenge, consent = login_and_get_consent(same, user)
    assert consent["skip"] is True
    assert consent["subject"] == user
    complete(same, consent_challenge, grant_scope=["openid", "offline_access"])

    fewer = new_driver(server, first)
    _, consent = login_and_get_consent(fewer, user, scope="openid")
    assert consent["skip"] is True

    forced = new_driver(server, first)
    _, consent = login_and_get_consent(forced, user, prompt="consent")
    assert consent["skip"] is False

    more = new_driver(server, first)
    _, consent = login_and_get_consent(more, user, scope="openid offline_access profile")
    assert consent["skip"] is False


def test_unremembered_consent_is_not_skipped(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(login={"subject": user, "remember": True})
    second = new_driver(server, first)
    _, consent = login_and_get_consent(second, user)
    assert consent["skip"] is False


def test_client_with_skip_consent_gets_consent_skip(dev_server):
    driver = new_driver(dev_server, skip_consent=True)
    user = subject()
    consent_challenge, consent = login_and_get_consent(driver, user)
    assert consent["skip"] is True
    assert consent["subject"] == user
    tokens = complete(driver, consent_challenge)
    assert driver.introspect(tokens["access_token"])["sub"] == user


# -- prompt=none -------------------------------------------------------------------------------


def test_prompt_none_without_a_session_is_login_required(dev_server):
    driver = new_driver(dev_server)
    response = driver.authorize(prompt="none")
    callback = client_callback(response, driver)
    assert callback["error"] == "login_required"
    assert callback["state"] == driver.state
    assert "code" not in callback


def test_prompt_none_with_login_but_no_consent_is_consent_required(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(login={"subject": user, "remember": True})

    silent = new_driver(server, first)
    challenge = silent.start(prompt="none")
    login = silent.get_login(challenge).json()
    assert login["skip"] is True
    assert login["subject"] == user
    response = silent.follow(silent.accept_login(challenge, subject=user))
    callback = client_callback(response, silent)
    assert callback["error"] == "consent_required"
    assert callback["state"] == silent.state
    assert "code" not in callback


def test_prompt_none_with_login_and_consent_remembered_issues_a_code(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(
        login={"subject": user, "remember": True},
        consent={"grant_scope": ["openid", "offline_access"], "remember": True},
    )

    silent = new_driver(server, first)
    challenge = silent.start(prompt="none")
    login = silent.get_login(challenge).json()
    assert login["skip"] is True
    consent_challenge = silent.consent_challenge_after(silent.accept_login(challenge, subject=user))
    consent = silent.get_consent(consent_challenge).json()
    assert consent["skip"] is True
    tokens = complete(silent, consent_challenge, grant_scope=consent["requested_scope"])
    assert jwt_claims(tokens["id_token"])["sub"] == user


# -- the admin API's sessions ------------------------------------------------------------------


def list_consent_sessions(driver: FlowDriver, user: str) -> list[dict]:
    response = driver.admin("GET", CONSENT_SESSIONS, params={"subject": user})
    assert response.status_code == 200, response.text
    return response.json()


def remembered_grant(server, user: str, driver: FlowDriver | None = None) -> tuple:
    """A completed flow for ``user`` with remembered consent; (driver, tokens)."""
    driver = driver or new_driver(server)
    consent_challenge, _ = login_and_get_consent(driver, user)
    tokens = complete(
        driver, consent_challenge, grant_scope=["openid", "offline_access"], remember=True
    )
    return driver, tokens


def test_consent_sessions_are_listed_and_revoked_per_client(dev_server):
    server = dev_server
    user = subject()
    driver, tokens = remembered_grant(server, user)
    other_driver, other_tokens = remembered_grant(server, user)

    sessions = list_consent_sessions(driver, user)
    by_client = {item["consent_request"]["client"]["client_id"]: item for item in sessions}
    assert set(by_client) == {driver.client["client_id"], other_driver.client["client_id"]}
    session = by_client[driver.client["client_id"]]
    assert session["grant_scope"] == ["openid", "offline_access"]
    assert session["remember"] is True
    assert session["consent_request"]["subject"] == user
    assert "client_secret" not in session["consent_request"]["client"]
    assert list_consent_sessions(driver, subject()) == []

    assert driver.introspect(tokens["access_token"])["active"] is True
    response = driver.admin(
        "DELETE", CONSENT_SESSIONS, params={"subject": user, "client": driver.client["client_id"]}
    )
    assert response.status_code == 204, response.text

    assert driver.introspect(tokens["access_token"])["active"] is False
    assert driver.introspect(tokens["refresh_token"])["active"] is False
    assert driver.refresh(tokens["refresh_token"]).status_code in (400, 401)
    # The other client's grant is untouched.
    assert other_driver.introspect(other_tokens["access_token"])["active"] is True
    remaining = list_consent_sessions(driver, user)
    assert [item["consent_request"]["client"]["client_id"] for item in remaining] == [
        other_driver.client["client_id"]
    ]

    # A revoked consent is no longer remembered.
    again = new_driver(server, driver)
    _, consent = login_and_get_consent(again, user)
    assert consent["skip"] is False


def test_revoking_consent_sessions_needs_a_client_or_all(dev_server):
    server = dev_server
    user = subject()
    driver, tokens = remembered_grant(server, user)
    response = driver.admin("DELETE", CONSENT_SESSIONS, params={"subject": user})
    assert_api_error(response, 400, "invalid_request")
    response = driver.admin("DELETE", CONSENT_SESSIONS, params={"client": "x", "all": "true"})
    assert_api_error(response, 400, "invalid_request")
    assert driver.introspect(tokens["access_token"])["active"] is True
    assert len(list_consent_sessions(driver, user)) == 1


def test_revoking_all_consent_sessions_of_a_subject(dev_server):
    server = dev_server
    user = subject()
    bystander = subject()
    first, first_tokens = remembered_grant(server, user)
    second, second_tokens = remembered_grant(server, user)
    _, bystander_tokens = remembered_grant(server, bystander, new_driver(server, None))

    response = first.admin("DELETE", CONSENT_SESSIONS, params={"subject": user, "all": "true"})
    assert response.status_code == 204, response.text
    assert list_consent_sessions(first, user) == []
    for tokens in (first_tokens, second_tokens):
        assert first.introspect(tokens["access_token"])["active"] is False
        assert first.introspect(tokens["refresh_token"])["active"] is False
    assert first.introspect(bystander_tokens["access_token"])["active"] is True
    assert len(list_consent_sessions(first, bystander)) == 1


def test_deleting_login_sessions_forces_a_new_login(dev_server):
    server = dev_server
    user = subject()
    first = new_driver(server)
    first.run(login={"subject": user, "remember": True})
    second = new_driver(server, first)
    assert second.get_login(second.start()).json()["skip"] is True

    response = first.admin("DELETE", LOGIN_SESSIONS, params={"subject": user})
    assert response.status_code == 204, response.text

    third = new_driver(server, first)
    login = third.get_login(third.start()).json()
    assert login["skip"] is False
    assert login["subject"] == ""


def test_deleting_login_sessions_needs_a_subject_or_sid(dev_server):
    driver = FlowDriver(dev_server, {"client_id": "unused"})
    assert_api_error(driver.admin("DELETE", LOGIN_SESSIONS), 400, "invalid_request")
