"""The 2019 guide's Hydra v1 commands, as thin aliases of the v2 verbs:

    clients create --id --secret -g/--grant-types -r/--response-types -a/--scope -c/--callbacks
    token client       (client credentials; prints the access token)
    token user         (authorization code flow with a local example client)
    token introspect   (prints the introspection JSON; --client-id/--client-secret are ignored:
                        the admin port needs no client authentication)
    token revoke

Their output is the v1 output the guide shows.
"""

from __future__ import annotations

import json

import click

from authserver.cli.authorization_code_cmd import token_user
from authserver.cli.clients_cmd import (
    delete_client,
    get_client,
    import_clients,
    list_clients,
    show_client,
)
from authserver.cli.common import ADMIN_DEFAULT, PUBLIC_DEFAULT, endpoint_options, split_list
from authserver.cli.tokens_cmd import (
    credentials,
    fetch_client_credentials_token,
    introspect,
    revoke,
)


@click.group("clients")
def clients():
    """(legacy) Manage OAuth 2.0 clients, Hydra v1 style."""


@clients.command("create")
@click.option("--id", "client_id", help="The client's id (a UUID is generated otherwise).")
@click.option("--secret", help="The client's secret (generated otherwise).")
@click.option("-n", "--name", help="The client's name.")
@click.option("-g", "--grant-types", multiple=True, help="Grant types, comma separated.")
@click.option("-r", "--response-types", multiple=True, help="Response types, comma separated.")
@click.option("-a", "--scope", multiple=True, help="Scopes, comma separated.")
@click.option("-c", "--callbacks", multiple=True, help="Redirect URIs, comma separated.")
@click.option("--audience", multiple=True, help="Allowed audiences, comma separated.")
@click.option("--post-logout-callbacks", multiple=True, help="Post-logout redirect URIs.")
@click.option(
    "--token-endpoint-auth-method",
    type=click.Choice(["client_secret_basic", "client_secret_post", "none"]),
)
@endpoint_options(ADMIN_DEFAULT, "admin")
def clients_create(api, fmt, client_id, secret, name, **flags):
    """(legacy) Create a client; alias of `create oauth2-client`."""
    body = {}
    for flag, field in (
        ("grant_types", "grant_types"),
        ("response_types", "response_types"),
        ("callbacks", "redirect_uris"),
        ("audience", "audience"),
        ("post_logout_callbacks", "post_logout_redirect_uris"),
    ):
        if flags[flag]:
            body[field] = split_list(flags[flag])
    if flags["scope"]:
        body["scope"] = " ".join(split_list(flags["scope"]))
    if flags["token_endpoint_auth_method"]:
        body["token_endpoint_auth_method"] = flags["token_endpoint_auth_method"]
    for field, value in (
        ("client_id", client_id),
        ("client_secret", secret),
        ("client_name", name),
    ):
        if value:
            body[field] = value
    client = api.json("POST", "/admin/clients", json=body, expected=(201,))
    if fmt in ("json", "json-pretty"):
        show_client(client, fmt)
        return
    click.echo(f"Client ID: {client['client_id']}")
    if client.get("client_secret"):
        click.echo(f"Client Secret: {client['client_secret']}")


clients.add_command(get_client, "get")
clients.add_command(delete_client, "delete")
clients.add_command(import_clients, "import")
clients.add_command(list_clients, "list")


@click.group("token")
def token():
    """(legacy) Issue, introspect and revoke tokens, Hydra v1 style."""


@token.command("client")
@click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID).")
@click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET).")
@click.option("--scope", multiple=True, help="Scopes to request.")
@click.option("--audience", multiple=True, help="Audiences to request.")
@endpoint_options(PUBLIC_DEFAULT, "public")
def token_client(api, fmt, client_id, client_secret, scope, audience):
    """(legacy) Client credentials grant; prints the access token. Alias of
    `perform client-credentials`."""
    client_id, client_secret = credentials(client_id, client_secret)
    result = fetch_client_credentials_token(
        api, client_id, client_secret, split_list(scope), split_list(audience)
    )
    if fmt in ("json", "json-pretty"):
        click.echo(json.dumps(result, indent=2 if fmt == "json-pretty" else None))
    else:
        click.echo(result["access_token"])


@token.command("introspect")
@click.argument("token_value", metavar="TOKEN")
@click.option("--client-id", hidden=True, help="Ignored: the admin port needs no client auth.")
@click.option("--client-secret", hidden=True, help="Ignored.")
@click.option("--scope", multiple=True, help="Also check that these scopes were granted.")
@endpoint_options(ADMIN_DEFAULT, "admin")
def token_introspect(api, fmt, token_value, client_id, client_secret, scope):
    """(legacy) Introspect a token; prints its JSON. Alias of `introspect token`."""
    result = introspect(api, token_value, split_list(scope))
    click.echo(json.dumps(result, indent=None if fmt == "json" else 8))


@token.command("revoke")
@click.argument("token_value", metavar="TOKEN")
@click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID).")
@click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET).")
@endpoint_options(PUBLIC_DEFAULT, "public")
def token_revoke(api, fmt, token_value, client_id, client_secret):
    """(legacy) Revoke a token. Alias of `revoke token`."""
    client_id, client_secret = credentials(client_id, client_secret)
    revoke(api, token_value, client_id, client_secret)
    click.echo("Token revoked.")


token.add_command(token_user, "user")

LEGACY_COMMANDS = ("clients", "token")
