"""The guides' authorization-code sections through the CLI: `perform authorization-code`
(2024) and `token user` (2019), with --no-open and a scripted browser and login app."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time

import requests

from tests.conftest import authserver_command, free_port, parse_row_table
from tests.integration.oauth_flow import query


def start_cli(server, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*authserver_command(), *args],
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def perform_authorization_code(server, port: int, client_id: str, secret: str):
    """`authserver perform authorization-code --no-open` against the server's public API."""
    return start_cli(
        server,
        "perform",
        "authorization-code",
        "--no-open",
        "--port",
        str(port),
        "--endpoint",
        server.public_url,
        "--client-id",
        client_id,
        "--client-secret",
        secret,
    )


def home_link(port: int, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            page = requests.get(f"http://127.0.0.1:{port}/", timeout=1).text
            return html.unescape(re.search(r'href="([^"]+)"', page).group(1))
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("the example client did not start")


def click_through(server, link: str, subject: str, deny: bool = False) -> requests.Response:
    """The browser follows the link; the login and consent app accept (or deny)."""
    browser = requests.Session()
    admin = server.admin_url + "/admin/oauth2/auth/requests"
    response = browser.get(link, allow_redirects=False, timeout=10)
    challenge = query(response.headers["Location"])["login_challenge"]
    redirect_to = requests.put(
        f"{admin}/login/accept",
        params={"login_challenge": challenge},
        json={"subject": subject},
        timeout=10,
    ).json()["redirect_to"]
    response = browser.get(redirect_to, allow_redirects=False, timeout=10)
    challenge = query(response.headers["Location"])["consent_challenge"]
    consent = requests.get(f"{admin}/consent", params={"consent_challenge": challenge}, timeout=10)
    verb = "reject" if deny else "accept"
    body = (
        {"error": "access_denied"} if deny else {"grant_scope": consent.json()["requested_scope"]}
    )
    redirect_to = requests.put(
        f"{admin}/consent/{verb}", params={"consent_challenge": challenge}, json=body, timeout=10
    ).json()["redirect_to"]
    response = browser.get(redirect_to, allow_redirects=False, timeout=10)
    callback = response.headers["Location"]
    return browser.get(callback, timeout=20)  # the example client's /callback


def test_2024_guide_perform_authorization_code(dev_server):
    server = dev_server
    port = free_port()
    created = server.cli(
        "create",
        "oauth2-client",
        "--name",
        "Authorize Code with OpenID Connect Demo",
        "--grant-type",
        "authorization_code,refresh_token",
        "--response-type",
        "code",
        "--redirect-uri",
        f"http://127.0.0.1:{port}/callback",
    )
    assert created.returncode == 0, created.stderr
    client = parse_row_table(created.stdout)
    assert client["GRANT TYPES"] == "authorization_code, refresh_token"

    process = perform_authorization_code(server, port, client["CLIENT ID"], client["CLIENT SECRET"])
    try:
        link = home_link(port, process)
        assert "code_challenge_method=S256" in link and "nonce=" in link and "state=" in link
        page = click_through(server, link, "guide-user@example.com")
        assert page.status_code == 200
        assert "<style>" in page.text and 'data-outcome="success"' in page.text  # the done page
        output, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "Setting up home route on" in errors
    tokens = parse_row_table(output)
    assert list(tokens) == ["ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY"]
    assert tokens["ACCESS TOKEN"].startswith("ory_at_")
    assert tokens["REFRESH TOKEN"].startswith("ory_rt_")
    assert tokens["ID TOKEN"].startswith("ey")

    introspected = server.cli("introspect", "token", "--format", "json", tokens["ACCESS TOKEN"])
    document = json.loads(introspected.stdout)
    assert document["active"] is True
    assert document["sub"] == "guide-user@example.com"
    assert document["scope"] == "offline openid"


def test_2019_guide_token_user_with_separate_urls(dev_server):
    server = dev_server
    port = free_port()
    client_id = f"another-consumer-{port}"
    created = server.cli(
        "clients",
        "create",
        "--id",
        client_id,
        "--secret",
        "consumer-secret",
        "-g",
        "authorization_code,refresh_token",
        "-r",
        "token,code,id_token",
        "--scope",
        "openid,offline",
        "--callbacks",
        f"http://127.0.0.1:{port}/callback",
    )
    assert created.returncode == 0, created.stderr
    process = start_cli(
        server,
        "token",
        "user",
        "--no-open",
        "--port",
        str(port),
        "--auth-url",
        server.public_url + "/oauth2/auth",
        "--token-url",
        server.public_url + "/oauth2/token",
        "--client-id",
        client_id,
        "--client-secret",
        "consumer-secret",
        "--scope",
        "openid,offline",
        "--redirect",
        f"http://127.0.0.1:{port}/callback",
    )
    try:
        page = click_through(server, home_link(port, process), "legacy-user@example.com")
        assert page.status_code == 200
        output, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert parse_row_table(output)["ID TOKEN"].startswith("ey")


def test_denied_consent_ends_the_cli_with_the_error(dev_server):
    server = dev_server
    port = free_port()
    client = requests.post(
        server.admin_url + "/admin/clients",
        json={
            "grant_types": ["authorization_code"],
            "redirect_uris": [f"http://127.0.0.1:{port}/callback"],
        },
        timeout=10,
    ).json()
    process = perform_authorization_code(server, port, client["client_id"], client["client_secret"])
    try:
        page = click_through(server, home_link(port, process), "deny@example.com", deny=True)
        assert page.status_code == 400
        assert "<style>" in page.text and 'data-outcome="failure"' in page.text
        assert "access_denied" in page.text
        _, errors = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert "access_denied" in errors


def test_port_in_use_is_one_line(dev_server):
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = dev_server.cli(
            "perform",
            "authorization-code",
            "--no-open",
            "--port",
            str(port),
            "--client-id",
            "x",
            "--client-secret",
            "y",
            admin=False,
        )
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
