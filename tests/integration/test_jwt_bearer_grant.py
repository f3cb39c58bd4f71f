"""The JWT bearer grant (RFC 7523 §2.1) and Hydra's trust API for it
(``/admin/trust/grants/jwt-bearer/issuers``), on each backend: the trust relationship's
life cycle and bad bodies, the grant with Authlib's ``AssertionSession`` as the client, a
table of refused assertions (``invalid_grant``), scope limits, replays under concurrency,
and Hydra's ``OAUTH2_GRANT_JWT_*`` settings."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from authlib.integrations.requests_client import AssertionSession
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

TIMEOUT = 10
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ISSUERS = "/admin/trust/grants/jwt-bearer/issuers"
KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1"}, private=True)
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1"}, private=True)
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "idp-ec"}, private=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def in_days(days: float) -> str:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def trust(server, **fields) -> requests.Response:
    body = {
        "issuer": unique("https://idp.example/"),
        "subject": "alice@example.com",
        "scope": ["read", "write"],
        "jwk": KEY.as_dict(private=False),
        "expires_at": in_days(1),
        **fields,
    }
    body = {name: value for name, value in body.items() if value is not None}
    return requests.post(server.admin_url + ISSUERS, json=body, timeout=TIMEOUT)


def trusted(server, **fields) -> dict:
    response = trust(server, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def token_url(server) -> str:
    return server.public_url + "/oauth2/token"


def assertion(server, issuer: str, subject="alice@example.com", key=KEY, alg="RS256", **claims):
    now = int(time.time())
    payload = {
        "iss": issuer,
        "sub": subject,
        "aud": token_url(server),
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def grant(server, client, signed: str, **form) -> requests.Response:
    return requests.post(
        token_url(server),
        data={"grant_type": GRANT, "assertion": signed, **form},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )


def introspect(server, token: str) -> dict:
    return requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    ).json()


@pytest.fixture
def client(create_client):
    return create_client(client_id=unique("jwt-bearer"), grant_types=[GRANT], scope="read write")


# -- the trust API -----------------------------------------------------------------------


def test_trust_relationship_life_cycle(server):
    issuer = unique("https://idp.example/")
    created = trusted(server, issuer=issuer, scope=["read"])
    assert set(created) == {
        "id",
        "issuer",
        "subject",
        "allow_any_subject",
        "scope",
        "public_key",
        "expires_at",
        "created_at",
    }
    assert created["issuer"] == issuer and created["subject"] == "alice@example.com"
    assert created["allow_any_subject"] is False and created["scope"] == ["read"]
    assert created["public_key"] == {"set": issuer, "kid": KEY.kid}
    url = f"{server.admin_url}{ISSUERS}/{created['id']}"
    assert requests.get(url, timeout=TIMEOUT).json() == created
    unprefixed = server.admin_url + ISSUERS.removeprefix("/admin") + "/" + created["id"]
    assert requests.get(unprefixed, timeout=TIMEOUT).json() == created
    duplicate = trust(server, issuer=issuer)
    assert duplicate.status_code == 409
    assert requests.delete(url, timeout=TIMEOUT).status_code == 204
    assert requests.get(url, timeout=TIMEOUT).status_code == 404
    assert requests.delete(url, timeout=TIMEOUT).status_code == 404


def test_list_pages_and_filters_by_issuer(server):
    issuer = unique("https://paged.example/")
    ids = {trusted(server, issuer=issuer, subject=f"user-{index}")["id"] for index in range(3)}
    seen, url = [], f"{server.admin_url}{ISSUERS}?page_size=2&issuer={issuer}"
    while url:
        response = requests.get(url, timeout=TIMEOUT)
        assert response.status_code == 200
        seen += [item["id"] for item in response.json()]
        assert all(item["issuer"] == issuer for item in response.json())
        url = response.links.get("next", {}).get("url")
        url = server.admin_url + url if url else None
    assert set(seen) == ids and len(seen) == 3


BAD_TRUST_BODIES: dict[str, dict] = {
    "issuer-missing": {"issuer": None},
    "issuer-number": {"issuer": 5},
    "issuer-nul": {"issuer": "https://idp.example/\x00"},
    "issuer-too-long": {"issuer": "https://idp.example/" + "a" * 300},
    "subject-and-any": {"allow_any_subject": True},
    "neither-subject-nor-any": {"subject": None},
    "any-not-boolean": {"subject": None, "allow_any_subject": "yes"},
    "scope-missing": {"scope": None},
    "scope-not-array": {"scope": "read"},
    "scope-bad-token": {"scope": ["read write"]},
    "scope-huge": {"scope": [f"s{index}" for index in range(1000)]},
    "jwk-missing": {"jwk": None},
    "jwk-private": {"jwk": KEY.as_dict(private=True)},
    "jwk-no-kid": {"jwk": {k: v for k, v in KEY.as_dict(private=False).items() if k != "kid"}},
    "jwk-symmetric": {"jwk": {"kty": "oct", "k": "c2VjcmV0", "kid": "x"}},
    "jwk-garbage": {"jwk": {"kty": "RSA", "n": "!!", "e": "AQAB", "kid": "x"}},
    "expires-past": {"expires_at": in_days(-1)},
    "expires-not-date": {"expires_at": "tomorrow"},
    "expires-no-zone": {"expires_at": "2030-01-01T00:00:00"},
    "expires-number": {"expires_at": 1893456000},
    "unknown-field": {"colour": "blue"},
}


@pytest.mark.parametrize("fields", list(BAD_TRUST_BODIES.values()), ids=list(BAD_TRUST_BODIES))
def test_bad_trust_bodies_are_400(server, fields):
    response = trust(server, **fields)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_trust_body_that_is_not_an_object(server):
    for body in ([], "text", 5, None):
        response = requests.post(server.admin_url + ISSUERS, json=body, timeout=TIMEOUT)
        assert response.status_code == 400, response.text


def test_unknown_relationship_ids(server):
    for trust_id in ("nope", "x" * 300, "%00", "..%2F"):
        response = requests.get(f"{server.admin_url}{ISSUERS}/{trust_id}", timeout=TIMEOUT)
        assert response.status_code in (400, 404), (trust_id, response.text)


# -- the grant ---------------------------------------------------------------------------


def test_the_grant_with_authlib_assertion_session(server, create_client):
    public = create_client(
        client_id=unique("assertion-session"),
        grant_types=[GRANT],
        token_endpoint_auth_method="none",
        scope="read",
    )
    relationship = trusted(server)
    session = AssertionSession(
        token_url(server),
        issuer=relationship["issuer"],
        subject="alice@example.com",
        audience=token_url(server),
        grant_type=GRANT,
        scope="read",
        key=KEY,
        header={"alg": "RS256", "kid": KEY.kid},
    )
    # A public client names itself in the body (RFC 7523 allows no client authentication).
    session.client_id = public.client_id
    token = session.refresh_token()
    info = introspect(server, token["access_token"])
    assert info["active"] is True
    assert info["sub"] == "alice@example.com"
    assert info["client_id"] == public.client_id
    assert info["scope"] == "read"
    assert "refresh_token" not in token


def test_any_subject_and_an_ec_key(server, client):
    relationship = trusted(
        server, subject=None, allow_any_subject=True, jwk=EC_KEY.as_dict(private=False)
    )
    signed = assertion(server, relationship["issuer"], "bob", EC_KEY, "ES256")
    response = grant(server, client, signed, scope="write")
    assert response.status_code == 200, response.text
    assert introspect(server, response.json()["access_token"])["sub"] == "bob"


def _for(server, relationship) -> Callable[..., str]:
    return lambda **claims: assertion(server, relationship["issuer"], **claims)


BAD_GRANTS: dict[str, Callable] = {
    "wrong-key": lambda make, issuer: make(key=OTHER_KEY),
    "other-subject": lambda make, issuer: make(subject="mallory"),
    "unknown-issuer": lambda make, issuer: make(iss="https://stranger.example/"),
    "no-subject": lambda make, issuer: make(subject=None),
    "expired": lambda make, issuer: make(exp=int(time.time()) - 600),
    "beyond-max-ttl": lambda make, issuer: make(exp=int(time.time()) + 40 * 86400),
    "no-exp": lambda make, issuer: make(exp=None),
    "no-iat": lambda make, issuer: make(iat=None),
    "iat-future": lambda make, issuer: make(iat=int(time.time()) + 3600),
    "no-jti": lambda make, issuer: make(jti=None),
    "wrong-audience": lambda make, issuer: make(aud="https://elsewhere.example/token"),
    "garbled": lambda make, issuer: "garbled.assertion.value",
    "alg-none": lambda make, issuer: (
        base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        + "."
        + make().split(".")[1]
        + "."
    ),
}


@pytest.mark.parametrize("make_bad", list(BAD_GRANTS.values()), ids=list(BAD_GRANTS))
def test_bad_assertions_are_invalid_grant(server, client, make_bad):
    relationship = trusted(server)
    signed = make_bad(_for(server, relationship), relationship["issuer"])
    response = grant(server, client, signed)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


def test_scope_is_limited_by_the_trust_and_the_client(server, create_client):
    client = create_client(client_id=unique("narrow"), grant_types=[GRANT], scope="read admin")
    relationship = trusted(server, scope=["read", "write"])
    make = _for(server, relationship)
    assert grant(server, client, make(), scope="read").status_code == 200
    beyond_trust = grant(server, client, make(), scope="admin")
    assert beyond_trust.status_code == 400 and beyond_trust.json()["error"] == "invalid_scope"
    beyond_client = grant(server, client, make(), scope="write")
    assert beyond_client.status_code == 400 and beyond_client.json()["error"] == "invalid_scope"


def test_missing_assertion_and_a_client_without_the_grant(server, client, create_client):
    missing = requests.post(
        token_url(server),
        data={"grant_type": GRANT},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    other = create_client(client_id=unique("no-grant"))
    relationship = trusted(server)
    refused = grant(server, other, _for(server, relationship)())
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


def test_a_deleted_relationship_no_longer_trusts(server, client):
    relationship = trusted(server)
    requests.delete(f"{server.admin_url}{ISSUERS}/{relationship['id']}", timeout=TIMEOUT)
    response = grant(server, client, _for(server, relationship)())
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_replay_is_refused_also_when_twenty_race(server, client):
    relationship = trusted(server)
    signed = _for(server, relationship)()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: grant(server, client, signed).status_code, range(20)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 400}
    assert grant(server, client, signed).json()["error"] == "invalid_grant"


def test_discovery_lists_the_grant(server):
    metadata = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert GRANT in metadata["grant_types_supported"]


# -- Hydra's OAUTH2_GRANT_JWT_* settings -------------------------------------------------


@pytest.fixture
def lenient_server(backend, server_factory, request):
    if backend == "postgres":
        request.getfixturevalue("server")  # skips (and says so) without PostgreSQL
    return server_factory(
        backend,
        env={
            "OAUTH2_GRANT_JWT_JTI_OPTIONAL": "true",
            "OAUTH2_GRANT_JWT_IAT_OPTIONAL": "true",
            "OAUTH2_GRANT_JWT_MAX_TTL": "1h",
        },
    )


def test_jti_and_iat_optional_and_a_shorter_max_ttl(lenient_server):
    server = lenient_server
    created = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": [GRANT], "scope": "read"},
        timeout=TIMEOUT,
    ).json()

    class Client:
        client_id = created["client_id"]
        client_secret = created["client_secret"]

    relationship = trusted(server)
    make = _for(server, relationship)
    assert grant(server, Client, make(jti=None, iat=None)).status_code == 200
    too_long = grant(server, Client, make(exp=int(time.time()) + 2 * 3600))
    assert too_long.status_code == 400 and too_long.json()["error"] == "invalid_grant"
