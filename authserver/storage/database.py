"""Engine and sessions for every supported DSN.

* ``memory``: one in-memory SQLite database shared by all threads of the process. SQLite
  cannot share one connection between concurrent transactions, so sessions take a
  process-wide lock: requests are serialised, which is fine for tests and demos.
* ``sqlite:///path``: a file in WAL mode with a busy timeout. Transactions that will write
  start with ``BEGIN IMMEDIATE`` so that a read followed by a write cannot fail half-way
  with "database is locked" when another writer committed in between.
* ``postgres://`` / ``postgresql://``: psycopg 3 with a connection pool. Hydra's own DSN
  options (``max_conns``, ``max_conn_lifetime``, ...) are translated to pool settings.

Every wait is bounded (``DatabaseTimeouts``): connecting, each statement (a server-side
``statement_timeout`` and a client-side deadline, see ``storage.deadlines``), and waiting
for a pooled connection or SQLite's write lock. A wait that runs out raises an error the
apps answer with 503 and ``Retry-After`` (``is_unavailable``).
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from authserver.domain.durations import DurationError, parse_duration
from authserver.storage import deadlines
from authserver.storage.driver import DriverConnection

log = logging.getLogger(__name__)

_HYDRA_POOL_OPTIONS = {"max_conns", "max_idle_conns", "max_conn_lifetime", "max_conn_idle_time"}
_WRITE_OPTION = "authserver_write"
_AUTOCOMMIT_OPTION = "authserver_autocommit"


class DatabaseURLError(ValueError):
    pass


class DatabaseBusy(Exception):
    """No connection (or SQLite write lock) became free within the pool timeout."""


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds. ``DATABASE_CONNECT_TIMEOUT``, ``DATABASE_STATEMENT_TIMEOUT``,
    ``DATABASE_POOL_TIMEOUT``."""

    connect: float = 5.0
    statement: float = 10.0
    pool: float = 5.0

    def for_health_checks(self) -> DatabaseTimeouts:
        """A readiness probe must answer within 5 s whatever the database does."""
        return DatabaseTimeouts(min(self.connect, 2.0), min(self.statement, 2.0), 1.0)


# Errors that say "the database cannot serve now", not "this request is wrong": a dead or
# refused connection, a statement cancelled by a timeout, no free connection.
_UNAVAILABLE = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    DatabaseBusy,
)


def is_unavailable(error: BaseException) -> bool:
    if isinstance(error, _unavailable_classes()):
        return True
    return isinstance(error, exc.DBAPIError) and bool(error.connection_invalidated)


@functools.cache
def _unavailable_classes() -> tuple[type, ...]:
    """``_UNAVAILABLE``, and the drivers' own classes for an error that reached us
    unwrapped (PEP 249 names)."""
    import sqlite3

    found = (*_UNAVAILABLE, sqlite3.OperationalError, sqlite3.InterfaceError)
    try:
        import psycopg
    except ImportError:
        return found
    return (*found, psycopg.OperationalError, psycopg.InterfaceError)


@dataclass(frozen=True)
class ConnectFailure:
    """Why the database could not be used, as one line without the DSN's password, and
    whether waiting can help (``permanent``: it cannot, so a start stops at once)."""

    reason: str
    permanent: bool


# The server answered, and will answer the same way again. psycopg leaves SQLSTATE unset
# on connection failures (libpq reports them as text), so the message decides then.
_PERMANENT_POSTGRES_FAILURES = (
    ("28P01", re.compile(r"password authentication failed")),  # invalid_password
    ("28000", re.compile(r'role "[^"]*" does not exist|no pg_hba\.conf entry')),
    ("3D000", re.compile(r'database "[^"]*" does not exist')),  # invalid_catalog_name
)


def connect_failure(error: BaseException, dsn: str) -> ConnectFailure:
    """Classify a failure to connect to the DSN's database (see ``ConnectFailure``)."""
    driver_error = getattr(error, "orig", None) or error
    reason = _one_line(str(driver_error)) or driver_error.__class__.__name__
    reason = redact_password(reason.removeprefix("connection failed: "), dsn)
    if urlsplit(dsn).scheme == "sqlite":
        return _sqlite_failure(reason, dsn)
    sqlstate = getattr(driver_error, "sqlstate", None)
    permanent = any(
        sqlstate == code or pattern.search(reason) for code, pattern in _PERMANENT_POSTGRES_FAILURES
    )
    return ConnectFailure(reason, permanent)


def _sqlite_failure(reason: str, dsn: str) -> ConnectFailure:
    # No server to wait for: a file that cannot be opened now will not open in a second.
    # Only a lock held by another process is worth waiting for.
    path = Path(make_url(engine_arguments(dsn)[0]).database or "").absolute()
    if not path.parent.is_dir():
        return ConnectFailure(f"SQLite file {path}: directory {path.parent} does not exist", True)
    if "locked" in reason:
        return ConnectFailure(reason, False)
    return ConnectFailure(f"{reason}: {path}", True)


def redact_password(text: str, dsn: str) -> str:
    """``text`` without the DSN's password (from the user part or a ``password=`` option),
    as written or percent-decoded."""
    parts = urlsplit(dsn)
    options = (pair.partition("=") for pair in parts.query.split("&"))
    written = {parts.password or ""} | {value for key, _, value in options if key == "password"}
    for password in sorted(written | {unquote(p) for p in written}, key=len, reverse=True):
        if password:
            text = text.replace(password, "***")
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def pool_size_from_dsn(dsn: str) -> int | None:
    """Hydra's ``max_conns`` DSN option, if given."""
    query = dict(parse_qsl(urlsplit(dsn).query, keep_blank_values=True))
    if "max_conns" not in query:
        return None
    try:
        return max(1, int(query["max_conns"]))
    except ValueError:
        raise DatabaseURLError("DSN: max_conns must be a number") from None


def engine_arguments(
    dsn: str, pool_size: int = 8, timeouts: DatabaseTimeouts | None = None
) -> tuple[str, dict]:
    """Translate a Hydra-style DSN into a SQLAlchemy URL and ``create_engine`` keywords.

    ``pool_size``: connections this process may hold (see ``serve.plan_pool``)."""
    timeouts = timeouts or DatabaseTimeouts()
    if dsn == "memory" or dsn in ("sqlite://", "sqlite:///:memory:", "sqlite://:memory:"):
        return "sqlite://", {
            "poolclass": StaticPool,
            "connect_args": {"check_same_thread": False},
        }
    parts = urlsplit(dsn)
    if parts.scheme == "sqlite":
        # Hydra's DSNs carry driver flags such as ?_fk=true: we always enable foreign keys.
        connect_args = {"check_same_thread": False, "timeout": timeouts.statement}
        return dsn.split("?", 1)[0], {"connect_args": connect_args}
    if parts.scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        # Connections stay in autocommit and transactions are opened explicitly (see
        # _configure_postgresql): switching a pooled connection's mode per request would
        # cost round trips of its own. No overflow: the pool is sized for the threads
        # that use it, and the server's connection slots are a budget (docs/scaling.md).
        kwargs: dict = {
            "pool_size": pool_size,
            "max_overflow": 0,
            "pool_timeout": timeouts.pool,
            "isolation_level": "AUTOCOMMIT",
            "connect_args": {"connect_timeout": max(1, math.ceil(timeouts.connect))},
        }
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

    def __init__(
        self, dsn: str, pool_size: int | None = None, timeouts: DatabaseTimeouts | None = None
    ):
        self.dsn = dsn
        self.timeouts = timeouts or DatabaseTimeouts()
        pool_size = pool_size or pool_size_from_dsn(dsn) or 8
        url, kwargs = engine_arguments(dsn, pool_size, self.timeouts)
        self.engine: Engine = create_engine(url, **kwargs)
        self.dialect = self.engine.dialect.name
        self.is_memory = "poolclass" in kwargs
        self._health_engine: Engine | None = None  # made on first readiness check
        self._health_lock = threading.Lock()
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
            _configure_postgresql(self.engine, self.timeouts)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # Each statement its own transaction: for requests that run one statement (issue a
        # client-credentials token, introspect), BEGIN and COMMIT would be two extra round
        # trips to PostgreSQL for nothing.
        self._autocommit_engine = self.engine.execution_options(**{_AUTOCOMMIT_OPTION: True})
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=self._write_engine, expire_on_commit=False)

    def open_session(
        self, write: bool = True, autocommit: bool = False, driver: bool = False
    ) -> Session | DriverConnection:
        """A new session; call ``close_session`` when done (the request teardown does).

        ``autocommit``: a pooled connection on which every statement commits on its own,
        for the hot paths whose statements need no common transaction. ``driver``: one
        transaction on a pooled connection, run without the ORM session (a request's;
        its repositories use Core statements only; see ``storage.driver``)."""
        lock = self._serialise or (self._sqlite_writers if write else None)
        if lock is not None and not lock.acquire(timeout=self.timeouts.pool):
            raise DatabaseBusy("no database write slot became free in time")
        try:
            if autocommit:
                session = DriverConnection(self._autocommit_engine)
            elif driver:
                begin = "BEGIN IMMEDIATE" if write and self.dialect == "sqlite" else "BEGIN"
                session = DriverConnection(self._autocommit_engine, begin=begin)
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
        except exc.SQLAlchemyError as error:
            # Closing rolls back; on a connection that died meanwhile that fails too, and
            # the pool has already discarded it. The request's answer stands.
            log.debug("closing a database session failed: %s", error.__class__.__name__)
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
        """Raise if the database cannot answer a trivial query, within a few seconds.

        PostgreSQL: on a connection of its own, so that a pool taken by stuck requests
        does not make the readiness probe wait, and with the shorter health deadlines."""
        if self.dialect != "postgresql":
            with self.transaction(write=False) as session:
                session.execute(text("SELECT 1"))
            return
        with self._health_lock:  # concurrent probes: one engine
            if self._health_engine is None:
                timeouts = self.timeouts.for_health_checks()
                url, kwargs = engine_arguments(self.dsn, 1, timeouts)
                self._health_engine = create_engine(url, **kwargs)
                _configure_postgresql(self._health_engine, timeouts)
        with self._health_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def connection_slots(self) -> int | None:
        """PostgreSQL: connections an ordinary role may open (max_connections less the
        reserved ones); None on SQLite or when it cannot be read."""
        if self.dialect != "postgresql":
            return None
        query = (
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - coalesce(current_setting('reserved_connections', true), '0')::int"
        )
        try:
            with self.engine.connect() as connection:
                return int(connection.exec_driver_sql(query).scalar_one())
        except exc.SQLAlchemyError as error:
            log.warning("cannot read the server's connection limit: %s", error)
            return None

    def dispose(self) -> None:
        self.engine.dispose()
        if self._health_engine is not None:
            self._health_engine.dispose()


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


def _configure_postgresql(engine: Engine, timeouts: DatabaseTimeouts) -> None:
    import psycopg

    connection_class = deadlines.deadline_connection_class(psycopg.Connection)
    # Past the server-side statement_timeout, the server should have answered (with a
    # cancellation); the client-side deadline is for a server that cannot answer at all.
    client_deadline = timeouts.statement + 1.0

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        # The server-side timeout travels in the startup packet: no round trip of its own.
        setting = f"-c statement_timeout={int(timeouts.statement * 1000)}"
        cparams["options"] = f"{cparams.get('options', '')} {setting}".strip()
        connection = connection_class.connect(*cargs, **cparams)
        connection.deadline_seconds = client_deadline
        return connection

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy):
        # A connection the server closed while it sat in the pool (a restart): the pool
        # drops it and hands out another instead of failing this request.
        if deadlines.is_socket_dead(dbapi_connection.pgconn.socket):
            # Every connection pooled before now is suspect as well: check them anew.
            raise exc.InvalidatePoolError("the server closed this pooled connection")

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # psycopg in autocommit mode sends no BEGIN itself; its commit() and rollback()
        # still end a transaction opened here.
        if not connection.get_execution_options().get(_AUTOCOMMIT_OPTION, False):
            connection.exec_driver_sql("BEGIN")
