"""JSON Web Key sets on the admin API (``/admin/keys``), their publication at
``/.well-known/jwks.json``, the ``jwks`` CLI commands, and encryption of private keys at
rest, against the shared server of each backend."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
import uuid

import pytest
import requests

ID_TOKEN_SET = "hydra.openid.id-token"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
REQUIRED_MEMBERS = ("kty", "kid", "alg", "use")


def unique_set() -> str:
    return f"set-{uuid.uuid4().hex}"


def admin(server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, server.admin_url + path, timeout=30, **kwargs)


def assert_error(response: requests.Response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0].strip() == "application/json"
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    if error is not None:
        assert body["error"] == error, body
    return body


def assert_public_set(document: dict) -> list[dict]:
    assert set(document) == {"keys"}
    keys = document["keys"]
    assert isinstance(keys, list) and keys
    for key in keys:
        for member in REQUIRED_MEMBERS:
            assert isinstance(key.get(member), str) and key[member], (member, key)
        for member in PRIVATE_MEMBERS:
            assert member not in key, (member, key)
    return keys


def create_key(server, set_id: str, **body) -> dict:
    response = admin(server, "POST", f"/admin/keys/{set_id}", json=body)
    assert response.status_code == 201, response.text
    keys = assert_public_set(response.json())
    assert len(keys) == 1
    return keys[0]


def table(output: str) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in output.splitlines() if line.strip()]
    return re.split(r"\t+", lines[0]), [re.split(r"\t+", line) for line in lines[1:]]


# -- the ID token set ------------------------------------------------------------------


def test_id_token_set_exists_and_is_public(server):
    response = admin(server, "GET", f"/admin/keys/{ID_TOKEN_SET}")
    assert response.status_code == 200, response.text
    keys = assert_public_set(response.json())
    assert all(key["use"] == "sig" for key in keys)

    published = requests.get(server.public_url + "/.well-known/jwks.json", timeout=30)
    assert published.status_code == 200
    published_kids = {key["kid"] for key in assert_public_set(published.json())}
    assert keys[0]["kid"] in published_kids


def test_rotating_the_id_token_set_keeps_the_old_key_published(server):
    before = assert_public_set(admin(server, "GET", f"/admin/keys/{ID_TOKEN_SET}").json())
    old_kid = before[0]["kid"]
    new_kid = f"rotated-{uuid.uuid4().hex}"
    created = create_key(server, ID_TOKEN_SET, alg="RS256", use="sig", kid=new_kid)
    assert created["kid"] == new_kid and created["alg"] == "RS256" and created["kty"] == "RSA"

    after = assert_public_set(admin(server, "GET", f"/admin/keys/{ID_TOKEN_SET}").json())
    after_kids = [key["kid"] for key in after]
    assert after_kids[0] == new_kid  # newest first: it signs from now on
    assert old_kid in after_kids

    # The public JWKS may be served from a short-lived cache; allow it to refresh.
    deadline = time.monotonic() + 15
    while True:
        response = requests.get(server.public_url + "/.well-known/jwks.json", timeout=30)
        assert response.status_code == 200
        kids = {key["kid"] for key in assert_public_set(response.json())}
        if new_kid in kids or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert new_kid in kids
    assert old_kid in kids


# -- creating, reading and deleting keys ------------------------------------------------


def test_create_get_and_delete_keys(server):
    set_id = unique_set()
    rsa = create_key(server, set_id, alg="RS256", use="sig")
    assert rsa["kty"] == "RSA" and rsa["alg"] == "RS256" and rsa["use"] == "sig"
    assert rsa["n"] and rsa["e"]

    response = admin(server, "GET", f"/admin/keys/{set_id}")
    assert response.status_code == 200
    assert [key["kid"] for key in assert_public_set(response.json())] == [rsa["kid"]]

    single = admin(server, "GET", f"/admin/keys/{set_id}/{rsa['kid']}")
    assert single.status_code == 200
    assert assert_public_set(single.json()) == [rsa]

    deleted = admin(server, "DELETE", f"/admin/keys/{set_id}/{rsa['kid']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}/{rsa['kid']}"), 404, "not_found")
    assert_error(admin(server, "DELETE", f"/admin/keys/{set_id}/{rsa['kid']}"), 404, "not_found")


@pytest.mark.parametrize(
    ("alg", "kty", "members"),
    [
        ("RS256", "RSA", ("n", "e")),
        ("RS512", "RSA", ("n", "e")),
        ("PS256", "RSA", ("n", "e")),
        ("ES256", "EC", ("crv", "x", "y")),
        ("ES512", "EC", ("crv", "x", "y")),
        ("EdDSA", "OKP", ("crv", "x")),
    ],
)
def test_supported_algorithms(server, alg, kty, members):
    key = create_key(server, unique_set(), alg=alg)
    assert key["alg"] == alg and key["kty"] == kty and key["use"] == "sig"
    for member in members:
        assert key[member]
    if alg == "ES256":
        assert key["crv"] == "P-256"
    if alg == "EdDSA":
        assert key["crv"] == "Ed25519"


def test_defaults_are_rs256_sig_with_a_generated_kid(server):
    key = create_key(server, unique_set())
    assert key["alg"] == "RS256" and key["use"] == "sig" and key["kty"] == "RSA"
    assert key["kid"]


@pytest.mark.parametrize(
    "body",
    [
        {"alg": "HS256"},
        {"alg": "none"},
        {"alg": "magic", "use": "sig"},
        {"alg": "RS256", "use": "enc"},
        {"alg": "RS256", "use": "other"},
        {"alg": 256},
        {"alg": "RS256", "kid": 7},
        {"alg": "RS256", "kid": "k" * 256},
        {"alg": "ES256", "kid": "a/b"},
        {"alg": "ES256", "kid": "  "},
        {"alg": "ES256", "kid": ".."},
    ],
    ids=[
        "hs256",
        "none",
        "unknown",
        "enc",
        "bad-use",
        "alg-number",
        "kid-number",
        "long-kid",
        "kid-with-slash",
        "kid-blank",
        "kid-dot-dot",
    ],
)
def test_invalid_key_requests_are_refused(server, body):
    set_id = unique_set()
    response = admin(server, "POST", f"/admin/keys/{set_id}", json=body)
    assert_error(response, 400, "invalid_request")
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}"), 404, "not_found")


@pytest.mark.parametrize(
    "data",
    [b"", b"{nope", b"[]"],
    ids=["empty", "invalid", "array"],
)
def test_malformed_key_bodies_are_refused(server, data):
    response = admin(
        server,
        "POST",
        f"/admin/keys/{unique_set()}",
        data=data,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")


def test_same_kid_twice_conflicts(server):
    set_id = unique_set()
    create_key(server, set_id, alg="ES256", kid="fixed")
    response = admin(server, "POST", f"/admin/keys/{set_id}", json={"alg": "ES256", "kid": "fixed"})
    assert_error(response, 409, "conflict")
    keys = assert_public_set(admin(server, "GET", f"/admin/keys/{set_id}").json())
    assert [key["kid"] for key in keys] == ["fixed"]

    # The same kid in another set is a different key.
    create_key(server, unique_set(), alg="ES256", kid="fixed")


def test_a_set_holds_several_keys_newest_first_and_deletes_whole(server):
    set_id = unique_set()
    first = create_key(server, set_id, alg="ES256", kid="first")
    second = create_key(server, set_id, alg="EdDSA", kid="second")
    keys = assert_public_set(admin(server, "GET", f"/admin/keys/{set_id}").json())
    assert [key["kid"] for key in keys] == [second["kid"], first["kid"]]

    deleted = admin(server, "DELETE", f"/admin/keys/{set_id}")
    assert deleted.status_code == 204
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}"), 404, "not_found")
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}/first"), 404, "not_found")
    assert_error(admin(server, "DELETE", f"/admin/keys/{set_id}"), 404, "not_found")


def test_unknown_sets_and_keys_are_not_found(server):
    set_id = unique_set()
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}"), 404, "not_found")
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}/kid"), 404, "not_found")
    assert_error(admin(server, "DELETE", f"/admin/keys/{set_id}"), 404, "not_found")
    # A known set, an unknown kid.
    assert_error(admin(server, "GET", f"/admin/keys/{ID_TOKEN_SET}/no-such-kid"), 404, "not_found")


def test_key_routes_answer_without_the_admin_prefix(server):
    set_id = unique_set()
    response = requests.post(f"{server.admin_url}/keys/{set_id}", json={"alg": "ES256"}, timeout=30)
    assert response.status_code == 201, response.text
    kid = assert_public_set(response.json())[0]["kid"]
    assert requests.get(f"{server.admin_url}/keys/{set_id}/{kid}", timeout=30).status_code == 200
    assert requests.delete(f"{server.admin_url}/keys/{set_id}", timeout=30).status_code == 204


# -- CLI -------------------------------------------------------------------------------


def test_cli_create_get_and_delete_jwks(server):
    set_id = unique_set()
    created = server.cli("create", "jwks", set_id, "--alg", "ES256")
    assert created.returncode == 0, created.stderr
    header, rows = table(created.stdout)
    assert header == ["SET ID", "KEY ID", "ALGORITHM", "USE"]
    assert len(rows) == 1
    assert rows[0][0] == set_id and rows[0][2:] == ["ES256", "sig"]
    kid = rows[0][1]

    shown = server.cli("get", "jwks", set_id, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    keys = assert_public_set(json.loads(shown.stdout))
    assert [(key["kid"], key["alg"], key["kty"]) for key in keys] == [(kid, "ES256", "EC")]

    with_kid = server.cli("create", "jwks", set_id, "second-key", "--alg", "EdDSA")
    assert with_kid.returncode == 0, with_kid.stderr
    assert table(with_kid.stdout)[1][0][1:] == ["second-key", "EdDSA", "sig"]

    listed = server.cli("get", "jwks", set_id)
    assert listed.returncode == 0, listed.stderr
    assert [row[1] for row in table(listed.stdout)[1]] == ["second-key", kid]

    deleted = server.cli("delete", "jwks", set_id)
    assert deleted.returncode == 0, deleted.stderr
    assert set_id in deleted.stdout
    assert_error(admin(server, "GET", f"/admin/keys/{set_id}"), 404, "not_found")

    missing = server.cli("get", "jwks", set_id)
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "not_found" in lines[0]


# -- encryption at rest ----------------------------------------------------------------


def _stored_private_keys(server) -> list[tuple[str, str, str | None]]:
    query = "SELECT set_id, kid, private_key_encrypted FROM jwks"
    database = server.database
    if database.backend == "sqlite":
        with contextlib.closing(sqlite3.connect(database.path)) as connection:
            return list(connection.execute(query).fetchall())
    import psycopg

    with psycopg.connect(database.dsn) as connection:
        return list(connection.execute(query).fetchall())


def test_private_keys_are_encrypted_at_rest(server):
    set_id = unique_set()
    kids = {create_key(server, set_id, alg=alg)["kid"] for alg in ("RS256", "ES256", "EdDSA")}

    rows = _stored_private_keys(server)
    ours = {kid: secret for row_set, kid, secret in rows if row_set == set_id}
    assert set(ours) == kids
    assert any(row_set == ID_TOKEN_SET for row_set, _, _ in rows)
    for row_set, kid, secret in rows:
        assert isinstance(secret, str) and secret, (row_set, kid)
        assert '"d":' not in secret and '"d": ' not in secret
        assert "PRIVATE KEY" not in secret
        with pytest.raises(ValueError):
            json.loads(secret)
