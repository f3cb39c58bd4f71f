"""The janitor runs between consent and code exchange: nothing the grant needs may go.

A user has consented (the consent app put claims into ``session.id_token``) and the
client holds a code it has not exchanged yet, when the scheduled ``authserver janitor``
runs. The flow is finished ("done") but no token exists yet: it is still needed by the
code exchange, by ``/userinfo`` (the consent's ``id_token`` claims), by the consent
session listing and by consent revocation (which must reach the tokens issued later).

Also: a code whose consent session was revoked before the exchange is dead.

Runs on SQLite and on the shared PostgreSQL (``backend``), each test on its own database:
the janitor cleans a whole database.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import run_cli
from tests.integration.oauth_flow import TIMEOUT, FlowDriver, create_code_client

ID_TOKEN_CLAIMS = {"email": "janitor@example.com", "favourite_colour": "teal"}
INACTIVE = {"active": False}


def consent_sessions(server, subject: str) -> requests.Response:
    return requests.get(
        server.admin_url + "/admin/oauth2/auth/sessions/consent",
        params={"subject": subject},
        timeout=TIMEOUT,
    )


def revoke_consent(server, subject: str, client_id: str) -> requests.Response:
    return requests.delete(
        server.admin_url + "/admin/oauth2/auth/sessions/consent",
        params={"subject": subject, "client": client_id},
        timeout=TIMEOUT,
    )


def consented_code(server) -> tuple[FlowDriver, str, str]:
    """Run the flow up to the client's callback; return the driver, the subject and the
    code (not exchanged)."""
    subject = f"user-{uuid.uuid4().hex[:8]}@example.com"
    driver = FlowDriver(server, create_code_client(server))
    callback = driver.run(
        login={"subject": subject},
        consent={"session": {"id_token": ID_TOKEN_CLAIMS}},
        scope="openid offline_access",
    )
    assert "code" in callback, callback
    return driver, subject, callback["code"]


@pytest.mark.parametrize(
    "janitor_args", [(), ("--keep-if-younger", "1h")], ids=["all-categories", "keep-if-younger-1h"]
)
def test_janitor_between_consent_and_code_exchange(
    backend, make_database, server_factory, janitor_args
):
    database = make_database(backend)
    # --dev: the scripted browser talks plain http, so cookies must not be Secure.
    server = server_factory(backend, database=database, args=("--dev",))
    driver, subject, code = consented_code(server)
    client_id = driver.client["client_id"]

    cleaned = run_cli("janitor", *janitor_args, database.dsn)
    assert cleaned.returncode == 0, cleaned.stderr
    report = f"janitor said: {cleaned.stdout.strip()!r}"

    exchanged = driver.exchange(code)
    assert exchanged.status_code == 200, f"{exchanged.text}\n{report}"
    tokens = exchanged.json()
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens), tokens

    userinfo = requests.get(
        server.public_url + "/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=TIMEOUT,
    )
    assert userinfo.status_code == 200, f"{userinfo.text}\n{report}"
    claims = userinfo.json()
    assert claims["sub"] == subject
    for name, value in ID_TOKEN_CLAIMS.items():
        assert claims.get(name) == value, f"userinfo lost the consent's claims: {claims}\n{report}"

    listed = consent_sessions(server, subject)
    assert listed.status_code == 200, listed.text
    sessions = [
        entry
        for entry in listed.json()
        if entry["consent_request"]["client"]["client_id"] == client_id
    ]
    assert len(sessions) == 1, f"the consent session is not listed: {listed.json()}\n{report}"
    assert sessions[0]["session"]["id_token"] == ID_TOKEN_CLAIMS

    revoked = revoke_consent(server, subject, client_id)
    assert revoked.status_code == 204, revoked.text
    assert driver.introspect(tokens["access_token"]) == INACTIVE, report
    assert driver.introspect(tokens["refresh_token"]) == INACTIVE, report
    assert consent_sessions(server, subject).json() == []


def test_code_of_a_revoked_consent_cannot_be_exchanged(backend, make_database, server_factory):
    database = make_database(backend)
    server = server_factory(backend, database=database, args=("--dev",))
    driver, subject, code = consented_code(server)

    revoked = revoke_consent(server, subject, driver.client["client_id"])
    assert revoked.status_code == 204, revoked.text

    exchanged = driver.exchange(code)
    assert exchanged.status_code == 400, f"a revoked consent's code was exchanged: {exchanged.text}"
    assert exchanged.json()["error"] == "invalid_grant"
