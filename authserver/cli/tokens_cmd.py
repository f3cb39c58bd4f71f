"""``perform client-credentials``, ``introspect token``, ``revoke token``,
``delete access-tokens``."""

from __future__ import annotations

import os
import time

import click

from authserver.cli.common import (
    ADMIN_DEFAULT,
    PUBLIC_DEFAULT,
    ApiClient,
    CliError,
    endpoint_options,
    form_auth,
    split_list,
)
from authserver.cli.output import (
    INTROSPECTION_HEADERS,
    TOKEN_HEADERS,
    introspection_cells,
    print_row,
    token_cells,
)

_CREDENTIALS_MISSING = (
    "Please provide a Client ID and Client Secret using flags --client-id and --client-secret, "
    "or environment variables OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET."
)


def credentials(client_id: str | None, client_secret: str | None) -> tuple[str, str]:
    client_id = client_id or os.environ.get("OAUTH2_CLIENT_ID", "")
    client_secret = client_secret or os.environ.get("OAUTH2_CLIENT_SECRET", "")
    if not client_id or not client_secret:
        raise click.UsageError(_CREDENTIALS_MISSING)
    return client_id, client_secret


def fetch_client_credentials_token(
    api: ApiClient, client_id: str, client_secret: str, scope: list[str], audience: list[str]
) -> dict:
    """RFC 6749 §4.4.2: POST grant_type=client_credentials with HTTP Basic client auth."""
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = " ".join(scope)
    if audience:
        form["audience"] = " ".join(audience)
    token = api.json("POST", "/oauth2/token", data=form, auth=form_auth(client_id, client_secret))
    if not isinstance(token, dict) or "access_token" not in token:
        raise CliError("the token endpoint answered without an access_token")
    return token


def introspect(api: ApiClient, token: str, scope: list[str]) -> dict:
    form = {"token": token}
    if scope:
        form["scope"] = " ".join(scope)
    return api.json("POST", "/admin/oauth2/introspect", data=form)


def revoke(api: ApiClient, token: str, client_id: str, client_secret: str) -> None:
    api.request(
        "POST",
        "/oauth2/revoke",
        data={"token": token},
        auth=form_auth(client_id, client_secret),
    )


@click.command("client-credentials")
@click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID).")
@click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET).")
@click.option("--scope", multiple=True, help="Scopes to request (repeat or comma list).")
@click.option("--audience", multiple=True, help="Audiences to request (repeat or comma list).")
@endpoint_options(PUBLIC_DEFAULT, "public")
def perform_client_credentials(api, fmt, client_id, client_secret, scope, audience):
    """Perform the OAuth 2.0 client credentials grant and print the access token."""
    client_id, client_secret = credentials(client_id, client_secret)
    started = time.time()
    token = fetch_client_credentials_token(
        api, client_id, client_secret, split_list(scope), split_list(audience)
    )
    expiry = started + int(token.get("expires_in") or 0)
    print_row(TOKEN_HEADERS, token_cells(token, expiry), token, fmt)


@click.command("token")
@click.argument("token")
@click.option("--scope", multiple=True, help="Also check that these scopes were granted.")
@endpoint_options(ADMIN_DEFAULT, "admin")
def introspect_token(api, fmt, token, scope):
    """Introspect an access or refresh token (RFC 7662, admin API)."""
    result = introspect(api, token, split_list(scope))
    print_row(INTROSPECTION_HEADERS, introspection_cells(result), result, fmt)


@click.command("token")
@click.argument("token")
@click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID).")
@click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET).")
@endpoint_options(PUBLIC_DEFAULT, "public")
def revoke_token(api, fmt, token, client_id, client_secret):
    """Revoke a token (RFC 7009): the client that holds it must authenticate."""
    client_id, client_secret = credentials(client_id, client_secret)
    revoke(api, token, client_id, client_secret)
    print_row(["ID"], [token], token, fmt)


@click.command("access-tokens")
@click.argument("client_id")
@endpoint_options(ADMIN_DEFAULT, "admin")
def delete_access_tokens(api, fmt, client_id):
    """Delete all OAuth2 access tokens of an OAuth2 client.

    Its refresh tokens and its authorization codes not yet exchanged stop working too.
    """
    api.request("DELETE", "/admin/oauth2/tokens", params={"client_id": client_id}, expected=(204,))
    print_row(["ID"], [client_id], client_id, fmt)
