"""Two ``authserver serve all`` processes on one PostgreSQL database (horizontal scaling).

Instances A and B share the database, ``SECRETS_SYSTEM`` and ``URLS_SELF_ISSUER``, as N
replicas behind a load balancer would. The issuer names a port nobody listens on (the load
balancer's address): a redirect to it is routed by the test to whichever instance it
chooses, and the scripted browser keeps its cookies for 127.0.0.1 across both ports, as a
browser does behind one host name.

What is checked: a token or code made on one instance is honoured and revoked on the
other, a refresh token reused on one instance revokes the family everywhere, and changes
made through one instance's admin API (client secret, client deletion, signing keys) are
seen by the other within a bounded time: processes cache clients (``CLIENTS_CACHE_TTL``,
set to 1s here) and keys (about 5 s), and nothing else.

PostgreSQL only (SQLite is a single-machine database): without
``AUTHSERVER_TEST_POSTGRES_DSN`` these tests are reported as not run.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import jwt
import pytest
import requests

from tests.conftest import ServerProcess, free_port
from tests.integration.oauth_flow import TIMEOUT, FlowDriver, create_code_client

pytestmark = pytest.mark.postgres

ACCESS_TOKEN_SET = "hydra.jwt.access-token"
ID_TOKEN_SET = "hydra.openid.id-token"
# Longer than every per-process cache (clients: CLIENTS_CACHE_TTL=1s, keys: 5 s), with room
# for a busy CI machine.
PROPAGATION_SECONDS = 10
INACTIVE = {"active": False}


# -- two instances -------------------------------------------------------------------------


@pytest.fixture
def instances(make_database, server_factory) -> tuple[ServerProcess, ServerProcess]:
    """A and B: same database, system secret and issuer; separate ports and processes."""
    database = make_database("postgres")
    shared = {
        "SECRETS_SYSTEM": secrets.token_urlsafe(32),
        "URLS_SELF_ISSUER": f"http://127.0.0.1:{free_port()}/",
        # Ignored by a server that does not know the variable (then nothing is cached).
        "CLIENTS_CACHE_TTL": "1s",
    }
    # --dev: the browser talks plain http, so the cookies must not be Secure.
    a = server_factory("postgres", env=shared, args=("--dev",), database=database)
    b = server_factory("postgres", env=shared, args=("--dev",), database=database)
    return a, b


def routed(url: str, instance: ServerProcess) -> str:
    """``url`` (on the issuer's address) as the load balancer would route it to ``instance``."""
    target = urlsplit(instance.public_url)
    return urlunsplit(urlsplit(url)._replace(scheme=target.scheme, netloc=target.netloc))


def eventually(what: str, check: Callable[[], object], timeout: float = PROPAGATION_SECONDS):
    """Poll ``check`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout} s (last: {result!r})")
        time.sleep(0.2)


# -- HTTP helpers --------------------------------------------------------------------------


def admin(instance: ServerProcess, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, instance.admin_url + path, timeout=TIMEOUT, **kwargs)


def create_client(instance: ServerProcess, **fields) -> dict:
    body = {"grant_types": ["client_credentials"], "scope": "read", **fields}
    response = admin(instance, "POST", "/admin/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def client_credentials(instance: ServerProcess, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        instance.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=TIMEOUT,
    )


def issue(instance: ServerProcess, client: dict) -> str:
    response = client_credentials(instance, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(instance: ServerProcess, token: str) -> dict:
    response = admin(instance, "POST", "/admin/oauth2/introspect", data={"token": token})
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response: requests.Response) -> tuple[int, str | None]:
    """(status, RFC 6749 error code) of a response, for compact assertions."""
    try:
        return response.status_code, response.json().get("error")
    except ValueError:
        return response.status_code, None


def jwks(instance: ServerProcess) -> dict[str, dict]:
    response = requests.get(instance.public_url + "/.well-known/jwks.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return {key["kid"]: key for key in response.json()["keys"]}


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def verify_with_jwks(instance: ServerProcess, token: str, issuer: str, **options) -> dict:
    """Verify ``token`` with PyJWT against ``instance``'s published keys; its claims."""
    key = jwks(instance).get(kid_of(token))
    assert key is not None, f"kid {kid_of(token)} is not published by {instance.public_url}"
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], issuer=issuer, **options)


def rotate(instance: ServerProcess, set_id: str) -> str:
    """Create a new signing key in ``set_id`` through ``instance``'s admin API; its kid."""
    response = admin(instance, "POST", f"/admin/keys/{set_id}", json={"alg": "RS256"})
    assert response.status_code == 201, response.text
    return response.json()["keys"][0]["kid"]


def signed_with(kid: str, token: str) -> str | None:
    return token if kid_of(token) == kid else None


def flow_on(instance: ServerProcess, driver: FlowDriver, **login) -> dict[str, str]:
    """A whole flow through ``instance`` (browser and admin API), login and consent
    accepted; the client's callback parameters."""
    driver.server = instance
    redirect_to = driver.accept_login(driver.start(), **login)
    consent_challenge = driver.consent_challenge_after(routed(redirect_to, instance))
    return driver.callback_after(routed(driver.accept_consent(consent_challenge), instance))


def subject() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


# -- 1. tokens -----------------------------------------------------------------------------


def test_token_from_a_introspects_and_is_revoked_at_b(instances):
    a, b = instances
    client = create_client(a)
    token = issue(a, client)

    seen_at_b = introspect(b, token)
    assert seen_at_b["active"] is True
    assert seen_at_b["client_id"] == client["client_id"]

    revoked = requests.post(
        b.public_url + "/oauth2/revoke",
        data={"token": token},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200, revoked.text

    assert introspect(a, token) == INACTIVE
    assert introspect(b, token) == INACTIVE


# -- 2. the authorization code flow across instances ---------------------------------------


def test_code_flow_across_instances_and_refresh_reuse_revokes_everywhere(instances):
    a, b = instances
    issuer = a.env["URLS_SELF_ISSUER"]
    client = create_code_client(a)
    driver = FlowDriver(a, client)  # driver.server: where the load balancer sends requests

    # The browser starts at A; the login and consent app talk to B's admin API; the
    # browser's returns from the login and consent apps land on B.
    login_challenge = driver.start()
    driver.server = b
    assert driver.get_login(login_challenge).json()["skip"] is False
    redirect_to = driver.accept_login(login_challenge, subject=subject())
    consent_challenge = driver.consent_challenge_after(routed(redirect_to, b))
    redirect_to = driver.accept_consent(consent_challenge)
    callback = driver.callback_after(routed(redirect_to, b))
    assert callback["state"] == driver.state
    assert callback["iss"] == issuer

    # The client redeems the code (PKCE S256) at A.
    driver.server = a
    exchanged = driver.exchange(callback["code"])
    assert exchanged.status_code == 200, exchanged.text
    first = exchanged.json()
    claims = verify_with_jwks(b, first["id_token"], issuer, audience=client["client_id"])
    assert claims["nonce"] == driver.nonce

    # The refresh token rotates at B ...
    driver.server = b
    refreshed = driver.refresh(first["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert introspect(a, second["access_token"])["active"] is True

    # ... and the old one, replayed at A, is refused and revokes the whole family.
    driver.server = a
    assert error_of(driver.refresh(first["refresh_token"])) == (400, "invalid_grant")
    for instance in (a, b):
        assert introspect(instance, second["access_token"]) == INACTIVE
        assert introspect(instance, second["refresh_token"]) == INACTIVE
    driver.server = b
    assert error_of(driver.refresh(second["refresh_token"])) == (400, "invalid_grant")


# -- 3. client changes made through the other instance ------------------------------------


def test_client_secret_rotation_and_deletion_reach_the_other_instance(instances):
    a, b = instances
    client = create_client(a)
    client_id, old_secret = client["client_id"], client["client_secret"]
    # Both instances have used the client (and may have cached it).
    issue(a, client)
    issue(b, client)

    # Hydra's PUT replaces the whole client; a client_secret in it sets a new secret.
    document = admin(b, "GET", f"/admin/clients/{client_id}").json()
    new_secret = secrets.token_urlsafe(24)
    updated = admin(
        b, "PUT", f"/admin/clients/{client_id}", json={**document, "client_secret": new_secret}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["client_secret"] == new_secret

    # The instance that made the change sees it at once ...
    assert client_credentials(b, client_id, new_secret).status_code == 200
    assert error_of(client_credentials(b, client_id, old_secret)) == (401, "invalid_client")

    # ... the other one within its client cache lifetime.
    def a_uses_the_new_secret() -> bool:
        return (
            error_of(client_credentials(a, client_id, old_secret)) == (401, "invalid_client")
            and client_credentials(a, client_id, new_secret).status_code == 200
        )

    eventually("A accepts only the new secret", a_uses_the_new_secret)

    deleted = admin(b, "DELETE", f"/admin/clients/{client_id}")
    assert deleted.status_code == 204, deleted.text
    assert error_of(client_credentials(b, client_id, new_secret)) == (401, "invalid_client")
    eventually(
        "A refuses the deleted client",
        lambda: error_of(client_credentials(a, client_id, new_secret)) == (401, "invalid_client"),
    )


# -- 4. signing keys rotated through the other instance ------------------------------------


def test_key_rotation_at_b_is_used_and_published_by_a(instances):
    a, b = instances
    issuer = a.env["URLS_SELF_ISSUER"]
    client = create_client(a, access_token_strategy="jwt")
    before = issue(a, client)

    new_access_kid = rotate(b, ACCESS_TOKEN_SET)
    new_id_kid = rotate(b, ID_TOKEN_SET)
    assert new_access_kid != kid_of(before)

    eventually("A publishes both new keys", lambda: {new_access_kid, new_id_kid} <= set(jwks(a)))
    after = eventually(
        "A signs access tokens with the new key",
        lambda: signed_with(new_access_kid, issue(a, client)),
    )

    # B honours what A signed, under the old key and the new one.
    for token in (before, after):
        assert introspect(b, token)["active"] is True
        claims = verify_with_jwks(b, token, issuer, options={"verify_aud": False})
        assert claims["client_id"] == client["client_id"]

    # An ID token made at A after the rotation is signed with the new key of its set and
    # verifies against B's JWKS.
    code_client = create_code_client(a)
    driver = FlowDriver(a, code_client)
    exchanged = driver.exchange(flow_on(a, driver, subject=subject())["code"])
    assert exchanged.status_code == 200, exchanged.text
    id_token = exchanged.json()["id_token"]
    assert kid_of(id_token) == new_id_kid
    claims = verify_with_jwks(b, id_token, issuer, audience=code_client["client_id"])
    assert claims["nonce"] == driver.nonce


# -- 5. a remembered login is valid on every instance -------------------------------------


def test_login_remembered_at_a_is_skipped_at_b(instances):
    a, b = instances
    client = create_code_client(a)
    user = subject()

    first = FlowDriver(a, client)
    flow_on(a, first, subject=user, remember=True)

    # The same browser (same cookies) comes back through B.
    second = FlowDriver(b, client)
    second.browser = first.browser
    login_challenge = second.start()
    login = second.get_login(login_challenge).json()
    assert login["skip"] is True
    assert login["subject"] == user

    # The login app accepts the skipped login at A; the flow goes on at B.
    second.server = a
    redirect_to = second.accept_login(login_challenge, subject=user)
    second.server = b
    consent_challenge = second.consent_challenge_after(routed(redirect_to, b))
    callback = second.callback_after(routed(second.accept_consent(consent_challenge), b))
    exchanged = second.exchange(callback["code"])
    assert exchanged.status_code == 200, exchanged.text
    assert introspect(a, exchanged.json()["access_token"])["sub"] == user

    # A browser without the cookie is not recognised.
    stranger = FlowDriver(b, client)
    assert stranger.get_login(stranger.start()).json()["skip"] is False
