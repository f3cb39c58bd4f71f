"""Apply and inspect the Alembic migrations shipped in ``authserver/migrations``.

Alembic (with Mako) costs a server process about 10 MB of memory, so it is imported only
when there is migrating to do. A server's start-up and readiness checks compare the
database's revision with ``HEAD_REVISION`` instead (a unit test keeps the constant equal
to the newest migration)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from authserver.storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
HEAD_REVISION = "0002"


def is_current(database: Database) -> bool:
    """True if the schema is at ``HEAD_REVISION`` (one small query, no Alembic)."""
    try:
        with database.transaction(write=False) as session:
            versions = session.execute(text("SELECT version_num FROM alembic_version")).all()
    except (ProgrammingError, OperationalError) as exc:
        if "alembic_version" in str(exc.orig or exc):
            return False  # never migrated
        raise
    return [row[0] for row in versions] == [HEAD_REVISION]


def _config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.transaction(write=False) as session:
        return MigrationContext.configure(session.connection()).get_current_revision()


def pending_revisions(database: Database) -> list[str]:
    """Revisions not yet applied, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    current = current_revision(database)
    pending = [rev.revision for rev in script.iterate_revisions("heads", current)]
    return list(reversed(pending))


def upgrade(database: Database) -> list[str]:
    """Apply every pending migration in one transaction; return the revisions applied."""
    pending = pending_revisions(database)
    if not pending:
        return []
    from alembic import command

    config = _config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return pending
