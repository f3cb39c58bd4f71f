"""One database transaction per request.

The session opens on first use, commits in ``after_request`` (before the response leaves,
so a token handed out is already visible to every other server process) and is closed in
``teardown_request``. An exception anywhere rolls the whole request back. Error responses
that views return deliberately (a 400 that also revoked tokens) still commit; an exception
(even one rendered as a 4xx by the error handlers) marks the request rollback-only.
"""

from __future__ import annotations

import contextlib
import functools
import logging

from flask import Flask, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from authserver.storage.handles import SessionHandle
from authserver.web.errors import render_exception

log = logging.getLogger(__name__)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def request_database() -> SessionHandle:
    """This request's database handle, for the view to pass to services and grants. Its
    flags (write lock, autocommit) come from the view's decorators, read on first call."""
    handle = g.get("_db")
    if handle is None:
        write = g.get("_writes", False) or (
            request.method not in _SAFE_METHODS and not g.get("_read_only", False)
        )
        handle = g._db = SessionHandle(
            current_app.extensions["authserver"].database,
            write=write,
            autocommit=g.get("_autocommit", False),
        )
    return handle


def db_session() -> Session:
    """This request's session, opened now if it was not yet (for views that query)."""
    return request_database().get()


def use_autocommit() -> None:
    """This request's statements need no common transaction (each commits on its own):
    saves PostgreSQL the BEGIN and COMMIT round trips. Call before ``request_database``."""
    g._autocommit = True


def will_write() -> None:
    """This request writes although its view is marked read-only (a GET that records a
    DPoP proof's jti). Call before ``request_database``."""
    g._writes = True


def after_commit(callback) -> None:
    """Run ``callback()`` once this request's transaction has committed (cache eviction:
    evicting earlier would let another thread re-read and cache the old row)."""
    g.setdefault("_after_commit", []).append(callback)


def _run_after_commit() -> None:
    callbacks = g.pop("_after_commit", ())
    if callbacks:
        # The transaction is over: let go of the connection (and SQLite's write slot) now,
        # since a callback may wait for other threads that need one (logout deliveries).
        handle = g.pop("_db", None)
        if handle is not None:
            handle.close()
    for callback in callbacks:
        callback()


def _marking(**flags):
    """A view decorator that sets request flags read by ``request_database``."""

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
        handle = g.get("_db")
        session = handle.opened if handle is not None else None
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
        handle = g.pop("_db", None)
        if handle is not None:
            handle.close()
