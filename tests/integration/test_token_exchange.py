"""Token exchange (RFC 8693) on a real server, on SQLite and on PostgreSQL: a user's access
token passed on by the API it was issued for, delegation with an actor token (``act``),
ID tokens and trusted issuers' JWTs as subject tokens, the policy of who may exchange
what, narrowing, and a table of refused requests (each an RFC error, never a 5xx).

The other side is plain ``requests``: no Python client library speaks RFC 8693.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.integration.oauth_flow import FlowDriver, create_code_client

TIMEOUT = 10
GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
API = "https://api.example/"
DOWNSTREAM = "https://downstream.example/"
IDP_KEY = RSAKey.generate_key(2048, parameters={"kid": "exchange-idp"}, private=True)


@dataclass(frozen=True)
class Party:
    client_id: str
    client_secret: str


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def exchange(server, client, **form) -> requests.Response:
    body = {"grant_type": GRANT, **form}
    return requests.post(
        server.public_url + "/oauth2/token",
        data={key: value for key, value in body.items() if value is not None},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )


def introspect(server, token: str) -> dict:
    return requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    ).json()


def client_token(server, client, **form) -> str:
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def assert_refused(response: requests.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["error"] == error, response.text


@pytest.fixture
def parties(create_client):
    """``api``: a resource server that may exchange what it receives for the downstream
    API; ``app``: the client the user's token is issued to, for ``api``."""
    api = create_client(
        client_id=unique("api"),
        grant_types=["client_credentials", GRANT],
        scope="read write",
        audience=[DOWNSTREAM],
    )
    app = create_client(
        client_id=unique("app"),
        grant_types=["client_credentials"],
        scope="read write",
        audience=[api.client_id, API],
    )
    return app, api


# -- a token passed on -------------------------------------------------------------------


def test_an_api_exchanges_the_token_it_received_for_the_downstream_api(server, parties):
    app, api = parties
    original = client_token(server, app, scope="read write", audience=api.client_id)
    response = exchange(
        server, api, subject_token=original, subject_token_type=ACCESS, resource=DOWNSTREAM
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS
    assert body["token_type"] == "bearer" and "refresh_token" not in body
    assert body["scope"] == "read write"  # all of the subject's that the client may have
    claims = introspect(server, body["access_token"])
    assert claims["active"] and claims["client_id"] == api.client_id
    assert claims["sub"] == app.client_id and claims["aud"] == [DOWNSTREAM]
    assert "act" not in claims  # no actor token: an impersonation (RFC 8693 §1.1)


def test_the_scope_only_narrows(server, parties):
    app, api = parties
    original = client_token(server, app, scope="read", audience=api.client_id)
    narrowed = exchange(server, api, subject_token=original, subject_token_type=ACCESS)
    assert narrowed.json()["scope"] == "read"
    wider = exchange(
        server, api, subject_token=original, subject_token_type=ACCESS, scope="read write"
    )
    assert_refused(wider, "invalid_scope")


def test_the_new_token_does_not_outlive_the_subject_token(server, create_client, parties):
    app, api = parties
    short = create_client(
        client_id=unique("short"),
        grant_types=["client_credentials"],
        audience=[api.client_id],
        client_credentials_grant_access_token_lifespan="20s",
    )
    original = client_token(server, short, audience=api.client_id)
    body = exchange(server, api, subject_token=original, subject_token_type=ACCESS).json()
    assert body["expires_in"] <= 20


def test_a_jwt_is_issued_when_asked_for(server, parties):
    app, api = parties
    original = client_token(server, app, audience=api.client_id)
    response = exchange(
        server,
        api,
        subject_token=original,
        subject_token_type=ACCESS,
        requested_token_type=JWT,
        audience=DOWNSTREAM,
    )
    body = response.json()
    assert body["issued_token_type"] == JWT
    payload = _payload(body["access_token"])
    assert payload["aud"] == [DOWNSTREAM] and payload["sub"] == app.client_id
    assert payload["client_id"] == api.client_id


def test_revoking_the_exchanged_token_leaves_the_subject_token_alone(server, parties):
    app, api = parties
    original = client_token(server, app, audience=api.client_id)
    issued = exchange(server, api, subject_token=original, subject_token_type=ACCESS).json()
    revoked = requests.post(
        server.public_url + "/oauth2/revoke",
        data={"token": issued["access_token"]},
        auth=(api.client_id, api.client_secret),
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200
    assert introspect(server, issued["access_token"])["active"] is False
    assert introspect(server, original)["active"] is True  # another client's grant


# -- delegation --------------------------------------------------------------------------


def test_delegation_names_the_actor_and_nests_earlier_ones(server, parties, create_client):
    app, api = parties
    original = client_token(server, app, audience=api.client_id)
    own = client_token(server, api)
    first = exchange(
        server,
        api,
        subject_token=original,
        subject_token_type=ACCESS,
        actor_token=own,
        actor_token_type=ACCESS,
        requested_token_type=JWT,
    ).json()
    act = {"sub": api.client_id, "client_id": api.client_id}
    assert introspect(server, first["access_token"])["act"] == act
    assert _payload(first["access_token"])["act"] == act
    # The delegated token passed on again, by a second service acting for the first.
    second_service = create_client(
        client_id=unique("second"), grant_types=["client_credentials", GRANT], scope="read"
    )
    relayed = client_token(server, app, audience=api.client_id)
    delegated = exchange(
        server,
        api,
        subject_token=relayed,
        subject_token_type=ACCESS,
        actor_token=own,
        actor_token_type=ACCESS,
    ).json()
    assert introspect(server, delegated["access_token"])["act"] == act
    # second_service may not exchange a token that names neither it nor was issued to it.
    refused = exchange(
        server, second_service, subject_token=delegated["access_token"], subject_token_type=ACCESS
    )
    assert_refused(refused, "invalid_request")


def test_an_actor_token_must_be_the_clients_own(server, parties):
    app, api = parties
    original = client_token(server, app, audience=api.client_id)
    someone_elses = client_token(server, app)
    response = exchange(
        server,
        api,
        subject_token=original,
        subject_token_type=ACCESS,
        actor_token=someone_elses,
        actor_token_type=ACCESS,
    )
    assert_refused(response, "invalid_request")


# -- other subject tokens ----------------------------------------------------------------


def test_an_id_token_gives_an_identity_token_without_scope(dev_server):
    server = dev_server  # the browser's cookies over plain http
    client = create_code_client(
        server, grant_types=["authorization_code", GRANT], audience=[DOWNSTREAM]
    )
    driver = FlowDriver(server, client)
    code = driver.run(login={"subject": "alice"})["code"]
    tokens = driver.exchange(code).json()
    holder = Party(client["client_id"], client["client_secret"])
    response = exchange(
        server,
        holder,
        subject_token=tokens["id_token"],
        subject_token_type=ID_TOKEN,
        audience=DOWNSTREAM,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == ""  # an ID token grants nothing
    claims = introspect(server, body["access_token"])
    assert claims["sub"] == "alice" and claims["aud"] == [DOWNSTREAM]
    # Asking for scope with an ID token is refused; another client cannot use it at all.
    with_scope = exchange(
        server,
        holder,
        subject_token=tokens["id_token"],
        subject_token_type=ID_TOKEN,
        scope="openid",
    )
    assert_refused(with_scope, "invalid_scope")
    other = create_code_client(server, grant_types=[GRANT], redirect_uris=[])
    stranger = Party(other["client_id"], other["client_secret"])
    assert_refused(
        exchange(server, stranger, subject_token=tokens["id_token"], subject_token_type=ID_TOKEN),
        "invalid_request",
    )


def test_a_trusted_issuers_jwt_is_exchanged_within_the_trust(server, create_client):
    issuer = unique("https://idp.example/")
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    created = requests.post(
        server.admin_url + "/admin/trust/grants/jwt-bearer/issuers",
        json={
            "issuer": issuer,
            "subject": "bob@example.com",
            "scope": ["read"],
            "jwk": IDP_KEY.as_dict(private=False),
            "expires_at": expires.replace("+00:00", "Z"),
        },
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    client = create_client(client_id=unique("broker"), grant_types=[GRANT], scope="read write")
    now = int(time.time())
    claims = {"iss": issuer, "sub": "bob@example.com", "aud": server.public_url + "/oauth2/token"}
    signed = jwt.encode(
        {"alg": "RS256", "kid": IDP_KEY.kid}, {**claims, "iat": now, "exp": now + 300}, IDP_KEY
    )
    response = exchange(server, client, subject_token=signed, subject_token_type=JWT)
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "read"  # the trust's scope, not the client's
    assert introspect(server, response.json()["access_token"])["sub"] == "bob@example.com"
    # The same JWT may be exchanged again (subject tokens are not single-use) ...
    again = exchange(server, client, subject_token=signed, subject_token_type=JWT)
    assert again.status_code == 200
    # ... but not for more than the trust allows, nor when it names another audience.
    assert_refused(
        exchange(server, client, subject_token=signed, subject_token_type=JWT, scope="write"),
        "invalid_scope",
    )
    elsewhere = jwt.encode(
        {"alg": "RS256", "kid": IDP_KEY.kid},
        {**claims, "aud": "https://elsewhere.example", "iat": now, "exp": now + 300},
        IDP_KEY,
    )
    assert_refused(
        exchange(server, client, subject_token=elsewhere, subject_token_type=JWT),
        "invalid_request",
    )


# -- refused requests --------------------------------------------------------------------


@pytest.fixture
def subject(server, parties):
    app, api = parties
    return api, client_token(server, app, audience=api.client_id)


BAD_REQUESTS = [
    pytest.param({"subject_token": None}, "invalid_request", id="no-subject-token"),
    pytest.param({"subject_token_type": None}, "invalid_request", id="no-subject-type"),
    pytest.param({"subject_token_type": "urn:x:unknown"}, "invalid_request", id="unknown-type"),
    pytest.param(
        {"subject_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        "invalid_request",
        id="refresh-token-type",
    ),
    pytest.param({"subject_token": "ory_at_forged.x"}, "invalid_request", id="forged-token"),
    pytest.param({"subject_token": "x" * 20000}, "invalid_request", id="huge-token"),
    pytest.param({"subject_token": "a.b.c"}, "invalid_request", id="garbled-jwt"),
    pytest.param({"actor_token": "whatever"}, "invalid_request", id="actor-token-without-type"),
    pytest.param({"actor_token_type": ACCESS}, "invalid_request", id="actor-type-without-token"),
    pytest.param(
        {"actor_token": "nope", "actor_token_type": ACCESS}, "invalid_request", id="bad-actor"
    ),
    pytest.param({"requested_token_type": ID_TOKEN}, "invalid_request", id="requested-id-token"),
    pytest.param({"resource": "https://not-allowed.example/"}, "invalid_target", id="resource"),
    pytest.param({"resource": "relative/path"}, "invalid_target", id="relative-resource"),
    pytest.param({"resource": DOWNSTREAM + "#x"}, "invalid_target", id="resource-fragment"),
    pytest.param({"audience": "https://not-allowed.example/"}, "invalid_request", id="audience"),
    pytest.param({"scope": "admin"}, "invalid_scope", id="scope-beyond"),
]


@pytest.mark.parametrize(("change", "error"), BAD_REQUESTS)
def test_refused_exchanges(server, subject, change, error):
    api, token = subject
    form = {"subject_token": token, "subject_token_type": ACCESS, **change}
    assert_refused(exchange(server, api, **form), error)


def test_inactive_and_foreign_subject_tokens_are_refused(server, parties, create_client):
    app, api = parties
    revoked = client_token(server, app, audience=api.client_id)
    requests.post(
        server.public_url + "/oauth2/revoke",
        data={"token": revoked},
        auth=(app.client_id, app.client_secret),
        timeout=TIMEOUT,
    )
    assert_refused(
        exchange(server, api, subject_token=revoked, subject_token_type=ACCESS),
        "invalid_request",
    )
    not_for_api = client_token(server, app)  # issued to app, not naming api
    assert_refused(
        exchange(server, api, subject_token=not_for_api, subject_token_type=ACCESS),
        "invalid_request",
    )


def test_who_may_use_the_grant(server, parties, create_client):
    app, api = parties
    token = client_token(server, app, audience=api.client_id)
    # app does not hold the grant type; a public client cannot authenticate for it.
    assert_refused(
        exchange(server, app, subject_token=token, subject_token_type=ACCESS),
        "unauthorized_client",
    )
    public = requests.post(
        server.admin_url + "/admin/clients",
        json={
            "client_id": unique("public"),
            "grant_types": [GRANT],
            "token_endpoint_auth_method": "none",
        },
        timeout=TIMEOUT,
    ).json()
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={
            "grant_type": GRANT,
            "client_id": public["client_id"],
            "subject_token": token,
            "subject_token_type": ACCESS,
        },
        timeout=TIMEOUT,
    )
    assert response.status_code in (400, 401) and response.json()["error"] in (
        "invalid_client",
        "unauthorized_client",
    )


def test_discovery_lists_the_grant(server):
    metadata = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert GRANT in metadata["grant_types_supported"]


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
