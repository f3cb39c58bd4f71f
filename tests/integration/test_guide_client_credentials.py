"""The guides' client-credentials sections, run through the CLI exactly as written
(``authserver`` in place of ``hydra``), against a real server on each backend."""

from __future__ import annotations

import json
import re

import requests

from tests.conftest import parse_row_table as table
from tests.conftest import run_cli


def test_2024_guide_walkthrough(server):
    # create oauth2-client --name "Client Credentials Demo" --grant-type client_credentials
    created = server.cli(
        "create",
        "oauth2-client",
        "--name",
        "Client Credentials Demo",
        "--grant-type",
        "client_credentials",
    )
    assert created.returncode == 0, created.stderr
    client = table(created.stdout)
    assert list(client) == [
        "CLIENT ID",
        "CLIENT SECRET",
        "GRANT TYPES",
        "RESPONSE TYPES",
        "SCOPE",
        "AUDIENCE",
        "REDIRECT URIS",
    ]
    assert client["GRANT TYPES"] == "client_credentials"
    assert client["RESPONSE TYPES"] == "code"
    assert client["SCOPE"] == "offline_access offline openid"
    client_id, client_secret = client["CLIENT ID"], client["CLIENT SECRET"]
    assert re.fullmatch(r"[0-9a-f-]{36}", client_id)
    assert len(client_secret) >= 26

    # perform client-credentials --client-id=$client_id --client-secret=$client_secret
    performed = server.cli(
        "perform",
        "client-credentials",
        f"--client-id={client_id}",
        f"--client-secret={client_secret}",
        admin=False,
    )
    assert performed.returncode == 0, performed.stderr
    token = table(performed.stdout)
    assert list(token) == ["ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY"]
    assert token["REFRESH TOKEN"] == "<empty>" and token["ID TOKEN"] == "<empty>"
    access_token = token["ACCESS TOKEN"]
    assert re.fullmatch(r"ory_at_[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", access_token)

    # introspect token $access_token
    introspected = server.cli("introspect", "token", access_token)
    assert introspected.returncode == 0, introspected.stderr
    info = table(introspected.stdout)
    assert info["ACTIVE"] == "true"
    assert info["SUBJECT"] == client_id and info["CLIENT ID"] == client_id
    assert info["TOKEN USE"] == "access_token"

    # introspect token --format json-pretty $access_token
    pretty = server.cli("introspect", "token", "--format", "json-pretty", access_token)
    document = json.loads(pretty.stdout)
    assert document["active"] is True
    assert document["client_id"] == document["sub"] == client_id
    assert document["token_type"] == "Bearer" and document["token_use"] == "access_token"
    assert document["exp"] - document["iat"] == 3600
    assert document["nbf"] == document["iat"]
    assert document["iss"] == f"http://127.0.0.1:{server.env['SERVE_PUBLIC_PORT']}/"
    assert "scope" not in document  # nothing was requested, nothing was granted

    # revoke token, then the token is inactive
    revoked = server.cli(
        "revoke",
        "token",
        "--client-id",
        client_id,
        "--client-secret",
        client_secret,
        access_token,
        admin=False,
    )
    assert revoked.returncode == 0, revoked.stderr
    after = server.cli("introspect", "token", "--format", "json", access_token)
    assert json.loads(after.stdout) == {"active": False}


def test_2019_guide_legacy_commands(server):
    """clients create / token client / token introspect, with the v1 flags and outputs."""
    client_id = f"some-consumer-{server.env['SERVE_PUBLIC_PORT']}-{id(server)}"
    created = server.cli(
        "clients",
        "create",
        "--id",
        client_id,
        "--secret",
        "some-secret",
        "--grant-types",
        "client_credentials",
        "--response-types",
        "token,code",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [f"Client ID: {client_id}", "Client Secret: some-secret"]

    issued = server.cli(
        "token",
        "client",
        "--client-id",
        client_id,
        "--client-secret",
        "some-secret",
        admin=False,
    )
    assert issued.returncode == 0, issued.stderr
    access_token = issued.stdout.strip()
    assert access_token.startswith("ory_at_")

    # The guide passes client credentials to introspection; the admin port ignores them.
    introspected = server.cli(
        "token",
        "introspect",
        "--client-id",
        client_id,
        "--client-secret",
        "some-secret",
        access_token,
    )
    assert introspected.returncode == 0, introspected.stderr
    document = json.loads(introspected.stdout)
    assert document["active"] is True and document["client_id"] == client_id

    # The client lists "token" as a response type (as the guide does) but the implicit
    # flow is not offered: the client is stored, the grant type list says what it may do.
    stored = requests.get(f"{server.admin_url}/clients/{client_id}", timeout=10).json()
    assert stored["response_types"] == ["token", "code"]
    assert stored["grant_types"] == ["client_credentials"]


def test_cli_reads_client_credentials_from_environment(server, create_client):
    client = create_client()
    result = server.cli("perform", "client-credentials", "--format", "json", admin=False)
    assert result.returncode == 2  # no credentials anywhere: a usage error, one line
    assert "OAUTH2_CLIENT_ID" in result.stderr and len(result.stderr.strip().splitlines()) == 1

    env_result = run_cli(
        "perform",
        "client-credentials",
        "--format",
        "json",
        "--endpoint",
        server.public_url,
        env={"OAUTH2_CLIENT_ID": client.client_id, "OAUTH2_CLIENT_SECRET": client.client_secret},
    )
    assert env_result.returncode == 0, env_result.stderr
    token = json.loads(env_result.stdout)
    assert token["token_type"] == "bearer" and token["scope"] == ""
    assert 3590 <= token["expires_in"] <= 3600
