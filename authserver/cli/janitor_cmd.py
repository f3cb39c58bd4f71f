"""``authserver janitor``: remove expired tokens, codes, flows and sessions in batches
(and, when asked, dynamically registered clients that were never used)."""

from __future__ import annotations

import time

import click


@click.command("janitor")
@click.argument("dsn", required=False)
@click.option("-e", "--read-from-env", is_flag=True, help="Read the DSN from the environment.")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False))
@click.option(
    "--tokens", is_flag=True, help="Only expired access/refresh tokens, codes and device codes."
)
@click.option(
    "--requests",
    "requests_",
    is_flag=True,
    help="Only finished or expired flows and device challenges.",
)
@click.option("--sessions", is_flag=True, help="Only expired login sessions.")
@click.option(
    "--registered-clients",
    is_flag=True,
    help="Dynamically registered clients (RFC 7591) that never obtained a token, once "
    "older than --registered-clients-older-than. Not a Hydra category: never cleaned "
    "unless this flag is given.",
)
@click.option(
    "--registered-clients-older-than",
    "registered_age",
    default="24h",
    show_default=True,
    help="How long a registered client may wait for its first token (a Go duration).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Rows deleted per transaction.",
)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="At most this many rows per kind."
)
@click.option(
    "--pause",
    default="0s",
    show_default=True,
    help="Wait this long between batches (a Go duration such as 50ms) to leave the "
    "database more room for traffic.",
)
@click.option(
    "--keep-if-younger",
    default="0s",
    show_default=True,
    help="Keep rows that expired less than this long ago (a Go duration).",
)
def janitor_command(
    dsn,
    read_from_env,
    config_file,
    tokens,
    requests_,
    sessions,
    registered_clients,
    registered_age,
    batch_size,
    limit,
    pause,
    keep_if_younger,
):
    """Clean up rows that can no longer be used. Safe to run while servers are serving."""
    from sqlalchemy.exc import SQLAlchemyError  # lazily: only this command needs them

    from authserver.cli.server_cmd import database_from
    from authserver.domain.durations import DurationError, parse_duration
    from authserver.metrics import metrics
    from authserver.storage import janitor, migrations

    try:
        keep = int(parse_duration(keep_if_younger))
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--keep-if-younger") from None
    try:
        pause_seconds = parse_duration(pause)
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--pause") from None
    try:
        registered_seconds = int(parse_duration(registered_age))
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--registered-clients-older-than") from None
    flags = (("tokens", tokens), ("requests", requests_), ("sessions", sessions))
    chosen = tuple(name for name, flag in flags if flag)
    if not chosen and not registered_clients:
        chosen = ("tokens", "requests", "sessions")
    if registered_clients:
        chosen += ("registered_clients",)
    database = database_from(dsn, read_from_env, config_file)
    try:
        if not migrations.is_current(database) and migrations.pending_revisions(database):
            raise click.ClickException("the schema is not up to date: run `authserver migrate sql`")
        removed = janitor.clean(
            database,
            int(time.time()) - keep,
            chosen,
            batch_size=batch_size,
            limit=limit,
            pause=pause_seconds,
            registered_client_age=registered_seconds,
            on_batch=metrics().janitor_deleted,
        )
    except migrations.UnknownRevision as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"janitor failed: {exc.__class__.__name__}") from None
    finally:
        database.dispose()
    for name, count in removed.items():
        click.echo(f"{name}: {count} removed")
