"""Every ``authserver`` command: Hydra's verbs, so that the guides read one to one.

authserver serve all --dev
authserver migrate sql --yes $DSN
authserver create oauth2-client --grant-type client_credentials
authserver perform client-credentials --client-id ... --client-secret ...
authserver introspect token $TOKEN
"""

from __future__ import annotations

import click

from authserver import __version__
from authserver.cli import (
    authorization_code_cmd,
    clients_cmd,
    demo_cmd,
    device_code_cmd,
    harness_cmd,
    janitor_cmd,
    jwks_cmd,
    legacy,
    server_cmd,
    tokens_cmd,
)


class AliasedGroup(click.Group):
    """A group whose commands may have aliases (hidden from help), as Hydra's do."""

    def __init__(self, *args, aliases: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.aliases = aliases or {}

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def resolve_command(self, ctx, args):
        name, command, rest = super().resolve_command(ctx, args)
        return command.name if command else name, command, rest


class RootGroup(AliasedGroup):
    """Lists the 2019 guide's Hydra v1 commands under their own heading."""

    def format_commands(self, ctx, formatter):
        current, old = [], []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            target = old if name in legacy.LEGACY_COMMANDS else current
            target.append((name, command.get_short_help_str(limit=70)))
        if current:
            with formatter.section("Commands"):
                formatter.write_dl(current)
        if old:
            with formatter.section("Legacy commands (Hydra v1, as in the 2019 guide)"):
                formatter.write_dl(old)


def _group(name: str, help_text: str, aliases: dict[str, str]) -> AliasedGroup:
    group = AliasedGroup(name=name, help=help_text, aliases=aliases)
    return group


_CLIENT_ALIASES = {
    "client": "oauth2-client",
    "clients": "oauth2-client",
    "oauth2-clients": "oauth2-client",
}

create = _group("create", "Create resources.", {"client": "oauth2-client", "jwk": "jwks"})
create.add_command(clients_cmd.create_client)
create.add_command(jwks_cmd.create_jwks)

get = _group("get", "Get resources.", {**_CLIENT_ALIASES, "jwk": "jwks"})
get.add_command(clients_cmd.get_client)
get.add_command(jwks_cmd.get_jwks)

list_ = _group(
    "list", "List resources.", {"clients": "oauth2-clients", "oauth2-client": "oauth2-clients"}
)
list_.add_command(clients_cmd.list_clients)

update = _group("update", "Update resources.", {"client": "oauth2-client"})
update.add_command(clients_cmd.update_client)

delete = _group("delete", "Delete resources.", {**_CLIENT_ALIASES, "jwk": "jwks"})
delete.add_command(clients_cmd.delete_client)
delete.add_command(jwks_cmd.delete_jwks)
delete.add_command(tokens_cmd.delete_access_tokens)

import_ = _group("import", "Import resources.", dict(_CLIENT_ALIASES))
import_.add_command(clients_cmd.import_clients)

perform = _group("perform", "Perform OAuth 2.0 flows.", {})
perform.add_command(tokens_cmd.perform_client_credentials)
perform.add_command(authorization_code_cmd.perform_authorization_code)
perform.add_command(device_code_cmd.perform_device_code)

introspect = _group("introspect", "Introspect resources.", {})
introspect.add_command(tokens_cmd.introspect_token)

revoke = _group("revoke", "Revoke resources.", {})
revoke.add_command(tokens_cmd.revoke_token)


@click.command("version")
def version():
    """Print the version of this build."""
    click.echo(f"Version:    {__version__}")


cli = RootGroup(
    name="authserver",
    help="A headless OAuth 2.0 and OpenID Connect server in the style of Ory Hydra.",
    aliases={"ls": "list"},
)
for command in (
    server_cmd.serve,
    server_cmd.migrate,
    create,
    get,
    list_,
    update,
    delete,
    import_,
    perform,
    introspect,
    revoke,
    version,
    janitor_cmd.janitor_command,
    demo_cmd.demo,
    harness_cmd.harness,
    legacy.clients,
    legacy.token,
):
    cli.add_command(command)
