"""Seeding: the two clients through the admin API, and stored access tokens in bulk, straight
into the database (COPY on PostgreSQL, SQLAlchemy Core executemany elsewhere).

The seeded rows only make the table big: their tokens cannot be presented (a token is
``<random>.<HMAC>`` and the table keeps SHA-256 of the HMAC only), which is exactly what a
production table looks like to the server.
"""

from __future__ import annotations

import os
import time

import requests

CC_CLIENT = {
    "client_id": "bench",
    "client_secret": "bench-secret",
    "client_name": "benchmark client_credentials",
    "grant_types": ["client_credentials"],
    "response_types": [],
    "token_endpoint_auth_method": "client_secret_basic",
}
REDIRECT_URI = "http://127.0.0.1:1/cb"  # never contacted: the driver reads the code off it
CODE_CLIENT = {
    "client_id": "bench-code",
    "client_secret": "bench-code-secret",
    "client_name": "benchmark authorization_code",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid offline",
    "redirect_uris": [REDIRECT_URI],
    "token_endpoint_auth_method": "client_secret_basic",
}
BATCH = 10_000
LIVE_SECONDS = 30 * 24 * 3600


def create_clients(admin_url: str, id_token_alg: str) -> None:
    code_client = {**CODE_CLIENT, "id_token_signed_response_alg": id_token_alg}
    for document in (CC_CLIENT, code_client):
        response = requests.post(admin_url + "/admin/clients", json=document, timeout=30)
        if response.status_code == 409:
            continue  # a reused database (full DSN given): the client is already there
        if response.status_code != 201:
            raise RuntimeError(
                f"POST /admin/clients {document['client_id']}: "
                f"HTTP {response.status_code} {response.text[:300]}"
            )


def _rows(count: int, expired: int, now: int):
    """Tuples in column order of ``COLUMNS``; the first ``expired`` are past their expiry."""
    randomness = os.urandom(48 * count).hex()
    for i in range(count):
        chunk = randomness[96 * i : 96 * (i + 1)]
        if i < expired:
            issued, expires = now - 7200, now - 3600
        else:
            issued, expires = now, now + LIVE_SECONDS
        # signature_digest (64 hex), request_id (32 hex), client_id, subject, scope,
        # audience, extra, format, issued_at, expires_at, active
        yield (chunk[:64], chunk[64:], "bench", "", "", "[]", None, "opaque", issued, expires, True)


COLUMNS = (
    "signature_digest",
    "request_id",
    "client_id",
    "subject",
    "scope",
    "audience",
    "extra",
    "format",
    "issued_at",
    "expires_at",
    "active",
)


def table_counts(database) -> tuple[int, int]:
    """(all rows, expired rows) of the access token table."""
    from sqlalchemy import func, select

    from authserver.storage.models import AccessTokenRow

    now = int(time.time())
    with database.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(AccessTokenRow)).scalar_one()
        expired = conn.execute(
            select(func.count()).where(AccessTokenRow.expires_at < now)
        ).scalar_one()
    return total, expired


def seed_tokens(dsn: str, target: int, expired_fraction: float = 0.0) -> dict:
    """Top the access token table up to ``target`` rows, ``expired_fraction`` of them expired.
    Returns what was done and how long it took."""
    from authserver.storage.database import Database

    database = Database(dsn)
    try:
        before, expired_before = table_counts(database)
        add = max(0, target - before)
        add_expired = min(add, max(0, round(target * expired_fraction) - expired_before))
        started = time.monotonic()
        if add:
            if database.dialect == "postgresql":
                _copy_postgres(database, add, add_expired)
            else:
                _insert_core(database, add, add_expired)
        inserted_s = time.monotonic() - started
        analyze_s = 0.0
        if add and database.dialect == "postgresql":
            # What autovacuum would do to a table this size soon anyway (statistics, the
            # visibility map, hint bits), done now so it does not run during the load.
            t0 = time.monotonic()
            raw = _unhurried(database.engine.raw_connection())  # autocommit: VACUUM needs none
            try:
                cursor = raw.cursor()
                cursor.execute("VACUUM (ANALYZE) oauth2_access_tokens")
                cursor.close()
            finally:
                raw.close()
            analyze_s = time.monotonic() - t0
        after, expired_after = table_counts(database)
    finally:
        database.dispose()
    return {
        "target": target,
        "rows_before": before,
        "rows_added": add,
        "expired_added": add_expired,
        "rows_after": after,
        "expired_after": expired_after,
        "insert_s": round(inserted_s, 2),
        "analyze_s": round(analyze_s, 2),
        "rows_per_s": round(add / inserted_s) if add and inserted_s > 0 else None,
        "method": "COPY" if database.dialect == "postgresql" else "executemany",
    }


def _unhurried(raw):
    """A pooled PostgreSQL connection without the server's deadlines (a statement timeout
    of 10 s, a client-side deadline a second later): copying a million rows takes longer."""
    raw.driver_connection.deadline_seconds = 3600.0
    cursor = raw.cursor()
    cursor.execute("SET statement_timeout = 0")
    cursor.close()
    return raw


def _copy_postgres(database, count: int, expired: int) -> None:
    from authserver.storage.models import AccessTokenRow

    now = int(time.time())
    raw = _unhurried(database.engine.raw_connection())
    try:
        conn = raw.driver_connection  # psycopg 3
        with conn.cursor() as cursor:
            statement = f"COPY {AccessTokenRow.__tablename__} ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.copy(statement) as copy:
                lines = []
                for row in _rows(count, expired, now):
                    lines.append(
                        f"{row[0]}\t{row[1]}\tbench\t\t\t[]\t\\N\topaque\t{row[8]}\t{row[9]}\tt\n"
                    )
                    if len(lines) >= BATCH:
                        copy.write("".join(lines))
                        lines.clear()
                if lines:
                    copy.write("".join(lines))
        conn.commit()
    finally:
        raw.close()


def _insert_core(database, count: int, expired: int) -> None:
    from sqlalchemy import insert

    from authserver.storage.models import AccessTokenRow

    now = int(time.time())
    statement = insert(AccessTokenRow.__table__)
    batch: list[dict] = []
    for row in _rows(count, expired, now):
        values = dict(zip(COLUMNS, row, strict=True))
        values["audience"] = []
        batch.append(values)
        if len(batch) >= BATCH:
            with database.engine.begin() as conn:
                conn.execute(statement, batch)
            batch = []
    if batch:
        with database.engine.begin() as conn:
            conn.execute(statement, batch)
