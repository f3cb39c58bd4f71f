"""``create|get|delete jwks``: signing key sets on the admin API."""

from __future__ import annotations

from urllib.parse import quote

import click

from authserver.cli.common import ADMIN_DEFAULT, endpoint_options
from authserver.cli.output import JWK_HEADERS, print_table


def _show(set_id: str, jwks: dict, fmt: str) -> None:
    rows = [
        [set_id, key.get("kid", ""), key.get("alg", ""), key.get("use", "")] for key in jwks["keys"]
    ]
    print_table(JWK_HEADERS, rows, jwks, fmt)


@click.command("jwks")
@click.argument("set_id")
@click.argument("key_id", required=False, default="")
@click.option(
    "--alg",
    default="RS256",
    show_default=True,
    type=click.Choice(["RS256", "RS512", "PS256", "ES256", "ES512", "EdDSA"]),
)
@click.option("--use", default="sig", show_default=True, type=click.Choice(["sig", "enc"]))
@endpoint_options(ADMIN_DEFAULT, "admin")
def create_jwks(api, fmt, set_id, key_id, alg, use):
    """Create a key in SET_ID (a new key signs from now on: this is rotation)."""
    body = {"alg": alg, "use": use, "kid": key_id}
    jwks = api.json("POST", "/admin/keys/" + quote(set_id, safe=""), json=body, expected=(201,))
    _show(set_id, jwks, fmt)


@click.command("jwks")
@click.argument("set_id")
@endpoint_options(ADMIN_DEFAULT, "admin")
def get_jwks(api, fmt, set_id):
    """Show the public keys of SET_ID."""
    _show(set_id, api.json("GET", "/admin/keys/" + quote(set_id, safe="")), fmt)


@click.command("jwks")
@click.argument("set_id")
@endpoint_options(ADMIN_DEFAULT, "admin")
def delete_jwks(api, fmt, set_id):
    """Delete SET_ID and all its keys."""
    api.request("DELETE", "/admin/keys/" + quote(set_id, safe=""), expected=(204,))
    click.echo(set_id)
