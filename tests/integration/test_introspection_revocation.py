"""Token introspection (RFC 7662, admin port) and revocation (RFC 7009, public port).

Anything that is not an active token introspects as exactly ``{"active": false}``:
garbled, forged, never issued, expired or revoked tokens all look the same.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable

import pytest
import requests

TIMEOUT = 10
CC = {"grant_type": "client_credentials"}
INACTIVE = {"active": False}
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def issue(server, client, **form) -> dict:
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={**CC, **form},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def introspect_response(server, data) -> requests.Response:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data=data, timeout=TIMEOUT
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    return response


def introspect(server, token: str, **form) -> dict:
    response = introspect_response(server, {"token": token, **form})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def revoke(server, token: str | None, auth=None, **form) -> requests.Response:
    data = dict(form)
    if token is not None:
        data["token"] = token
    response = requests.post(
        server.public_url + "/oauth2/revoke", data=data, auth=auth, timeout=TIMEOUT
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert "no-store" in response.headers.get("Cache-Control", "")
    return response


def replace_char(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by a different base64url one."""
    old = text[index]
    new = B64URL[(B64URL.index(old) + 17) % len(B64URL)] if old in B64URL else "A"
    return text[:index] + new + text[index + 1 :]


@pytest.fixture
def client(create_client):
    return create_client(
        client_id=unique("intro"),
        scope="read write",
        audience=["https://api.example.com", "https://other.example.com"],
    )


@pytest.fixture
def token(server, client) -> str:
    return issue(server, client)["access_token"]


# -- introspection ---------------------------------------------------------------------


def test_active_token_without_scope_or_audience(server, client, token):
    before = int(time.time())
    info = introspect(server, token)
    assert info["active"] is True
    assert info["client_id"] == info["sub"] == client.client_id
    assert info["token_type"] == "Bearer"
    assert info["token_use"] == "access_token"
    assert info["iss"] == f"http://127.0.0.1:{server.env['SERVE_PUBLIC_PORT']}/"
    assert info["nbf"] == info["iat"]
    assert before - 60 <= info["iat"] <= before + 1
    assert info["exp"] - info["iat"] == 3600
    assert "scope" not in info and "aud" not in info


def test_active_token_with_scope_and_audience(server, client):
    issued = issue(server, client, scope="read write", audience="https://api.example.com")
    info = introspect(server, issued["access_token"])
    assert info["active"] is True
    assert info["scope"].split() == ["read", "write"]
    assert info["aud"] == ["https://api.example.com"]
    assert {"client_id", "sub", "exp", "iat", "nbf", "iss", "token_type", "token_use"} <= set(info)


def _never_issued(_token: str) -> str:
    return f"ory_at_{b64url(secrets.token_bytes(32))}.{b64url(secrets.token_bytes(32))}"


def _signature_changed(token: str) -> str:
    body, _, signature = token.rpartition(".")
    return f"{body}.{replace_char(signature, len(signature) // 2)}"


def _body_changed(token: str) -> str:
    body, _, signature = token.rpartition(".")
    return f"{replace_char(body, len('ory_at_') + 10)}.{signature}"


def _signature_swapped(token: str) -> str:
    """A real body with the signature of a different, real token is no token."""
    return token.rpartition(".")[0] + "." + _never_issued(token).rpartition(".")[2]


INACTIVE_TOKENS: dict[str, Callable[[str], str]] = {
    "garbage": lambda _t: "this-is-not-a-token",
    "prefix-only": lambda _t: "ory_at_",
    "prefix-and-dot": lambda _t: "ory_at_.",
    "signature-changed": _signature_changed,
    "body-changed": _body_changed,
    "signature-truncated": lambda t: t[:-1],
    "signature-extended": lambda t: t + "A",
    "signature-missing": lambda t: t.rpartition(".")[0],
    "signature-of-other-body": _signature_swapped,
    "never-issued": _never_issued,
    "refresh-token-prefix": lambda t: "ory_rt_" + t[len("ory_at_") :],
    "jwt-looking-garbage": lambda _t: "a.b.c",
    "jwt-alg-none": lambda _t: b64url(b'{"alg":"none"}') + "." + b64url(b"{}") + ".",
    "very-long": lambda _t: "x" * 10 * 1024,
    "very-long-with-prefix": lambda t: t + "A" * 10 * 1024,
    "non-ascii": lambda t: t[:-1] + "\u00e9",
    "whitespace-around": lambda t: f" {t} ",
}


@pytest.mark.parametrize("make", list(INACTIVE_TOKENS.values()), ids=list(INACTIVE_TOKENS))
def test_inactive_tokens(server, token, make):
    candidate = make(token)
    assert candidate != token
    assert introspect(server, candidate) == INACTIVE
    assert introspect(server, token)["active"] is True  # the genuine one still is


def test_missing_token_parameter(server):
    for data in ({}, {"token": ""}, {"scope": "read"}):
        response = introspect_response(server, data)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"


def test_introspection_requires_form_body(server, token):
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", json={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("required", "active"),
    [
        ("read", True),
        ("write", True),
        ("read write", True),
        ("write read", True),
        ("admin", False),
        ("read admin", False),
        ("rea", False),
    ],
)
def test_introspection_scope_parameter(server, client, required, active):
    issued = issue(server, client, scope="read write")
    info = introspect(server, issued["access_token"], scope=required)
    if active:
        assert info["active"] is True and info["scope"].split() == ["read", "write"]
    else:
        assert info == INACTIVE


def test_introspection_scope_parameter_on_token_without_scope(server, token):
    assert introspect(server, token, scope="read") == INACTIVE
    assert introspect(server, token)["active"] is True


def test_expired_token_is_inactive(backend, server_factory):
    short = server_factory(backend, env={"TTL_ACCESS_TOKEN": "1s"})
    created = requests.post(
        short.admin_url + "/admin/clients",
        json={"client_id": unique("short"), "grant_types": ["client_credentials"]},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    document = created.json()
    response = requests.post(
        short.public_url + "/oauth2/token",
        data=CC,
        auth=(document["client_id"], document["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 1
    access_token = response.json()["access_token"]
    time.sleep(2.1)  # past the one-second lifetime, whatever the rounding
    assert introspect(short, access_token) == INACTIVE
    # The record is still there: revoking the expired token is a plain success.
    revoked = revoke(short, access_token, auth=(document["client_id"], document["client_secret"]))
    assert revoked.status_code == 200, revoked.text


# -- revocation ------------------------------------------------------------------------


def test_revoke_with_basic_auth(server, client, token):
    response = revoke(server, token, auth=(client.client_id, client.client_secret))
    assert response.status_code == 200, response.text
    assert introspect(server, token) == INACTIVE
    # Revoking again is still a success (RFC 7009 §2.2: invalid tokens get 200 too).
    again = revoke(server, token, auth=(client.client_id, client.client_secret))
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "weird", ""])
def test_revoke_with_token_type_hint(server, client, token, hint):
    response = revoke(
        server, token, auth=(client.client_id, client.client_secret), token_type_hint=hint
    )
    assert response.status_code == 200, response.text
    assert introspect(server, token) == INACTIVE


def test_revoke_with_client_secret_post(server, create_client):
    post_client = create_client(
        client_id=unique("revpost"), token_endpoint_auth_method="client_secret_post"
    )
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={**CC, "client_id": post_client.client_id, "client_secret": post_client.client_secret},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    revoked = revoke(
        server,
        access_token,
        client_id=post_client.client_id,
        client_secret=post_client.client_secret,
    )
    assert revoked.status_code == 200, revoked.text
    assert introspect(server, access_token) == INACTIVE


def test_revoking_one_token_leaves_others_active(server, client):
    first, second = issue(server, client)["access_token"], issue(server, client)["access_token"]
    assert revoke(server, first, auth=(client.client_id, client.client_secret)).status_code == 200
    assert introspect(server, first) == INACTIVE
    assert introspect(server, second)["active"] is True


@pytest.mark.parametrize(
    "make",
    [
        INACTIVE_TOKENS["garbage"],
        INACTIVE_TOKENS["never-issued"],
        INACTIVE_TOKENS["signature-changed"],
        INACTIVE_TOKENS["jwt-looking-garbage"],
        INACTIVE_TOKENS["very-long"],
    ],
    ids=["garbage", "never-issued", "signature-changed", "jwt-looking-garbage", "very-long"],
)
def test_revoke_unknown_token_is_200(server, client, token, make):
    response = revoke(server, make(token), auth=(client.client_id, client.client_secret))
    assert response.status_code == 200, response.text
    assert introspect(server, token)["active"] is True


def test_other_client_cannot_revoke_my_token(server, create_client, client, token):
    other = create_client(client_id=unique("other"))
    response = revoke(server, token, auth=(other.client_id, other.client_secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "unauthorized_client"
    assert introspect(server, token)["active"] is True


def test_revoke_without_client_authentication(server, client, token):
    response = revoke(server, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert introspect(server, token)["active"] is True


def test_revoke_with_confidential_client_id_but_no_secret(server, client, token):
    response = revoke(server, token, client_id=client.client_id)
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] == "invalid_client"
    assert introspect(server, token)["active"] is True


def test_revoke_with_wrong_secret(server, client, token):
    response = revoke(server, token, auth=(client.client_id, "not-the-secret"))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert introspect(server, token)["active"] is True


def test_public_client_may_call_revoke(server, create_client, token):
    public = create_client(
        client_id=unique("public"),
        token_endpoint_auth_method="none",
        grant_types=["authorization_code"],
        redirect_uris=["https://app.example.com/callback"],
    )
    assert public.client_secret is None
    response = revoke(server, "some-token-it-never-had", client_id=public.client_id)
    assert response.status_code == 200, response.text
    # ... but it cannot revoke another client's token.
    foreign = revoke(server, token, client_id=public.client_id)
    assert 400 <= foreign.status_code < 500, foreign.text
    assert introspect(server, token)["active"] is True


def test_revoke_missing_token_parameter(server, client):
    response = revoke(server, None, auth=(client.client_id, client.client_secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"


def test_revoke_requires_form_body(server, client, token):
    response = requests.post(
        server.public_url + "/oauth2/revoke",
        json={"token": token},
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert introspect(server, token)["active"] is True
