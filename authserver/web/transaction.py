"""One database transaction per request.

The session opens on first use, commits in ``after_request`` (before the response leaves,
so a token handed out is already visible to every other server process) and is closed in
``teardown_request``. An exception anywhere rolls the whole request back. Error responses
that views return deliberately (a 400 that also revoked tokens) still commit; an exception
(even one rendered as a 4xx by the error handlers) marks the request rollback-only.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from authserver.web.errors import render_exception

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class HotPathConnection:
    """The database handle of a request served by a hot path (``web.hotpath``): a plain
    autocommit connection, opened on first use (a refused client costs none)."""

    def __init__(self, database, write: bool):
        self._database = database
        self._write = write
        self._connection = None

    def get(self):
        if self._connection is None:
            self._connection = self._database.open_session(write=self._write, autocommit=True)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            self._database.close_session(connection)


hot_path_connection: contextvars.ContextVar[HotPathConnection | None] = contextvars.ContextVar(
    "hot_path_connection", default=None
)


def db_session() -> Session:
    hot = hot_path_connection.get()
    if hot is not None:
        return hot.get()
    session = g.get("_db_session")
    if session is None:
        write = g.get("_writes", False) or (
            request.method not in _SAFE_METHODS and not g.get("_read_only", False)
        )
        session = current_app.extensions["authserver"].database.open_session(
            write=write, autocommit=g.get("_autocommit", False)
        )
        g._db_session = session
    return session


def use_autocommit() -> None:
    """This request's statements need no common transaction (each commits on its own):
    saves PostgreSQL the BEGIN and COMMIT round trips. Call before the first query."""
    g._autocommit = True


def after_commit(callback) -> None:
    """Run ``callback()`` once this request's transaction has committed (cache eviction:
    evicting earlier would let another thread re-read and cache the old row)."""
    g.setdefault("_after_commit", []).append(callback)


def _run_after_commit() -> None:
    for callback in g.pop("_after_commit", ()):
        callback()


def _marking(**flags):
    """A view decorator that sets request flags read by ``db_session``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            for name, value in flags.items():
                setattr(g, name, value)
            return view(*args, **kwargs)

        return wrapper

    return decorator


# A view that writes even on GET (the authorization endpoint): on SQLite its transaction
# must take the write lock at BEGIN, or two such requests deadlock.
writes = _marking(_writes=True)
# A POST view that never writes (userinfo): SQLite then need not lock.
read_only = _marking(_read_only=True)
# A view that only reads, through Core statements, and whose reads need no common snapshot
# (introspection: one token lookup). It then runs on a plain autocommit connection: no ORM
# session, and no BEGIN/ROLLBACK round trips.
independent_reads = _marking(_read_only=True, _autocommit=True)


def init_transactions(app: Flask) -> None:
    @app.after_request
    def _commit(response):
        session = g.get("_db_session")
        if session is None or not session.in_transaction():
            _run_after_commit()
            return response
        if g.get("_rollback_only"):
            session.rollback()
            return response
        try:
            session.commit()
        except SQLAlchemyError as exc:
            with contextlib.suppress(SQLAlchemyError):
                session.rollback()
            return render_exception(exc)  # 503 when the database could not take it
        _run_after_commit()
        return response

    @app.teardown_request
    def _close(_exc):
        session = g.pop("_db_session", None)
        if session is not None:
            current_app.extensions["authserver"].database.close_session(session)
