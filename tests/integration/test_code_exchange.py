"""The token side of the authorization code flow: the code exchange (RFC 6749 §4.1.3, RFC
7636), ID tokens (OIDC Core §3.1.3), refresh tokens (RFC 6749 §6) with rotation and reuse
detection, introspection and revocation of the grant, /userinfo and discovery.

ID tokens are checked with PyJWT against the published JWKS, independently of the server's
own JOSE library.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid

import jwt
import pytest
import requests

from tests.integration.oauth_flow import REDIRECT_URI, FlowDriver, create_code_client

TIMEOUT = 10
OTHER_REDIRECT_URI = "http://127.0.0.1:9999/other-callback"
INACTIVE = {"active": False}


def unique_subject() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def post_token(server, form: dict, auth=None) -> requests.Response:
    return requests.post(server.public_url + "/oauth2/token", data=form, auth=auth, timeout=TIMEOUT)


def assert_error(response: requests.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert "no-store" in response.headers.get("Cache-Control", "")


def code_flow(server, client: dict | None = None, login=None, consent=None, **params):
    """A fresh browser through login and consent; returns (driver, code)."""
    driver = FlowDriver(server, client or create_code_client(server))
    login = {"subject": unique_subject(), **(login or {})}
    callback = driver.run(login=login, consent=consent, **params)
    return driver, callback["code"]


def tokens_for(server, client: dict | None = None, **kwargs) -> tuple[FlowDriver, dict]:
    driver, code = code_flow(server, client, **kwargs)
    response = driver.exchange(code)
    assert response.status_code == 200, response.text
    return driver, response.json()


def discovery(server) -> dict:
    response = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def verify_id_token(server, id_token: str, client_id: str, alg: str = "RS256") -> dict:
    """Verify with PyJWT, the key picked from the published JWKS by the header's kid."""
    header = jwt.get_unverified_header(id_token)
    assert header["alg"] == alg
    metadata = discovery(server)
    jwks = requests.get(metadata["jwks_uri"], timeout=TIMEOUT).json()
    matching = [key for key in jwks["keys"] if key.get("kid") == header["kid"]]
    assert len(matching) == 1, jwks
    assert matching[0]["alg"] == alg
    key = jwt.PyJWK(matching[0])
    return jwt.decode(
        id_token,
        key=key.key,
        algorithms=[alg],
        audience=client_id,
        issuer=metadata["issuer"],
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def run_together(count: int, call) -> list[requests.Response]:
    """``call()`` from ``count`` threads released at the same moment."""
    return run_each_together([call] * count)


def run_each_together(calls) -> list[requests.Response]:
    """Each of ``calls`` from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        try:
            results[index] = calls[index]()
        except Exception as exc:  # reported below, with the others
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(result, requests.Response) for result in results), results
    return results


# -- ID tokens -----------------------------------------------------------------------------


def test_id_token_is_verifiable_and_carries_the_authentication(dev_server):
    server = dev_server
    client = create_code_client(server)
    driver = FlowDriver(server, client)
    subject = unique_subject()
    challenge = driver.start()
    login_request = driver.get_login(challenge).json()
    before = int(time.time())
    redirect_to = driver.accept_login(
        challenge, subject=subject, acr="urn:example:loa:2", amr=["pwd", "otp"]
    )
    consent_challenge = driver.consent_challenge_after(redirect_to)
    consent_request = driver.get_consent(consent_challenge).json()
    callback = driver.callback_after(driver.accept_consent(consent_challenge))
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text
    tokens = response.json()

    claims = verify_id_token(server, tokens["id_token"], client["client_id"])
    assert claims["iss"] == discovery(server)["issuer"]
    assert claims["aud"] == [client["client_id"]]
    assert claims["sub"] == subject
    assert claims["exp"] - claims["iat"] == 3600
    assert before - 5 <= claims["auth_time"] <= int(time.time()) + 5
    assert claims["nonce"] == driver.nonce
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["acr"] == "urn:example:loa:2"
    assert claims["amr"] == ["pwd", "otp"]
    assert claims["jti"]
    # The sid the login app was told is the one the ID token carries (a fresh browser).
    assert claims["sid"] == login_request["session_id"] == consent_request["login_session_id"]


def test_no_id_token_without_openid(dev_server):
    server = dev_server
    driver, tokens = tokens_for(server, scope="offline_access")
    assert tokens["scope"] == "offline_access"
    assert "id_token" not in tokens
    assert tokens["refresh_token"]


def test_no_id_token_when_openid_was_requested_but_not_granted(dev_server):
    server = dev_server
    driver, tokens = tokens_for(
        server, scope="openid offline_access", consent={"grant_scope": ["offline_access"]}
    )
    assert tokens["scope"] == "offline_access"
    assert "id_token" not in tokens


# -- refresh tokens: when ------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["openid offline_access", "openid offline"])
def test_refresh_token_with_offline_scope(dev_server, scope):
    driver, tokens = tokens_for(dev_server, scope=scope)
    assert tokens["refresh_token"]
    assert driver.introspect(tokens["refresh_token"])["token_use"] == "refresh_token"


def test_no_refresh_token_without_offline_scope(dev_server):
    driver, tokens = tokens_for(dev_server, scope="openid")
    assert tokens["id_token"]
    assert "refresh_token" not in tokens


def test_no_refresh_token_when_the_client_may_not_refresh(dev_server):
    client = create_code_client(dev_server, grant_types=["authorization_code"])
    driver, tokens = tokens_for(dev_server, client, scope="openid offline_access")
    assert tokens["scope"] == "openid offline_access"
    assert tokens["id_token"]
    assert "refresh_token" not in tokens


# -- the token request's failures ----------------------------------------------------------


def test_wrong_code_verifier(dev_server):
    driver, code = code_flow(dev_server)
    assert_error(driver.exchange(code, code_verifier="x" * 50), "invalid_grant")


def test_missing_code_verifier_when_pkce_was_used(dev_server):
    driver, code = code_flow(dev_server)
    assert_error(driver.exchange(code, code_verifier=None), "invalid_request")


def test_code_verifier_without_a_challenge(dev_server):
    driver, code = code_flow(dev_server, pkce=False)
    assert_error(driver.exchange(code), "invalid_request")


def test_without_pkce_and_without_verifier_succeeds(dev_server):
    driver, code = code_flow(dev_server, pkce=False)
    response = driver.exchange(code, code_verifier=None)
    assert response.status_code == 200, response.text


def test_redirect_uri_differs_from_the_authorization_request(dev_server):
    client = create_code_client(dev_server, redirect_uris=[REDIRECT_URI, OTHER_REDIRECT_URI])
    driver, code = code_flow(dev_server, client)
    assert_error(driver.exchange(code, redirect_uri=OTHER_REDIRECT_URI), "invalid_grant")


def test_redirect_uri_missing_when_the_authorization_request_had_one(dev_server):
    driver, code = code_flow(dev_server)
    assert_error(driver.exchange(code, redirect_uri=None), "invalid_grant")


def test_failed_redemptions_do_not_burn_the_code(dev_server):
    """Whoever stole a code but not its verifier cannot spend it and so deny the user's
    login: every check runs before the code is consumed. (Hydra burns it.)"""
    client = create_code_client(dev_server, redirect_uris=[REDIRECT_URI, OTHER_REDIRECT_URI])
    driver, code = code_flow(dev_server, client)
    failures = [
        ({"code_verifier": "x" * 50}, "invalid_grant"),
        ({"code_verifier": None}, "invalid_request"),
        ({"code_verifier": "short"}, "invalid_request"),
        ({"redirect_uri": OTHER_REDIRECT_URI}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_grant"),
    ]
    for overrides, error in failures:
        assert_error(driver.exchange(code, **overrides), error)
    response = driver.exchange(code)
    assert response.status_code == 200, response.text
    assert driver.introspect(response.json()["access_token"])["active"] is True


def test_wrong_verifiers_racing_the_right_one(dev_server):
    """Exactly one redemption wins, and it is the one that passes the checks."""
    driver, code = code_flow(dev_server)
    attempts = [lambda: driver.exchange(code, code_verifier="y" * 60)] * 6
    attempts.append(lambda: driver.exchange(code))
    results = run_each_together(attempts)
    assert [r.status_code for r in results].count(200) == 1
    assert results[-1].status_code == 200, results[-1].text


def test_code_of_another_client(dev_server):
    driver, code = code_flow(dev_server)
    other = create_code_client(dev_server)
    response = post_token(
        dev_server,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": driver.code_verifier,
        },
        auth=(other["client_id"], other["client_secret"]),
    )
    assert_error(response, "invalid_grant")
    # The rightful client can still redeem it.
    assert driver.exchange(code).status_code == 200


@pytest.mark.parametrize(
    "code", ["garbage", "ory_ac_garbage.garbage", "ory_ac_" + "A" * 43 + "." + "B" * 43]
)
def test_garbage_code(dev_server, code):
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    assert_error(driver.exchange(code), "invalid_grant")


def test_expired_code(backend, server_factory):
    server = server_factory(backend, env={"TTL_AUTH_CODE": "1s"}, args=("--dev",))
    driver, code = code_flow(server)
    time.sleep(2)
    assert_error(driver.exchange(code), "invalid_grant")


def test_public_client_with_pkce_and_no_secret(dev_server):
    client = create_code_client(
        dev_server, token_endpoint_auth_method="none", scope="openid offline_access"
    )
    assert not client.get("client_secret")
    driver, code = code_flow(dev_server, client)
    response = post_token(
        dev_server,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": driver.code_verifier,
            "client_id": client["client_id"],
        },
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["access_token"]
    verify_id_token(dev_server, tokens["id_token"], client["client_id"])


# -- code replay and races -----------------------------------------------------------------


def test_code_replay_fails_and_revokes_the_first_tokens(dev_server):
    driver, code = code_flow(dev_server)
    first = driver.exchange(code)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert driver.introspect(tokens["access_token"])["active"] is True

    assert_error(driver.exchange(code), "invalid_grant")
    assert driver.introspect(tokens["access_token"]) == INACTIVE
    assert driver.introspect(tokens["refresh_token"]) == INACTIVE
    assert_error(driver.refresh(tokens["refresh_token"]), "invalid_grant")


def test_concurrent_redemption_of_one_code(dev_server):
    driver, code = code_flow(dev_server)
    responses = run_together(8, lambda: driver.exchange(code))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) == 1, [response.text for response in responses]
    for response in responses:
        if response.status_code != 200:
            assert_error(response, "invalid_grant")


# -- refresh -------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_is_spent(dev_server):
    driver, tokens = tokens_for(dev_server)
    response = driver.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["scope"] == "openid offline_access"
    assert driver.introspect(refreshed["access_token"])["active"] is True
    assert driver.introspect(tokens["refresh_token"]) == INACTIVE

    # Reuse of the rotated token: refused, and the whole chain is revoked.
    assert_error(driver.refresh(tokens["refresh_token"]), "invalid_grant")
    assert driver.introspect(refreshed["access_token"]) == INACTIVE
    assert driver.introspect(refreshed["refresh_token"]) == INACTIVE
    assert_error(driver.refresh(refreshed["refresh_token"]), "invalid_grant")


def test_concurrent_refresh_with_one_token(dev_server):
    driver, tokens = tokens_for(dev_server)
    responses = run_together(8, lambda: driver.refresh(tokens["refresh_token"]))
    statuses = [response.status_code for response in responses]
    assert statuses.count(200) == 1, [response.text for response in responses]
    for response in responses:
        if response.status_code != 200:
            assert_error(response, "invalid_grant")


def test_refresh_with_a_narrower_scope(dev_server):
    driver, tokens = tokens_for(dev_server, scope="openid offline_access")
    response = driver.refresh(tokens["refresh_token"], scope="openid")
    assert response.status_code == 200, response.text
    refreshed = response.json()
    assert refreshed["scope"] == "openid"
    assert driver.introspect(refreshed["access_token"])["scope"] == "openid"

    refresh_info = driver.introspect(refreshed["refresh_token"])
    assert refresh_info["active"] is True
    assert refresh_info["token_use"] == "refresh_token"
    assert set(refresh_info["scope"].split()) == {"openid", "offline_access"}
    again = driver.refresh(refreshed["refresh_token"])
    assert again.status_code == 200, again.text
    assert set(again.json()["scope"].split()) == {"openid", "offline_access"}


def test_refresh_with_a_wider_scope_is_refused_and_costs_nothing(dev_server):
    driver, tokens = tokens_for(dev_server, scope="openid offline_access")
    assert_error(driver.refresh(tokens["refresh_token"], scope="openid profile"), "invalid_scope")
    assert driver.introspect(tokens["refresh_token"])["active"] is True
    response = driver.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text


def test_refresh_token_of_another_client(dev_server):
    driver, tokens = tokens_for(dev_server)
    other = create_code_client(dev_server)
    response = post_token(
        dev_server,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(other["client_id"], other["client_secret"]),
    )
    assert_error(response, "invalid_grant")


def test_refreshed_id_token(dev_server):
    client = create_code_client(dev_server)
    driver, tokens = tokens_for(dev_server, client)
    first = verify_id_token(dev_server, tokens["id_token"], client["client_id"])
    assert first["nonce"] == driver.nonce
    response = driver.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text
    refreshed_tokens = response.json()
    refreshed = verify_id_token(dev_server, refreshed_tokens["id_token"], client["client_id"])
    assert "nonce" not in refreshed
    assert refreshed["sub"] == first["sub"]
    assert refreshed["auth_time"] == first["auth_time"]
    assert refreshed["sid"] == first["sid"]
    assert refreshed["jti"] != first["jti"]
    assert refreshed["at_hash"] == at_hash(refreshed_tokens["access_token"])


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256"])
def test_a_client_chooses_the_algorithm_of_its_id_tokens(dev_server, alg):
    """OIDC Registration §2 id_token_signed_response_alg: the newest key of that algorithm
    signs (made by the first token if there is none), at the exchange and every refresh;
    a client that chose none still gets RS256."""
    client = create_code_client(dev_server, id_token_signed_response_alg=alg)
    assert client["id_token_signed_response_alg"] == alg
    driver, tokens = tokens_for(dev_server, client)
    first = verify_id_token(dev_server, tokens["id_token"], client["client_id"], alg)
    assert first["nonce"] == driver.nonce
    # OIDC Core §3.1.3.6: the left half of the alg's hash; EdDSA names none, and Ed25519's
    # SHA-512 is what its libraries use.
    digest = hashlib.sha512 if alg == "EdDSA" else hashlib.sha256
    half = digest(tokens["access_token"].encode()).digest()[: digest().digest_size // 2]
    assert first["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()
    refreshed = driver.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    verify_id_token(dev_server, refreshed.json()["id_token"], client["client_id"], alg)

    default = create_code_client(dev_server)
    assert "id_token_signed_response_alg" not in default
    _, default_tokens = tokens_for(dev_server, default)
    verify_id_token(dev_server, default_tokens["id_token"], default["client_id"], "RS256")


# -- introspection and revocation of the grant ---------------------------------------------


def test_introspection_of_a_refresh_token(dev_server):
    client = create_code_client(dev_server)
    subject = unique_subject()
    driver, tokens = tokens_for(dev_server, client, login={"subject": subject})
    info = driver.introspect(tokens["refresh_token"])
    assert info["active"] is True
    assert info["token_use"] == "refresh_token"
    assert info["client_id"] == client["client_id"]
    assert info["sub"] == subject
    assert set(info["scope"].split()) == {"openid", "offline_access"}


def test_revoking_the_refresh_token_revokes_the_grant(dev_server):
    client = create_code_client(dev_server)
    driver, tokens = tokens_for(dev_server, client)
    refreshed = driver.refresh(tokens["refresh_token"]).json()
    # A token of another grant of the same client must not be touched.
    _, unrelated = tokens_for(dev_server, client)

    response = requests.post(
        dev_server.public_url + "/oauth2/revoke",
        data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert driver.introspect(refreshed["refresh_token"]) == INACTIVE
    assert driver.introspect(refreshed["access_token"]) == INACTIVE
    assert driver.introspect(tokens["access_token"]) == INACTIVE
    assert_error(driver.refresh(refreshed["refresh_token"]), "invalid_grant")
    assert driver.introspect(unrelated["access_token"])["active"] is True
    assert driver.introspect(unrelated["refresh_token"])["active"] is True


# -- /userinfo -----------------------------------------------------------------------------


def userinfo(server, method: str = "GET", token: str | None = None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.request(
        method, server.public_url + "/userinfo", headers=headers, timeout=TIMEOUT, **kwargs
    )
    assert response.status_code < 500, response.text
    return response


@pytest.fixture
def userinfo_grant(dev_server):
    subject = unique_subject()
    claims = {"email": subject, "email_verified": True, "name": "Ada Lovelace"}
    client = create_code_client(dev_server)
    driver, tokens = tokens_for(
        dev_server,
        client,
        login={"subject": subject},
        consent={"session": {"id_token": claims, "access_token": {"team": "a"}}},
    )
    return {**tokens, "client": client}, {"sub": subject, **claims}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_with_bearer_header(dev_server, userinfo_grant, method):
    tokens, expected = userinfo_grant
    response = userinfo(dev_server, method, tokens["access_token"])
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_userinfo_with_token_in_form_body(dev_server, userinfo_grant):
    tokens, expected = userinfo_grant
    response = userinfo(dev_server, "POST", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200, response.text
    assert response.json() == expected


def test_userinfo_without_token(dev_server):
    response = userinfo(dev_server)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_userinfo_with_invalid_token(dev_server):
    response = userinfo(dev_server, token="ory_at_not-a-token")
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge


def test_userinfo_with_a_revoked_token(dev_server, userinfo_grant):
    tokens, _ = userinfo_grant
    client = tokens["client"]
    response = requests.post(
        dev_server.public_url + "/oauth2/revoke",
        data={"token": tokens["access_token"]},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    response = userinfo(dev_server, token=tokens["access_token"])
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"


def test_userinfo_with_client_credentials_token(dev_server):
    response = requests.post(
        dev_server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"], "scope": "read"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    client = response.json()
    issued = post_token(
        dev_server,
        {"grant_type": "client_credentials", "scope": "read"},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    response = userinfo(dev_server, token=issued.json()["access_token"])
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "insufficient_scope"


def test_userinfo_with_token_in_header_and_body(dev_server, userinfo_grant):
    tokens, _ = userinfo_grant
    token = tokens["access_token"]
    response = userinfo(dev_server, "POST", token, data={"access_token": token})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


# -- discovery -----------------------------------------------------------------------------


def test_discovery_lists_what_is_implemented_and_nothing_else(dev_server):
    metadata = discovery(dev_server)
    base = dev_server.public_url
    assert metadata["authorization_endpoint"] == base + "/oauth2/auth"
    assert metadata["token_endpoint"] == base + "/oauth2/token"
    assert metadata["userinfo_endpoint"] == base + "/userinfo"
    assert metadata["end_session_endpoint"] == base + "/oauth2/sessions/logout"
    assert metadata["device_authorization_endpoint"] == base + "/oauth2/device/auth"
    assert metadata["jwks_uri"] == base + "/.well-known/jwks.json"
    assert {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    } <= set(metadata["grant_types_supported"])
    assert metadata["id_token_signed_response_alg"][0] == "RS256"
    assert {"ES256", "EdDSA"} <= set(metadata["id_token_signed_response_alg"])
    assert metadata["userinfo_signed_response_alg"] == ["RS256"]
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert metadata["request_parameter_supported"] is False
    assert "registration_endpoint" not in metadata  # off unless switched on
    assert metadata["pushed_authorization_request_endpoint"] == base + "/oauth2/par"
    assert metadata["require_pushed_authorization_requests"] is False
    assert metadata["issuer"].rstrip("/") == base
    jwks = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    assert jwks.status_code == 200
    assert all("d" not in key for key in jwks.json()["keys"])
