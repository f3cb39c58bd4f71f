"""``create|get|list|update|delete|import oauth2-client`` against the admin API."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import click

from authserver.cli.common import ADMIN_DEFAULT, CliError, endpoint_options, split_list
from authserver.cli.output import CLIENT_HEADERS, client_cells, print_row, print_table

# RFC 7591 §2 and RFC 7523; the server checks what each needs (keys, secret length).
_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
# (flag, JSON field, kind) for every client flag; kind says how to turn the value into JSON.
_CLIENT_FLAGS = (
    ("name", "client_name", "str"),
    ("secret", "client_secret", "str"),
    ("grant_type", "grant_types", "list"),
    ("response_type", "response_types", "list"),
    ("scope", "scope", "scope"),
    ("audience", "audience", "list"),
    ("redirect_uri", "redirect_uris", "list"),
    ("post_logout_callback", "post_logout_redirect_uris", "list"),
    ("allowed_cors_origin", "allowed_cors_origins", "list"),
    ("token_endpoint_auth_method", "token_endpoint_auth_method", "str"),
    ("token_endpoint_auth_signing_alg", "token_endpoint_auth_signing_alg", "str"),
    ("jwks_uri", "jwks_uri", "str"),
    ("jwks", "jwks", "json"),
    ("subject_type", "subject_type", "str"),
    ("sector_identifier_uri", "sector_identifier_uri", "str"),
    ("request_object_signing_alg", "request_object_signing_alg", "str"),
    ("request_uri", "request_uris", "list"),
    ("owner", "owner", "str"),
    ("contact", "contacts", "list"),
    ("policy_uri", "policy_uri", "str"),
    ("tos_uri", "tos_uri", "str"),
    ("client_uri", "client_uri", "str"),
    ("logo_uri", "logo_uri", "str"),
    ("skip_consent", "skip_consent", "bool"),
    ("skip_logout_consent", "skip_logout_consent", "bool"),
    ("access_token_strategy", "access_token_strategy", "str"),
    ("frontchannel_logout_callback", "frontchannel_logout_uri", "str"),
    ("frontchannel_logout_session_required", "frontchannel_logout_session_required", "bool"),
    ("backchannel_logout_callback", "backchannel_logout_uri", "str"),
    ("backchannel_logout_session_required", "backchannel_logout_session_required", "bool"),
    (
        "require_pushed_authorization_requests",
        "require_pushed_authorization_requests",
        "bool",
    ),
    ("dpop_bound_access_tokens", "dpop_bound_access_tokens", "bool"),
    ("metadata", "metadata", "json"),
)


def client_flags(command):
    """Hydra's ``create/update oauth2-client`` flags. List flags take repeats or comma lists.

    Not Hydra's: ``--token-endpoint-auth-signing-alg`` and ``--jwks`` set fields of Hydra's
    client model that its CLI reaches only through ``--file``;
    ``--require-pushed-authorization-requests`` and ``--dpop-bound-access-tokens`` set the
    RFC 9126 and RFC 9449 fields Hydra has not. ``--jwks`` takes JSON
    as ``--metadata`` does (no ``@file`` form: ``"$(cat jwks.json)"`` or ``--file`` do that).
    """
    options = [
        click.option("--file", type=click.File("r"), help="Read the client as JSON ('-' = stdin)."),
        click.option("--name", help="The client's human-readable name."),
        click.option("--secret", help="Set the client's secret (generated when omitted)."),
        click.option(
            "--grant-type", multiple=True, help="Allowed grant types [authorization_code]."
        ),
        click.option("--response-type", multiple=True, help="Allowed response types [code]."),
        click.option("--scope", multiple=True, help="Scopes the client may request."),
        click.option("--audience", multiple=True, help="Audiences the client may request."),
        click.option("--redirect-uri", multiple=True, help="Allowed redirect URIs."),
        click.option("--post-logout-callback", multiple=True, help="Post-logout redirect URIs."),
        click.option(
            "--allowed-cors-origin",
            multiple=True,
            help="Origins allowed by CORS for this client (needs SERVE_PUBLIC_CORS_ENABLED).",
        ),
        click.option(
            "--token-endpoint-auth-method",
            type=click.Choice(_AUTH_METHODS),
            help="How the client authenticates at the token endpoint [client_secret_basic].",
        ),
        click.option(
            "--token-endpoint-auth-signing-alg",
            help="Algorithm the client's assertions must use, e.g. ES256 [any that fits the key].",
        ),
        click.option(
            "--jwks-uri",
            help="URL of the client's public keys (JWK Set), for private_key_jwt.",
        ),
        click.option(
            "--jwks",
            help='The client\'s public keys as JWK Set JSON, e.g. "$(cat jwks.json)".',
        ),
        click.option(
            "--subject-type",
            type=click.Choice(["public", "pairwise"]),
            help="The sub the client sees [public]; pairwise if the server offers it.",
        ),
        click.option(
            "--sector-identifier-uri",
            help="HTTPS URL of a JSON array of the client's redirect URIs (pairwise sector).",
        ),
        click.option(
            "--request-object-signing-alg",
            help="Algorithm for request objects (stored only: they are not supported).",
        ),
        click.option(
            "--request-uri",
            multiple=True,
            help="Pre-registered request_uri values (not supported: the server refuses them).",
        ),
        click.option("--owner", help="Owner of the client (e.g. an email)."),
        click.option("--contact", multiple=True, help="Contacts for the client."),
        click.option("--policy-uri", help="Privacy policy URL."),
        click.option("--tos-uri", help="Terms of service URL."),
        click.option("--client-uri", help="Home page URL."),
        click.option("--logo-uri", help="Logo URL."),
        click.option("--skip-consent", is_flag=True, default=None, help="Skip the consent screen."),
        click.option(
            "--skip-logout-consent", is_flag=True, default=None, help="Skip logout consent."
        ),
        click.option(
            "--access-token-strategy",
            type=click.Choice(["opaque", "jwt"]),
            help="Access token format for this client.",
        ),
        click.option("--frontchannel-logout-callback", help="Front-channel logout URI."),
        click.option(
            "--frontchannel-logout-session-required",
            is_flag=True,
            default=None,
            help="Front-channel logout needs the session id (sid).",
        ),
        click.option("--backchannel-logout-callback", help="Back-channel logout URI."),
        click.option(
            "--backchannel-logout-session-required",
            is_flag=True,
            default=None,
            help="Logout tokens must carry the session id (sid).",
        ),
        click.option(
            "--require-pushed-authorization-requests",
            is_flag=True,
            default=None,
            help="Authorization requests must be pushed to /oauth2/par first (RFC 9126).",
        ),
        click.option(
            "--dpop-bound-access-tokens",
            is_flag=True,
            default=None,
            help="Token requests must carry a DPoP proof (RFC 9449).",
        ),
        click.option("--metadata", help="Arbitrary JSON object to store with the client."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def body_from_flags(values: dict) -> dict:
    """The oAuth2Client JSON that the given flags describe (flags not given are left out)."""
    body: dict = {}
    for flag, field, kind in _CLIENT_FLAGS:
        value = values.get(flag)
        if value is None or value == ():
            continue
        if kind == "list":
            body[field] = split_list(value)
        elif kind == "scope":
            body[field] = " ".join(" ".join(split_list(value)).split())
        elif kind == "json":
            body[field] = _json_object(value, "--" + flag.replace("_", "-"))
        else:
            body[field] = value
    return body


def _json_object(value: str, flag: str) -> dict:
    try:
        document = json.loads(value)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise click.BadParameter("must be a JSON object", param_hint=flag)
    return document


def read_client_file(handle) -> dict:
    try:
        document = json.load(handle)
    except ValueError as exc:
        raise CliError(f"{handle.name}: not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise CliError(f"{handle.name}: expected one JSON object describing a client")
    return document


def show_client(client: dict, fmt: str, quiet: bool = False) -> None:
    if quiet:
        click.echo(client.get("client_id", ""))
        return
    print_row(CLIENT_HEADERS, client_cells(client), client, fmt)


def show_clients(clients: list[dict], fmt: str, document=None) -> None:
    rows = [client_cells(client) for client in clients]
    print_table(CLIENT_HEADERS, rows, clients if document is None else document, fmt)


def _path(client_id: str) -> str:
    return "/admin/clients/" + quote(client_id, safe="")


@click.command("oauth2-client")
@client_flags
@click.option("--id", "client_id", help="Choose the client's id (a UUID is generated otherwise).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the client id.")
@endpoint_options(ADMIN_DEFAULT, "admin")
def create_client(api, fmt, file, client_id, quiet, **flags):
    """Create an OAuth 2.0 client (POST /admin/clients). The secret is shown once."""
    body = read_client_file(file) if file else body_from_flags(flags)
    if client_id:
        body["client_id"] = client_id
    show_client(api.json("POST", "/admin/clients", json=body, expected=(201,)), fmt, quiet)


@click.command("oauth2-client")
@click.argument("client_id")
@client_flags
@endpoint_options(ADMIN_DEFAULT, "admin")
def update_client(api, fmt, client_id, file, **flags):
    """Update a client: the given flags become a JSON Patch; --file replaces it whole."""
    if file:
        result = api.json("PUT", _path(client_id), json=read_client_file(file))
    else:
        changes = body_from_flags(flags)
        if not changes:
            raise click.UsageError("nothing to update: give at least one flag, or --file")
        patch = [
            {"op": "replace", "path": f"/{key}", "value": value} for key, value in changes.items()
        ]
        if "client_secret" in changes:
            patch[[op["path"] for op in patch].index("/client_secret")]["op"] = "add"
        result = api.json("PATCH", _path(client_id), json=patch)
    show_client(result, fmt)


@click.command("oauth2-client")
@click.argument("client_ids", nargs=-1, required=True)
@endpoint_options(ADMIN_DEFAULT, "admin")
def get_client(api, fmt, client_ids):
    """Show one or more clients (without their secrets)."""
    clients = [api.json("GET", _path(client_id)) for client_id in client_ids]
    if len(clients) == 1:
        show_client(clients[0], fmt)
    else:
        show_clients(clients, fmt)


@click.command("oauth2-clients")
@click.option("--page-size", type=click.IntRange(1, 500), default=100, show_default=True)
@click.option("--page-token", default="", help="A token from a previous page's output.")
@endpoint_options(ADMIN_DEFAULT, "admin")
def list_clients(api, fmt, page_size, page_token):
    """List clients, a page at a time (GET /admin/clients)."""
    params = {"page_size": page_size}
    if page_token:
        params["page_token"] = page_token
    response = api.request("GET", "/admin/clients", params=params)
    clients = response.json()
    next_token = _next_page_token(response.headers.get("Link", ""))
    document = {"items": clients, "next_page_token": next_token, "is_last_page": not next_token}
    show_clients(clients, fmt, document)
    if fmt in ("table", "default"):
        click.echo(f"\nNEXT PAGE TOKEN\t{next_token}\nIS LAST PAGE\t{str(not next_token).lower()}")


def _next_page_token(link_header: str) -> str:
    for part in link_header.split(","):
        if 'rel="next"' in part:
            match = re.search(r"[?&]page_token=([^&>]+)", part)
            if match:
                return match.group(1)
    return ""


@click.command("oauth2-client")
@click.argument("client_ids", nargs=-1, required=True)
@endpoint_options(ADMIN_DEFAULT, "admin")
def delete_client(api, fmt, client_ids):
    """Delete one or more clients and every token issued to them."""
    deleted, failures = [], []
    for client_id in client_ids:
        try:
            api.request("DELETE", _path(client_id), expected=(204,))
            deleted.append(client_id)
        except CliError as exc:
            failures.append(f"{client_id}: {exc.message}")
    if deleted:
        if len(deleted) == 1:
            print_row(["ID"], deleted, deleted[0], fmt)
        else:
            print_table(["ID"], [[item] for item in deleted], deleted, fmt)
    if failures:
        raise CliError("; ".join(failures))


@click.command("oauth2-client")
@click.argument("files", nargs=-1, type=click.File("r"))
@endpoint_options(ADMIN_DEFAULT, "admin")
def import_clients(api, fmt, files):
    """Create clients from JSON files (an array of clients or one client each; stdin if none)."""
    sources = list(files) or [click.get_text_stream("stdin")]
    documents = []
    for source in sources:
        try:
            loaded = json.load(source)
        except ValueError as exc:
            raise CliError(f"{source.name}: not valid JSON ({exc})") from None
        items = loaded if isinstance(loaded, list) else [loaded]
        if not all(isinstance(item, dict) for item in items):
            raise CliError(f"{source.name}: expected JSON client objects")
        documents.extend(items)
    created = [api.json("POST", "/admin/clients", json=item, expected=(201,)) for item in documents]
    if len(created) == 1:
        show_client(created[0], fmt)
    else:
        show_clients(created, fmt)
