"""Health and version endpoints (Hydra's ``healthStatus`` / ``healthNotReadyStatus``)."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from authserver import __version__
from authserver.repeats import RepeatedLog
from authserver.storage import migrations
from authserver.storage.database import DatabaseBusy

log = logging.getLogger(__name__)
_repeated = RepeatedLog(log)


def health_blueprint(name: str = "health") -> Blueprint:
    bp = Blueprint(name, __name__)
    state = {"migrated": False}

    @bp.get("/health/alive")
    def alive():
        return jsonify(status="ok")

    @bp.get("/health/ready")
    def ready():
        database = current_app.extensions["authserver"].database
        errors = {}
        try:
            database.ping()
            if not state["migrated"]:
                # Alembic is loaded only if the quick revision check fails.
                try:
                    current = migrations.is_current(database)
                    pending = [] if current else migrations.pending_revisions(database)
                except migrations.UnknownRevision as exc:
                    pending, errors["migrations"] = [], str(exc)
                if pending:
                    errors["migrations"] = (
                        f"{len(pending)} migration(s) not applied; run `authserver migrate sql`"
                    )
                elif not errors:
                    state["migrated"] = True
        except (SQLAlchemyError, DatabaseBusy) as exc:
            # A probe every few seconds during an outage: one line per interval, counted.
            _repeated.log(
                logging.WARNING,
                exc.__class__.__name__,
                "readiness check: database unavailable (%s)",
                exc.__class__.__name__,
            )
            errors["database"] = "the database is unreachable"
        if errors:
            return jsonify(errors=errors), 503
        return jsonify(status="ok")

    @bp.get("/version")
    def version():
        return jsonify(version=__version__)

    return bp
