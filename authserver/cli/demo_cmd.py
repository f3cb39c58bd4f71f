"""``authserver demo``: run the whole stack locally (see ``authserver.devstack``)."""

from __future__ import annotations

from pathlib import Path

import click

from authserver.devstack import DemoError, Ports, run_demo


@click.command("demo")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".authserver-demo"),
    show_default=True,
    help="Where the secret, the SQLite database and the logs live.",
)
@click.option("--public-port", type=click.IntRange(1, 65535), default=9000, show_default=True)
@click.option("--admin-port", type=click.IntRange(1, 65535), default=9001, show_default=True)
@click.option("--consent-port", type=click.IntRange(1, 65535), default=9020, show_default=True)
@click.option(
    "--client-port",
    type=click.IntRange(1, 65535),
    default=9010,
    show_default=True,
    help='The demo client ("Demo client").',
)
@click.option(
    "--second-app-port",
    type=click.IntRange(1, 65535),
    default=9011,
    show_default=True,
    help='The second demo client ("Second app"), for logging out of one of two apps.',
)
@click.option(
    "--reset",
    is_flag=True,
    help="Delete the SQLite database in --data-dir first and start from an empty one "
    "(clients, tokens, remembered logins and consents go); the system secret and the "
    "logs are kept.",
)
def demo(data_dir, public_port, admin_port, consent_port, client_port, second_app_port, reset):
    """Run authserver, the login/consent app and two demo clients on this machine (SQLite).

    The two demo clients, "Demo client" and "Second app", are two OAuth2 clients on two
    ports: log in to both, log out of one, and the other's session ends too (back- and
    front-channel logout). Each registers its own client and its single-page app's (/spa),
    for which the public API has CORS on for both origins.

    Ctrl-C stops everything. Data (secret, database, logs) is kept in --data-dir.
    """
    ports = Ports(public_port, admin_port, consent_port, client_port, second_app_port)
    if len(set(ports.__dict__.values())) != len(ports.__dict__):
        raise click.UsageError("the five ports must differ")
    try:
        raise SystemExit(run_demo(data_dir, ports, reset=reset))
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
