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
