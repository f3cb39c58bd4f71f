"""``authserver janitor``: expired rows go, live ones stay, and a server keeps serving."""

from __future__ import annotations

import time

import requests
from sqlalchemy import text

from authserver.storage.database import Database
from authserver.storage.trust import JtiRepository
from tests.conftest import run_cli
from tests.integration.oauth_flow import FlowDriver, create_code_client

# Short enough to expire during the test, long enough for a flow on a busy CI machine.
SHORT_SECONDS = 4
SHORT = {
    "TTL_ACCESS_TOKEN": f"{SHORT_SECONDS}s",
    "TTL_REFRESH_TOKEN": f"{SHORT_SECONDS}s",
    "TTL_AUTH_CODE": f"{SHORT_SECONDS}s",
    "TTL_LOGIN_CONSENT_REQUEST": f"{SHORT_SECONDS}s",
}


def sleep_until_expired(issued_at: float) -> None:
    time.sleep(max(0.0, issued_at + SHORT_SECONDS + 1.2 - time.monotonic()))


def record_jtis(dsn: str, expiries: dict[str, int]) -> None:
    database = Database(dsn)
    try:
        with database.transaction() as session:
            for name, expires_at in expiries.items():
                assert JtiRepository(session).use_once(name, expires_at)
    finally:
        database.dispose()


def count(dsn: str, table: str) -> int:
    database = Database(dsn)
    try:
        with database.transaction(write=False) as session:
            return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
    finally:
        database.dispose()


def test_janitor_removes_only_what_expired(backend, make_database, server_factory):
    database = make_database(backend)
    short = server_factory(backend, database=database, env=SHORT, args=("--dev",))

    # Expired material: a finished grant (tokens, code), an abandoned flow, and a login
    # session that was not remembered.
    driver = FlowDriver(short, create_code_client(short))
    exchanged = driver.exchange(driver.run()["code"])
    assert exchanged.status_code == 200, exchanged.text
    tokens = exchanged.json()
    FlowDriver(short, driver.client).start()  # abandoned at the login step
    cc = requests.post(
        short.admin_url + "/admin/clients", json={"grant_types": ["client_credentials"]}, timeout=10
    ).json()
    issued = requests.post(
        short.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(cc["client_id"], cc["client_secret"]),
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    last_short_issue = time.monotonic()
    short.stop()

    # Live material from a server with normal lifetimes, on the same database.
    normal = server_factory(
        backend,
        database=database,
        env={"SECRETS_SYSTEM": short.env["SECRETS_SYSTEM"]},
        args=("--dev",),
    )
    live = FlowDriver(normal, driver.client)
    live_tokens = live.exchange(live.run(consent={"remember": True})["code"]).json()

    sleep_until_expired(last_short_issue)
    before = {table: count(database.dsn, table) for table in TABLES}
    result = run_cli("janitor", "--batch-size", "1", database.dsn)
    assert result.returncode == 0, result.stderr
    after = {table: count(database.dsn, table) for table in TABLES}
    report = f"before={before} after={after} janitor={result.stdout!r}"

    assert after["oauth2_access_tokens"] == 1 < before["oauth2_access_tokens"], report
    assert after["oauth2_refresh_tokens"] == 1 < before["oauth2_refresh_tokens"], report
    assert after["oauth2_authorization_codes"] == 1 < before["oauth2_authorization_codes"], report
    assert after["oauth2_flows"] == 1 < before["oauth2_flows"], report  # remembered consent
    assert "access tokens: 2 removed" in result.stdout, report

    # What is left still works, on the server that kept running during the clean-up.
    assert live.introspect(live_tokens["access_token"])["active"] is True
    assert live.refresh(live_tokens["refresh_token"]).status_code == 200
    assert live.introspect(tokens["access_token"]) == {"active": False}


def test_janitor_categories_and_limits(backend, make_database, server_factory):
    database = make_database(backend)
    server = server_factory(backend, database=database, env=SHORT)
    client = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"]},
        timeout=10,
    ).json()
    for _ in range(3):
        issued = requests.post(
            server.public_url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=10,
        )
        assert issued.status_code == 200, issued.text
    sleep_until_expired(time.monotonic())
    only_sessions = run_cli("janitor", "--sessions", database.dsn)
    assert only_sessions.returncode == 0 and "access tokens" not in only_sessions.stdout
    assert count(database.dsn, "oauth2_access_tokens") == 3

    paused_at = time.monotonic()
    paused = run_cli(
        "janitor", "--tokens", "--limit", "2", "--batch-size", "1", "--pause", "400ms", database.dsn
    )
    assert "access tokens: 2 removed" in paused.stdout
    assert time.monotonic() - paused_at >= 0.4  # one pause between the two batches
    assert count(database.dsn, "oauth2_access_tokens") == 1

    kept = run_cli("janitor", "--tokens", "--keep-if-younger", "1h", database.dsn)
    assert "access tokens: 0 removed" in kept.stdout

    # Used JWT ids (client assertions, JWT bearer grants) go once their JWT has expired.
    now = int(time.time())
    record_jtis(database.dsn, {"expired": now - 60, "live": now + 3600})
    run_cli("janitor", "--tokens", database.dsn)
    assert count(database.dsn, "oauth2_jti") == 1

    for option in ("--keep-if-younger", "--pause"):
        bad = run_cli("janitor", option, "soon", database.dsn)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_janitor_removes_unused_registered_clients_only_when_asked(
    backend, make_database, server_factory
):
    database = make_database(backend)
    server = server_factory(
        backend,
        database=database,
        env={
            "OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED": "true",
            "OIDC_DYNAMIC_CLIENT_REGISTRATION_RATE_LIMIT": "0",
        },
    )

    def register() -> dict:
        response = requests.post(
            server.public_url + "/oauth2/register",
            json={"grant_types": ["client_credentials"]},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()

    unused = [register(), register()]
    used = register()
    issued = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(used["client_id"], used["client_secret"]),
        timeout=10,
    )
    assert issued.status_code == 200, issued.text
    requests.post(server.admin_url + "/admin/clients", json={}, timeout=10)  # never used
    time.sleep(2.1)  # created_at has whole seconds: now all are over a second old

    default = run_cli("janitor", database.dsn)
    assert default.returncode == 0 and "registered" not in default.stdout
    young = run_cli("janitor", "--registered-clients", database.dsn)  # default: 24h
    assert "unused registered clients: 0 removed" in young.stdout, young.stdout
    assert count(database.dsn, "oauth2_clients") == 4

    old = run_cli(
        "janitor", "--registered-clients", "--registered-clients-older-than", "1s", database.dsn
    )
    assert old.returncode == 0, old.stderr
    assert "unused registered clients: 2 removed" in old.stdout, old.stdout
    assert "access tokens" not in old.stdout  # only the category asked for
    assert count(database.dsn, "oauth2_clients") == 2
    for client, status in ((unused[0], 401), (unused[1], 401), (used, 200)):
        answer = requests.get(
            client["registration_client_uri"],
            headers={"Authorization": "Bearer " + client["registration_access_token"]},
            timeout=10,
        )
        assert answer.status_code == status, answer.text

    bad = run_cli("janitor", "--registered-clients-older-than", "soon", database.dsn)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


TABLES = (
    "oauth2_access_tokens",
    "oauth2_refresh_tokens",
    "oauth2_authorization_codes",
    "oauth2_flows",
)
