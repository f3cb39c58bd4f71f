"""Pushed authorization requests (RFC 9126) over real HTTP, on SQLite and PostgreSQL.

``POST /oauth2/par`` authenticates the client as the token endpoint does, checks the
authorization request as ``/oauth2/auth`` would, and answers a single-use, short-lived
``request_uri``; ``/oauth2/auth`` then takes ``client_id`` and that reference only. The
shared servers carry almost everything; one dedicated server per backend (module scope)
has the server-wide enforcement, a short reference lifetime and CORS on.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import dedicated_server
from tests.integration.oauth_flow import (
    REDIRECT_URI,
    TIMEOUT,
    FlowDriver,
    create_code_client,
    query,
)
from tests.integration.test_authorize_endpoint import (
    assert_client_error,
    assert_error_page,
    foreign_id_token,
)

PREFIX = "urn:ietf:params:oauth:request_uri:"
REQUEST_URI = re.compile(r"^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$")
SECOND_REDIRECT_URI = "http://127.0.0.1:9999/other-callback"
AUDIENCE = "https://api.example.com"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = RSAKey.generate_key(2048, parameters={"kid": "par-1"}, private=True)
CORS_ORIGIN = "https://spa.par.example"
DEDICATED_ENV = {
    "OAUTH2_PUSHED_AUTHORIZATION_REQUESTS_ENFORCED": "true",
    # Two seconds, not one: the enforced server's own flows must redeem in time even when
    # pushed at the very end of a clock second (expiry is in whole seconds).
    "TTL_PUSHED_AUTHORIZATION_REQUEST": "2s",
    "SERVE_PUBLIC_CORS_ENABLED": "true",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- helpers -------------------------------------------------------------------------------


class PushingDriver(FlowDriver):
    """A FlowDriver whose client pushes its request first and sends the browser to
    ``/oauth2/auth`` with ``client_id`` and the ``request_uri`` only."""

    def request_params(self, pkce: bool = True, **params) -> dict:
        defaults = {
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": "openid offline_access",
            "state": self.state,
            "nonce": self.nonce,
        }
        if pkce:
            defaults.update(code_challenge=self.code_challenge, code_challenge_method="S256")
        return {key: value for key, value in {**defaults, **params}.items() if value is not None}

    def push(self, pkce: bool = True, auth: str | None = None, **params) -> requests.Response:
        """``auth``: basic, post or none (default: basic, or none for a public client)."""
        if auth is None:
            auth = "basic" if self.client.get("client_secret") else "none"
        form = self.request_params(pkce, **params)
        credentials = None
        if auth == "basic":
            credentials = (self.client["client_id"], self.client["client_secret"])
        elif auth == "post":
            form.update(
                client_id=self.client["client_id"], client_secret=self.client["client_secret"]
            )
        elif auth == "none":
            form["client_id"] = self.client["client_id"]
        return requests.post(
            self.server.public_url + "/oauth2/par", data=form, auth=credentials, timeout=TIMEOUT
        )

    def pushed(self, **kwargs) -> str:
        response = self.push(**kwargs)
        assert_pushed(response)
        return response.json()["request_uri"]

    def authorize_pushed(self, request_uri: str, **params) -> requests.Response:
        merged = {"client_id": self.client["client_id"], "request_uri": request_uri, **params}
        return self.browser.get(
            self.server.public_url + "/oauth2/auth",
            params={key: value for key, value in merged.items() if value is not None},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    def start_pushed(self, request_uri: str, **params) -> str:
        response = self.authorize_pushed(request_uri, **params)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert "login_challenge=" in location, location
        return query(location)["login_challenge"]

    def run_pushed(self, request_uri: str, consent: dict | None = None, **params) -> dict:
        challenge = self.start_pushed(request_uri, **params)
        redirect_to = self.accept_login(challenge, subject=unique("user") + "@example.com")
        consent_challenge = self.consent_challenge_after(redirect_to)
        return self.callback_after(self.accept_consent(consent_challenge, **(consent or {})))


def assert_pushed(response: requests.Response, expires_in: int = 60) -> dict:
    """RFC 9126 §2.2: 201, a request_uri of ours, expires_in, never cached."""
    assert response.status_code == 201, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers.get("Cache-Control", "")
    body = response.json()
    assert set(body) == {"request_uri", "expires_in"}, body
    assert REQUEST_URI.fullmatch(body["request_uri"]), body
    assert body["expires_in"] == expires_in, body
    return body


def assert_refused(response: requests.Response, error: str, status: int = 400) -> dict:
    """RFC 9126 §2.3: a JSON error, never a redirect, never a 5xx, never cached."""
    assert response.status_code == status, (response.status_code, response.text)
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("application/json")
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert "Traceback" not in response.text
    body = response.json()
    assert body["error"] == error, body
    return body


def par_client(server, **fields) -> dict:
    return create_code_client(
        server,
        client_id=unique("par"),
        audience=[AUDIENCE],
        redirect_uris=[REDIRECT_URI, SECOND_REDIRECT_URI],
        **fields,
    )


_shared_clients: dict[tuple, dict] = {}


def shared_client(server, **fields) -> dict:
    """A client for tests that only read it (refused pushes, references redeemed once),
    created once per server and set of fields: a confidential one costs a password hash
    to create and another to authenticate."""
    key = (server.public_url, repr(sorted(fields.items())))
    if key not in _shared_clients:
        _shared_clients[key] = par_client(server, **fields)
    return _shared_clients[key]


PUBLIC = {"token_endpoint_auth_method": "none"}


def discovery(server) -> dict:
    response = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def exchange_public(driver: FlowDriver, code: str) -> requests.Response:
    return requests.post(
        driver.server.public_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": driver.redirect_uri,
            "code_verifier": driver.code_verifier,
            "client_id": driver.client["client_id"],
        },
        timeout=TIMEOUT,
    )


def client_assertion(client_id: str, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode({"alg": "RS256", "kid": KEY.kid}, claims, KEY)


# -- the happy paths -----------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_push_then_authorize_then_exchange(dev_server, auth):
    fields = {} if auth == "basic" else {"token_endpoint_auth_method": "client_secret_post"}
    driver = PushingDriver(dev_server, par_client(dev_server, **fields))
    request_uri = driver.pushed(auth=auth)

    callback = driver.run_pushed(request_uri)
    assert callback["state"] == driver.state
    assert callback["iss"].rstrip("/") == dev_server.public_url
    if auth == "basic":
        response = driver.exchange(callback["code"])
    else:
        response = requests.post(
            dev_server.public_url + "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": callback["code"],
                "redirect_uri": driver.redirect_uri,
                "code_verifier": driver.code_verifier,
                "client_id": driver.client["client_id"],
                "client_secret": driver.client["client_secret"],
            },
            timeout=TIMEOUT,
        )
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["access_token"] and tokens["refresh_token"] and tokens["id_token"]
    assert tokens["scope"].split() == ["openid", "offline_access"]
    assert driver.introspect(tokens["access_token"])["active"] is True


def test_login_request_shows_the_pushed_request(dev_server):
    driver = PushingDriver(dev_server, par_client(dev_server))
    request_uri = driver.pushed(scope="openid profile", prompt="consent", login_hint="ann")
    challenge = driver.start_pushed(request_uri)

    login = driver.get_login(challenge)
    assert login.status_code == 200, login.text
    login = login.json()
    assert login["client"]["client_id"] == driver.client["client_id"]
    assert login["requested_scope"] == ["openid", "profile"]
    assert login["oidc_context"].get("login_hint") == "ann"
    url = urlsplit(login["request_url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == dev_server.public_url + "/oauth2/auth"
    shown = parse_qs(url.query)
    assert shown["client_id"] == [driver.client["client_id"]]
    assert shown["redirect_uri"] == [REDIRECT_URI]
    assert shown["scope"] == ["openid profile"]
    assert shown["state"] == [driver.state]
    assert shown["code_challenge"] == [driver.code_challenge]
    assert shown["prompt"] == ["consent"]
    # The reference is spent: it is no part of the stored request.
    assert "request_uri" not in shown
    assert PREFIX not in login["request_url"]


def test_front_channel_parameters_are_ignored(dev_server):
    """RFC 9126 §4: only the pushed parameters count; the URL's others change nothing."""
    driver = PushingDriver(dev_server, par_client(dev_server))
    request_uri = driver.pushed(scope="openid offline_access")
    challenge = driver.start_pushed(
        request_uri,
        redirect_uri=SECOND_REDIRECT_URI,
        scope="openid profile email",
        state="front-channel-state",
        response_type="token",
        code_challenge_method="plain",
        prompt="none",
        audience=AUDIENCE,
    )
    login = driver.get_login(challenge).json()
    assert login["requested_scope"] == ["openid", "offline_access"]
    assert login["requested_access_token_audience"] == []
    redirect_to = driver.accept_login(challenge, subject=unique("user") + "@example.com")
    consent_challenge = driver.consent_challenge_after(redirect_to)
    callback = driver.callback_after(driver.accept_consent(consent_challenge))  # REDIRECT_URI
    assert callback["state"] == driver.state
    assert callback["scope"].split() == ["openid", "offline_access"]
    response = driver.exchange(callback["code"])
    assert response.status_code == 200, response.text


def test_public_client_pushes_with_pkce(dev_server):
    client = par_client(dev_server, token_endpoint_auth_method="none")
    assert not client.get("client_secret")
    driver = PushingDriver(dev_server, client)
    assert_refused(driver.push(auth="none", pkce=False), "invalid_request")
    callback = driver.run_pushed(driver.pushed(auth="none"))
    response = exchange_public(driver, callback["code"])
    assert response.status_code == 200, response.text
    assert response.json()["access_token"]


def test_private_key_jwt_client_pushes(dev_server):
    client = par_client(
        dev_server,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [KEY.as_dict(private=False)]},
    )
    issuer = discovery(dev_server)["issuer"]
    driver = PushingDriver(dev_server, client)
    form = {
        **driver.request_params(),
        "client_id": client["client_id"],
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(client["client_id"], issuer),
    }
    par_url = dev_server.public_url + "/oauth2/par"
    response = requests.post(par_url, data=form, timeout=TIMEOUT)
    assert_pushed(response)
    # The assertion was one-time: replayed, it is refused.
    replay = requests.post(par_url, data=form, timeout=TIMEOUT)
    assert_refused(replay, "invalid_client", 401)
    # And a foreign key is refused.
    other = RSAKey.generate_key(2048, parameters={"kid": "par-1"}, private=True)
    forged = jwt.encode(
        {"alg": "RS256", "kid": "par-1"},
        {
            "iss": client["client_id"],
            "sub": client["client_id"],
            "aud": issuer,
            "exp": int(time.time()) + 60,
            "jti": uuid.uuid4().hex,
        },
        other,
    )
    assert_refused(
        requests.post(par_url, data={**form, "client_assertion": forged}, timeout=TIMEOUT),
        "invalid_client",
        401,
    )

    callback = driver.run_pushed(response.json()["request_uri"])
    token = requests.post(
        dev_server.public_url + "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": callback["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": driver.code_verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(
                client["client_id"], dev_server.public_url + "/oauth2/token"
            ),
        },
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text


def test_pushed_answer_is_not_cached_and_each_reference_is_new(dev_server):
    driver = PushingDriver(dev_server, par_client(dev_server))
    first = assert_pushed(driver.push())
    second = assert_pushed(driver.push())
    assert first["request_uri"] != second["request_uri"]
    # Both are live: each starts its own flow.
    driver.start_pushed(second["request_uri"])
    driver.start_pushed(first["request_uri"])


# -- the reference at /oauth2/auth ----------------------------------------------------------


def test_a_reference_is_single_use(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    request_uri = driver.pushed()
    driver.start_pushed(request_uri)
    assert_error_page(driver.authorize_pushed(request_uri), "invalid_request_uri")
    # From another browser too.
    other = PushingDriver(dev_server, driver.client)
    assert_error_page(other.authorize_pushed(request_uri), "invalid_request_uri")


def test_another_clients_reference_is_refused(dev_server):
    owner = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    thief = PushingDriver(dev_server, par_client(dev_server, **PUBLIC))
    request_uri = owner.pushed()
    assert_error_page(thief.authorize_pushed(request_uri), "invalid_request_uri")
    # The attempt did not use it up for its owner.
    owner.start_pushed(request_uri)


def _random_reference() -> str:
    return PREFIX + secrets.token_urlsafe(32)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda uri: uri[:-1], id="truncated"),
        pytest.param(lambda uri: uri + "A", id="one-char-longer"),
        pytest.param(lambda uri: uri[:-1] + ("A" if uri[-1] != "A" else "B"), id="last-changed"),
        pytest.param(lambda uri: uri.upper(), id="upper-cased"),
        pytest.param(lambda uri: PREFIX, id="prefix-only"),
        pytest.param(lambda uri: PREFIX + "!" * 43, id="bad-alphabet"),
        pytest.param(lambda uri: PREFIX + "é" * 43, id="non-ascii"),
        pytest.param(lambda uri: PREFIX + "a" * 5000, id="very-long"),
        pytest.param(lambda uri: _random_reference(), id="never-issued"),
        pytest.param(lambda uri: uri + " ", id="trailing-space"),
    ],
)
def test_garbage_references_are_an_error_page(dev_server, mangle):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    request_uri = driver.pushed()
    response = driver.authorize_pushed(mangle(request_uri))
    assert response.status_code < 500, response.text
    assert_error_page(response)
    assert "Location" not in response.headers
    # The real one was not touched.
    driver.start_pushed(request_uri)


def test_nul_byte_in_the_reference_is_refused(dev_server):
    """Refused before the flow is reached (the server's malformed-request answer)."""
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    request_uri = driver.pushed()
    response = driver.authorize_pushed(request_uri + "\x00")
    assert response.status_code == 400, response.text
    assert "Location" not in response.headers
    driver.start_pushed(request_uri)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"client_id": None}, id="no-client_id"),
        pytest.param({"client_id": ""}, id="empty-client_id"),
        pytest.param({"client_id": "no-such-client-xyz"}, id="unknown-client_id"),
    ],
)
def test_reference_without_its_client_is_an_error_page(dev_server, params):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    request_uri = driver.pushed()
    assert_error_page(driver.authorize_pushed(request_uri, **params))
    driver.start_pushed(request_uri)


def test_reference_sent_twice_is_an_error_page(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    request_uri = driver.pushed()
    response = driver.browser.get(
        dev_server.public_url + "/oauth2/auth",
        params=[
            ("client_id", driver.client["client_id"]),
            ("request_uri", request_uri),
            ("request_uri", request_uri),
        ],
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert_error_page(response, "invalid_request")


def test_a_non_pushed_request_uri_goes_back_to_the_client(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    response = driver.authorize(request_uri="https://client.example.com/request.jwt")
    received = assert_client_error(response, dev_server, driver, "request_uri_not_supported")
    assert received["state"] == driver.state


def test_one_reference_many_browsers_at_once(dev_server):
    """Twenty browsers race for one reference: exactly one reaches the login app."""
    driver = PushingDriver(dev_server, shared_client(dev_server))
    request_uri = driver.pushed()
    count = 20
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def attempt(index: int) -> None:
        with requests.Session() as browser:
            barrier.wait(timeout=TIMEOUT)
            try:
                results[index] = browser.get(
                    dev_server.public_url + "/oauth2/auth",
                    params={"client_id": driver.client["client_id"], "request_uri": request_uri},
                    allow_redirects=False,
                    timeout=30,
                )
            except Exception as exc:  # reported below
                results[index] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(result, requests.Response) for result in results), results
    statuses = sorted(result.status_code for result in results)
    winners = [result for result in results if result.status_code == 302]
    assert len(winners) == 1, statuses
    assert "login_challenge=" in winners[0].headers["Location"]
    for result in results:
        if result is not winners[0]:
            assert_error_page(result, "invalid_request_uri")


# -- errors at the pushed authorization request endpoint -------------------------------------


def test_request_uri_in_the_body_is_invalid_request(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    assert_refused(driver.push(request_uri=_random_reference()), "invalid_request")
    assert_refused(
        driver.push(request_uri="https://client.example.com/request.jwt"), "invalid_request"
    )
    # Not even a live one of ours.
    assert_refused(driver.push(request_uri=driver.pushed()), "invalid_request")


def test_request_object_in_the_body_is_not_supported(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server, **PUBLIC))
    assert_refused(driver.push(request="eyJhbGciOiJub25lIn0.e30."), "request_not_supported")


@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param("wrong-secret", id="wrong-secret"),
        pytest.param("", id="empty-secret"),
    ],
)
def test_wrong_client_secret_is_invalid_client(dev_server, credentials):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    response = requests.post(
        dev_server.public_url + "/oauth2/par",
        data=driver.request_params(),
        auth=(driver.client["client_id"], credentials),
        timeout=TIMEOUT,
    )
    assert_refused(response, "invalid_client", 401)


def test_unknown_client_and_no_authentication_are_invalid_client(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    url = dev_server.public_url + "/oauth2/par"
    response = requests.post(
        url, data=driver.request_params(), auth=("no-such-client", "secret"), timeout=TIMEOUT
    )
    assert_refused(response, "invalid_client", 401)
    # A confidential client naming itself without a secret.
    response = requests.post(
        url,
        data={**driver.request_params(), "client_id": driver.client["client_id"]},
        timeout=TIMEOUT,
    )
    assert_refused(response, "invalid_client", 401)


def test_body_client_id_must_name_the_authenticated_client(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    other = shared_client(dev_server, **PUBLIC)
    assert_refused(driver.push(client_id=other["client_id"]), "invalid_request")
    # Naming itself is fine.
    assert_pushed(driver.push(client_id=driver.client["client_id"]))


# (params, error, client fields, pkce)
VALIDATION_CASES = [
    pytest.param(
        {"redirect_uri": "https://evil.example.com/callback"},
        "invalid_request",
        {},
        True,
        id="redirect_uri-not-registered",
    ),
    pytest.param(
        {"redirect_uri": REDIRECT_URI + "/evil"},
        "invalid_request",
        {},
        True,
        id="redirect_uri-suffix",
    ),
    pytest.param(
        {"redirect_uri": None},
        "invalid_request",
        {},
        True,
        id="redirect_uri-missing-two-registered",
    ),
    pytest.param(
        {"redirect_uri": [REDIRECT_URI, REDIRECT_URI]},
        "invalid_request",
        {},
        True,
        id="redirect_uri-twice",
    ),
    pytest.param({"response_type": None}, "invalid_request", {}, True, id="missing-response_type"),
    pytest.param(
        {"response_type": "token"}, "unsupported_response_type", {}, True, id="response_type-token"
    ),
    pytest.param(
        {"response_type": "code id_token"},
        "unsupported_response_type",
        {},
        True,
        id="response_type-hybrid",
    ),
    pytest.param({"scope": "openid admin"}, "invalid_scope", {}, True, id="scope-not-allowed"),
    pytest.param(
        {"scope": 'openid "profile"'}, "invalid_scope", {}, True, id="scope-bad-character"
    ),
    pytest.param(
        {"audience": "https://evil.example.com"},
        "invalid_request",
        {},
        True,
        id="audience-not-allowed",
    ),
    pytest.param({"prompt": "none login"}, "invalid_request", {}, True, id="prompt-none-and-login"),
    pytest.param({"prompt": "bogus"}, "invalid_request", {}, True, id="prompt-unknown"),
    pytest.param({"max_age": "abc"}, "invalid_request", {}, True, id="max_age-not-a-number"),
    pytest.param({"display": "bogus"}, "invalid_request", {}, True, id="display-bogus"),
    pytest.param(
        {"response_mode": "fragment"}, "invalid_request", {}, True, id="response_mode-fragment"
    ),
    pytest.param({"code_challenge_method": "plain"}, "invalid_request", {}, True, id="pkce-plain"),
    pytest.param(
        {"code_challenge_method": None},
        "invalid_request",
        {},
        True,
        id="pkce-challenge-without-method",
    ),
    pytest.param(
        {"code_challenge": None}, "invalid_request", {}, True, id="pkce-method-without-challenge"
    ),
    pytest.param(
        {"code_challenge": "abc123"}, "invalid_request", {}, True, id="pkce-challenge-too-short"
    ),
    pytest.param(
        {},
        "invalid_request",
        {"token_endpoint_auth_method": "none"},
        False,
        id="public-client-without-pkce",
    ),
    pytest.param(
        {},
        "unauthorized_client",
        {"grant_types": ["client_credentials"]},
        True,
        id="client-without-authorization_code-grant",
    ),
    pytest.param(
        {"state": ["first-state-value", "second-state-value"]},
        "invalid_request",
        {},
        True,
        id="state-twice",
    ),
    pytest.param(
        {"resource": AUDIENCE + "#fragment"},
        "invalid_target",
        {},
        True,
        id="resource-with-fragment",
    ),
    pytest.param(
        {"resource": "/relative/resource"}, "invalid_target", {}, True, id="resource-relative"
    ),
    pytest.param(
        {"resource": "https://other.example.com"},
        "invalid_target",
        {},
        True,
        id="resource-not-allowed",
    ),
    pytest.param(
        {"id_token_hint": "not-a-jwt"}, "invalid_request", {}, True, id="id_token_hint-garbage"
    ),
    pytest.param(
        {"id_token_hint": "foreign"}, "invalid_request", {}, True, id="id_token_hint-not-ours"
    ),
]


@pytest.mark.parametrize(("params", "error", "client", "pkce"), VALIDATION_CASES)
def test_invalid_authorization_request_is_refused_at_push(dev_server, params, error, client, pkce):
    fields = {"token_endpoint_auth_method": "client_secret_post", **client}
    if client.get("token_endpoint_auth_method") == "none":
        fields = client
    driver = PushingDriver(dev_server, shared_client(dev_server, **fields))
    if params.get("id_token_hint") == "foreign":
        params = {**params, "id_token_hint": foreign_id_token(dev_server)}
    form = driver.request_params(pkce, **params)
    if fields.get("token_endpoint_auth_method") == "none":
        form["client_id"] = driver.client["client_id"]
    else:
        form.update(
            client_id=driver.client["client_id"], client_secret=driver.client["client_secret"]
        )
    response = requests.post(dev_server.public_url + "/oauth2/par", data=form, timeout=TIMEOUT)
    body = assert_refused(response, error)
    assert body.get("error_description")


def test_the_table_baseline_is_accepted(dev_server):
    """The same defaults without a fault (and every optional parameter set) push fine."""
    driver = PushingDriver(dev_server, shared_client(dev_server))
    response = driver.push(
        audience=AUDIENCE,
        resource=AUDIENCE,
        prompt="login consent",
        max_age="60",
        display="page",
        response_mode="query",
        ui_locales="en",
        acr_values="1",
        login_hint="ann",
    )
    assert_pushed(response)


def test_get_is_not_allowed(dev_server):
    response = requests.get(dev_server.public_url + "/oauth2/par", timeout=TIMEOUT)
    assert response.status_code == 405, response.text
    assert "POST" in response.headers.get("Allow", "")


def test_parameters_in_the_query_string_are_refused(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    auth = (driver.client["client_id"], driver.client["client_secret"])
    url = dev_server.public_url + "/oauth2/par"
    only_query = requests.post(url, params=driver.request_params(), auth=auth, timeout=TIMEOUT)
    assert_refused(only_query, "invalid_request")
    both = requests.post(
        url,
        params={"scope": "openid profile"},
        data=driver.request_params(),
        auth=auth,
        timeout=TIMEOUT,
    )
    assert_refused(both, "invalid_request")


def test_json_body_is_refused(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    response = requests.post(
        dev_server.public_url + "/oauth2/par",
        json=driver.request_params(),
        auth=(driver.client["client_id"], driver.client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert_refused(response, "invalid_request")


def test_repeated_single_valued_parameter_is_refused(dev_server):
    driver = PushingDriver(dev_server, shared_client(dev_server))
    form = [*driver.request_params().items(), ("scope", "openid")]
    response = requests.post(
        dev_server.public_url + "/oauth2/par",
        data=form,
        auth=(driver.client["client_id"], driver.client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert_refused(response, "invalid_request")


# -- discovery and enforcement ----------------------------------------------------------------


def test_discovery_names_the_endpoint(dev_server):
    server = dev_server
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        metadata = requests.get(server.public_url + path, timeout=TIMEOUT).json()
        assert metadata["pushed_authorization_request_endpoint"] == (
            metadata["issuer"].rstrip("/") + "/oauth2/par"
        ), metadata
        assert metadata["require_pushed_authorization_requests"] is False, metadata


def test_client_requiring_pushed_requests(dev_server):
    client = par_client(dev_server, require_pushed_authorization_requests=True)
    assert client["require_pushed_authorization_requests"] is True
    driver = PushingDriver(dev_server, client)
    received = assert_client_error(driver.authorize(), dev_server, driver, "invalid_request")
    assert received["state"] == driver.state
    callback = driver.run_pushed(driver.pushed())
    assert driver.exchange(callback["code"]).status_code == 200
    # Another client of the same server is not affected.
    plain = PushingDriver(dev_server, par_client(dev_server))
    plain.start()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def enforcing_server(request, tmp_path_factory):
    """PAR required server-wide, references living 2 s, CORS on (``--dev``: the flow's
    cookies over http). One per backend for the whole module; keep its tests few."""
    with dedicated_server(request, tmp_path_factory, "par", DEDICATED_ENV) as server:
        yield server


def test_server_wide_enforcement(enforcing_server):
    server = enforcing_server
    assert discovery(server)["require_pushed_authorization_requests"] is True
    driver = PushingDriver(server, par_client(server))
    received = assert_client_error(driver.authorize(), server, driver, "invalid_request")
    assert received["state"] == driver.state
    response = driver.push()
    assert_pushed(response, expires_in=2)
    callback = driver.run_pushed(response.json()["request_uri"])
    assert driver.exchange(callback["code"]).status_code == 200


def test_expired_reference_is_an_error_page(enforcing_server):
    driver = PushingDriver(enforcing_server, par_client(enforcing_server))
    response = driver.push()
    assert_pushed(response, expires_in=2)
    request_uri = response.json()["request_uri"]
    # Expiry is in whole seconds of the server's clock, which only the harness can move: a
    # reference lives TTL_PUSHED_AUTHORIZATION_REQUEST=2s, and using it to poll would spend it.
    time.sleep(3)
    assert_error_page(driver.authorize_pushed(request_uri), "invalid_request_uri")


def test_cors_for_a_browser_client(enforcing_server):
    server = enforcing_server
    client = par_client(
        server, token_endpoint_auth_method="none", allowed_cors_origins=[CORS_ORIGIN]
    )
    driver = PushingDriver(server, client)
    form = {**driver.request_params(), "client_id": client["client_id"]}
    url = server.public_url + "/oauth2/par"
    response = requests.post(url, data=form, headers={"Origin": CORS_ORIGIN}, timeout=TIMEOUT)
    assert_pushed(response, expires_in=2)
    assert response.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    # Another origin gets no CORS headers (the request itself is still answered).
    response = requests.post(
        url, data=form, headers={"Origin": "https://elsewhere.example"}, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    assert "Access-Control-Allow-Origin" not in response.headers
