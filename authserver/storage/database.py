"""Engine and sessions for every supported DSN.

* ``memory``: one in-memory SQLite database shared by all threads of the process. SQLite
  cannot share one connection between concurrent transactions, so sessions take a
  process-wide lock: requests are serialised, which is fine for tests and demos.
* ``sqlite:///path``: a file in WAL mode with a busy timeout. Transactions that will write
  start with ``BEGIN IMMEDIATE`` so that a read followed by a write cannot fail half-way
  with "database is locked" when another writer committed in between.
* ``postgres://`` / ``postgresql://``: psycopg 3 with a connection pool. Hydra's own DSN
  options (``max_conns``, ``max_conn_lifetime``, ...) are translated to pool settings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from authserver.domain.durations import DurationError, parse_duration
from authserver.storage.driver import DriverConnection

_HYDRA_POOL_OPTIONS = {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time"}
_WRITE_OPTION = "authserver_write"
_AUTOCOMMIT_OPTION = "authserver_autocommit"


class DatabaseURLError(ValueError):
    pass


def engine_arguments(dsn: str, pool_size: int = 8) -> tuple[str, dict]:
    """Translate a Hydra-style DSN into a SQLAlchemy URL and ``create_engine`` keywords."""
    if dsn == "memory" or dsn in ("sqlite://", "sqlite:///:memory:", "sqlite://:memory:"):
        return "sqlite://", {
            "poolclass": StaticPool,
            "connect_args": {"check_same_thread": False},
        }
    parts = urlsplit(dsn)
    if parts.scheme == "sqlite":
        # Hydra's DSNs carry driver flags such as ?_fk=true: we always enable foreign keys.
        return dsn.split("?", 1)[0], {"connect_args": {"check_same_thread": False, "timeout": 15}}
    if parts.scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        # Connections stay in autocommit and transactions are opened explicitly (see
        # _configure_postgresql): switching a pooled connection's mode per request would
        # cost round trips of its own.
        kwargs: dict = {
            "pool_size": pool_size,
            "max_overflow": pool_size,
            "isolation_level": "AUTOCOMMIT",
        }
        if "max_conns" in query:
            try:
                total = max(1, int(query["max_conns"]))
            except ValueError:
                raise DatabaseURLError("DSN: max_conns must be a number") from None
            kwargs["pool_size"], kwargs["max_overflow"] = total, 0
        if "max_conn_lifetime" in query:
            try:
                kwargs["pool_recycle"] = int(parse_duration(query["max_conn_lifetime"]))
            except DurationError as exc:
                raise DatabaseURLError(f"DSN: max_conn_lifetime: {exc}") from None
        rest = {key: value for key, value in query.items() if key not in _HYDRA_POOL_OPTIONS}
        url = urlunsplit(("postgresql+psycopg", parts.netloc, parts.path, urlencode(rest), ""))
        return url, kwargs
    raise DatabaseURLError(f"DSN: unsupported scheme {parts.scheme or dsn!r}")


class Database:
    """Owns the engine; hands out sessions (one per request, one transaction each)."""

    def __init__(self, dsn: str, pool_size: int = 8):
        self.dsn = dsn
        url, kwargs = engine_arguments(dsn, pool_size)
        self.engine: Engine = create_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        self.is_memory = "poolclass" in kwargs
        self._serialise = threading.RLock() if self.is_memory else None
        # SQLite has one writer at a time. Threads of this process queue for it here
        # instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms
        # (that made client-credentials p99 on SQLite several times its p50).
        self._sqlite_writers = (
            threading.RLock() if self.dialect == "sqlite" and not self.is_memory else None
        )
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, wal=not self.is_memory)
        else:
            _configure_postgresql(self.engine)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # Each statement its own transaction: for requests that run one statement (issue a
        # client-credentials token, introspect), BEGIN and COMMIT would be two extra round
        # trips to PostgreSQL for nothing.
        self._autocommit_engine = self.engine.execution_options(**{_AUTOCOMMIT_OPTION: True})
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    def open_session(
        self, write: bool = True, autocommit: bool = False
    ) -> Session | DriverConnection:
        """A new session; call ``close_session`` when done (the request teardown does).

        ``autocommit``: a pooled connection on which every statement commits on its own,
        for the hot paths whose statements need no common transaction and no ORM (their
        repositories use Core statements only; see ``storage.driver``)."""
        lock = self._serialise or (self._sqlite_writers if write else None)
        if lock is not None:
            lock.acquire()
        try:
            if autocommit:
                session = DriverConnection(self._autocommit_engine)
            else:
                session = (self._write_sessions if write else self._read_sessions)()
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        session.authserver_lock = lock
        return session

    def close_session(self, session: Session | DriverConnection) -> None:
        try:
            session.close()
        finally:
            lock = getattr(session, "authserver_lock", None)
            if lock is not None:
                lock.release()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any exception."""
        session = self.open_session(write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self.close_session(session)

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.transaction(write=False) as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module (it would only BEGIN before
        # DML, leaving SELECTs outside the transaction) and issue BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get(_AUTOCOMMIT_OPTION, False):
            return  # the sqlite3 module (isolation_level None) then commits each statement
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE_OPTION) else "BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # psycopg in autocommit mode sends no BEGIN itself; its commit() and rollback()
        # still end a transaction opened here.
        if not connection.get_execution_options().get(_AUTOCOMMIT_OPTION, False):
            connection.exec_driver_sql("BEGIN")
