"""Alembic environment shared by `authserver migrate sql` and Flask-Migrate.

`authserver migrate sql` passes an open connection in ``config.attributes["connection"]``;
Flask-Migrate's ``flask db`` commands run inside the app from ``authserver.storage.migrate_app``.
"""

from alembic import context

from authserver.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from flask import current_app

    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
