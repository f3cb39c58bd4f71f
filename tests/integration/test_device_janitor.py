"""``authserver janitor`` and the device flow: expired device codes and device challenges
go, live ones stay, and an approved device's flow stays while its tokens live."""

from __future__ import annotations

import time

import requests

from tests.conftest import run_cli
from tests.integration.test_device_flow import (
    Browser,
    create_device_client,
    poll,
    start_device,
)
from tests.integration.test_janitor import count

SHORT_SECONDS = 2


def test_janitor_removes_expired_device_codes_and_challenges(
    backend, make_database, server_factory
):
    database = make_database(backend)
    short = server_factory(
        backend,
        database=database,
        env={
            "TTL_DEVICE_USER_CODE": f"{SHORT_SECONDS}s",
            "TTL_LOGIN_CONSENT_REQUEST": f"{SHORT_SECONDS}s",
        },
        args=("--dev",),
    )
    client = create_device_client(short)
    for _ in range(2):
        start_device(short, client)
    Browser(short).open_verification()
    issued_at = time.monotonic()
    short.stop()

    normal = server_factory(
        backend,
        database=database,
        env={"SECRETS_SYSTEM": short.env["SECRETS_SYSTEM"]},
        args=("--dev",),
    )
    live = start_device(normal, client)
    Browser(normal).approve(live["user_code"])
    tokens = poll(normal, client, live["device_code"])
    assert tokens.status_code == 200, tokens.text

    time.sleep(max(0.0, issued_at + SHORT_SECONDS + 1.2 - time.monotonic()))
    before = {table: count(database.dsn, table) for table in TABLES}
    result = run_cli("janitor", database.dsn)
    assert result.returncode == 0, result.stderr
    after = {table: count(database.dsn, table) for table in TABLES}
    report = f"before={before} after={after} janitor={result.stdout!r}"
    assert before["oauth2_device_codes"] == 3 and after["oauth2_device_codes"] == 1, report
    assert "device codes: 2 removed" in result.stdout, report
    assert after["oauth2_device_challenges"] == 1 < before["oauth2_device_challenges"], report
    assert after["oauth2_flows"] == 1, report  # the approved device's flow: its tokens live

    introspection = requests.post(
        normal.admin_url + "/admin/oauth2/introspect",
        data={"token": tokens.json()["access_token"]},
        timeout=10,
    )
    assert introspection.json()["active"] is True


TABLES = ("oauth2_device_codes", "oauth2_device_challenges", "oauth2_flows")
