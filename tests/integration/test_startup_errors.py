"""`authserver serve` with a database it cannot use: a permanent problem (a wrong role, a
missing database, a missing SQLite directory) stops the start at once with the driver's
reason in one line; a database that may still be starting is waited for. A password in
the DSN never shows."""

from __future__ import annotations

import os
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import POSTGRES_ENV, authserver_command, free_port, run_cli, wait_for

PASSWORD = "Pa55-w0rd-never-shown"


def serve_env(dsn: str) -> dict:
    return {
        "DSN": dsn,
        "SECRETS_SYSTEM": "s" * 32,
        "SERVE_PUBLIC_PORT": str(free_port()),
        "SERVE_ADMIN_PORT": str(free_port()),
    }


def postgres_dsn(user: str, database: str, password: str = PASSWORD) -> str:
    admin_dsn = os.environ.get(POSTGRES_ENV)
    if not admin_dsn:
        pytest.skip(f"PostgreSQL tests did not run: set {POSTGRES_ENV}")
    parts = urlsplit(admin_dsn)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(("postgresql", netloc, "/" + database, parts.query, ""))


def assert_stops_at_once_naming(dsn: str, *facts: str) -> None:
    started = time.monotonic()
    result = run_cli("serve", "all", env=serve_env(dsn), timeout=20)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert elapsed < 10, f"took {elapsed:.1f} s: it retried a permanent error"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fact in facts:
        assert fact in lines[0], lines[0]
    assert "Traceback" not in output
    assert PASSWORD not in output


def test_a_role_that_does_not_exist_stops_the_start_at_once():
    assert_stops_at_once_naming(postgres_dsn("nobody", "postgres"), 'role "nobody" does not exist')


def test_a_database_that_does_not_exist_stops_the_start_at_once():
    admin_user = urlsplit(os.environ.get(POSTGRES_ENV, "")).username or "postgres"
    dsn = postgres_dsn(admin_user, "authserver_no_such_database")
    # also with the password as a DSN option rather than in the user part
    with_option = f"{dsn}{'&' if '?' in dsn else '?'}password={PASSWORD}x"
    for each in (dsn, with_option):
        assert_stops_at_once_naming(each, '"authserver_no_such_database" does not exist')


def test_a_missing_sqlite_directory_stops_the_start_at_once_naming_it(tmp_path):
    missing = tmp_path / "no-such-dir"
    assert_stops_at_once_naming(f"sqlite:///{missing / 'x.sqlite'}", str(missing))


def test_a_refused_connection_is_retried_with_its_reason_shown_once():
    dsn = f"postgresql://someone:{PASSWORD}@127.0.0.1:{free_port()}/authserver"
    process = subprocess.Popen(
        [*authserver_command(), "serve", "all"],
        env={**os.environ, **serve_env(dsn)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # still waiting after a few retries: the database may be starting
        assert wait_for(lambda: process.poll() is not None, timeout=3.5) is False
    finally:
        process.kill()
        _, stderr = process.communicate(timeout=10)
    warnings = [line for line in stderr.splitlines() if "retrying" in line]
    assert len(warnings) == 1, stderr  # the same reason is not repeated every second
    assert "refused" in warnings[0].lower()
    assert PASSWORD not in stderr
