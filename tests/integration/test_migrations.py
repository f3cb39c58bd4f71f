"""The migrations are the schema: they must produce exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from authserver.storage import migrations
from authserver.storage.database import Database
from authserver.storage.models import Base


def test_migrated_schema_matches_the_models(backend, make_database):
    database = Database(make_database(backend).dsn)
    try:
        assert migrations.pending_revisions(database) == []
        with database.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        database.dispose()


def test_upgrade_applies_everything_once(backend, make_database):
    database = Database(make_database(backend, migrated=False).dsn)
    try:
        assert migrations.current_revision(database) is None
        applied = migrations.upgrade(database)
        assert applied and applied[-1] == migrations.head_revision()
        assert migrations.upgrade(database) == []
        assert migrations.current_revision(database) == migrations.head_revision()
    finally:
        database.dispose()


def test_a_schema_from_a_newer_version_is_one_clear_line(backend, make_database, tmp_path):
    """A rolling upgrade: a newer authserver migrated; an older one must say so, not crash."""
    import os

    from sqlalchemy import text

    from tests.conftest import run_cli

    dsn = make_database(backend).dsn
    database = Database(dsn)
    try:
        with database.transaction() as session:
            session.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        database.dispose()
    env = {**os.environ, "DSN": dsn, "SECRETS_SYSTEM": "z" * 32}
    for command in (("serve", "all"), ("migrate", "status", dsn), ("migrate", "sql", "--yes", dsn)):
        result = run_cli(*command, env=env, timeout=60)
        assert result.returncode != 0, command
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "9999_future" in lines[0], (command, result.stderr)
