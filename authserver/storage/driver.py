"""Driver-level execution of the hottest statements.

The hot paths (a client-credentials token, an introspection; see ``web.hotpath``) each
run one statement. Profiles showed SQLAlchemy's per-statement machinery (the Connection
object, its events and autobegin, the execution context, result processing) costing
about as much CPU as the driver's own work. So a few statements are registered here:
compiled once per dialect from their Core definitions (the SQL still comes from the
models), and run straight on the DB-API cursor of a pooled connection, with their JSON
and boolean values converted the way SQLAlchemy would.

Which values to convert follows from the statement itself: its bound parameters and
result columns of type ``JSON`` (or ``JSONB``) or ``Boolean`` go through SQLAlchemy's own
processors for those types, looked up once per dialect when the statement is compiled
for it (psycopg parses JSON and booleans itself, so on PostgreSQL only parameters are
converted; SQLite hands back text and integers). A parameter or column of a type the
driver cannot convert so (a date, a ``TypeDecorator``, ...) is refused at registration:
a new column cannot come back unconverted on this path only.

``DriverConnection`` offers the ``execute`` the repositories call. A registered statement
goes to the driver; any other statement goes through an ordinary SQLAlchemy Connection
wrapped around the same pooled connection, so code on these paths need not know.
SQLAlchemy's ``before_cursor_execute`` listeners still see every statement.
"""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Integer, String
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from authserver import tracing

_Conversion = Callable[[Any], Any]
# Types SQLAlchemy converts with processors that need nothing but the dialect.
_CONVERTED_TYPES = (JSON, Boolean)
# Types whose values the DB-API drivers give and take exactly as SQLAlchemy does.
_PLAIN_TYPES = (String, Integer)


def _needs_conversion(type_: TypeEngine, what: str) -> bool:
    """Whether SQLAlchemy may convert values of ``type_``; raise for a type the driver
    cannot convert as SQLAlchemy would."""
    if not isinstance(type_, TypeDecorator | Enum):  # (their own, other conversions)
        if isinstance(type_, _CONVERTED_TYPES):
            return True
        if isinstance(type_, _PLAIN_TYPES):
            return False
    raise TypeError(
        f"storage.driver cannot convert {what} of type {type_!r} as SQLAlchemy would: "
        "teach the driver that type, or leave the statement unregistered"
    )


@dataclass
class _Compiled:
    sql: str
    positional_names: tuple[str, ...] | None  # qmark drivers (sqlite3); None: named
    param_conversions: tuple[tuple[str, _Conversion], ...]  # (name, conversion)
    row_conversions: tuple[tuple[int, _Conversion], ...]  # (position, conversion)
    # Values written into the statement itself (``.values(used=True)``, a LIMIT), by the
    # names this dialect's compilation gave them: used where the caller's do not name them.
    fixed: dict[str, Any]
    row_type: Any = None  # a namedtuple class, made from the first description


@dataclass
class DriverStatement:
    """A registered statement and the types of its values that may need converting."""

    statement: Any  # the Core statement
    param_types: dict[str, TypeEngine]  # parameter name -> type
    column_types: tuple[TypeEngine | None, ...]  # per result column; None: never converted
    _compiled: dict[str, _Compiled] = field(default_factory=dict)

    @classmethod
    def of(cls, statement) -> DriverStatement:
        # The bound parameters as compiled (an INSERT without values binds every column of
        # its table), typed like the columns they are assigned to or compared with.
        binds = statement.compile().binds
        param_types = {
            name: bind.type
            for name, bind in binds.items()
            if not isinstance(bind.type, NullType)  # untyped: passed as given, as SQLAlchemy does
            and _needs_conversion(bind.type, f"parameter {name!r}")
        }
        column_types = tuple(
            column.type if _needs_conversion(column.type, f"column {column.key!r}") else None
            for column in statement.exported_columns
        )
        return cls(statement, param_types, column_types)

    def compiled_for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup) if compiled.positional else None
            params = (
                (name, type_.dialect_impl(dialect).bind_processor(dialect))
                for name, type_ in self.param_types.items()
            )
            columns = (
                (position, type_.dialect_impl(dialect).result_processor(dialect, None))
                for position, type_ in enumerate(self.column_types)
                if type_ is not None
            )
            found = self._compiled[dialect.name] = _Compiled(
                str(compiled),
                names,
                tuple((name, convert) for name, convert in params if convert is not None),
                tuple((index, convert) for index, convert in columns if convert is not None),
                {
                    name: bind.effective_value
                    for bind, name in compiled.bind_names.items()
                    if not bind.required
                },
            )
        return found

    def parameters(self, compiled: _Compiled, params: dict):
        if compiled.fixed:
            params = {**compiled.fixed, **params}
        if compiled.param_conversions:
            params = dict(params)
            for name, convert in compiled.param_conversions:
                if name in params:
                    params[name] = convert(params[name])
        if compiled.positional_names is not None:
            return tuple(params[name] for name in compiled.positional_names)
        return params

    def convert_row(self, compiled: _Compiled, description, row):
        if compiled.row_type is None:
            compiled.row_type = namedtuple("Row", [column[0] for column in description])
        if compiled.row_conversions:
            row = list(row)
            for position, convert in compiled.row_conversions:
                row[position] = convert(row[position])
        return compiled.row_type._make(row)


_REGISTRY: dict[int, DriverStatement] = {}


def register(statement):
    """Run ``statement`` at the driver level on a ``DriverConnection``; return it. Which of
    its values are converted follows from their types (``TypeError`` for a type the
    driver cannot convert as SQLAlchemy would)."""
    _REGISTRY[id(statement)] = DriverStatement.of(statement)
    return statement


@dataclass
class DriverResult:
    rows: list
    rowcount: int

    def first(self):
        return self.rows[0] if self.rows else None

    def __iter__(self):
        return iter(self.rows)


class DriverConnection:
    """One pooled connection for one request. Without ``begin``, every statement commits on
    its own (the hot paths). With it (``"BEGIN"``, or SQLite's ``"BEGIN IMMEDIATE"`` for a
    writer), the first statement opens a transaction that ``commit`` or ``rollback`` ends:
    the request's one transaction, without the ORM session's per-statement machinery
    (the repositories use Core statements only)."""

    def __init__(self, engine, begin: str | None = None):
        self._engine = engine
        self._dialect = engine.dialect
        self._begin = begin
        self._open = False  # a transaction of ours is open
        self._savepoints = 0
        try:
            self._pooled = engine.raw_connection()
        except self._dialect.loaded_dbapi.Error as exc:
            # As Engine.connect() would: the driver's error as SQLAlchemy's (a refused or
            # timed-out connection is an OperationalError, answered with 503).
            raise DBAPIError.instance(
                None, None, exc, self._dialect.loaded_dbapi.Error, dialect=self._dialect
            ) from exc
        self._sqlalchemy: Connection | None = None

    def execute(self, statement, params: dict | None = None):
        self._begin_once()
        registered = _REGISTRY.get(id(statement))
        if registered is None or params is None:
            return self._as_sqlalchemy().execute(statement, params)
        compiled = registered.compiled_for(self._dialect)
        parameters = registered.parameters(compiled, params)
        cursor = self._pooled.cursor()
        try:
            self._send(cursor, compiled.sql, parameters)
            rows = []
            if cursor.description is not None:
                rows = [
                    registered.convert_row(compiled, cursor.description, row)
                    for row in cursor.fetchall()
                ]
            return DriverResult(rows, cursor.rowcount)
        finally:
            cursor.close()

    def _send(self, cursor, sql: str, parameters) -> None:
        dispatch = self._engine.dispatch
        if dispatch.before_cursor_execute:  # the statement budgets' tests count here
            dispatch.before_cursor_execute(None, cursor, sql, parameters, None, False)
        try:
            with tracing.statement(sql):
                cursor.execute(sql, parameters)
        except self._dialect.loaded_dbapi.Error as exc:
            raise self._translated(exc, sql, parameters, cursor) from exc

    def _run(self, sql: str) -> None:
        """A statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT ...)."""
        cursor = self._pooled.cursor()
        try:
            self._send(cursor, sql, ())
        finally:
            cursor.close()

    # -- the transaction (with ``begin``) -----------------------------------------------

    def in_transaction(self) -> bool:
        """Whether a transaction is open (never in autocommit: each statement committed on
        its own, so a request's commit has nothing to do; ``web.transaction`` asks)."""
        return self._open

    def commit(self) -> None:
        if self._open:
            self._open = False  # a COMMIT that fails ended the transaction too
            self._run("COMMIT")

    def rollback(self) -> None:
        if self._open:
            self._open = False
            self._run("ROLLBACK")

    @contextlib.contextmanager
    def _savepoint(self):
        self._savepoints += 1
        name = f"authserver_{self._savepoints}"
        self._run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._run(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        self._run(f"RELEASE SAVEPOINT {name}")

    def begin_nested(self):
        """A savepoint: a statement that fails inside it undoes only what followed it. In
        autocommit there is nothing to nest: a failed statement undid only itself."""
        if self._begin is None:
            return contextlib.nullcontext()
        self._begin_once()
        return self._savepoint()

    def _begin_once(self) -> None:
        """Open the transaction with the first statement (none in autocommit)."""
        if self._begin is not None and not self._open:
            self._run(self._begin)
            self._open = True

    def _translated(self, exc, sql: str, parameters, cursor) -> DBAPIError:
        """SQLAlchemy's exception for a driver error (IntegrityError, OperationalError, ...),
        dropping the pooled connection when the error says it is dead."""
        dbapi = self._dialect.loaded_dbapi
        disconnect = self._dialect.is_disconnect(exc, self._pooled.dbapi_connection, cursor)
        if disconnect:
            self._pooled.invalidate(exc)
        return DBAPIError.instance(
            sql,
            parameters,
            exc,
            dbapi.Error,
            connection_invalidated=disconnect,
            dialect=self._dialect,
        )

    def _as_sqlalchemy(self) -> Connection:
        if self._sqlalchemy is None:
            self._sqlalchemy = Connection(self._engine, connection=self._pooled)
        return self._sqlalchemy

    def close(self) -> None:
        if self._open:  # never committed: undo it before the connection goes back
            with contextlib.suppress(DBAPIError):
                self.rollback()
        if self._sqlalchemy is not None:
            self._sqlalchemy.close()  # also returns the pooled connection
        else:
            self._pooled.close()
