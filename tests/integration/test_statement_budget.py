"""How many SQL statements the hot paths send, counted at the driver (issue #6).

The apps run in-process here (Flask's test client) because only in-process can the
engine's cursor events be observed; every statement the driver executes is counted,
including a BEGIN we send ourselves, so "no transaction round trips" is checked too.

Budgets:
* client_credentials token, client cached: 1 (the INSERT; autocommit, no BEGIN/COMMIT)
* client_credentials token, first request for the client: 2 (client SELECT + INSERT)
* introspection of an opaque access token: 1 (the SELECT)
* a refused client secret: 0 writes
* each request of a login flow: ``LOGIN_STEP_BUDGETS`` (issue #18)
"""

from __future__ import annotations

import base64
import re
from contextlib import contextmanager
from email.message import Message

import pytest
from sqlalchemy import event, text

from authserver.admin.app import create_admin_app
from authserver.config import load_settings
from authserver.public.app import create_public_app
from authserver.runtime.boot import prepare
from bench import flows

SECRET = "budget-secret-0123456789"


def prepared(database, **env):
    """The services of an in-process server on ``database``."""
    settings = load_settings(
        env={
            "DSN": database.dsn,
            "SECRETS_SYSTEM": "statement-budget-system-secret-0001",
            "URLS_SELF_ISSUER": "http://127.0.0.1:4444/",
            **env,
        },
        dev=True,
    )
    return prepare(settings)


@pytest.fixture
def apps(backend, make_database):
    services = prepared(make_database(backend))
    public = create_public_app(services).test_client()
    admin = create_admin_app(services).test_client()
    created = admin.post(
        "/admin/clients",
        json={
            "client_id": "budget",
            "client_secret": SECRET,
            "grant_types": ["client_credentials"],
            "scope": "read",
        },
    )
    assert created.status_code == 201
    services.clients.forget("budget")  # start cold: the first token request reads it
    yield services, public, admin
    services.close()


@contextmanager
def counted_statements(services):
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        statements.append(" ".join(statement.split()))

    engine = services.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _basic(secret: str = SECRET) -> dict:
    value = base64.b64encode(f"budget:{secret}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


def _issue(public, secret: str = SECRET):
    return public.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "read"},
        headers=_basic(secret),
    )


def _kinds(statements: list[str]) -> list[str]:
    return [re.match(r"\w+", statement).group(0).upper() for statement in statements]


def test_client_credentials_first_request_reads_the_client_then_inserts(apps):
    services, public, _admin = apps
    with counted_statements(services) as statements:
        response = _issue(public)
    assert response.status_code == 200, response.get_json()
    assert _kinds(statements) == ["SELECT", "INSERT"], statements


def test_client_credentials_with_cached_client_is_one_insert(apps):
    services, public, _admin = apps
    assert _issue(public).status_code == 200
    for _ in range(3):
        with counted_statements(services) as statements:
            response = _issue(public)
        assert response.status_code == 200
        assert _kinds(statements) == ["INSERT"], statements


def test_introspection_is_one_select(apps):
    services, public, admin = apps
    token = _issue(public).get_json()["access_token"]
    with counted_statements(services) as statements:
        response = admin.post("/admin/oauth2/introspect", data={"token": token})
    assert response.get_json()["active"] is True
    assert _kinds(statements) == ["SELECT"], statements


def test_introspection_of_a_malformed_token_sends_nothing(apps):
    services, _public, admin = apps
    with counted_statements(services) as statements:
        response = admin.post("/admin/oauth2/introspect", data={"token": "ory_at_bogus.bogus"})
    assert response.get_json() == {"active": False}
    assert statements == []


def test_wrong_secret_writes_nothing(apps):
    services, public, _admin = apps
    assert _issue(public).status_code == 200  # the client is now cached
    with counted_statements(services) as statements:
        response = _issue(public, secret="not-the-secret-at-all")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert statements == []


def test_secret_rotation_through_this_process_is_seen_at_once(apps):
    _services, public, admin = apps
    assert _issue(public).status_code == 200  # cached with the old secret
    new_secret = "rotated-secret-9876543210"
    document = admin.get("/admin/clients/budget").get_json()
    document["client_secret"] = new_secret
    assert admin.put("/admin/clients/budget", json=document).status_code == 200
    assert _issue(public).status_code == 401
    assert _issue(public, secret=new_secret).status_code == 200


def test_deleted_client_is_refused_at_once(apps):
    _services, public, admin = apps
    assert _issue(public).status_code == 200
    assert admin.delete("/admin/clients/budget").status_code == 204
    response = _issue(public)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_client_deleted_by_another_process_while_cached_is_refused(apps):
    services, public, _admin = apps
    assert _issue(public).status_code == 200  # cached here
    # Another process deletes it: straight in the database, past this process's cache.
    with services.database.transaction() as session:
        session.execute(text("DELETE FROM oauth2_access_tokens WHERE client_id = 'budget'"))
        session.execute(text("DELETE FROM oauth2_clients WHERE id = 'budget'"))
    response = _issue(public)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


# -- the login flow, step by step (issue #18) ---------------------------------------------
# Statements per request of a complete headless authorization-code flow and a refresh,
# counted from the second flow on (the first also reads the client into the cache). Each
# step is one transaction, whose BEGIN and COMMIT are counted too.
LOGIN_STEP_BUDGETS = {
    "auth": 3,  # INSERT flow
    "login accept": 4,  # SELECT flow, UPDATE flow
    "login verifier": 6,  # SELECT flow, SELECT remembered consents, upsert session, UPDATE flow
    "consent accept": 4,  # SELECT flow, UPDATE flow
    "consent verifier": 5,  # SELECT flow, UPDATE flow, INSERT code
    "code exchange": 6,  # SELECT code, UPDATE code used, INSERT access, INSERT refresh
    "refresh": 6,  # SELECT refresh, UPDATE it inactive, INSERT access, INSERT refresh
}


class InProcessHttp:
    """``bench.flows``' HTTP interface over the two apps' test clients (the bench's flow
    driver is the one the benchmark measures), counting statements per step."""

    def __init__(self, services, public, admin):
        self._services = services
        self._clients = {4444: public, 4445: admin}
        self.statements: dict[str, list[str]] = {}

    def request(self, step, port, method, target, body=None, headers=None):
        with counted_statements(self._services) as statements:
            response = self._clients[port].open(
                target, method=method, data=body, headers=headers or {}
            )
        self.statements[step] = statements
        message = Message()
        for name, value in response.headers.items():
            message[name] = value
        return response.status_code, message, response.get_data()


def test_each_login_step_keeps_its_statement_budget(backend, make_database):
    services = prepared(
        make_database(backend),
        URLS_LOGIN="http://127.0.0.1:3000/login",
        URLS_CONSENT="http://127.0.0.1:3000/consent",
    )
    try:
        public = create_public_app(services).test_client()
        admin = create_admin_app(services).test_client()
        created = admin.post(
            "/admin/clients",
            json={
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": ["http://127.0.0.1:5555/callback"],
                "scope": "openid offline",
            },
        ).get_json()
        target = flows.Target(
            "127.0.0.1",
            4444,
            4445,
            created["client_id"],
            created["client_secret"],
            "http://127.0.0.1:5555/callback",
        )
        http = InProcessHttp(services, public, admin)
        flows.authorization_code_flow(http, target)
        tokens = flows.authorization_code_flow(http, target)
        flows.refresh(http, target, tokens["refresh_token"])
    finally:
        services.close()

    spent = {step: len(statements) for step, statements in http.statements.items()}
    assert spent == LOGIN_STEP_BUDGETS, http.statements
