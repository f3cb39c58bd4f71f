"""storage.driver: registered statements run on the DB-API cursor, the rest through
SQLAlchemy, with the same values, errors and events either way."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from authserver.storage import driver
from authserver.storage.database import Database

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", String(10), primary_key=True),
    Column("tags", JSON),
    Column("flag", Boolean),
    Column("count", Integer),
)
# No conversions listed: they follow from the columns' types.
INSERT = driver.register(insert(things))
SELECT = driver.register(select(things).where(things.c.id == bindparam("id")))
UNREGISTERED = select(things.c.count).where(things.c.id == bindparam("id"))


@pytest.fixture
def database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'driver.sqlite'}")
    metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def engine(database):
    return database.engine


@pytest.fixture
def open_connection(database):
    """What a hot-path request gets: autocommit, each statement on its own."""
    return lambda: database.open_session(write=True, autocommit=True)


def test_values_round_trip_as_sqlalchemy_would_give_them(engine, open_connection):
    connection = open_connection()
    try:
        connection.execute(INSERT, {"id": "a", "tags": ["x", "y"], "flag": True, "count": 3})
        row = connection.execute(SELECT, {"id": "a"}).first()
        assert (row.tags, row.flag, row.count) == (["x", "y"], True, 3)
        assert connection.execute(SELECT, {"id": "missing"}).first() is None
        # An unregistered statement goes through SQLAlchemy on the same connection.
        assert connection.execute(UNREGISTERED, {"id": "a"}).scalar_one() == 3
    finally:
        connection.close()
    with engine.connect() as plain:  # what SQLAlchemy itself reads back
        row = plain.execute(select(things)).one()
        assert (row.tags, row.flag) == (["x", "y"], True)


def test_json_none_is_stored_as_sqlalchemy_stores_it(engine, open_connection):
    """Both paths write the same row: JSON null for None (the type's ``none_as_null``)."""
    connection = open_connection()
    try:
        connection.execute(INSERT, {"id": "d", "tags": None, "flag": False, "count": 0})
    finally:
        connection.close()
    with engine.begin() as plain:
        plain.execute(insert(things), {"id": "s", "tags": None, "flag": False, "count": 0})
        stored = plain.execute(text("SELECT id, tags FROM things ORDER BY id")).all()
    assert stored == [("d", "null"), ("s", "null")]


def test_a_type_the_driver_cannot_convert_is_refused_at_registration():
    dated = Table(
        "dated",
        MetaData(),
        Column("id", String(10), primary_key=True),
        Column("at", DateTime),
    )
    with pytest.raises(TypeError, match="'at'"):
        driver.register(select(dated).where(dated.c.id == bindparam("id")))
    with pytest.raises(TypeError, match="'at'"):
        driver.register(insert(dated))
    # Selecting only what it can convert is fine.
    driver.register(select(dated.c.id).where(dated.c.id == bindparam("id")))


def test_driver_errors_become_sqlalchemy_errors(engine, open_connection):
    connection = open_connection()
    try:
        connection.execute(INSERT, {"id": "a", "tags": [], "flag": False, "count": 1})
        with pytest.raises(IntegrityError):
            connection.execute(INSERT, {"id": "a", "tags": [], "flag": False, "count": 1})
    finally:
        connection.close()


def test_cursor_listeners_see_driver_statements(engine, open_connection):
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    connection = open_connection()
    try:
        connection.execute(INSERT, {"id": "b", "tags": None, "flag": None, "count": 0})
        connection.execute(SELECT, {"id": "b"})
    finally:
        connection.close()
    assert [statement.split()[0] for statement in seen] == ["INSERT", "SELECT"]


def test_the_pooled_connection_goes_back_to_the_pool(engine, open_connection):
    for _ in range(20):  # more than the pool holds: a leak would block here
        connection = open_connection()
        connection.execute(UNREGISTERED, {"id": "x"})
        connection.close()
    assert engine.pool.checkedout() == 0


# -- a request's transaction on the driver (open_session(driver=True)) -------------------


@pytest.fixture
def transactional(backend, make_database):
    """What a Flask request gets: one transaction, opened by its first statement; on both
    databases (BEGIN, COMMIT, ROLLBACK and savepoints are plain SQL on both)."""
    database = Database(make_database(backend).dsn)
    metadata.create_all(database.engine)
    opened = []

    def open_handle(write=True):
        opened.append(database.open_session(write=write, driver=True))
        return opened[-1]

    def close_handle(handle):
        opened.remove(handle)
        database.close_session(handle)

    open_handle.close = close_handle
    yield database, open_handle
    for handle in opened:
        database.close_session(handle)
    metadata.drop_all(database.engine)
    database.dispose()


def _count(database, row_id: str) -> int:
    handle = database.open_session(write=False, autocommit=True)
    try:
        return len(handle.execute(SELECT, {"id": row_id}).rows)
    finally:
        database.close_session(handle)


def _row(row_id: str) -> dict:
    return {"id": row_id, "tags": ["t"], "flag": True, "count": 1}


def test_a_transaction_commits_rolls_back_and_is_undone_when_never_committed(transactional):
    database, open_handle = transactional
    handle = open_handle()
    assert not handle.in_transaction()  # nothing sent yet: no connection work at all
    handle.execute(INSERT, _row("c1"))
    assert handle.in_transaction()
    handle.commit()
    assert not handle.in_transaction()
    assert _count(database, "c1") == 1

    handle = open_handle()
    handle.execute(INSERT, _row("r1"))
    handle.rollback()
    assert _count(database, "r1") == 0

    handle = open_handle()
    handle.execute(INSERT, _row("n1"))
    open_handle.close(handle)  # a request that ended without committing
    assert _count(database, "n1") == 0


def test_a_savepoint_undoes_only_what_failed_inside_it(transactional):
    database, open_handle = transactional
    handle = open_handle()
    handle.execute(INSERT, _row("s1"))
    with pytest.raises(IntegrityError), handle.begin_nested():
        handle.execute(INSERT, _row("s2"))
        handle.execute(INSERT, _row("s1"))  # a duplicate
    with handle.begin_nested():
        handle.execute(INSERT, _row("s3"))
    handle.execute(UNREGISTERED, {"id": "s1"})  # through SQLAlchemy, in the same transaction
    handle.commit()
    assert [_count(database, name) for name in ("s1", "s2", "s3")] == [1, 0, 1]


def test_a_transaction_counts_its_begin_and_commit(transactional):
    database, open_handle = transactional
    seen = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    handle = open_handle()
    handle.execute(INSERT, _row("b1"))
    handle.commit()
    begin = "BEGIN IMMEDIATE" if database.dialect == "sqlite" else "BEGIN"
    assert [statement.split(" (")[0] for statement in seen] == [
        begin,
        "INSERT INTO things",
        "COMMIT",
    ]


def test_values_written_into_a_statement_are_sent_with_the_callers(transactional):
    """``.values(flag=True)`` and a LIMIT are bound parameters the caller never names."""
    database, open_handle = transactional
    flag_it = driver.register(
        things.update().where(things.c.id == bindparam("b_id")).values(flag=True)
    )
    first_two = driver.register(select(things.c.id).order_by(things.c.id).limit(2))
    handle = open_handle()
    for name in ("f1", "f2", "f3"):
        handle.execute(INSERT, {**_row(name), "flag": False})
    assert handle.execute(flag_it, {"b_id": "f2"}).rowcount == 1
    assert [row.id for row in handle.execute(first_two, {})] == ["f1", "f2"]
    assert handle.execute(SELECT, {"id": "f2"}).first().flag is True
    handle.commit()
