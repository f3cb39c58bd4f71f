"""Client authentication with signed JWTs (RFC 7523 §2.2, OIDC Core §9) on each backend:
``private_key_jwt`` with inline ``jwks`` and with a ``jwks_uri``, ``client_secret_jwt``,
driven by Authlib's client where it can be, then a table of bad assertions (each a 401
``invalid_client``, never a 5xx), replays under concurrency, ``jwks_uri`` failures, and the
other endpoints that authenticate clients (revocation, device authorization)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import ClientSecretJWT, PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from tests.quiet_server import QuietHTTPServer

TIMEOUT = 10
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CC = {"grant_type": "client_credentials"}
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)
ED = OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"}, private=True)
OTHER_RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
SECRET = "a-client-secret-of-at-least-32-characters!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def public_jwks(*keys) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def token_url(server) -> str:
    return server.public_url + "/oauth2/token"


def assertion(server, client_id: str, key=RSA, alg: str = "RS256", **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url(server),
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    header = {"alg": alg}
    if getattr(key, "kid", None):
        header["kid"] = key.kid
    return jwt.encode(header, payload, key, algorithms=[alg])


def post_token(server, client_assertion: str, **extra) -> requests.Response:
    data = {
        **CC,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion,
        **extra,
    }
    return requests.post(token_url(server), data=data, timeout=TIMEOUT)


def assert_refused(response: requests.Response, status: int = 401, error: str = "invalid_client"):
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert body["error"] == error, body
    assert body.get("error_description")
    return body


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    return response.json()


@pytest.fixture
def key_client(create_client):
    return create_client(
        client_id=unique("pkjwt"),
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(RSA, EC, ED),
        scope="read write",
    )


# -- happy paths, with Authlib as the client ----------------------------------------------


def test_private_key_jwt_with_authlib(server, key_client):
    session = OAuth2Session(
        key_client.client_id,
        RSA,
        token_endpoint_auth_method=PrivateKeyJWT(token_url(server), alg="RS256"),
        scope="read",
    )
    token = session.fetch_token(token_url(server), grant_type="client_credentials")
    info = introspect(server, token["access_token"])
    assert info["active"] is True and info["client_id"] == key_client.client_id
    assert info["scope"] == "read"


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
@pytest.mark.parametrize(("key", "alg"), [(EC, "ES256"), (ED, "EdDSA"), (RSA, "PS256")])
def test_every_key_type_signs(server, key_client, key, alg):
    response = post_token(server, assertion(server, key_client.client_id, key, alg))
    assert response.status_code == 200, response.text


def test_audience_may_be_the_issuer(server, key_client):
    issuer = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()["issuer"]
    response = post_token(server, assertion(server, key_client.client_id, aud=issuer))
    assert response.status_code == 200, response.text
    as_list = assertion(server, key_client.client_id, aud=["https://other.example", issuer])
    assert post_token(server, as_list).status_code == 200


def test_client_secret_jwt_with_authlib(server, create_client):
    client = create_client(
        client_id=unique("csjwt"),
        token_endpoint_auth_method="client_secret_jwt",
        client_secret=SECRET,
        token_endpoint_auth_signing_alg="HS256",
    )
    session = OAuth2Session(
        client.client_id,
        SECRET,
        token_endpoint_auth_method=ClientSecretJWT(token_url(server)),
    )
    token = session.fetch_token(token_url(server), grant_type="client_credentials")
    assert introspect(server, token["access_token"])["active"] is True
    # A generated secret works too (it is shown once, and kept encrypted for HMAC).
    generated = create_client(
        client_id=unique("csjwt-gen"), token_endpoint_auth_method="client_secret_jwt"
    )
    key = OctKey.import_key(generated.client_secret.encode())
    response = post_token(server, assertion(server, generated.client_id, key, "HS256"))
    assert response.status_code == 200, response.text


# -- jwks_uri ----------------------------------------------------------------------------


@dataclass
class KeyHost:
    """A throwaway web server on 127.0.0.1 answering one path per test case."""

    url: str
    answers: dict[str, Callable]
    hits: dict[str, int]


@pytest.fixture(scope="module")
def key_host() -> Iterator[KeyHost]:
    answers: dict[str, Callable] = {}
    hits: dict[str, int] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits[self.path] = hits.get(self.path, 0) + 1
            status, headers, body = answers.get(self.path, lambda: (404, {}, b""))()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = QuietHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield KeyHost(f"http://127.0.0.1:{httpd.server_port}", answers, hits)
    httpd.shutdown()
    httpd.server_close()


def json_answer(document) -> Callable:
    body = json.dumps(document).encode()
    return lambda: (200, {"Content-Type": "application/json"}, body)


def test_private_key_jwt_with_jwks_uri_is_fetched_once_and_refetched_for_a_new_kid(
    server, create_client, key_host
):
    path = f"/{uuid.uuid4().hex}/jwks.json"
    key_host.answers[path] = json_answer(public_jwks(RSA))
    client = create_client(
        client_id=unique("jwks-uri"),
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=key_host.url + path,
    )
    for _ in range(3):
        assert post_token(server, assertion(server, client.client_id)).status_code == 200
    assert key_host.hits[path] == 1  # cached
    # The client rotates: a new key id makes the server look again, once.
    rotated = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"}, private=True)
    key_host.answers[path] = json_answer(public_jwks(RSA, rotated))
    response = post_token(server, assertion(server, client.client_id, rotated))
    assert response.status_code == 200, response.text
    assert key_host.hits[path] == 2


JWKS_URI_FAILURES = {
    "not-found": lambda: (404, {}, b"nothing here"),
    "not-json": lambda: (200, {"Content-Type": "application/json"}, b"<html>"),
    "not-a-key-set": lambda: (200, {}, b'{"keys": "none"}'),
    "private-key-published": lambda: (
        200,
        {},
        json.dumps({"keys": [RSA.as_dict(private=True)]}).encode(),
    ),
    "huge": lambda: (200, {}, b'{"keys": [' + b" " * 300_000 + b"]}"),
    "redirect": lambda: (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
}


@pytest.mark.parametrize("failure", list(JWKS_URI_FAILURES), ids=list(JWKS_URI_FAILURES))
def test_a_jwks_uri_that_fails_is_invalid_client(server, create_client, key_host, failure):
    path = f"/{uuid.uuid4().hex}/{failure}"
    key_host.answers[path] = JWKS_URI_FAILURES[failure]
    client = create_client(
        client_id=unique("bad-uri"),
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri=key_host.url + path,
    )
    assert_refused(post_token(server, assertion(server, client.client_id)))


def test_a_jwks_uri_on_a_private_address_is_not_fetched(server, create_client):
    client = create_client(
        client_id=unique("ssrf"),
        token_endpoint_auth_method="private_key_jwt",
        jwks_uri="https://10.255.255.1/jwks.json",
    )
    started = time.monotonic()
    assert_refused(post_token(server, assertion(server, client.client_id)))
    assert time.monotonic() - started < 4  # refused before any connection attempt


# -- bad assertions ----------------------------------------------------------------------


def _unsigned(server, client_id: str) -> str:
    payload = assertion(server, client_id).split(".")[1]
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    return f"{head}.{payload}."


def _hmac_with_public_key(server, client_id: str) -> str:
    # Algorithm confusion: an HMAC keyed with the client's *public* key (as PEM and as
    # the JWK's JSON), which an RS256-only verifier must never accept.
    header, payload, _ = assertion(server, client_id).split(".")
    header = b64(json.dumps({"alg": "HS256", "kid": RSA.kid}).encode())
    signing_input = f"{header}.{payload}".encode()
    key = RSA.as_pem(private=False)
    signature = hmac.new(key, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _with_header(signed: str, header: dict) -> str:
    _, payload, signature = signed.split(".")
    return f"{b64(json.dumps(header).encode())}.{payload}.{signature}"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


BAD_ASSERTIONS: dict[str, Callable] = {
    "garbled": lambda s, c: "not.a.jwt",
    "two-parts": lambda s, c: "abc.def",
    "huge": lambda s, c: "a" * 20000 + ".b.c",
    "alg-none": _unsigned,
    "hmac-with-public-key": _hmac_with_public_key,
    "wrong-key": lambda s, c: assertion(s, c, OTHER_RSA),
    "unknown-kid": lambda s, c: assertion(
        s, c, RSAKey.generate_key(2048, parameters={"kid": "nope"}, private=True)
    ),
    "expired": lambda s, c: assertion(s, c, exp=int(time.time()) - 300),
    "exp-too-far": lambda s, c: assertion(s, c, exp=int(time.time()) + 30 * 86400),
    "exp-missing": lambda s, c: assertion(s, c, exp=None),
    "exp-string": lambda s, c: assertion(s, c, exp="tomorrow"),
    "iat-future": lambda s, c: assertion(s, c, iat=int(time.time()) + 3600),
    "nbf-future": lambda s, c: assertion(s, c, nbf=int(time.time()) + 3600),
    "wrong-audience": lambda s, c: assertion(s, c, aud="https://elsewhere.example/token"),
    "audience-missing": lambda s, c: assertion(s, c, aud=None),
    "audience-number": lambda s, c: assertion(s, c, aud=42),
    "jti-missing": lambda s, c: assertion(s, c, jti=None),
    "jti-number": lambda s, c: assertion(s, c, jti=7),
    "sub-differs": lambda s, c: assertion(s, c, sub="someone-else"),
    "iss-other-client": lambda s, c: assertion(s, c, iss="other-client", sub="other-client"),
    "unicode-junk": lambda s, c: "\u00ff.\x00.\u202e",
    "non-ascii-alg-and-kid": lambda s, c: _with_header(
        assertion(s, c), {"alg": "R\u00e9S256", "kid": "\u202e\u00ff"}
    ),
}


@pytest.mark.parametrize("make", list(BAD_ASSERTIONS.values()), ids=list(BAD_ASSERTIONS))
def test_bad_assertions_are_invalid_client(server, key_client, make):
    response = post_token(server, make(server, key_client.client_id))
    assert response.status_code in (400, 401), response.text
    body = response.json()
    assert body["error"] in ("invalid_client", "invalid_request"), body
    assert response.status_code == 401 or body["error"] == "invalid_request"


def test_wrong_assertion_type_and_missing_assertion_are_invalid_request(server, key_client):
    good = assertion(server, key_client.client_id)
    wrong_type = requests.post(
        token_url(server),
        data={**CC, "client_assertion_type": "urn:other", "client_assertion": good},
        timeout=TIMEOUT,
    )
    assert_refused(wrong_type, 400, "invalid_request")
    missing = requests.post(
        token_url(server), data={**CC, "client_assertion_type": ASSERTION_TYPE}, timeout=TIMEOUT
    )
    assert_refused(missing, 400, "invalid_request")


def test_two_methods_at_once_are_invalid_request(server, key_client, create_client):
    good = assertion(server, key_client.client_id)
    with_basic = requests.post(
        token_url(server),
        data={**CC, "client_assertion_type": ASSERTION_TYPE, "client_assertion": good},
        auth=(key_client.client_id, "whatever"),
        timeout=TIMEOUT,
    )
    assert_refused(with_basic, 400, "invalid_request")
    secret_client = create_client(client_id=unique("both"))
    basic_and_body = requests.post(
        token_url(server),
        data={**CC, "client_secret": secret_client.client_secret},
        auth=(secret_client.client_id, secret_client.client_secret),
        timeout=TIMEOUT,
    )
    assert_refused(basic_and_body, 400, "invalid_request")


def test_a_client_uses_only_its_registered_method(server, key_client, create_client):
    secret_client = create_client(client_id=unique("basic-only"))
    # A valid assertion signed by a key the secret client never registered.
    refused = post_token(server, assertion(server, secret_client.client_id))
    assert_refused(refused)
    # And a private_key_jwt client cannot fall back to a secret.
    basic = requests.post(
        token_url(server), data=CC, auth=(key_client.client_id, "guess"), timeout=TIMEOUT
    )
    assert_refused(basic)


def test_an_algorithm_pinned_by_the_client_is_enforced(server, create_client):
    client = create_client(
        client_id=unique("pinned"),
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(RSA, EC),
        token_endpoint_auth_signing_alg="ES256",
    )
    assert post_token(server, assertion(server, client.client_id, EC, "ES256")).status_code == 200
    assert_refused(post_token(server, assertion(server, client.client_id, RSA, "RS256")))


# -- replays -----------------------------------------------------------------------------


def test_a_replayed_assertion_is_refused(server, key_client):
    once = assertion(server, key_client.client_id)
    assert post_token(server, once).status_code == 200
    assert_refused(post_token(server, once))


def test_one_assertion_sent_twenty_times_at_once_wins_once(server, key_client):
    once = assertion(server, key_client.client_id)
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: post_token(server, once).status_code, range(20)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 401}, statuses


def test_the_same_jti_from_two_clients_is_two_ids(server, create_client):
    first, second = (
        create_client(
            client_id=unique("jti"),
            token_endpoint_auth_method="private_key_jwt",
            jwks=public_jwks(RSA),
        )
        for _ in range(2)
    )
    for client in (first, second):
        signed = assertion(server, client.client_id, jti="shared-id")
        assert post_token(server, signed).status_code == 200


# -- the other endpoints that authenticate clients --------------------------------------


def test_revocation_and_device_authorization_accept_assertions(server, create_client):
    client = create_client(
        client_id=unique("endpoints"),
        token_endpoint_auth_method="private_key_jwt",
        jwks=public_jwks(RSA),
        grant_types=["client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
    )
    token = post_token(server, assertion(server, client.client_id)).json()["access_token"]
    revoke_url = server.public_url + "/oauth2/revoke"
    revoked = requests.post(
        revoke_url,
        data={
            "token": token,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(server, client.client_id, aud=revoke_url),
        },
        timeout=TIMEOUT,
    )
    assert revoked.status_code == 200, revoked.text
    assert introspect(server, token)["active"] is False
    device_url = server.public_url + "/oauth2/device/auth"
    device = requests.post(
        device_url,
        data={
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(server, client.client_id),  # the token URL works too
        },
        timeout=TIMEOUT,
    )
    assert device.status_code == 200, device.text
    assert device.json()["device_code"]
    bad = requests.post(
        device_url,
        data={
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(server, client.client_id, OTHER_RSA),
        },
        timeout=TIMEOUT,
    )
    assert_refused(bad)


def test_discovery_lists_the_methods_and_algorithms(server):
    metadata = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    ).json()
    assert {"private_key_jwt", "client_secret_jwt"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    assert {"RS256", "PS256", "ES256", "EdDSA", "HS256"} <= set(
        metadata["token_endpoint_auth_signing_alg_values_supported"]
    )
    assert "private_key_jwt" in metadata["revocation_endpoint_auth_methods_supported"]
