"""JWT access tokens (RFC 9068) on a server with ``STRATEGIES_ACCESS_TOKEN=jwt``.

Tokens are checked with PyJWT, a library the server does not use, against the keys the
server publishes, so a token that passes here is one any resource server could verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TIMEOUT = 10
CC = {"grant_type": "client_credentials"}
INACTIVE = {"active": False}
ACCESS_TOKEN_SET = "hydra.jwt.access-token"
KEY_CACHE_SECONDS = 5


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def jwt_server(backend, server_factory):
    return server_factory(backend, env={"STRATEGIES_ACCESS_TOKEN": "jwt"})


@pytest.fixture
def client(jwt_server) -> dict:
    response = requests.post(
        jwt_server.admin_url + "/admin/clients",
        json={
            "client_id": unique("jwt"),
            "grant_types": ["client_credentials"],
            "scope": "read write",
            "audience": ["https://api.example.com"],
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()


def issue(server, client: dict, **form) -> dict:
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={**CC, **form},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return body


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def discovery(server) -> dict:
    response = requests.get(server.public_url + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def jwks(server) -> dict:
    response = requests.get(server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def verify(server, token: str, audience: str | None = None) -> dict:
    """Verify ``token`` with PyJWT against the published JWKS; return its claims."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {key["kid"]: key for key in jwks(server)["keys"]}
    assert kid in keys, f"kid {kid} is not published"
    public_key = jwt.PyJWK(keys[kid]).key
    options = {"require": ["exp", "iat", "iss", "sub", "jti"]}
    if audience is None:
        options["verify_aud"] = False
    return jwt.decode(
        token,
        public_key,
        algorithms=["RS256"],
        issuer=discovery(server)["issuer"],
        audience=audience,
        options=options,
    )


def test_access_token_is_a_verifiable_jwt(jwt_server, client):
    metadata = discovery(jwt_server)
    assert metadata["jwks_uri"] == metadata["issuer"].rstrip("/") + "/.well-known/jwks.json"
    assert metadata["jwks_uri"].startswith(jwt_server.public_url)
    published = {key["kid"]: key for key in jwks(jwt_server)["keys"]}
    assert published and all(key["kty"] for key in published.values())
    assert not any("d" in key or "p" in key for key in published.values())  # public only

    before = int(time.time())
    issued = issue(jwt_server, client, scope="read write")
    token = issued["access_token"]
    assert not token.startswith("ory_at_") and token.count(".") == 2
    assert issued["scope"].split() == ["read", "write"]
    assert 3590 <= issued["expires_in"] <= 3600

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] in published
    assert published[header["kid"]]["alg"] == "RS256"

    claims = verify(jwt_server, token)
    assert claims["iss"] == metadata["issuer"]
    assert claims["sub"] == client["client_id"]
    assert claims["client_id"] == client["client_id"]
    assert claims["exp"] - claims["iat"] == 3600
    assert before - 60 <= claims["iat"] <= before + 1
    assert isinstance(claims["jti"], str) and claims["jti"]
    assert claims["scope"].split() == ["read", "write"]

    more = {verify(jwt_server, issue(jwt_server, client)["access_token"])["jti"] for _ in range(2)}
    assert len(more | {claims["jti"]}) == 3  # every token has its own jti


def test_introspection_matches_the_claims(jwt_server, client):
    audience = "https://api.example.com"
    token = issue(jwt_server, client, scope="read", audience=audience)["access_token"]
    claims = verify(jwt_server, token, audience=audience)
    assert audience in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    info = introspect(jwt_server, token)
    assert info["active"] is True
    for name in ("client_id", "sub", "exp", "iat", "nbf", "iss", "scope"):
        assert info[name] == claims[name], name
    assert info["aud"] == [audience]
    assert info["token_type"] == "Bearer"
    assert info["token_use"] == "access_token"


def test_revoked_jwt_is_inactive(jwt_server, client):
    token = issue(jwt_server, client)["access_token"]
    other = issue(jwt_server, client)["access_token"]
    response = requests.post(
        jwt_server.public_url + "/oauth2/revoke",
        data={"token": token},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert introspect(jwt_server, token) == INACTIVE
    assert introspect(jwt_server, other)["active"] is True


def _modified_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = b64url_json(payload)
    claims["scope"] = "read write admin"
    claims["exp"] += 3600
    forged = b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{forged}.{signature}"


def _unknown_key(token: str) -> str:
    """The same header and claims, signed by a key the server has never seen."""
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, private_key, algorithm="RS256", headers=header)


def _unknown_key_own_kid(token: str) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(
        claims, private_key, algorithm="RS256", headers={"kid": unique("k"), "typ": "at+jwt"}
    )


def _alg_none(token: str) -> str:
    _header, payload, _signature = token.split(".")
    return b64url(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()) + f".{payload}."


def _hs256_with_public_key(jwt_server):
    """Algorithm confusion: an HMAC signature keyed with the published public key (PEM)."""

    def make(token: str) -> str:
        _header, payload, _signature = token.split(".")
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(key for key in jwks(jwt_server)["keys"] if key["kid"] == kid)
        secret = jwt.PyJWK(key).key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        forged_header = b64url(json.dumps({"alg": "HS256", "kid": kid}).encode())
        signing_input = f"{forged_header}.{payload}".encode()
        signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
        return f"{forged_header}.{payload}.{signature}"

    return make


def _signature_changed(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    replacement = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{replacement}{signature[middle + 1 :]}"


def test_forged_jwts_are_inactive(jwt_server, client):
    token = issue(jwt_server, client, scope="read")["access_token"]
    forgeries = {
        "modified-payload": _modified_payload,
        "unknown-key": _unknown_key,
        "unknown-key-own-kid": _unknown_key_own_kid,
        "alg-none": _alg_none,
        "hs256-with-public-key": _hs256_with_public_key(jwt_server),
        "signature-changed": _signature_changed,
    }
    for name, forge in forgeries.items():
        forged = forge(token)
        assert forged != token, name
        assert introspect(jwt_server, forged) == INACTIVE, name
        # Revoking a forgery is a no-op success and leaves the genuine token alone.
        response = requests.post(
            jwt_server.public_url + "/oauth2/revoke",
            data={"token": forged},
            auth=(client["client_id"], client["client_secret"]),
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, (name, response.text)
        assert introspect(jwt_server, token)["active"] is True, name


def test_key_rotation(jwt_server, client):
    before = issue(jwt_server, client)["access_token"]
    old_kid = jwt.get_unverified_header(before)["kid"]

    response = requests.post(
        f"{jwt_server.admin_url}/admin/keys/{ACCESS_TOKEN_SET}",
        json={"alg": "RS256", "use": "sig"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    created = response.json()["keys"]
    assert len(created) == 1 and "d" not in created[0]
    new_kid = created[0]["kid"]
    assert new_kid != old_kid

    deadline = time.monotonic() + KEY_CACHE_SECONDS + 1
    after = issue(jwt_server, client)["access_token"]
    while jwt.get_unverified_header(after)["kid"] != new_kid and time.monotonic() < deadline:
        time.sleep(0.25)
        after = issue(jwt_server, client)["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == new_kid

    published = {key["kid"] for key in jwks(jwt_server)["keys"]}
    assert {old_kid, new_kid} <= published

    # Both tokens verify independently and both are active.
    assert verify(jwt_server, before)["client_id"] == client["client_id"]
    assert verify(jwt_server, after)["client_id"] == client["client_id"]
    assert introspect(jwt_server, before)["active"] is True
    assert introspect(jwt_server, after)["active"] is True
