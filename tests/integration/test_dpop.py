"""DPoP (RFC 9449) over real HTTP, on SQLite and PostgreSQL: proofs at the token endpoint
for every grant, bound access and refresh tokens (introspection, JWT ``cnf``), bound codes
(``dpop_jkt`` and PAR), presentation at ``/userinfo``, a table of bad proofs, replay from
concurrent requests, and server nonces (one dedicated server per database, started once for
the module; everything else runs on the shared servers).

Proofs are made here with joserfc and thumbprints computed here (RFC 7638), independently
of the server. Assertions are on statuses and RFC error codes, never on wording; no
request may ever get a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from tests.conftest import dedicated_server
from tests.integration.oauth_flow import REDIRECT_URI, FlowDriver, create_code_client, query

TIMEOUT = 10
ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
INVALID_PROOF = "invalid_dpop_proof"
USE_NONCE = "use_dpop_nonce"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}


# -- keys and proofs -----------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def ath(access_token: str) -> str:
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def rfc7638_thumbprint(jwk: dict) -> str:
    """Required members only, sorted, no whitespace, SHA-256 (RFC 7638 §3)."""
    members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


_RSA_KEYS: list[RSAKey] = []


def new_key(alg: str):
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519", private=True)
    if not _RSA_KEYS:  # RSA keys are slow to make: a few, reused by tests of this process
        _RSA_KEYS.extend(RSAKey.generate_key(2048, private=True) for _ in range(2))
    return _RSA_KEYS[0] if alg == "RS256" else _RSA_KEYS[1]


def sign(header: dict, payload: dict | bytes, key) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with warnings.catch_warnings():
        # joserfc flags the "EdDSA" name (RFC 9864) and short HMAC keys; both on purpose here.
        warnings.simplefilter("ignore", SecurityWarning)
        return jws.serialize_compact(header, raw, key, algorithms=[header["alg"]])


def sign_raw(raw_header: bytes, claims: dict, key, alg: str = "ES256") -> str:
    """A compact JWS over a header given as bytes, signed without joserfc's header checks."""
    signing_input = f"{b64url(raw_header)}.{b64url(json.dumps(claims).encode())}"
    signature = jws.JWSRegistry.algorithms[alg].sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


class Holder:
    """A client's DPoP key pair, and proofs made with it."""

    def __init__(self, alg: str = "ES256"):
        self.alg = alg
        self.key = new_key(alg)
        self.jwk = self.key.as_dict(private=False)
        self.jkt = rfc7638_thumbprint(self.jwk)

    def claims(self, htu: str, htm: str = "POST", **extra) -> dict:
        claims = {"jti": uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
        claims.update(extra)
        return {name: value for name, value in claims.items() if value is not None}

    def header(self, **extra) -> dict:
        header = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk, **extra}
        return {name: value for name, value in header.items() if value is not None}

    def proof(self, htu: str, htm: str = "POST", access_token: str | None = None, **claims) -> str:
        if access_token is not None:
            claims.setdefault("ath", ath(access_token))
        return sign(self.header(), self.claims(htu, htm, **claims), self.key)


# -- requests ------------------------------------------------------------------------------


def token_url(server) -> str:
    return server.public_url + "/oauth2/token"


def userinfo_url(server) -> str:
    return server.public_url + "/userinfo"


def client_auth(client) -> tuple[dict, tuple | None]:
    """(form fields, Basic credentials) authenticating ``client`` (a dict or TestClient)."""
    if isinstance(client, dict):
        client_id, secret = client["client_id"], client.get("client_secret")
    else:
        client_id, secret = client.client_id, client.client_secret
    if secret:
        return {}, (client_id, secret)
    return {"client_id": client_id}, None


def post_token(server, client, form: dict, dpop: str | None = None, **headers):
    fields, auth = client_auth(client)
    if dpop is not None:
        headers["DPoP"] = dpop
    return requests.post(
        token_url(server),
        data={**fields, **form},
        auth=auth,
        headers=headers,
        timeout=TIMEOUT,
    )


def client_credentials(server, client, dpop: str | None = None, **headers):
    return post_token(server, client, {"grant_type": "client_credentials"}, dpop, **headers)


def exchange(driver: FlowDriver, code: str, dpop: str | None = None):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": driver.redirect_uri,
        "code_verifier": driver.code_verifier,
    }
    return post_token(driver.server, driver.client, form, dpop)


def refresh(server, client, refresh_token: str, dpop: str | None = None):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return post_token(server, client, form, dpop)


def userinfo(server, access_token: str, dpop: str | None = None, scheme: str = "DPoP"):
    headers = {"Authorization": f"{scheme} {access_token}"}
    if dpop is not None:
        headers["DPoP"] = dpop
    return requests.get(userinfo_url(server), headers=headers, timeout=TIMEOUT)


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def discovery(server) -> dict:
    response = requests.get(
        server.public_url + "/.well-known/openid-configuration", timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def new_client(server, **fields) -> dict:
    body = {"grant_types": ["client_credentials"], **fields}
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    return response.json()


def public_code_client(server, **fields) -> dict:
    return create_code_client(server, token_endpoint_auth_method="none", **fields)


def unique_subject() -> str:
    return f"dpop-{uuid.uuid4().hex[:12]}@example.com"


def code_for(server, client: dict, **params) -> tuple[FlowDriver, str]:
    driver = FlowDriver(server, client)
    callback = driver.run(login={"subject": unique_subject()}, **params)
    return driver, callback["code"]


def run_together(count: int, call) -> list[requests.Response]:
    """``call()`` from ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        try:
            results[index] = call()
        except Exception as exc:  # reported below, with the others
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(result, requests.Response) for result in results), results
    return results


# -- assertions ----------------------------------------------------------------------------


def assert_tokens(response, token_type: str = "DPoP") -> dict:  # noqa: S107
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"].lower() == token_type.lower(), body
    if token_type == "DPoP":
        assert body["token_type"] == "DPoP", body  # RFC 9449 §5.1: exactly this
    return body


def assert_refused(response, error: str = INVALID_PROOF, status: int = 400) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert "Traceback" not in response.text
    body = response.json()
    assert body["error"] == error, body
    if status == 400:
        assert "no-store" in response.headers.get("Cache-Control", "")
    return body


def assert_challenge(response, error: str) -> None:
    """RFC 9449 §7.1: a 401 with a DPoP challenge naming the error."""
    assert_refused(response, error, 401)
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("DPoP"), challenge
    assert f'error="{error}"' in challenge, challenge


def assert_bound(server, token: str, jkt: str) -> dict:
    found = introspect(server, token)
    assert found["active"] is True, found
    assert found["token_type"] == "DPoP", found
    assert found["cnf"] == {"jkt": jkt}, found
    return found


def assert_unbound(server, token: str) -> dict:
    found = introspect(server, token)
    assert found["active"] is True, found
    assert found["token_type"].lower() == "bearer", found
    assert "cnf" not in found, found
    return found


# -- 1, 2, 7, 11: client credentials, JWT access tokens, bound clients, discovery ------------


def test_key_thumbprints_agree_with_joserfc():
    for alg in ALGORITHMS:
        holder = Holder(alg)
        assert holder.jkt == holder.key.thumbprint(), alg


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_client_credentials_with_a_proof_is_bound(server, create_client, alg):
    client = create_client()
    holder = Holder(alg)
    body = assert_tokens(client_credentials(server, client, holder.proof(token_url(server))))
    assert_bound(server, body["access_token"], holder.jkt)


def test_client_credentials_without_a_proof_is_bearer(server, create_client):
    client = create_client()
    body = assert_tokens(client_credentials(server, client), "bearer")
    assert_unbound(server, body["access_token"])


def test_jwt_access_token_carries_the_thumbprint(server, create_client):
    client = create_client(access_token_strategy="jwt")
    holder = Holder()
    body = assert_tokens(client_credentials(server, client, holder.proof(token_url(server))))
    parts = body["access_token"].split(".")
    assert len(parts) == 3, body
    assert b64url_json(parts[1])["cnf"] == {"jkt": holder.jkt}
    assert_bound(server, body["access_token"], holder.jkt)


@pytest.mark.parametrize(
    "htu",
    [
        pytest.param(lambda url: url.replace("http://", "HTTP://"), id="scheme-uppercase"),
        pytest.param(lambda url: url + "?query=ignored", id="with-query"),
        pytest.param(lambda url: url + "#fragment", id="with-fragment"),
    ],
)
def test_equivalent_htu_is_accepted(server, create_client, htu):
    """RFC 9449 §4.3 check 9: compared after normalization, query and fragment ignored."""
    client = create_client()
    holder = Holder()
    body = assert_tokens(client_credentials(server, client, holder.proof(htu(token_url(server)))))
    assert_bound(server, body["access_token"], holder.jkt)


def test_client_with_dpop_bound_access_tokens_needs_a_proof(server, create_client):
    client = create_client(dpop_bound_access_tokens=True)
    assert client.document["dpop_bound_access_tokens"] is True
    assert_refused(client_credentials(server, client))
    holder = Holder()
    body = assert_tokens(client_credentials(server, client, holder.proof(token_url(server))))
    assert_bound(server, body["access_token"], holder.jkt)


def test_discovery_lists_the_proof_algorithms(server):
    assert sorted(discovery(server)["dpop_signing_alg_values_supported"]) == sorted(ALGORITHMS)


# -- 3: the authorization code flow and /userinfo ------------------------------------------


@pytest.fixture
def bound_tokens(dev_server):
    """A code exchanged with a proof: (holder, token response)."""
    holder = Holder()
    driver, code = code_for(dev_server, create_code_client(dev_server))
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(dev_server))))
    assert body["refresh_token"] and body["id_token"]
    return holder, body


def test_code_exchange_with_a_proof_binds_the_tokens(dev_server, bound_tokens):
    holder, body = bound_tokens
    assert_bound(dev_server, body["access_token"], holder.jkt)
    response = userinfo(
        dev_server,
        body["access_token"],
        holder.proof(userinfo_url(dev_server), "GET", body["access_token"]),
    )
    assert response.status_code == 200, response.text
    assert response.json()["sub"]


def _userinfo_other_key(server, holder, token):
    return Holder("EdDSA").proof(userinfo_url(server), "GET", token)


USERINFO_REFUSALS = [
    pytest.param(lambda server, holder, token: None, id="no-proof"),
    pytest.param(
        lambda server, holder, token: holder.proof(userinfo_url(server), "GET", ath=ath("x")),
        id="wrong-ath",
    ),
    pytest.param(
        lambda server, holder, token: holder.proof(userinfo_url(server), "GET"), id="no-ath"
    ),
    pytest.param(_userinfo_other_key, id="other-key"),
    pytest.param(
        lambda server, holder, token: holder.proof(userinfo_url(server), "POST", token),
        id="wrong-htm",
    ),
    pytest.param(
        lambda server, holder, token: holder.proof(token_url(server), "GET", token),
        id="wrong-htu",
    ),
]


@pytest.mark.parametrize("make_proof", USERINFO_REFUSALS)
def test_userinfo_refuses_a_bad_presentation(dev_server, bound_tokens, make_proof):
    holder, body = bound_tokens
    token = body["access_token"]
    assert_challenge(
        userinfo(dev_server, token, make_proof(dev_server, holder, token)), INVALID_PROOF
    )
    # The token itself is unharmed.
    good = holder.proof(userinfo_url(dev_server), "GET", token)
    assert userinfo(dev_server, token, good).status_code == 200


def test_userinfo_refuses_a_replayed_proof(dev_server, bound_tokens):
    holder, body = bound_tokens
    token = body["access_token"]
    proof = holder.proof(userinfo_url(dev_server), "GET", token)
    assert userinfo(dev_server, token, proof).status_code == 200
    assert_challenge(userinfo(dev_server, token, proof), INVALID_PROOF)


def test_userinfo_accepts_a_proof_only_once_under_concurrency(dev_server, bound_tokens):
    holder, body = bound_tokens
    token = body["access_token"]
    proof = holder.proof(userinfo_url(dev_server), "GET", token)
    results = run_together(10, lambda: userinfo(dev_server, token, proof))
    assert sorted(result.status_code for result in results) == [200] + [401] * 9, [
        (result.status_code, result.text[:200]) for result in results
    ]
    for result in results:
        if result.status_code == 401:
            assert_challenge(result, INVALID_PROOF)


def test_userinfo_by_post_with_a_post_proof(dev_server, bound_tokens):
    holder, body = bound_tokens
    token = body["access_token"]
    response = requests.post(
        userinfo_url(dev_server),
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": holder.proof(userinfo_url(dev_server), "POST", token),
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def test_bound_jwt_access_token_at_userinfo(dev_server):
    holder = Holder("EdDSA")
    client = create_code_client(dev_server, access_token_strategy="jwt")
    driver, code = code_for(dev_server, client)
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(dev_server))))
    token = body["access_token"]
    assert b64url_json(token.split(".")[1])["cnf"] == {"jkt": holder.jkt}
    proof = holder.proof(userinfo_url(dev_server), "GET", token)
    assert userinfo(dev_server, token, proof).status_code == 200
    assert_challenge(userinfo(dev_server, token, scheme="Bearer"), "invalid_token")
    other = Holder().proof(userinfo_url(dev_server), "GET", token)
    assert_challenge(userinfo(dev_server, token, other), INVALID_PROOF)


def test_bound_token_as_bearer_is_invalid_token(dev_server, bound_tokens):
    holder, body = bound_tokens
    token = body["access_token"]
    proof = holder.proof(userinfo_url(dev_server), "GET", token)
    assert_challenge(userinfo(dev_server, token, proof, scheme="Bearer"), "invalid_token")
    assert_challenge(userinfo(dev_server, token, scheme="Bearer"), "invalid_token")
    in_body = requests.post(
        userinfo_url(dev_server),
        data={"access_token": token},
        headers={"DPoP": proof},
        timeout=TIMEOUT,
    )
    assert_challenge(in_body, "invalid_token")


def test_unbound_token_with_the_dpop_scheme_is_invalid_token(dev_server):
    driver, code = code_for(dev_server, create_code_client(dev_server))
    body = assert_tokens(exchange(driver, code), "bearer")
    token = body["access_token"]
    proof = Holder().proof(userinfo_url(dev_server), "GET", token)
    response = userinfo(dev_server, token, proof)
    assert_refused(response, "invalid_token", 401)
    assert userinfo(dev_server, token, scheme="Bearer").status_code == 200


# -- 4: refresh tokens ----------------------------------------------------------------------


def test_public_clients_refresh_token_is_bound(dev_server):
    client = public_code_client(dev_server)
    holder, other = Holder(), Holder("EdDSA")
    driver, code = code_for(dev_server, client)
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(dev_server))))
    refresh_token = body["refresh_token"]
    assert_bound(dev_server, refresh_token, holder.jkt)

    assert_refused(refresh(dev_server, client, refresh_token))
    assert_refused(refresh(dev_server, client, refresh_token, other.proof(token_url(dev_server))))
    # The failed attempts did not use the token up.
    body = assert_tokens(
        refresh(dev_server, client, refresh_token, holder.proof(token_url(dev_server)))
    )
    assert_bound(dev_server, body["access_token"], holder.jkt)
    assert_bound(dev_server, body["refresh_token"], holder.jkt)  # still bound after rotation


def test_confidential_client_refreshes_without_a_proof(dev_server):
    client = create_code_client(dev_server)
    holder = Holder()
    driver, code = code_for(dev_server, client)
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(dev_server))))
    assert_unbound(dev_server, body["refresh_token"])
    refreshed = assert_tokens(refresh(dev_server, client, body["refresh_token"]), "bearer")
    assert_unbound(dev_server, refreshed["access_token"])


# -- 5, 6: codes bound by dpop_jkt and by a proof at PAR --------------------------------------


def assert_code_bound_to(server, driver: FlowDriver, code: str, holder: Holder) -> None:
    """Without a proof, or with another key: refused, and the code is not spent."""
    assert_refused(exchange(driver, code))
    assert_refused(exchange(driver, code, Holder("EdDSA").proof(token_url(server))))
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(server))))
    assert_bound(server, body["access_token"], holder.jkt)


def test_dpop_jkt_binds_the_code(dev_server):
    holder = Holder()
    driver, code = code_for(dev_server, create_code_client(dev_server), dpop_jkt=holder.jkt)
    assert_code_bound_to(dev_server, driver, code, holder)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("short", id="short"),
        pytest.param("A" * 42 + "=", id="padded"),
        pytest.param("A" * 42 + "+", id="not-base64url"),
        pytest.param("A" * 44, id="too-long"),
        pytest.param("A" * 200, id="much-too-long"),
    ],
)
def test_malformed_dpop_jkt_is_invalid_request(dev_server, value):
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    response = driver.authorize(dpop_jkt=value)
    assert response.status_code in (302, 303), response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    assert query(location)["error"] == "invalid_request"


def push(server, driver: FlowDriver, dpop: str | None = None, **params) -> requests.Response:
    form = {
        "response_type": "code",
        "redirect_uri": driver.redirect_uri,
        "scope": "openid offline_access",
        "state": driver.state,
        "nonce": driver.nonce,
        "code_challenge": driver.code_challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return post_token_like(server, "/oauth2/par", driver.client, form, dpop)


def post_token_like(server, path: str, client, form: dict, dpop: str | None):
    fields, auth = client_auth(client)
    headers = {"DPoP": dpop} if dpop is not None else {}
    return requests.post(
        server.public_url + path,
        data={**fields, **form},
        auth=auth,
        headers=headers,
        timeout=TIMEOUT,
    )


def test_a_proof_at_par_binds_the_code(dev_server):
    holder = Holder("RS256")
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    response = push(dev_server, driver, holder.proof(dev_server.public_url + "/oauth2/par"))
    assert response.status_code == 201, response.text
    callback = driver.run(
        login={"subject": unique_subject()},
        request_uri=response.json()["request_uri"],
        response_type=None,
        redirect_uri=None,
        scope=None,
        state=None,
        nonce=None,
        pkce=False,
    )
    assert_code_bound_to(dev_server, driver, callback["code"], holder)


@pytest.mark.parametrize(
    "case",
    ["dpop_jkt-of-another-key", "proof-for-the-token-endpoint", "garbage-proof"],
)
def test_par_refuses_a_proof_that_does_not_fit(dev_server, case):
    holder = Holder()
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    par_url = dev_server.public_url + "/oauth2/par"
    params = {}
    if case == "dpop_jkt-of-another-key":
        proof, params["dpop_jkt"] = holder.proof(par_url), Holder().jkt
    elif case == "proof-for-the-token-endpoint":
        proof = holder.proof(token_url(dev_server))
    else:
        proof = "garbage"
    assert_refused(push(dev_server, driver, proof, **params))


def test_par_with_matching_dpop_jkt_and_proof(dev_server):
    holder = Holder()
    driver = FlowDriver(dev_server, create_code_client(dev_server))
    par_url = dev_server.public_url + "/oauth2/par"
    response = push(dev_server, driver, holder.proof(par_url), dpop_jkt=holder.jkt)
    assert response.status_code == 201, response.text


# -- 8: bad proofs at the token endpoint -----------------------------------------------------


def raw_post(server, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple:
    """POST over a bare socket, header lines exactly as given: (status, headers, body)."""
    parts = urlsplit(server.public_url)
    request = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: " + parts.netloc.encode()]
    request += [name + b": " + value for name, value in headers]
    request += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close", b"", b""]
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"\r\n".join(request) + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, dict(response.getheaders()), response.read()


def send_raw(server, client, values: list[bytes]) -> tuple:
    """A client credentials request carrying one DPoP header line per value."""
    credentials = f"{client.client_id}:{client.client_secret}".encode()
    headers = [
        (b"Authorization", b"Basic " + base64.b64encode(credentials)),
        (b"Content-Type", b"application/x-www-form-urlencoded"),
        *((b"DPoP", value) for value in values),
    ]
    return raw_post(server, "/oauth2/token", headers, b"grant_type=client_credentials")


class Raw(list):
    """Header values to send as they are, one header line each (bypassing requests).
    ``strict``: the HTTP layer has no reason to refuse them; the answer must be ours."""

    def __init__(self, values, strict: bool = False):
        super().__init__(values)
        self.strict = strict


def _two_joined(holder, server, client):
    return f"{holder.proof(token_url(server))}, {holder.proof(token_url(server))}"


def _two_lines(holder, server, client):
    values = [holder.proof(token_url(server)).encode() for _ in range(2)]
    return Raw(values, strict=True)


def _unsigned(holder, server, client):
    header = b64url(json.dumps(holder.header(alg="none")).encode())
    payload = b64url(json.dumps(holder.claims(token_url(server))).encode())
    return f"{header}.{payload}."


def _unsigned_with_signature(holder, server, client):
    return _unsigned(holder, server, client) + b64url(b"\x00" * 64)


def _hs256(holder, server, client):
    secret = OctKey.generate_key(256, private=True)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": holder.jwk}
    return sign(header, holder.claims(token_url(server)), secret)


def _hs256_with_oct_jwk(holder, server, client):
    secret = OctKey.generate_key(256, private=True)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": secret.as_dict(private=True)}
    return sign(header, holder.claims(token_url(server)), secret)


def _private_jwk(holder, server, client):
    header = holder.header(jwk=holder.key.as_dict(private=True))
    return sign(header, holder.claims(token_url(server)), holder.key)


def _signed_by_another_key(holder, server, client):
    return sign(holder.header(), holder.claims(token_url(server)), Holder().key)


def _alg_of_another_key_type(holder, server, client):
    rsa = Holder("RS256")
    return sign(holder.header(alg="RS256"), holder.claims(token_url(server)), rsa.key)


def _rsa_1024(holder, server, client):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # too short, on purpose
        key = RSAKey.generate_key(1024, private=True)
    header = {"typ": "dpop+jwt", "alg": "RS256", "jwk": key.as_dict(private=False)}
    return sign(header, holder.claims(token_url(server)), key)


def _es384(holder, server, client):
    key = ECKey.generate_key("P-384", private=True)
    header = {"typ": "dpop+jwt", "alg": "ES384", "jwk": key.as_dict(private=False)}
    return sign(header, holder.claims(token_url(server)), key)


def _es256_with_p384_jwk(holder, server, client):
    key = ECKey.generate_key("P-384", private=True)
    raw = json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)})
    return sign_raw(raw.encode(), holder.claims(token_url(server)), key, "ES384")


def _header_change(**changes) -> Callable:
    def make(holder, server, client):
        return sign(holder.header(**changes), holder.claims(token_url(server)), holder.key)

    return make


def _claims_change(htu_path: str = "/oauth2/token", **changes) -> Callable:
    def make(holder, server, client):
        claims = {**holder.claims(server.public_url + htu_path), **changes}
        return sign(holder.header(), claims, holder.key)

    return make


def _iat(offset: int) -> Callable:
    def make(holder, server, client):
        return holder.proof(token_url(server), iat=int(time.time()) + offset)

    return make


def _without(name: str) -> Callable:
    def make(holder, server, client):
        claims = holder.claims(token_url(server))
        del claims[name]
        return sign(holder.header(), claims, holder.key)

    return make


def _other_host(holder, server, client):
    return holder.proof(token_url(server).replace("127.0.0.1", "localhost"))


def _other_scheme(holder, server, client):
    return holder.proof(token_url(server).replace("http://", "https://"))


def _replayed(holder, server, client):
    proof = holder.proof(token_url(server))
    assert_tokens(client_credentials(server, client, proof))
    return proof


def _big_header(holder, server, client):
    raw = json.dumps(holder.header(padding="a" * 10_240)).encode()
    return sign_raw(raw, holder.claims(token_url(server)), holder.key)


def _big_value(holder, server, client):
    return holder.proof(token_url(server)) + "." * 10_240


def _crit(holder, server, client):
    raw = json.dumps(holder.header(crit=["exp"], exp=1)).encode()
    return sign_raw(raw, holder.claims(token_url(server)), holder.key)


def _deeply_nested_header(holder, server, client):
    depth = 2_500  # deep enough to overflow a recursive parser, short enough to be read
    jwk = json.dumps(holder.jwk)
    raw = f'{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"x":{"[" * depth}{"]" * depth}}}'
    return sign_raw(raw.encode(), holder.claims(token_url(server)), holder.key)


def _deeply_nested_payload(holder, server, client):
    depth = 2_500
    claims = json.dumps(holder.claims(token_url(server)))[:-1]
    raw = f'{claims},"x":{"[" * depth}{"]" * depth}}}'.encode()
    signing_input = f"{b64url(json.dumps(holder.header()).encode())}.{b64url(raw)}"
    signature = jws.JWSRegistry.algorithms["ES256"].sign(signing_input.encode(), holder.key)
    return f"{signing_input}.{b64url(signature)}"


def _duplicate_members(holder, server, client):
    raw = json.dumps(holder.header())[:-1] + ', "typ": "dpop+jwt"}'
    return sign_raw(raw.encode(), holder.claims(token_url(server)), holder.key)


def _json_serialization(holder, server, client):
    return json.dumps({"payload": "e30", "signatures": []})


def _jwe_shape(holder, server, client):
    return "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"


def _with_bytes(inserted: bytes) -> Callable:
    def make(holder, server, client):
        proof = holder.proof(token_url(server)).encode()
        return Raw([proof[:20] + inserted + proof[20:]])

    return make


def _non_ascii(holder, server, client):
    return Raw([holder.proof(token_url(server)).encode() + "é".encode()])


def _non_ascii_latin1(holder, server, client):
    return Raw(["é".encode("latin-1") + holder.proof(token_url(server)).encode()])


BAD_PROOFS = [
    pytest.param(lambda holder, server, client: "garbage", id="garbage"),
    pytest.param(lambda holder, server, client: "", id="empty"),
    pytest.param(lambda holder, server, client: "a.b.c", id="three-junk-parts"),
    pytest.param(_json_serialization, id="json-serialization"),
    pytest.param(_jwe_shape, id="jwe"),
    pytest.param(_two_joined, id="two-proofs-comma-joined"),
    pytest.param(_two_lines, id="two-dpop-header-lines"),
    pytest.param(_unsigned, id="alg-none"),
    pytest.param(_unsigned_with_signature, id="alg-none-with-signature"),
    pytest.param(_hs256, id="hs256"),
    pytest.param(_hs256_with_oct_jwk, id="hs256-oct-jwk"),
    pytest.param(_private_jwk, id="private-key-in-jwk"),
    pytest.param(_signed_by_another_key, id="signed-by-another-key"),
    pytest.param(_alg_of_another_key_type, id="rs256-with-ec-jwk"),
    pytest.param(_rsa_1024, id="rsa-1024-bits"),
    pytest.param(_es384, id="es384"),
    pytest.param(_es256_with_p384_jwk, id="es256-with-p384-jwk"),
    pytest.param(_header_change(typ="JWT"), id="typ-jwt"),
    pytest.param(_header_change(typ=None), id="no-typ"),
    pytest.param(_header_change(jwk=None), id="no-jwk"),
    pytest.param(_crit, id="crit"),
    pytest.param(_claims_change(htm="GET"), id="htm-get"),
    pytest.param(_claims_change(htm="post"), id="htm-lowercase"),
    pytest.param(_claims_change("/oauth2/par"), id="htu-other-path"),
    pytest.param(_claims_change("/userinfo"), id="htu-userinfo"),
    pytest.param(_claims_change("/oauth2/token/"), id="htu-trailing-slash"),
    pytest.param(_claims_change("/OAUTH2/TOKEN"), id="htu-path-case"),
    pytest.param(_other_host, id="htu-other-host"),
    pytest.param(_other_scheme, id="htu-other-scheme"),
    pytest.param(_claims_change(htu="not a url"), id="htu-not-a-url"),
    pytest.param(_claims_change(htu=42), id="htu-number"),
    pytest.param(_iat(-600), id="iat-10-minutes-old"),
    pytest.param(_iat(600), id="iat-10-minutes-ahead"),
    pytest.param(_claims_change(iat="now"), id="iat-string"),
    pytest.param(_claims_change(iat=10**30), id="iat-huge"),
    pytest.param(_without("iat"), id="no-iat"),
    pytest.param(_without("jti"), id="no-jti"),
    pytest.param(_without("htm"), id="no-htm"),
    pytest.param(_without("htu"), id="no-htu"),
    pytest.param(_claims_change(jti=""), id="empty-jti"),
    pytest.param(_claims_change(jti="j" * 10_000), id="huge-jti"),
    pytest.param(_replayed, id="replayed-jti"),
    pytest.param(_big_header, id="10kb-header"),
    pytest.param(_big_value, id="10kb-value"),
    pytest.param(_deeply_nested_header, id="deeply-nested-header"),
    pytest.param(_deeply_nested_payload, id="deeply-nested-payload"),
    pytest.param(_duplicate_members, id="duplicate-header-members"),
    pytest.param(_with_bytes(b"\x00"), id="nul-byte"),
    pytest.param(_with_bytes(b"\r"), id="bare-cr"),
    pytest.param(_with_bytes(b"\n"), id="bare-lf"),
    pytest.param(_with_bytes(b"\r\n"), id="crlf"),
    pytest.param(_with_bytes(b"\x7f\x01"), id="control-bytes"),
    pytest.param(_non_ascii, id="non-ascii-utf8"),
    pytest.param(_non_ascii_latin1, id="non-ascii-latin1"),
]


@pytest.mark.parametrize("make_proof", BAD_PROOFS)
def test_bad_proofs_at_the_token_endpoint(server, create_client, make_proof):
    client = create_client()
    holder = Holder()
    proof = make_proof(holder, server, client)
    if isinstance(proof, Raw):
        status, headers, body = send_raw(server, client, proof)
        # The HTTP layer may refuse the header itself; a 4xx either way, never a 5xx.
        assert 400 <= status < 500, (status, body)
        if proof.strict:
            assert status == 400, (status, body)
            assert json.loads(body)["error"] == INVALID_PROOF, body
        elif headers.get("Content-Type", "").startswith("application/json"):
            assert json.loads(body)["error"] in (INVALID_PROOF, "invalid_request"), body
    else:
        response = client_credentials(server, client, proof)
        assert_refused(response)
    # The client and the key are still fine.
    assert_tokens(client_credentials(server, client, holder.proof(token_url(server))))


# -- 9: one proof, many requests at once ----------------------------------------------------


def test_a_proof_sent_concurrently_is_accepted_once(server, create_client):
    client = create_client()
    proof = Holder().proof(token_url(server))
    results = run_together(20, lambda: client_credentials(server, client, proof))
    assert sorted(result.status_code for result in results) == [200] + [400] * 19, [
        (result.status_code, result.text[:200]) for result in results
    ]
    for result in results:
        if result.status_code == 400:
            assert_refused(result)


# -- 12: the device flow ---------------------------------------------------------------------


def test_device_flow_with_a_proof_is_bound(dev_server):
    server = dev_server
    client = new_client(
        server, grant_types=[DEVICE_GRANT, "refresh_token"], scope="openid offline_access"
    )
    auth = (client["client_id"], client["client_secret"])
    response = requests.post(
        server.public_url + "/oauth2/device/auth",
        data={"scope": "openid offline_access"},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    device = response.json()

    browser = FlowDriver(server, client)
    opened = browser.follow(server.public_url + "/oauth2/device/verify")
    assert opened.status_code == 302, opened.text
    challenge = query(opened.headers["Location"])["device_challenge"]
    accepted = browser.admin(
        "PUT",
        "/admin/oauth2/auth/requests/device/accept",
        params={"device_challenge": challenge},
        json={"user_code": device["user_code"]},
    )
    assert accepted.status_code == 200, accepted.text
    to_login = browser.follow(accepted.json()["redirect_to"])
    assert to_login.status_code == 302, to_login.text
    login_challenge = query(to_login.headers["Location"])["login_challenge"]
    redirect_to = browser.accept_login(login_challenge, subject=unique_subject())
    consent_challenge = browser.consent_challenge_after(redirect_to)
    done = browser.follow(browser.accept_consent(consent_challenge))
    assert done.status_code == 302, done.text

    holder = Holder("PS256")
    form = {"grant_type": DEVICE_GRANT, "device_code": device["device_code"]}
    body = assert_tokens(post_token(server, client, form, holder.proof(token_url(server))))
    assert_bound(server, body["access_token"], holder.jkt)


# -- 10: a server that requires nonces ------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def nonce_server(request, tmp_path_factory):
    """A server with ``OAUTH2_DPOP_NONCE_REQUIRED`` (``--dev``: the code flow's cookies)."""
    env = {"OAUTH2_DPOP_NONCE_REQUIRED": "true"}
    with dedicated_server(request, tmp_path_factory, "dpop_nonce", env) as server:
        yield server


def nonce_from(response, status: int = 400) -> str:
    if status == 401:
        assert_challenge(response, USE_NONCE)
    else:
        assert_refused(response, USE_NONCE, status)
    nonce = response.headers.get("DPoP-Nonce", "")
    assert nonce, response.headers
    return nonce


def test_nonce_server(nonce_server, _shared_servers):
    """One test, so that each database needs one such server whatever the test processes."""
    server = nonce_server
    # Discovery is the same as on a server without nonces.
    ours = discovery(server)
    shared = discovery(_shared_servers(server.database.backend, dev=True))
    assert sorted(ours) == sorted(shared)
    assert ours["dpop_signing_alg_values_supported"] == shared["dpop_signing_alg_values_supported"]

    # The token endpoint: a proof without a nonce, or with an unknown one, is refused
    # with a fresh nonce; with it, the token is issued.
    client = new_client(server)
    holder = Holder()
    nonce = nonce_from(client_credentials(server, client, holder.proof(token_url(server))))
    unknown = holder.proof(token_url(server), nonce="not-" + nonce)
    assert nonce_from(client_credentials(server, client, unknown))
    body = assert_tokens(
        client_credentials(server, client, holder.proof(token_url(server), nonce=nonce))
    )
    assert_bound(server, body["access_token"], holder.jkt)
    # Without a proof there is nothing to put a nonce in: Bearer, as on any server.
    assert_tokens(client_credentials(server, client), "bearer")

    # The code exchange: the refusal does not spend the code.
    driver, code = code_for(server, create_code_client(server))
    nonce = nonce_from(exchange(driver, code, holder.proof(token_url(server))))
    body = assert_tokens(exchange(driver, code, holder.proof(token_url(server), nonce=nonce)))
    token = body["access_token"]

    # /userinfo: 401 use_dpop_nonce in a DPoP challenge, then 200 with the nonce.
    response = userinfo(server, token, holder.proof(userinfo_url(server), "GET", token))
    nonce = nonce_from(response, 401)
    proof = holder.proof(userinfo_url(server), "GET", token, nonce=nonce)
    response = userinfo(server, token, proof)
    assert response.status_code == 200, response.text
