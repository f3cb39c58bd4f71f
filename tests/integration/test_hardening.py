"""What an attacker's requests got out of the server before it was hardened, each now a
clear 4xx: NUL bytes in identifiers (a 500 on PostgreSQL), raw UTF-8 in HTTP Basic, log
lines forged through the path, deep or unstorable JSON, header injection through a query
value, too-short ``state``, dangerous redirect URI schemes, waitress' own error pages.
On both databases, through real processes."""

from __future__ import annotations

import base64
import socket
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import free_port, run_cli
from tests.integration.oauth_flow import REDIRECT_URI, FlowDriver, create_code_client

TIMEOUT = 10
DEEP_JSON = ("[" * 100_000 + "]" * 100_000).encode()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def assert_client_error(response: requests.Response, statuses=(400,)) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body.get("error"), str), body
    return body


@pytest.fixture
def code_client(server) -> dict:
    return create_code_client(server)


# -- 1. NUL in an identifier: refused at the edge on every port ------------------------------


def nul_requests(server, client: dict) -> list[tuple[str, str, dict]]:
    public, admin = server.public_url, server.admin_url
    cc = {"grant_type": "client_credentials"}
    login = {"subject": "a\u0000b"}
    return [
        ("GET", f"{public}/oauth2/auth?client_id=a%00b&response_type=code", {}),
        ("POST", f"{public}/oauth2/token", {"data": {**cc, "client_id": "a\x00b"}}),
        (
            "POST",
            f"{public}/oauth2/token",
            {"data": {**cc, "client_id": "a\x00b", "client_secret": "s" * 20}},
        ),
        ("POST", f"{public}/oauth2/token", {"data": cc, "headers": basic(b"a\x00b:secret")}),
        ("POST", f"{public}/oauth2/token", {"data": cc, "headers": basic(b"a%00b:secret")}),
        ("POST", f"{public}/oauth2/revoke", {"data": {"token": "x", "client_id": "a\x00b"}}),
        ("POST", f"{public}/oauth2/revoke", {"data": {"token": "x"}, "headers": basic(b"a\0:s")}),
        ("GET", f"{public}/oauth2/sessions/logout?client_id=a%00b", {}),
        ("GET", f"{public}/oauth2/sessions/logout?id_token_hint=a%00b", {}),
        ("GET", f"{admin}/admin/clients/a%00b", {}),
        ("PUT", f"{admin}/admin/clients/a%00b", {"json": {"client_name": "x"}}),
        ("DELETE", f"{admin}/admin/clients/a%00b", {}),
        ("GET", f"{admin}/admin/clients?client_name=a%00b", {}),
        ("GET", f"{admin}/admin/keys/a%00b", {}),
        ("DELETE", f"{admin}/admin/keys/a%00b", {}),
        ("DELETE", f"{admin}/admin/keys/hydra.openid.id-token/a%00b", {}),
        ("GET", f"{admin}/admin/oauth2/auth/sessions/consent?subject=a%00b", {}),
        ("DELETE", f"{admin}/admin/oauth2/auth/sessions/consent?subject=a%00b&all=true", {}),
        ("DELETE", f"{admin}/admin/oauth2/auth/sessions/login?subject=a%00b", {}),
        ("GET", f"{admin}/admin/oauth2/auth/requests/login?login_challenge=a%00b", {}),
        (
            "PUT",
            f"{admin}/admin/oauth2/auth/requests/login/accept?login_challenge=x",
            {"json": login},
        ),
        ("POST", f"{admin}/admin/oauth2/introspect", {"data": {"token": "a\x00b"}}),
        ("POST", f"{admin}/admin/clients", {"json": {"client_name": "a\u0000b"}}),
        ("POST", f"{admin}/admin/clients", {"json": {"client_id": client["client_id"] + "\0"}}),
    ]


def test_nul_in_any_identifier_is_a_client_error(server, code_client):
    for method, url, kwargs in nul_requests(server, code_client):
        response = requests.request(method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs)
        assert 400 <= response.status_code < 500, (method, url, response.status_code)
        assert "Traceback" not in response.text


def test_login_accept_with_a_nul_subject_leaves_the_flow_usable(server, code_client):
    driver = FlowDriver(server, code_client)
    challenge = driver.start()
    refused = driver.admin(
        "PUT",
        "/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": challenge},
        json={"subject": "a\u0000b"},
    )
    assert_client_error(refused)
    assert driver.accept_login(challenge, subject="someone@example.com")


# -- 3. raw UTF-8 in HTTP Basic ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/oauth2/token", "/oauth2/revoke"])
def test_raw_utf8_in_basic_is_invalid_client(server, path):
    response = requests.post(
        server.public_url + path,
        data={"grant_type": "client_credentials", "token": "x"},
        headers={"Authorization": b"Basic " + "ü:ß".encode()},
        timeout=TIMEOUT,
    )
    body = assert_client_error(response, (401,))
    assert body["error"] == "invalid_client"


# -- 5. log forging ----------------------------------------------------------------------------


def test_crlf_in_the_path_forges_no_log_line(server):
    marker = unique("FORGED")
    for base in (server.public_url, server.admin_url):
        response = requests.get(f"{base}/health/alive%0d%0a{marker}%20200", timeout=TIMEOUT)
        assert_client_error(response)
    for line in server.log().splitlines():
        assert not line.startswith(marker), line


# -- 6. the admin API's JSON and query values -------------------------------------------------


def json_endpoints(server, client_id: str) -> list[tuple[str, str]]:
    admin = server.admin_url + "/admin"
    return [
        ("POST", f"{admin}/clients"),
        ("PUT", f"{admin}/clients/{client_id}"),
        ("PATCH", f"{admin}/clients/{client_id}"),
        ("PUT", f"{admin}/clients/{client_id}/lifespans"),
        ("POST", f"{admin}/keys/{unique('set')}"),
        ("PUT", f"{admin}/oauth2/auth/requests/login/accept?login_challenge=x"),
        ("PUT", f"{admin}/oauth2/auth/requests/login/reject?login_challenge=x"),
        ("PUT", f"{admin}/oauth2/auth/requests/consent/accept?consent_challenge=x"),
        ("PUT", f"{admin}/oauth2/auth/requests/consent/reject?consent_challenge=x"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        DEEP_JSON,
        ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(),
        b'{"client_name": "\\ud800"}',
        b'{"subject": "\\udfff", "client_name": 1e999}',
        b'{"metadata": {"x": NaN}}',
    ],
    ids=["deep-arrays", "deep-objects", "lone-surrogate", "surrogate-and-huge-number", "nan"],
)
def test_unstorable_json_is_refused_by_every_json_endpoint(server, code_client, body):
    for method, url in json_endpoints(server, code_client["client_id"]):
        response = requests.request(
            method,
            url,
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT,
        )
        # 404 for an unknown challenge may come first; never a 5xx.
        assert_client_error(response, (400, 404))


@pytest.mark.parametrize("subject", ["é-ü-ß", "a\r\nSet-Cookie: x=y", 'a>; rel="evil"', "日本"])
def test_any_subject_lists_consent_sessions_with_a_sound_link_header(server, subject):
    response = requests.get(
        server.admin_url + "/admin/oauth2/auth/sessions/consent",
        params={"subject": subject, "page_size": 1},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.json() == []
    assert "Set-Cookie" not in response.headers
    link = response.headers["Link"]
    assert link.count("rel=") == 1 and 'rel="first"' in link
    target = link[link.index("<") + 1 : link.index(">")]
    assert parse_qs(urlsplit(target).query)["subject"] == [subject]


# -- 7. state, redirect URI schemes, waitress' own errors, the exposed admin port -------------


def _callback_error(response: requests.Response) -> dict:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def test_state_must_carry_entropy_or_pkce_must_protect(server, code_client):
    driver = FlowDriver(server, code_client)
    short = _callback_error(driver.authorize(state="abc"))
    assert short["error"] == "invalid_request" and short["state"] == "abc"
    missing = _callback_error(driver.authorize(state=None, pkce=False))
    assert missing["error"] == "invalid_request"
    # No state, but PKCE: RFC 9700 §2.1 allows it (Hydra refuses it).
    assert driver.start(state=None)
    assert driver.start(state="12345678")


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(document.cookie)",
        "JavaScript://example.com/%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox",
        "https://app.example/c\x01b",
        "https://app.example/é",
    ],
)
def test_dangerous_redirect_uris_are_refused_at_registration(server, uri):
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        body = {"redirect_uris": [uri]} if field == "redirect_uris" else {}
        if field == "post_logout_redirect_uris":
            body = {"redirect_uris": ["https://app.example/cb"], field: [uri]}
        response = requests.post(server.admin_url + "/admin/clients", json=body, timeout=TIMEOUT)
        error = assert_client_error(response)["error"]
        assert error in ("invalid_redirect_uri", "invalid_client_metadata"), error


def raw_exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"NOT A REQUEST LINE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 300_000 + b"\r\n\r\n", b"431"),
        (
            b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"400",
        ),
    ],
    ids=["bad-request-line", "headers-too-large", "bad-chunk"],
)
def test_the_http_servers_own_errors_are_json(server, payload, status):
    for url in (server.public_url, server.admin_url):
        answer = raw_exchange(int(url.rsplit(":", 1)[1]), payload)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == status, head
        assert b"Content-Type: application/json" in head
        assert b"X-Request-Id: " in head
        assert b'"error":"invalid_request"' in body


def test_an_admin_port_reachable_from_other_machines_is_warned_about(tmp_path):
    """Checked before anything is bound (the test binds nothing on 0.0.0.0)."""
    result = run_cli(
        "serve",
        "all",
        env={
            "SECRETS_SYSTEM": "s" * 32,
            "DSN": f"sqlite:///{tmp_path / 'unmigrated.sqlite'}",
            "SERVE_ADMIN_HOST": "0.0.0.0",  # noqa: S104
            "SERVE_ADMIN_PORT": str(free_port()),
            "SERVE_PUBLIC_PORT": str(free_port()),
        },
    )
    assert result.returncode == 1  # the schema is not migrated
    assert "WARNING: the admin API listens on 0.0.0.0" in result.stderr
    assert "no authentication" in result.stderr


# -- found by the OpenAPI-driven run ----------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "u", "password": "p"},
        {"grant_type": "refresh_token", "refresh_token": "abc"},
        {"grant_type": "refresh_token", "refresh_token": ""},
    ],
)
def test_every_token_error_has_a_description(server, create_client, form):
    client = create_client(grant_types=["client_credentials", "refresh_token"])
    response = requests.post(
        server.public_url + "/oauth2/token",
        data=form,
        auth=(client.client_id, client.client_secret),
        timeout=TIMEOUT,
    )
    body = assert_client_error(response)
    assert body["error"] in ("unsupported_grant_type", "invalid_grant", "invalid_request")
    assert body["error_description"]


OVERFLOWING = 10_000_000_000_000_000_000


def test_durations_that_would_overflow_a_timestamp_are_refused(dev_server):
    server = dev_server  # its cookies work on plain http: the browser gets to the consent
    code_client = create_code_client(server)
    driver = FlowDriver(server, code_client)
    challenge = driver.start()
    login = driver.admin(
        "PUT",
        "/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": challenge},
        json={"subject": "u@example.com", "remember": True, "remember_for": OVERFLOWING},
    )
    assert_client_error(login)
    consent_challenge = driver.consent_challenge_after(driver.accept_login(challenge))
    consent = driver.admin(
        "PUT",
        "/admin/oauth2/auth/requests/consent/accept",
        params={"consent_challenge": consent_challenge},
        json={"grant_scope": ["openid"], "remember": True, "remember_for": OVERFLOWING},
    )
    assert_client_error(consent)
    for lifespan in ("2562047788015215h", "9" * 400 + "h"):
        field = {"client_credentials_grant_access_token_lifespan": lifespan}
        updated = requests.put(
            f"{server.admin_url}/admin/clients/{code_client['client_id']}/lifespans",
            json=field,
            timeout=TIMEOUT,
        )
        assert_client_error(updated)
        created = requests.post(server.admin_url + "/admin/clients", json=field, timeout=TIMEOUT)
        assert_client_error(created)


def test_an_audience_with_whitespace_is_refused(server):
    response = requests.post(
        server.admin_url + "/admin/clients", json={"audience": ["a b"]}, timeout=TIMEOUT
    )
    assert assert_client_error(response)["error"] == "invalid_client_metadata"


def test_a_response_showing_a_client_secret_is_not_cached(server):
    response = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"]},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201 and response.json()["client_secret"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_logout_outliving_its_client_does_not_send_the_browser_there(dev_server):
    client = create_code_client(
        dev_server, post_logout_redirect_uris=["http://127.0.0.1:9999/logged-out"]
    )
    driver = FlowDriver(dev_server, client)
    callback = driver.run(login={"subject": "gone@example.com", "remember": True})
    id_token = driver.exchange(callback["code"]).json()["id_token"]
    started = driver.browser.get(
        dev_server.public_url + "/oauth2/sessions/logout",
        params={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": "http://127.0.0.1:9999/logged-out",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    challenge = parse_qs(urlsplit(started.headers["Location"]).query)["logout_challenge"][0]
    deleted = requests.delete(
        f"{dev_server.admin_url}/admin/clients/{client['client_id']}", timeout=TIMEOUT
    )
    assert deleted.status_code == 204
    params = {"logout_challenge": challenge}
    request = driver.admin("GET", "/admin/oauth2/auth/requests/logout", params=params).json()
    assert request["client"] is None
    accepted = driver.admin("PUT", "/admin/oauth2/auth/requests/logout/accept", params=params)
    finished = driver.follow(accepted.json()["redirect_to"])
    assert finished.status_code in (302, 303)
    assert not finished.headers["Location"].startswith("http://127.0.0.1:9999/")
