"""Driver-level execution of the hottest statements.

The hot paths (a client-credentials token, an introspection; see ``web.hotpath``) each
run one statement. Profiles showed SQLAlchemy's per-statement machinery (the Connection
object, its events and autobegin, the execution context, result processing) costing
about as much CPU as the driver's own work. So a few statements are registered here:
compiled once per dialect from their Core definitions (the SQL still comes from the
models), and run straight on the DB-API cursor of a pooled connection, with their JSON
and boolean columns converted the way SQLAlchemy would.

``DriverConnection`` offers the ``execute`` the repositories call. A registered statement
goes to the driver; any other statement goes through an ordinary SQLAlchemy Connection
wrapped around the same pooled connection, so code on these paths need not know.
SQLAlchemy's ``before_cursor_execute`` listeners still see every statement.
"""

from __future__ import annotations

import json
from collections import namedtuple
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError


@dataclass
class _Compiled:
    sql: str
    positional_names: tuple[str, ...] | None  # qmark drivers (sqlite3); None: named
    row_type: type | None = None


@dataclass
class DriverStatement:
    statement: object  # the Core statement
    json_params: frozenset[str] = frozenset()
    json_columns: frozenset[str] = frozenset()
    bool_columns: frozenset[str] = frozenset()
    _compiled: dict[str, _Compiled] = field(default_factory=dict)

    def compiled_for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup) if compiled.positional else None
            found = self._compiled[dialect.name] = _Compiled(str(compiled), names)
        return found

    def parameters(self, compiled: _Compiled, params: dict):
        values = {
            name: (None if value is None else json.dumps(value))
            if name in self.json_params
            else value
            for name, value in params.items()
        }
        if compiled.positional_names is not None:
            return tuple(values[name] for name in compiled.positional_names)
        return values

    def convert_row(self, compiled: _Compiled, description, row):
        if compiled.row_type is None:
            compiled.row_type = namedtuple("Row", [column[0] for column in description])
        values = list(row)
        for index, column in enumerate(compiled.row_type._fields):
            value = values[index]
            if column in self.json_columns and isinstance(value, (str, bytes)):
                values[index] = json.loads(value)
            elif column in self.bool_columns and value is not None:
                values[index] = bool(value)
        return compiled.row_type(*values)


_REGISTRY: dict[int, DriverStatement] = {}


def register(
    statement,
    *,
    json_params=(),
    json_columns=(),
    bool_columns=(),
):
    """Run ``statement`` at the driver level on a ``DriverConnection``; return it."""
    _REGISTRY[id(statement)] = DriverStatement(
        statement, frozenset(json_params), frozenset(json_columns), frozenset(bool_columns)
    )
    return statement


@dataclass
class DriverResult:
    rows: list
    rowcount: int

    def first(self):
        return self.rows[0] if self.rows else None


class DriverConnection:
    """One pooled connection in autocommit mode, for one hot-path request."""

    def __init__(self, engine):
        self._engine = engine
        self._dialect = engine.dialect
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
        registered = _REGISTRY.get(id(statement))
        if registered is None or params is None:
            return self._as_sqlalchemy().execute(statement, params)
        compiled = registered.compiled_for(self._dialect)
        parameters = registered.parameters(compiled, params)
        cursor = self._pooled.cursor()
        try:
            dispatch = self._engine.dispatch
            if dispatch.before_cursor_execute:
                dispatch.before_cursor_execute(None, cursor, compiled.sql, parameters, None, False)
            try:
                cursor.execute(compiled.sql, parameters)
            except self._dialect.loaded_dbapi.Error as exc:
                raise self._translated(exc, compiled.sql, parameters, cursor) from exc
            rows = []
            if cursor.description is not None:
                rows = [
                    registered.convert_row(compiled, cursor.description, row)
                    for row in cursor.fetchall()
                ]
            return DriverResult(rows, cursor.rowcount)
        finally:
            cursor.close()

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

    def in_transaction(self) -> bool:
        """Never: every statement commits on its own (so a request's commit has nothing
        to do; ``web.transaction`` asks)."""
        return False

    def _as_sqlalchemy(self) -> Connection:
        if self._sqlalchemy is None:
            self._sqlalchemy = Connection(self._engine, connection=self._pooled)
        return self._sqlalchemy

    def close(self) -> None:
        if self._sqlalchemy is not None:
            self._sqlalchemy.close()  # also returns the pooled connection
        else:
            self._pooled.close()
