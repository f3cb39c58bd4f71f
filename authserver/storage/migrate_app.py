"""A minimal Flask app for Flask-Migrate's developer commands, e.g.

    DSN=sqlite:///dev.sqlite flask --app authserver.storage.migrate_app db revision \
        --autogenerate -m "describe the change"

Only migrations change the schema; this app exists so that writing one is one command.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_migrate import Migrate

from authserver.storage.database import Database
from authserver.storage.migrations import MIGRATIONS_DIR
from authserver.storage.models import Base


class _MigrationTarget:
    """What Flask-Migrate expects of a "db" object: metadata and an engine."""

    def __init__(self, database: Database):
        self.metadata = Base.metadata
        self.engine = database.engine


def create_app() -> Flask:
    app = Flask(__name__)
    database = Database(os.environ.get("DSN", "sqlite:///authserver-dev.sqlite"))
    Migrate(app, _MigrationTarget(database), directory=str(MIGRATIONS_DIR))
    return app
