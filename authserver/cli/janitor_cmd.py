"""``authserver janitor``: remove expired tokens, codes, flows and sessions in batches."""

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
    batch_size,
    limit,
    pause,
    keep_if_younger,
):
    """Clean up rows that can no longer be used. Safe to run while servers are serving."""
    from sqlalchemy.exc import SQLAlchemyError  # lazily: only this command needs them

    from authserver.cli.server_cmd import database_from
    from authserver.domain.durations import DurationError, parse_duration
    from authserver.storage import janitor, migrations

    try:
        keep = int(parse_duration(keep_if_younger))
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--keep-if-younger") from None
    try:
        pause_seconds = parse_duration(pause)
    except DurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--pause") from None
    chosen = tuple(
        name
        for name, flag in (("tokens", tokens), ("requests", requests_), ("sessions", sessions))
        if flag
    ) or ("tokens", "requests", "sessions")
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
        )
    except migrations.UnknownRevision as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"janitor failed: {exc.__class__.__name__}") from None
    finally:
        database.dispose()
    for name, count in removed.items():
        click.echo(f"{name}: {count} removed")
