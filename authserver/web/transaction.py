"""One database transaction per request.

The session opens on first use, commits in ``after_request`` (before the response leaves,
so a token handed out is already visible to every other server process) and is closed in
``teardown_request``. An exception anywhere rolls the whole request back. Error responses
that views return deliberately (a 400 that also revoked tokens) still commit; an exception
(even one rendered as a 4xx by the error handlers) marks the request rollback-only.
"""

from __future__ import annotations

import functools
import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from authserver.web.errors import error_response

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session() -> Session:
    session = g.get("_db_session")
    if session is None:
        write = request.method not in _SAFE_METHODS and not g.get("_read_only", False)
        session = current_app.extensions["authserver"].database.open_session(write=write)
        g._db_session = session
    return session


def read_only(view):
    """Mark a POST view that never writes (introspection): SQLite then need not lock."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g._read_only = True
        return view(*args, **kwargs)

    return wrapper


def init_transactions(app: Flask) -> None:
    @app.after_request
    def _commit(response):
        session = g.get("_db_session")
        if session is None or not session.in_transaction():
            return response
        if g.get("_rollback_only"):
            session.rollback()
            return response
        try:
            session.commit()
        except SQLAlchemyError:
            log.exception("commit failed")
            session.rollback()
            return error_response(
                "server_error", "The request could not be saved; please retry.", 503
            )
        return response

    @app.teardown_request
    def _close(_exc):
        session = g.pop("_db_session", None)
        if session is not None:
            current_app.extensions["authserver"].database.close_session(session)
