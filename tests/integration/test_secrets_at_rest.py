"""What a copy of the database or the logs would give an attacker: nothing usable.
And what rotating ``SECRETS_SYSTEM`` keeps working."""

from __future__ import annotations

import requests
from sqlalchemy import text

from authserver.storage.database import Database


def issue_token(server, client_id: str, secret: str, **form) -> str:
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(server, token: str) -> dict:
    response = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def create_client(server, secret: str | None = None) -> tuple[str, str]:
    body = {"grant_types": ["client_credentials"], "scope": "read write"}
    if secret:
        body["client_secret"] = secret
    response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["client_id"], response.json()["client_secret"]


def raw_database_text(database) -> str:
    """Every byte the database keeps, as text: the SQLite files, or every PostgreSQL row."""
    if database.backend == "sqlite":
        chunks = []
        for path in database.path.parent.glob(database.path.name + "*"):  # db, -wal, -shm
            chunks.append(path.read_bytes().decode("latin-1"))
        return "\n".join(chunks)
    import psycopg

    with psycopg.connect(database.dsn) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
        ]
        rows = []
        for table in tables:
            rows.extend(str(row) for row in connection.execute(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
    return "\n".join(rows)


def test_database_copy_holds_no_token_or_secret(backend, server_factory):
    server = server_factory(backend)
    chosen_secret = "a-secret-the-client-chose-1234"
    client_id, _ = create_client(server, chosen_secret)
    generated_id, generated_secret = create_client(server)
    tokens = [
        issue_token(server, client_id, chosen_secret, scope="read"),
        issue_token(server, generated_id, generated_secret),
    ]
    assert all(introspect(server, token)["active"] for token in tokens)
    server.stop()  # flush everything to disk

    dump = raw_database_text(server.database)
    assert client_id in dump  # the dump is real: ids are stored in clear
    for token in tokens:
        random_part, signature = token.removeprefix("ory_at_").split(".")
        for needle in (token, random_part, signature):
            assert needle not in dump
    for secret in (chosen_secret, generated_secret):
        assert secret not in dump
    assert "$argon2id$" in dump  # secrets are stored as argon2id hashes
    assert '"d":' not in dump  # private signing keys are encrypted, not plain JWK JSON


def test_logs_hold_no_token_or_secret(backend, server_factory):
    server = server_factory(backend)
    client_id, secret = create_client(server)
    token = issue_token(server, client_id, secret)
    introspect(server, token)
    requests.post(
        server.public_url + "/oauth2/revoke",
        data={"token": token},
        auth=(client_id, secret),
        timeout=10,
    )
    # A failing request too: wrong secret, token in the body.
    requests.post(
        server.public_url + "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": "nope" * 4,
        },
        timeout=10,
    )
    server.stop()
    log = server.log()
    assert "POST /oauth2/token 200" in log  # the access log is there (LOG_LEVEL=debug)
    for needle in (token, token.split(".")[1], secret, "nopenopenopenope"):
        assert needle not in log


def test_rotated_system_secret_keeps_old_tokens_valid(backend, make_database, server_factory):
    database = make_database(backend)
    old, new = "old-secret-" + "o" * 24, "new-secret-" + "n" * 24

    first = server_factory(backend, database=database, env={"SECRETS_SYSTEM": old})
    client_id, secret = create_client(first)
    old_token = issue_token(first, client_id, secret)
    old_jwks = requests.get(first.public_url + "/.well-known/jwks.json", timeout=10).json()
    assert first.stop() == 0

    # SECRETS_SYSTEM=new,old: the new secret signs, the old one still verifies and decrypts.
    rotated = server_factory(backend, database=database, env={"SECRETS_SYSTEM": f"{new},{old}"})
    assert introspect(rotated, old_token)["active"] is True
    new_token = issue_token(rotated, client_id, secret)
    assert introspect(rotated, new_token)["active"] is True
    jwks = requests.get(rotated.public_url + "/.well-known/jwks.json", timeout=10).json()
    assert jwks == old_jwks  # signing keys encrypted under the old secret are still usable
    assert rotated.stop() == 0

    # Once the old secret is dropped, what it signed stops working; the new token does not.
    # The signing keys were encrypted with the old secret, so the server refuses to start
    # rather than fail later: it says which secret is missing.
    dropped = server_factory(backend, database=database, env={"SECRETS_SYSTEM": new}, wait=False)
    assert dropped.process.wait(30) == 1
    assert "SECRETS_SYSTEM=new,old" in dropped.log()


def test_token_stored_under_a_dropped_secret_is_inactive(backend, make_database, server_factory):
    """The row of a token is still in the database, but without the secret that signed it
    the HMAC check fails, so the token is inactive: the signature, not the row, decides."""
    database = make_database(backend)
    first = server_factory(backend, database=database, env={"SECRETS_SYSTEM": "first-" + "f" * 30})
    client_id, secret = create_client(first)
    token = issue_token(first, client_id, secret)
    assert first.stop() == 0

    # Forget the key sets (encrypted under the first secret) so a server with an unrelated
    # secret can start on the same data.
    storage = Database(database.dsn)
    with storage.transaction() as session:
        session.execute(text("DELETE FROM jwks"))
        remaining = session.execute(text("SELECT count(*) FROM oauth2_access_tokens")).scalar()
    storage.dispose()
    assert remaining == 1

    other = server_factory(backend, database=database, env={"SECRETS_SYSTEM": "other-" + "x" * 30})
    assert introspect(other, token) == {"active": False}
    # The client and its argon2 hash do not depend on the system secret.
    assert introspect(other, issue_token(other, client_id, secret))["active"] is True


def test_id_token_hints_are_not_kept_at_rest(backend, server_factory):
    """An ID token sent as id_token_hint (authorization or logout) is a credential: the
    stored request_url and request keep its verified claims, never the token itself."""
    from tests.integration.oauth_flow import FlowDriver, create_code_client

    server = server_factory(backend, args=("--dev",))
    driver = FlowDriver(server, create_code_client(server))
    callback = driver.run(login={"subject": "hinted@example.com", "remember": True})
    id_token = driver.exchange(callback["code"]).json()["id_token"]

    started = driver.authorize(id_token_hint=id_token)
    assert started.status_code == 302 and "login_challenge=" in started.headers["Location"]
    challenge = started.headers["Location"].split("login_challenge=")[1]
    login_request = driver.get_login(challenge).json()
    assert login_request["oidc_context"]["id_token_hint_claims"]["sub"] == "hinted@example.com"
    assert id_token not in login_request["request_url"]
    logout = driver.browser.get(
        server.public_url + "/oauth2/sessions/logout",
        params={"id_token_hint": id_token},
        allow_redirects=False,
        timeout=10,
    )
    assert logout.status_code == 302 and "logout_challenge=" in logout.headers["Location"]
    server.stop()

    dump = raw_database_text(server.database)
    assert "hinted@example.com" in dump  # the dump is real
    for needle in (id_token, id_token.split(".")[2]):
        assert needle not in dump
