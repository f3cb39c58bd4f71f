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
HEAD_REVISION = "0006"


class UnknownRevision(Exception):
    """The database is at a revision this version does not know: a newer authserver
    migrated it (a rolling upgrade in progress, or a downgrade)."""

    def __init__(self, revision: str | None):
        super().__init__(
            f"the database schema is at revision {revision!r}, which this version of "
            "authserver does not know (was it migrated by a newer version?)"
        )


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
    """Revisions not yet applied, oldest first; ``UnknownRevision`` if the database's own
    revision is not one of ours."""
    from alembic.script import ScriptDirectory
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(_config())
    current = current_revision(database)
    try:
        pending = [rev.revision for rev in script.iterate_revisions("heads", current)]
    except (RevisionError, CommandError):
        raise UnknownRevision(current) from None
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


def create_fresh_schema(database: Database) -> None:
    """The current schema in an empty in-memory database, straight from the models: what
    the migrations build (``tests/integration/test_migrations.py`` checks they agree),
    without loading Alembic. For the test harness, whose start must take under a second.
    The version is recorded as Alembic would, so readiness and ``migrate status`` agree."""
    from authserver.storage.models import Base

    with database.engine.begin() as connection:
        Base.metadata.create_all(connection)
        connection.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        connection.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:head)"),
            {"head": HEAD_REVISION},
        )
