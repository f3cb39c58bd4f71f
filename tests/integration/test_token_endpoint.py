"""``POST /oauth2/token`` with the client credentials grant (RFC 6749 §4.4), on each backend.

Happy paths for both secret-based client authentication methods, then a table of malformed
requests: each must be a 4xx with the RFC 6749 §5.2 ``error`` code, ``Cache-Control:
no-store`` and a JSON body, never a 500 and never a traceback.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

TIMEOUT = 10
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CC = {"grant_type": "client_credentials"}
SCOPE = "read write admin"
AUDIENCE = ["https://api.example.com", "https://files.example.com", "urn:example:reports"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_sane(response: requests.Response) -> None:
    """Whatever the outcome: no server error, no internals, JSON, not cacheable."""
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert "no-store" in response.headers.get("Cache-Control", "")


def assert_error(response: requests.Response, status: int | tuple[int, ...], error: str) -> dict:
    assert_sane(response)
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == error, body
    assert body.get("error_description"), body  # every error says what went wrong
    return body


def assert_token_response(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text
    assert_sane(response)
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["token_type"] == "bearer"
    assert isinstance(body["access_token"], str) and body["access_token"]
    assert isinstance(body["expires_in"], int) and 3590 <= body["expires_in"] <= 3600
    return body


@pytest.fixture
def api_client(create_client):
    """A confidential client_secret_basic client with a few scopes and audiences."""
    return create_client(client_id=unique("tok"), scope=SCOPE, audience=AUDIENCE)


# -- happy paths -----------------------------------------------------------------------


def test_client_secret_basic(server, api_client):
    response = requests.post(
        server.public_url + "/oauth2/token",
        data=CC,
        auth=(api_client.client_id, api_client.client_secret),
        timeout=TIMEOUT,
    )
    body = assert_token_response(response)
    assert body["scope"] == ""
    info = introspect(server, body["access_token"])
    assert info["active"] is True
    assert info["client_id"] == info["sub"] == api_client.client_id
    assert "aud" not in info and "scope" not in info


def test_client_secret_post(server, create_client):
    client = create_client(
        client_id=unique("post"), token_endpoint_auth_method="client_secret_post", scope=SCOPE
    )
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={**CC, "client_id": client.client_id, "client_secret": client.client_secret},
        timeout=TIMEOUT,
    )
    body = assert_token_response(response)
    info = introspect(server, body["access_token"])
    assert info["active"] is True and info["client_id"] == client.client_id


def test_client_id_and_secret_are_form_url_decoded_in_basic_auth(server, create_client):
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding."""
    client = create_client(client_id=unique("a:b%c+d"), client_secret="s3cr:t with spaces&more!%")
    encoded = requests.utils.quote(client.client_id, safe="") + ":"
    encoded += requests.utils.quote(client.client_secret, safe="")
    header = {"Authorization": "Basic " + base64.b64encode(encoded.encode()).decode()}
    response = requests.post(
        server.public_url + "/oauth2/token", data=CC, headers=header, timeout=TIMEOUT
    )
    assert_token_response(response)


@pytest.mark.parametrize("requested", ["read", "write admin", "admin read write"])
def test_requested_scope_is_granted_exactly(server, api_client, requested):
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={**CC, "scope": requested},
        auth=(api_client.client_id, api_client.client_secret),
        timeout=TIMEOUT,
    )
    body = assert_token_response(response)
    assert body["scope"].split() == requested.split()
    info = introspect(server, body["access_token"])
    assert info["scope"].split() == requested.split()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param([("audience", AUDIENCE[0])], id="single"),
        pytest.param([("audience", f"{AUDIENCE[0]} {AUDIENCE[2]}")], id="space-separated"),
        pytest.param([("audience", AUDIENCE[0]), ("audience", AUDIENCE[2])], id="repeated"),
        pytest.param(
            [("audience", f"{AUDIENCE[0]} {AUDIENCE[1]}"), ("audience", AUDIENCE[2])], id="both"
        ),
    ],
)
def test_requested_audience_is_granted(server, api_client, form):
    requested = [item for _, value in form for item in value.split()]
    response = requests.post(
        server.public_url + "/oauth2/token",
        data=[("grant_type", "client_credentials"), *form],
        auth=(api_client.client_id, api_client.client_secret),
        timeout=TIMEOUT,
    )
    body = assert_token_response(response)
    info = introspect(server, body["access_token"])
    assert info["active"] is True
    assert sorted(info["aud"]) == sorted(requested)


def test_each_token_is_distinct(server, api_client):
    tokens = {
        assert_token_response(
            requests.post(
                server.public_url + "/oauth2/token",
                data=CC,
                auth=(api_client.client_id, api_client.client_secret),
                timeout=TIMEOUT,
            )
        )["access_token"]
        for _ in range(3)
    }
    assert len(tokens) == 3


# -- malformed requests ----------------------------------------------------------------


@dataclass
class Context:
    server: object
    client: object  # client_secret_basic, scope SCOPE, audience AUDIENCE
    create_client: Callable

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.client.client_id, self.client.client_secret)


@dataclass
class Case:
    """``build(ctx)`` returns keyword arguments for ``requests.request``."""

    build: Callable[[Context], dict]
    status: int | tuple[int, ...]
    error: str
    www_authenticate: bool = False


def _post(**kwargs) -> Callable[[Context], dict]:
    """A POST to /oauth2/token; callables among the values are called with the context."""

    def build(ctx: Context) -> dict:
        resolved = {key: value(ctx) if callable(value) else value for key, value in kwargs.items()}
        return {"method": "POST", "path": "/oauth2/token", **resolved}

    return build


def _unauthorized_client(ctx: Context) -> dict:
    client = ctx.create_client(
        client_id=unique("code-only"),
        grant_types=["authorization_code"],
        redirect_uris=["https://app.example.com/callback"],
    )
    return {
        "method": "POST",
        "path": "/oauth2/token",
        "data": CC,
        "headers": basic(client.client_id, client.client_secret),
    }


MALFORMED = {
    "missing-grant-type": Case(
        _post(data={"scope": "read"}, headers=lambda c: c.auth), 400, "invalid_request"
    ),
    "empty-form-body": Case(
        _post(data="", headers=lambda c: {**c.auth, **FORM}), 400, "invalid_request"
    ),
    "basic-not-utf8": Case(
        _post(
            data=CC,
            headers={"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
        ),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    # Raw (not base64) UTF-8 in the header; requests sends bytes values as they are.
    "basic-raw-utf8": Case(
        _post(data=CC, headers={"Authorization": b"Basic " + "ü:ß".encode()}),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "basic-nul-in-client-id": Case(
        _post(data=CC, headers=lambda c: basic("a\x00b", "some-secret")),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "basic-percent-encoded-nul": Case(
        _post(data=CC, headers=lambda c: basic("a%00b", "some-secret")),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "basic-lone-surrogate-utf8": Case(
        _post(
            data=CC,
            headers={"Authorization": "Basic " + base64.b64encode(b"\xed\xa0\x80:x").decode()},
        ),
        401,
        "invalid_client",
    ),
    # RFC 6749 §2.3: one authentication method per request.
    "basic-and-client-secret-in-body": Case(
        _post(
            data=lambda c: {**CC, "client_secret": c.client.client_secret},
            headers=lambda c: c.auth,
        ),
        400,
        "invalid_request",
    ),
    # A failing Basic header is not retried with the body's credentials.
    "wrong-basic-then-body-client-id": Case(
        _post(
            data=lambda c: {**CC, "client_id": c.client.client_id},
            headers=lambda c: basic(c.client.client_id, "wrong-secret"),
        ),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "unsupported-grant-type-password": Case(
        _post(
            data={"grant_type": "password", "username": "u", "password": "p"},
            headers=lambda c: c.auth,
        ),
        400,
        "unsupported_grant_type",
    ),
    "unsupported-grant-type-unknown": Case(
        _post(data={"grant_type": "urn:example:nope"}, headers=lambda c: c.auth),
        400,
        "unsupported_grant_type",
    ),
    "wrong-secret-basic": Case(
        _post(data=CC, headers=lambda c: basic(c.client.client_id, "not-the-secret")),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "unknown-client-basic": Case(
        _post(data=CC, headers=lambda c: basic(unique("nobody"), "whatever-secret")),
        401,
        "invalid_client",
        www_authenticate=True,
    ),
    "unknown-client-post": Case(
        _post(data={**CC, "client_id": unique("nobody"), "client_secret": "whatever-secret"}),
        (400, 401),
        "invalid_client",
    ),
    "no-client-authentication": Case(_post(data=CC), (400, 401), "invalid_client"),
    "basic-not-base64": Case(
        _post(data=CC, headers={"Authorization": "Basic !!!not*base64!!!"}),
        (400, 401),
        "invalid_client",
    ),
    "basic-without-colon": Case(
        _post(
            data=CC,
            headers={"Authorization": "Basic " + base64.b64encode(b"no-colon-here").decode()},
        ),
        (400, 401),
        "invalid_client",
    ),
    "basic-empty": Case(
        _post(data=CC, headers={"Authorization": "Basic"}), (400, 401), "invalid_client"
    ),
    "basic-only-colon": Case(
        _post(data=CC, headers={"Authorization": "Basic " + base64.b64encode(b":").decode()}),
        (400, 401),
        "invalid_client",
    ),
    "bearer-instead-of-basic": Case(
        _post(data=CC, headers={"Authorization": "Bearer some-token"}),
        (400, 401),
        "invalid_client",
    ),
    "client-secret-post-for-basic-client": Case(
        _post(
            data=lambda c: {
                **CC,
                "client_id": c.client.client_id,
                "client_secret": c.client.client_secret,
            }
        ),
        (400, 401),
        "invalid_client",
    ),
    "json-body": Case(
        _post(
            data=json.dumps(CC),
            headers=lambda c: {**c.auth, "Content-Type": "application/json"},
        ),
        400,
        "invalid_request",
    ),
    "multipart-body": Case(
        _post(files={"grant_type": (None, "client_credentials")}, headers=lambda c: c.auth),
        400,
        "invalid_request",
    ),
    "body-over-64-kib": Case(
        _post(data={**CC, "padding": "x" * (64 * 1024 + 1)}, headers=lambda c: c.auth),
        413,
        "invalid_request",
    ),
    "parameters-in-query-string": Case(
        _post(
            path="/oauth2/token?grant_type=client_credentials",
            data=CC,
            headers=lambda c: c.auth,
        ),
        400,
        "invalid_request",
    ),
    "only-query-string": Case(
        _post(
            path="/oauth2/token?grant_type=client_credentials",
            data="",
            headers=lambda c: {**c.auth, **FORM},
        ),
        400,
        "invalid_request",
    ),
    "grant-type-twice": Case(
        _post(
            data=[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            headers=lambda c: c.auth,
        ),
        400,
        "invalid_request",
    ),
    "scope-twice": Case(
        _post(data=[*CC.items(), ("scope", "read"), ("scope", "write")], headers=lambda c: c.auth),
        400,
        "invalid_request",
    ),
    "scope-not-allowed": Case(
        _post(data={**CC, "scope": "read delete"}, headers=lambda c: c.auth),
        400,
        "invalid_scope",
    ),
    "scope-prefix-of-allowed": Case(
        _post(data={**CC, "scope": "rea"}, headers=lambda c: c.auth), 400, "invalid_scope"
    ),
    "audience-not-allowed": Case(
        _post(data={**CC, "audience": "https://evil.example.com"}, headers=lambda c: c.auth),
        400,
        "invalid_request",
    ),
    "audience-partly-not-allowed": Case(
        _post(
            data=[*CC.items(), ("audience", AUDIENCE[0]), ("audience", "https://evil.example")],
            headers=lambda c: c.auth,
        ),
        400,
        "invalid_request",
    ),
    "client-without-client-credentials-grant": Case(
        _unauthorized_client, (400, 401), "unauthorized_client"
    ),
    "get-token-endpoint": Case(
        lambda c: {"method": "GET", "path": "/oauth2/token"}, 405, "method_not_allowed"
    ),
    "unknown-path": Case(
        lambda c: {"method": "POST", "path": "/oauth2/nope", "data": CC}, 404, "not_found"
    ),
    "unknown-path-get": Case(
        lambda c: {"method": "GET", "path": f"/{unique('missing')}"}, 404, "not_found"
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_request(server, api_client, create_client, case: Case):
    ctx = Context(server, api_client, create_client)
    kwargs = case.build(ctx)
    method, path = kwargs.pop("method"), kwargs.pop("path")
    response = requests.request(method, server.public_url + path, timeout=TIMEOUT, **kwargs)
    body = assert_error(response, case.status, case.error)
    assert "access_token" not in body
    if case.www_authenticate:
        assert response.headers["WWW-Authenticate"].lower().startswith("basic")
    if response.status_code == 405:
        assert "POST" in response.headers["Allow"]


def test_wrong_secret_then_right_secret(server, api_client):
    """A failed attempt leaves nothing behind that blocks the next, correct one."""
    url = server.public_url + "/oauth2/token"
    bad = requests.post(url, data=CC, auth=(api_client.client_id, "nope"), timeout=TIMEOUT)
    assert_error(bad, 401, "invalid_client")
    good = requests.post(
        url, data=CC, auth=(api_client.client_id, api_client.client_secret), timeout=TIMEOUT
    )
    assert_token_response(good)


# -- transport security ----------------------------------------------------------------


@pytest.fixture
def https_server(backend, server_factory):
    """An https issuer whose TLS is terminated by a proxy on this machine (127.0.0.1)."""
    return server_factory(
        backend,
        env={
            "URLS_SELF_ISSUER": "https://auth.example.com/",
            "SERVE_TLS_ALLOW_TERMINATION_FROM": "127.0.0.1/32",
        },
    )


def _https_client(server) -> dict:
    created = requests.post(
        server.admin_url + "/admin/clients",
        json={"client_id": unique("tls"), "grant_types": ["client_credentials"]},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    return created.json()


# The Host header is the client's to choose: none of these may make plain http acceptable.
LOOPBACK_HOSTS = ["localhost", "127.0.0.1:1", "[::1]", "[::1]:4444", "auth.example.com", ""]


def test_transport_security_with_an_https_issuer(https_server):
    """Plain http is refused even from a loopback peer, whatever the Host header says;
    only the listed TLS-terminating proxy saying https is served; health stays plain."""
    client = _https_client(https_server)
    auth = basic(client["client_id"], client["client_secret"])
    for host in LOOPBACK_HOSTS:
        for path in ("/oauth2/token", "/oauth2/revoke"):  # the hot path, and Flask
            response = requests.post(
                https_server.public_url + path,
                data={**CC, "token": "x"},
                headers={**auth, "Host": host},
                timeout=TIMEOUT,
            )
            assert_error(response, 400, "insecure_transport")
        discovery = requests.get(
            https_server.public_url + "/.well-known/openid-configuration",
            headers={"Host": host},
            timeout=TIMEOUT,
        )
        assert discovery.status_code == 400, host
    through_proxy = requests.post(
        https_server.public_url + "/oauth2/token",
        data=CC,
        headers={**auth, "X-Forwarded-Proto": "https"},
        timeout=TIMEOUT,
    )
    assert_token_response(through_proxy)
    for path in ("/health/alive", "/health/ready"):
        health = requests.get(https_server.public_url + path, timeout=TIMEOUT)
        assert health.status_code == 200 and health.json()["status"] == "ok"


def test_plain_http_from_loopback_is_served_with_a_loopback_http_issuer(server, api_client):
    """The default local set-up: issuer http://127.0.0.1:…, clients on this machine."""
    response = requests.post(
        server.public_url + "/oauth2/token",
        data=CC,
        headers={
            **basic(api_client.client_id, api_client.client_secret),
            "Host": "auth.example.com",
        },
        timeout=TIMEOUT,
    )
    assert_token_response(response)


@pytest.mark.parametrize("path", ["/health/alive", "/health/ready"])
def test_health_checks_over_plain_http_are_answered(server, path):
    """Load balancers probe instances over plain http on the public port."""
    response = requests.get(
        server.public_url + path, headers={"Host": "auth.example.com"}, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_http_to_public_host_is_allowed_with_dev(backend, server_factory):
    dev = server_factory(backend, args=("--dev",))
    created = requests.post(
        dev.admin_url + "/admin/clients",
        json={"client_id": unique("dev"), "grant_types": ["client_credentials"]},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    client = created.json()
    response = requests.post(
        dev.public_url + "/oauth2/token",
        data=CC,
        headers={
            **basic(client["client_id"], client["client_secret"]),
            "Host": "auth.example.com",
        },
        timeout=TIMEOUT,
    )
    body = assert_token_response(response)
    assert introspect(dev, body["access_token"])["active"] is True


# -- per-client access token strategy ---------------------------------------------------


def test_client_jwt_strategy_on_opaque_server(server, create_client):
    jwt_client = create_client(client_id=unique("jwt"), access_token_strategy="jwt")
    opaque_client = create_client(client_id=unique("opaque"))

    def issue(client) -> str:
        response = requests.post(
            server.public_url + "/oauth2/token",
            data=CC,
            auth=(client.client_id, client.client_secret),
            timeout=TIMEOUT,
        )
        return assert_token_response(response)["access_token"]

    jwt_token, opaque_token = issue(jwt_client), issue(opaque_client)

    parts = jwt_token.split(".")
    assert len(parts) == 3 and not jwt_token.startswith("ory_at_")
    header, claims = b64url_json(parts[0]), b64url_json(parts[1])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    assert claims["client_id"] == claims["sub"] == jwt_client.client_id
    assert claims["exp"] - claims["iat"] == 3600

    assert opaque_token.startswith("ory_at_") and opaque_token.count(".") == 1

    # The JWKS publishes the access-token key set even on an opaque server, so a resource
    # server can verify this client's JWTs (as Hydra's well-known keys always do).
    jwks = requests.get(server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT).json()
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    import jwt as pyjwt

    verified = pyjwt.decode(
        jwt_token,
        pyjwt.PyJWK(key).key,
        algorithms=["RS256"],
        options={"verify_aud": False},
    )
    assert verified["client_id"] == jwt_client.client_id

    jwt_info, opaque_info = introspect(server, jwt_token), introspect(server, opaque_token)
    assert jwt_info["active"] is True and jwt_info["client_id"] == jwt_client.client_id
    assert opaque_info["active"] is True and opaque_info["client_id"] == opaque_client.client_id
