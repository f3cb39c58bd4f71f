"""Client secret rotation and token deletion by client (Hydra v26), on both databases.

``POST /admin/clients/{id}/secrets/rotate`` shows a new secret once and keeps the old ones
valid (five at most); ``DELETE`` on the same path drops them. ``DELETE
/admin/oauth2/tokens?client_id=`` revokes every token of one client and nothing else.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from joserfc.jwk import ECKey

from tests.integration.oauth_flow import FlowDriver, create_code_client

TIMEOUT = 10
CC = {"grant_type": "client_credentials"}
INACTIVE = {"active": False}
EC_PUBLIC = ECKey.generate_key("P-256", parameters={"kid": "rotation-test"}).as_dict(private=False)


def uid() -> str:
    return uuid.uuid4().hex[:12]


def rotate(server, client_id: str, method: str = "POST") -> requests.Response:
    response = requests.request(
        method, f"{server.admin_url}/admin/clients/{client_id}/secrets/rotate", timeout=TIMEOUT
    )
    assert response.status_code < 500, response.text
    return response


def delete_tokens(server, query: str) -> requests.Response:
    response = requests.delete(f"{server.admin_url}/admin/oauth2/tokens{query}", timeout=TIMEOUT)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    return response


def cc_token(server, client_id: str, secret: str) -> requests.Response:
    return requests.post(
        server.public_url + "/oauth2/token", data=CC, auth=(client_id, secret), timeout=TIMEOUT
    )


def assert_secret_works(server, client_id: str, secret: str) -> str:
    response = cc_token(server, client_id, secret)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def assert_secret_refused(server, client_id: str, secret: str) -> None:
    response = cc_token(server, client_id, secret)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text
    assert "no-store" in response.headers.get("Cache-Control", "")


def rotated_secret(server, client_id: str) -> str:
    response = rotate(server, client_id)
    assert response.status_code == 200, response.text
    return response.json()["client_secret"]


# -- rotation ------------------------------------------------------------------------------


def test_rotation_shows_a_new_secret_once(server, create_client):
    client = create_client(client_name=f"rotate-{uid()}")
    response = rotate(server, client.client_id)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    document = response.json()
    secret = document.pop("client_secret")
    assert isinstance(secret, str) and len(secret) >= 32
    assert secret != client.client_secret
    assert document["client_id"] == client.client_id
    assert document["client_name"] == client.document["client_name"]
    assert document["grant_types"] == ["client_credentials"]
    assert b", " not in response.content  # compact JSON, as every answer
    shown = requests.get(f"{server.admin_url}/admin/clients/{client.client_id}", timeout=TIMEOUT)
    assert shown.status_code == 200
    assert "client_secret" not in shown.json()
    assert secret not in shown.text
    assert_secret_works(server, client.client_id, secret)


def test_the_old_secret_still_works_after_a_rotation(server, create_client):
    client = create_client()
    assert_secret_works(server, client.client_id, client.client_secret)  # cached as verified
    new = rotated_secret(server, client.client_id)
    assert_secret_works(server, client.client_id, new)
    assert_secret_works(server, client.client_id, client.client_secret)
    assert_secret_refused(server, client.client_id, client.client_secret + "x")


def test_a_sixth_rotation_evicts_the_oldest_secret(server, create_client):
    client = create_client()
    secrets = [client.client_secret]
    for _ in range(6):
        secrets.append(rotated_secret(server, client.client_id))
    assert len(set(secrets)) == 7
    assert_secret_refused(server, client.client_id, secrets[0])  # the sixth rotation dropped it
    for secret in secrets[1:]:  # the current one and the five it replaced
        assert_secret_works(server, client.client_id, secret)


def test_deleting_rotated_secrets_keeps_only_the_current_one(server, create_client):
    client = create_client()
    first = rotated_secret(server, client.client_id)
    current = rotated_secret(server, client.client_id)
    assert_secret_works(server, client.client_id, client.client_secret)
    response = rotate(server, client.client_id, "DELETE")
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["client_id"] == client.client_id
    assert "client_secret" not in document
    for old in (client.client_secret, first):
        assert_secret_refused(server, client.client_id, old)
    assert_secret_works(server, client.client_id, current)
    again = rotate(server, client.client_id, "DELETE")  # nothing left to drop: still fine
    assert again.status_code == 200, again.text
    assert_secret_works(server, client.client_id, current)


def test_a_put_after_a_rotation_keeps_the_rotated_secret(server, create_client):
    client = create_client()
    new = rotated_secret(server, client.client_id)
    response = requests.put(
        f"{server.admin_url}/admin/clients/{client.client_id}",
        json={
            **{k: v for k, v in client.document.items() if k != "client_secret"},
            "client_name": f"renamed-{uid()}",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert "client_secret" not in response.json()
    assert_secret_works(server, client.client_id, new)
    assert_secret_works(server, client.client_id, client.client_secret)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_clients_without_a_secret_have_nothing_to_rotate(server, create_client, method):
    public = create_client(token_endpoint_auth_method="none", grant_types=["authorization_code"])
    keyed = create_client(token_endpoint_auth_method="private_key_jwt", jwks={"keys": [EC_PUBLIC]})
    for client, method_name in ((public, "none"), (keyed, "private_key_jwt")):
        response = rotate(server, client.client_id, method)
        assert_error(response, 400, "invalid_request")
        description = response.json()["error_description"]
        assert method_name in description
        assert "rotation" in description
        shown = requests.get(f"{server.admin_url}/admin/clients/{client.client_id}", timeout=10)
        assert shown.json()["token_endpoint_auth_method"] == method_name


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_unknown_clients_are_not_found(server, method):
    response = rotate(server, f"nobody-{uid()}", method)
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("prefix", ["/admin", ""])
def test_rotation_answers_with_and_without_the_admin_prefix(server, create_client, prefix):
    client = create_client()
    url = f"{server.admin_url}{prefix}/clients/{client.client_id}/secrets/rotate"
    rotated = requests.post(url, timeout=TIMEOUT)
    assert rotated.status_code == 200, rotated.text
    assert_secret_works(server, client.client_id, rotated.json()["client_secret"])
    dropped = requests.delete(url, timeout=TIMEOUT)
    assert dropped.status_code == 200, dropped.text
    assert_secret_refused(server, client.client_id, client.client_secret)


def test_a_client_secret_jwt_client_is_rotated(server, create_client):
    client = create_client(token_endpoint_auth_method="client_secret_jwt")
    assert len(client.client_secret) >= 32
    for _ in range(2):
        response = rotate(server, client.client_id)
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["token_endpoint_auth_method"] == "client_secret_jwt"
        assert len(document["client_secret"]) >= 32  # an HMAC key (RFC 7518 section 3.2)
    dropped = rotate(server, client.client_id, "DELETE")
    assert dropped.status_code == 200, dropped.text


@pytest.mark.parametrize(
    ("client_id", "statuses"),
    [
        pytest.param("%00", (400,), id="nul"),
        pytest.param("%ff%fe", (400,), id="not-utf-8"),
        pytest.param("x" * 300, (404,), id="longer-than-any-id"),
        pytest.param("x" * 20_000, (404, 414, 431), id="very-long"),
        pytest.param("%E2%98%95", (404,), id="unicode"),
        pytest.param("..", (404, 405), id="dot-dot"),
    ],
)
def test_odd_client_ids_in_the_rotation_path(server, client_id, statuses):
    for method in ("POST", "DELETE"):
        response = rotate(server, client_id, method)
        assert response.status_code in statuses, response.text
        assert "Traceback" not in response.text


# -- deleting a client's tokens -------------------------------------------------------------


def test_deleting_tokens_revokes_that_clients_access_tokens_only(server, create_client):
    mine, theirs = create_client(), create_client()
    my_tokens = [assert_secret_works(server, mine.client_id, mine.client_secret) for _ in "ab"]
    their_token = assert_secret_works(server, theirs.client_id, theirs.client_secret)
    assert all(introspect(server, token)["active"] for token in [*my_tokens, their_token])
    response = delete_tokens(server, f"?client_id={mine.client_id}")
    assert response.status_code == 204, response.text
    assert response.content == b""
    for token in my_tokens:
        assert introspect(server, token) == INACTIVE
    assert introspect(server, their_token)["active"] is True
    # The client itself is untouched: it gets new tokens, and they are active.
    fresh = assert_secret_works(server, mine.client_id, mine.client_secret)
    assert introspect(server, fresh)["active"] is True


def test_deleting_tokens_revokes_refresh_tokens_and_unused_codes(dev_server):
    server = dev_server
    mine, theirs = create_code_client(server), create_code_client(server)
    my_driver, their_driver = FlowDriver(server, mine), FlowDriver(server, theirs)
    subject = {"subject": f"user-{uid()}"}
    my_tokens = my_driver.exchange(my_driver.run(login=subject)["code"]).json()
    their_tokens = their_driver.exchange(their_driver.run(login=subject)["code"]).json()
    unused_code = my_driver.run(login=subject)["code"]
    assert introspect(server, my_tokens["refresh_token"])["active"] is True
    response = delete_tokens(server, f"?client_id={mine['client_id']}")
    assert response.status_code == 204, response.text
    assert introspect(server, my_tokens["access_token"]) == INACTIVE
    assert introspect(server, my_tokens["refresh_token"]) == INACTIVE
    refreshed = my_driver.refresh(my_tokens["refresh_token"])
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"
    exchanged = my_driver.exchange(unused_code)
    assert exchanged.status_code == 400, exchanged.text
    assert exchanged.json()["error"] == "invalid_grant"
    assert introspect(server, their_tokens["access_token"])["active"] is True
    assert introspect(server, their_tokens["refresh_token"])["active"] is True
    assert their_driver.refresh(their_tokens["refresh_token"]).status_code == 200


def test_deleting_the_tokens_of_an_unknown_client_is_no_error(server):
    response = delete_tokens(server, f"?client_id=nobody-{uid()}")
    assert response.status_code == 204, response.text


def test_deleting_tokens_answers_without_the_admin_prefix(server, create_client):
    client = create_client()
    token = assert_secret_works(server, client.client_id, client.client_secret)
    response = requests.delete(
        f"{server.admin_url}/oauth2/tokens", params={"client_id": client.client_id}, timeout=10
    )
    assert response.status_code == 204, response.text
    assert introspect(server, token) == INACTIVE


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        pytest.param("", (400,), id="missing"),
        pytest.param("?client_id=", (400,), id="empty"),
        pytest.param("?client_id", (400,), id="no-value"),
        pytest.param("?other=x", (400,), id="other-parameter"),
        pytest.param("?client_id=%00", (400,), id="nul"),
        pytest.param("?client_id=a%00b", (400,), id="inner-nul"),
        pytest.param("?client_id=%ff%fe", (400,), id="not-utf-8"),
        pytest.param("?client_id=%ED%A0%80", (400,), id="surrogate"),
        pytest.param("?client_id=" + "x" * 300, (204,), id="longer-than-any-id"),
        pytest.param("?client_id=" + "x" * 20_000, (204, 414, 431), id="very-long"),
        pytest.param("?client_id=%E2%98%95%20x", (204,), id="unicode-and-space"),
    ],
)
def test_bad_client_ids_when_deleting_tokens(server, query, statuses):
    response = delete_tokens(server, query)
    assert response.status_code in statuses, response.text
    if response.status_code == 400:
        assert_error(response, 400, "invalid_request")


def test_setting_a_secret_after_a_rotation_drops_the_rotated_ones(server, create_client):
    """As Hydra: a new client_secret in a PUT replaces every secret, rotated ones too."""
    client = create_client()
    rotated_secret(server, client.client_id)
    chosen = f"chosen-secret-{uid()}"
    response = requests.put(
        f"{server.admin_url}/admin/clients/{client.client_id}",
        json={"grant_types": ["client_credentials"], "client_secret": chosen},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert_secret_works(server, client.client_id, chosen)
    assert_secret_refused(server, client.client_id, client.client_secret)


# -- the CLI (Hydra's `hydra delete access-tokens <client-id>`) ------------------------------


def test_cli_delete_access_tokens(server, create_client):
    client, other = create_client(), create_client()
    token = assert_secret_works(server, client.client_id, client.client_secret)
    other_token = assert_secret_works(server, other.client_id, other.client_secret)
    result = server.cli("delete", "access-tokens", client.client_id)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ID", client.client_id]
    assert introspect(server, token) == INACTIVE
    assert introspect(server, other_token)["active"] is True
    as_json = server.cli("delete", "access-tokens", other.client_id, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout.strip() == f'"{other.client_id}"'  # as Hydra's test expects
    assert introspect(server, other_token) == INACTIVE


def test_cli_delete_access_tokens_with_an_empty_client_id_fails_with_one_line(server):
    result = server.cli("delete", "access-tokens", "")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "invalid_request" in lines[0]
