"""An API tested with minted tokens: no browser, no login flow.

``orders_api`` is the resource server under test: a tiny WSGI app that asks authserver's
admin API whether a bearer token is active (RFC 7662 introspection) and checks its scope.
The tests mint real tokens with ``authserver.issue_token`` and move the harness's clock
to expire them.
"""

import json

import jwt
import pytest
import requests
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response


def orders_api(introspection_url: str):
    """GET /orders needs an active access token with the scope orders:read."""

    @Request.application
    def app(request: Request) -> Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "invalid_request", "a bearer token is required")
        answer = requests.post(introspection_url, data={"token": token}, timeout=5).json()
        if not answer.get("active"):
            return _error(401, "invalid_token", "the token is expired, revoked or unknown")
        if "orders:read" not in answer.get("scope", "").split():
            return _error(403, "insufficient_scope", "orders:read is required")
        orders = [{"id": 1, "owner": answer["sub"]}]
        return Response(json.dumps(orders), mimetype="application/json")

    return app


def _error(status: int, error: str, description: str) -> Response:
    challenge = f'Bearer error="{error}", error_description="{description}"'
    return Response(
        json.dumps({"error": error}),
        status=status,
        mimetype="application/json",
        headers={"WWW-Authenticate": challenge},
    )


@pytest.fixture
def api(authserver):
    return Client(orders_api(authserver.admin_url + "/admin/oauth2/introspect"))


def bearer(token: dict) -> dict:
    return {"Authorization": "Bearer " + token["access_token"]}


def test_a_good_token_gets_the_orders(authserver, api):
    token = authserver.issue_token("orders-cli", "alice", scope="orders:read")
    response = api.get("/orders", headers=bearer(token))
    assert response.status_code == 200
    assert response.json == [{"id": 1, "owner": "alice"}]


def test_an_expired_token_is_refused(authserver, api):
    token = authserver.issue_token("orders-cli", "alice", scope="orders:read", expires_in=300)
    assert api.get("/orders", headers=bearer(token)).status_code == 200
    authserver.clock.advance("6m")  # the harness's clock: no sleeping
    response = api.get("/orders", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_without_the_scope_is_forbidden(authserver, api):
    token = authserver.issue_token("orders-cli", "bob", scope="orders:write")
    response = api.get("/orders", headers=bearer(token))
    assert response.status_code == 403
    assert response.json == {"error": "insufficient_scope"}


def test_no_token_at_all(api):
    assert api.get("/orders").status_code == 401


def test_the_id_token_verifies_against_the_jwks(authserver):
    """A minted ID token is signed with the harness's real keys: PyJWT checks it."""
    token = authserver.issue_token("orders-cli", "alice", scope="openid", claims={"tenant": "acme"})
    keys = jwt.PyJWKSet.from_dict(authserver.jwks())
    kid = jwt.get_unverified_header(token["id_token"])["kid"]
    key = next(key for key in keys.keys if key.key_id == kid)
    claims = jwt.decode(
        token["id_token"],
        key=key,
        algorithms=["RS256"],
        audience="orders-cli",
        issuer=authserver.issuer,
    )
    assert claims["sub"] == "alice"
    assert claims["email"] == "alice@example.com"  # the user's configured claims
    assert claims["tenant"] == "acme"  # and the extra ones given to issue_token
