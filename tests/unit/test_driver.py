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
