"""``authserver harness``: the server as a scriptable identity provider for tests
(see ``authserver.harness`` and docs/testing.md)."""

from __future__ import annotations

import os
import sys

import click


def _port_option(api: str, default: int):
    return click.option(
        f"--{api}-port",
        type=click.IntRange(0, 65535),
        envvar=f"SERVE_{api.upper()}_PORT",
        default=default,
        show_default=True,
        help="0 picks a free port.",
    )


@click.command("harness")
@click.option(
    "-c",
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="The harness YAML file: users, clients, default user, token strategy, lifetimes.",
)
@_port_option("public", 4444)
@_port_option("admin", 4445)
@click.option(
    "--host",
    envvar="HARNESS_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address of both listeners; 0.0.0.0 in a container (then set URLS_SELF_ISSUER).",
)
@click.option("--dsn", help="A database instead of the in-memory one (migrated at start).")
@click.option(
    "--token-strategy",
    type=click.Choice(["opaque", "jwt"]),
    help="Over the file's token_strategy.",
)
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True)
def harness(config_file, public_port, admin_port, host, dsn, token_strategy, threads):
    """Run authserver for tests: public and admin APIs, a built-in login app whose
    decisions tests script, minted tokens, a request log and a movable clock.

    For tests only: anyone can log in as anyone. Server settings (URLS_SELF_ISSUER,
    TTL_*, LOG_LEVEL…) are read from the environment as by `serve`.
    """
    # Imported here: `authserver --help` need not load the server.
    from authserver.config import ConfigError, is_loopback_host
    from authserver.harness.config import HarnessConfigError
    from authserver.harness.server import WARNING, HarnessServer
    from authserver.web.logs import configure_logging

    try:
        server = HarnessServer.from_file(
            config_file,
            public_port=public_port,
            admin_port=admin_port,
            host=host,
            token_strategy=token_strategy,
            dsn=dsn,
            # Not DSN: a developer's own database in the environment must not become the
            # harness's, whose reset empties it. A database is chosen with --dsn only.
            environ={k: v for k, v in os.environ.items() if k != "DSN"},
            threads=threads,
        )
    except HarnessConfigError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(os.environ.get("LOG_LEVEL", "info"), os.environ.get("LOG_FORMAT", "text"))
    click.echo(WARNING, err=True)
    if not is_loopback_host(host):
        click.echo(
            f"WARNING: listening on {host}: whoever reaches the admin port can mint tokens "
            "for any user. Keep it inside a private (container) network.",
            err=True,
        )
    try:
        server.start(background=True)
    except ConfigError as exc:
        raise click.ClickException("configuration: " + "; ".join(exc.problems)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}: {exc.strerror or exc}") from None
    click.echo(
        f"authserver harness is ready in {server.started_in * 1000:.0f} ms: issuer "
        f"{server.issuer}  public {server.public_url}/  admin {server.admin_url}/",
        err=True,
    )
    sys.stderr.flush()
    _wait_for_signal(server)


def _wait_for_signal(server) -> None:
    import signal
    import threading

    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stopping.set())
    while not stopping.wait(0.5):
        pass
    server.stop()
