"""Which failures to reach the database are worth waiting for, and how they read."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from authserver.storage.database import connect_failure, redact_password

DSN = "postgresql://hydra:s3cr%40t@db:5432/hydra"


def wrapped(driver_error: Exception) -> OperationalError:
    """As SQLAlchemy raises it."""
    return OperationalError("SELECT 1", {}, driver_error)


@pytest.mark.parametrize(
    ("driver_error", "permanent"),
    [
        (psycopg.errors.InvalidPassword("no"), True),  # 28P01
        (psycopg.errors.InvalidAuthorizationSpecification("no"), True),  # 28000
        (psycopg.errors.InvalidCatalogName("no"), True),  # 3D000
        # connection failures carry no SQLSTATE: libpq's message decides
        (
            psycopg.OperationalError(
                'connection failed: connection to server at "db", port 5432 failed: '
                'FATAL:  password authentication failed for user "hydra"'
            ),
            True,
        ),
        (psycopg.OperationalError('FATAL:  role "nobody" does not exist'), True),
        (psycopg.OperationalError('FATAL:  database "nope" does not exist'), True),
        (psycopg.OperationalError('FATAL:  no pg_hba.conf entry for host "10.0.0.1"'), True),
        (psycopg.OperationalError("port 5432 failed: Connection refused\n\tIs the server"), False),
        (psycopg.OperationalError("connection timeout expired"), False),
        (psycopg.OperationalError("FATAL:  the database system is starting up"), False),
        (psycopg.OperationalError("failed to resolve host 'db'"), False),
    ],
)
def test_permanent_postgres_failures_are_told_from_transient_ones(driver_error, permanent):
    assert connect_failure(wrapped(driver_error), DSN).permanent is permanent


def test_the_reason_is_one_line_without_the_drivers_prefix():
    error = psycopg.OperationalError(
        'connection failed: connection to server at "db", port 5432 failed:\n'
        "  Connection refused\n\tIs the server running?"
    )
    reason = connect_failure(wrapped(error), DSN).reason
    assert "\n" not in reason and "  " not in reason
    assert reason.startswith("connection to server")
    assert "Connection refused" in reason


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://hydra:s3cr%40t@db/hydra",
        "postgres://hydra@db/hydra?sslmode=disable&password=s3cr%40t",
    ],
)
def test_the_password_never_shows_written_or_decoded(dsn):
    text = f"failed for {dsn} (password s3cr@t, s3cr%40t)"
    redacted = redact_password(text, dsn)
    assert "s3cr" not in redacted
    assert "***" in redacted


def test_a_missing_sqlite_directory_is_permanent_and_named(tmp_path):
    missing = tmp_path / "gone"
    error = wrapped(Exception("unable to open database file"))
    failure = connect_failure(error, f"sqlite:///{missing}/db.sqlite")
    assert failure.permanent
    assert str(missing) in failure.reason


def test_a_locked_sqlite_database_is_waited_for(tmp_path):
    failure = connect_failure(
        wrapped(Exception("database is locked")), f"sqlite:///{tmp_path}/db.sqlite"
    )
    assert not failure.permanent


def test_an_unopenable_sqlite_file_is_permanent_and_named(tmp_path):
    failure = connect_failure(
        wrapped(Exception("unable to open database file")), f"sqlite:///{tmp_path}"
    )
    assert failure.permanent
    assert str(tmp_path) in failure.reason
