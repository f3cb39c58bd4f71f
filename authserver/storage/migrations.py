"""Apply and inspect the Alembic migrations shipped in ``authserver/migrations``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from authserver.storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(database: Database) -> str | None:
    with database.transaction(write=False) as session:
        return MigrationContext.configure(session.connection()).get_current_revision()


def pending_revisions(database: Database) -> list[str]:
    """Revisions not yet applied, oldest first."""
    script = ScriptDirectory.from_config(_config())
    current = current_revision(database)
    pending = [rev.revision for rev in script.iterate_revisions("heads", current)]
    return list(reversed(pending))


def upgrade(database: Database) -> list[str]:
    """Apply every pending migration in one transaction; return the revisions applied."""
    pending = pending_revisions(database)
    if not pending:
        return []
    config = _config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return pending
