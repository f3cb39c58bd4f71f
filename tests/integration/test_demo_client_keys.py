"""The demo client authenticating with a key (``private_key_jwt``, RFC 7523 §2.2, OIDC
Core §9) against a real ``authserver``, on both databases.

``demo-client --register`` registers the public half of its key (generated at start, or
from ``DEMO_CLIENT_PRIVATE_KEY_FILE``) and no secret; the login, refresh, revocation and
device authorization then each carry a fresh client assertion, which the server verifies
and whose ``jti`` it records; the inspector shows each assertion decoded, never whole.
"""

from __future__ import annotations

import html
import re

import requests
from joserfc.jwk import ECKey
from sqlalchemy import text

from authserver.oauth2.assertions import jti_digest
from authserver.storage.database import Database
from tests.conftest import free_port
from tests.integration import test_demo_client_flow as flow
from tests.integration.oauth_flow import FlowDriver
from tests.integration.test_demo_client_flow import (
    CLIENT_ID,
    demo_env,
    log_in,
    press,
    steps_of,
    token,
)

demo_clients = flow.demo_clients  # the fixture that starts (and stops) demo-client processes
TIMEOUT = 10
KEY_ENV = {"DEMO_CLIENT_AUTH_METHOD": "private_key_jwt"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def key_stack(server_factory, demo_clients, backend, **extra):
    """A server and a demo client that authenticates with a key (no secret anywhere)."""
    server = server_factory(backend, args=("--dev",))
    port = free_port()
    env = {**demo_env(server, port), **KEY_ENV, **extra}
    del env["DEMO_CLIENT_SECRET"]
    return server, demo_clients(env=env, port=port)


def registered(server) -> dict:
    response = requests.get(f"{server.admin_url}/admin/clients/{CLIENT_ID}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def assertion_rows(step: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr data-assertion="([^"]+)">.*?<td><code>([^<]*)</code></td>', step, flags=re.S
    )
    assert rows, "the step shows no decoded assertion"
    return {name: html.unescape(value) for name, value in rows}


def step_of(page: str, key: str, index: int = -1) -> str:
    return page.split(f'data-step="{key}"')[1:][index].split("</li>")[0]


def jti_recorded(server, jti: str) -> bool:
    """Whether the server keeps this client assertion's jti (its replay record)."""
    database = Database(server.database.dsn)
    try:
        with database.transaction(write=False) as session:
            found = session.execute(
                text("SELECT count(*) FROM oauth2_jti WHERE digest = :digest"),
                {"digest": jti_digest("client_assertion", CLIENT_ID, jti)},
            ).scalar_one()
    finally:
        database.dispose()
    return found == 1


def refused_with_a_secret(server) -> None:
    """No secret was registered: secret-based authentication is refused, whatever the
    secret."""
    form = {"grant_type": "refresh_token", "refresh_token": "ory_rt_x.y"}
    url = server.public_url + "/oauth2/token"
    basic = requests.post(url, data=form, auth=(CLIENT_ID, "any-secret"), timeout=TIMEOUT)
    posted = requests.post(
        url, data={**form, "client_id": CLIENT_ID, "client_secret": "s"}, timeout=TIMEOUT
    )
    for response in (basic, posted):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "invalid_client"


def test_a_generated_key_logs_in_refreshes_and_revokes(server_factory, demo_clients, backend):
    server, demo = key_stack(server_factory, demo_clients, backend)
    log = demo.log()
    match = re.search(
        r"created client 'demo-client' for private_key_jwt with a new key kept in memory "
        r"\(kid ([\w-]+), RS256\)",
        log,
    )
    assert match, log
    kid = match.group(1)

    stored = registered(server)
    assert stored["token_endpoint_auth_method"] == "private_key_jwt"
    assert stored["token_endpoint_auth_signing_alg"] == "RS256"
    (jwk,) = stored["jwks"]["keys"]
    assert (jwk["kty"], jwk["kid"]) == ("RSA", kid)
    assert not PRIVATE_MEMBERS & jwk.keys()
    assert "client_secret" not in stored
    refused_with_a_secret(server)

    driver = FlowDriver(server, {"client_id": CLIENT_ID}, redirect_uri=demo.url + "/callback")
    page = log_in(driver, demo)
    access = token(page, "access-token")
    info = driver.introspect(access)
    assert info["active"] is True and info["client_id"] == CLIENT_ID

    response = press(driver, demo, "/refresh")
    assert response.status_code == 303, response.text
    response = press(driver, demo, "/revoke", token="refresh_token")
    assert response.status_code == 303, response.text
    assert driver.introspect(access)["active"] is False

    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    jtis = []
    for key in ("token-request", "refresh", "revoke"):
        step = step_of(inspector, key)
        assert "HTTP 200" in step, step
        assert "private_key_jwt: client_assertion in the body" in step
        assert "Authorization: Basic" not in step
        rows = assertion_rows(step)
        assert rows["header.alg"] == "RS256" and rows["header.kid"] == kid
        assert rows["claims.iss"] == rows["claims.sub"] == CLIENT_ID
        assert rows["claims.aud"] == server.public_url + "/oauth2/token"
        assert rows["signature.signature"].endswith("…")
        assert len(rows["signature.signature"]) == 9
        jtis.append(rows["claims.jti"])
    assert len(set(jtis)) == 3  # a fresh assertion for every request
    assert "records the jti until exp" in inspector
    for jti in jtis:  # the server verified each assertion and keeps its jti against replays
        assert jti_recorded(server, jti)
    for secret in ("PRIVATE KEY", '"d":'):
        assert secret not in log and secret not in inspector
    assert demo.stop() == 0
    assert "PRIVATE KEY" not in demo.log()


def test_a_key_file_and_the_device_authorization(server_factory, demo_clients, backend, tmp_path):
    key = ECKey.generate_key("P-256", private=True)
    path = tmp_path / "demo-client-key.pem"
    path.write_bytes(key.as_pem(private=True))
    server, demo = key_stack(
        server_factory, demo_clients, backend, DEMO_CLIENT_PRIVATE_KEY_FILE=str(path)
    )
    assert "with the key from the key file" in demo.log()
    (jwk,) = registered(server)["jwks"]["keys"]
    assert jwk["kid"] == key.thumbprint()
    assert {name: jwk[name] for name in ("kty", "crv", "x", "y")} == key.as_dict(private=False)

    driver = FlowDriver(server, {"client_id": CLIENT_ID}, redirect_uri=demo.url + "/callback")
    log_in(driver, demo)
    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    rows = assertion_rows(step_of(inspector, "token-request"))
    assert (rows["header.alg"], rows["header.kid"]) == ("ES256", key.thumbprint())

    # The device authorization request and a first poll authenticate with a key too.
    device_page = driver.browser.get(demo.url + "/device", timeout=TIMEOUT).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', device_page).group(1)
    started = driver.browser.post(
        demo.url + "/device/start", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert started.status_code == 303, started.text
    polled = driver.browser.post(
        demo.url + "/device/poll.json", headers={"X-CSRFToken": csrf}, timeout=TIMEOUT
    )
    assert polled.json()["status"] == "authorization_pending", polled.text
    inspector = driver.browser.get(demo.url + "/inspector", timeout=TIMEOUT).text
    assert steps_of(inspector)[-2:] == ["device-authorization", "device-poll"]
    for key_name in ("device-authorization", "device-poll"):
        rows = assertion_rows(step_of(inspector, key_name))
        assert rows["claims.iss"] == CLIENT_ID and rows["header.alg"] == "ES256"
        assert jti_recorded(server, rows["claims.jti"])
    assert str(path) not in inspector
