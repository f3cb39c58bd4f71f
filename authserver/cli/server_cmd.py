"""``serve`` and ``migrate``: the commands that run against configuration, not an API."""

from __future__ import annotations

import click

from authserver.config import ConfigError, Settings, load_settings
from authserver.web.logs import configure_logging


def settings_or_exit(config_file, dev: bool, env=None) -> Settings:
    try:
        return load_settings(env=env, config_file=config_file, dev=dev)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"authserver: configuration: {problem}", err=True)
        raise SystemExit(2) from None


def _serve_command(which: str):
    @click.command(which)
    @click.option(
        "-c",
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="A YAML configuration file (environment variables override it).",
    )
    @click.option(
        "--dev",
        is_flag=True,
        help="Development mode: allows plain http on any host and non-Secure cookies.",
    )
    @click.option(
        "--dangerous-force-http",
        is_flag=True,
        hidden=True,
        help="The 2019 guide's spelling of --dev.",
    )
    @click.option(
        "--threads",
        type=click.IntRange(1, 256),
        default=8,
        show_default=True,
        help="Worker threads per process.",
    )
    @click.option(
        "--workers",
        type=click.IntRange(1, 64),
        default=1,
        show_default=True,
        help="Server processes sharing the ports (use one per CPU core).",
    )
    @click.option(
        "--server",
        type=click.Choice(["waitress", "granian"]),
        default="waitress",
        show_default=True,
        help="The HTTP server: waitress, or granian (faster; pip install 'authserver[granian]').",
    )
    def command(config_file, dev, dangerous_force_http, threads, workers, server):
        # Imported when serving, not at the top: `authserver --help` and the other
        # commands start faster without SQLAlchemy and the apps.
        from authserver.serve import run

        if server == "granian":
            from authserver.runtime.granian_server import available  # as above

            if not available():
                raise click.UsageError("--server granian needs: pip install 'authserver[granian]'")
        settings = settings_or_exit(config_file, dev or dangerous_force_http)
        configure_logging(settings.log_level, settings.log_format)
        raise SystemExit(
            run(
                settings,
                which,
                threads=threads,
                workers=workers,
                server=server,
                config_file=config_file,
            )
        )

    command.help = {
        "all": "Serve the public (4444) and admin (4445) APIs in one process.",
        "public": "Serve only the public API (OAuth2 endpoints for browsers and clients).",
        "admin": "Serve only the admin API (clients, introspection, keys; keep it private).",
    }[which]
    return command


@click.group("serve")
def serve():
    """Run the HTTP servers."""


for _which in ("all", "public", "admin"):
    serve.add_command(_serve_command(_which))


@click.group("migrate")
def migrate():
    """Database migrations."""


def database_from(dsn: str | None, read_from_env: bool, config_file):
    """The database of a maintenance command (migrate, janitor). SQLAlchemy is imported
    here, not at the top: the commands that talk HTTP start faster without it."""
    from authserver.storage.database import Database, DatabaseTimeouts, DatabaseURLError

    if read_from_env or (not dsn and config_file):
        settings = settings_or_exit(config_file, dev=True)
        dsn = settings.dsn
    if not dsn:
        raise click.UsageError("give a DSN argument, or -e to read DSN from the environment")
    try:
        # Migrations and the janitor may run statements far longer than a request's.
        return Database(dsn, timeouts=DatabaseTimeouts(connect=10.0, statement=3600.0, pool=30.0))
    except DatabaseURLError as exc:
        raise click.UsageError(str(exc)) from None


@migrate.command("sql")
@click.argument("dsn", required=False)
@click.option("-e", "--read-from-env", is_flag=True, help="Read the DSN from the environment.")
@click.option("-y", "--yes", is_flag=True, help="Apply without asking (required).")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False))
def migrate_sql(dsn, read_from_env, yes, config_file):
    """Apply all pending SQL migrations to DSN."""
    from sqlalchemy.exc import SQLAlchemyError

    from authserver.storage import migrations

    database = database_from(dsn, read_from_env, config_file)
    try:
        pending = migrations.pending_revisions(database)
        if not pending:
            click.echo("The database schema is up to date; nothing to apply.")
            return
        click.echo(f"{len(pending)} migration(s) to apply: {', '.join(pending)}")
        if not yes:
            raise click.UsageError(
                "refusing to migrate without --yes (migrations change the database)"
            )
        applied = migrations.upgrade(database)
        click.echo(
            f"Applied {len(applied)} migration(s); the schema is at {migrations.head_revision()}."
        )
    except migrations.UnknownRevision as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"migration failed: {exc.__class__.__name__}: {exc.orig or exc}"
        ) from None
    finally:
        database.dispose()


@migrate.command("status")
@click.argument("dsn", required=False)
@click.option("-e", "--read-from-env", is_flag=True, help="Read the DSN from the environment.")
@click.option("-c", "--config", "config_file", type=click.Path(dir_okay=False))
def migrate_status(dsn, read_from_env, config_file):
    """Show applied and pending migrations."""
    from sqlalchemy.exc import SQLAlchemyError

    from authserver.storage import migrations

    database = database_from(dsn, read_from_env, config_file)
    try:
        current = migrations.current_revision(database)
        pending = migrations.pending_revisions(database)
    except migrations.UnknownRevision as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the schema version: {exc.__class__.__name__}"
        ) from None
    finally:
        database.dispose()
    click.echo(f"current: {current or '(empty database)'}")
    click.echo(f"pending: {', '.join(pending) if pending else 'none'}")
    if pending:
        raise SystemExit(1)
