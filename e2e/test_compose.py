"""`docker compose up` for real: every health endpoint on the guide's ports, the second
demo client registered with its logout URIs, then the authorization code flow in a browser,
then `down -v`.

Runs with a Docker engine (`docker compose`), or with the command named by
``AUTHSERVER_COMPOSE`` (CI sets it to ``../shared/compose-local/compose.sh``, which runs the
file through podman). Without either it reports that it did not run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from e2e.conftest import DEMO_USER

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "authserver-e2e"
UP_TIMEOUT = 15 * 60
HEALTH = {
    "public API": "http://127.0.0.1:9000/health/ready",
    "admin API": "http://127.0.0.1:9001/health/ready",
    "login & consent app": "http://127.0.0.1:9020/healthz",
    "demo client": "http://127.0.0.1:9010/healthz",
    "second app": "http://127.0.0.1:9011/healthz",
}
ADMIN_CLIENTS = "http://127.0.0.1:9001/admin/clients"

pytestmark = pytest.mark.compose


def compose_command() -> list[str] | None:
    named = os.environ.get("AUTHSERVER_COMPOSE")
    if named:
        return shlex.split(named)
    if shutil.which("docker"):
        engine = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
        if engine.returncode == 0:
            return ["docker", "compose"]
    return None


def compose(command: list[str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, "-p", PROJECT, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def port_busy(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def compose_stack():
    command = compose_command()
    if command is None:
        pytest.skip(
            "docker compose test did not run: no Docker engine here (set AUTHSERVER_COMPOSE "
            "to another compose command, e.g. ../shared/compose-local/compose.sh)"
        )
    busy = [port for port in (9000, 9001, 9010, 9011, 9020) if port_busy(port)]
    assert not busy, f"the guide's ports {busy} are in use; stop what uses them"
    compose(command, "down", "-v", timeout=120)
    started = time.monotonic()
    up = compose(command, "up", "-d", "--build", "--wait", timeout=UP_TIMEOUT)
    try:
        if up.returncode != 0:
            logs = compose(command, "logs", "--no-color", "--tail", "80").stdout
            pytest.fail(f"compose up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}\n{logs}")
        yield time.monotonic() - started
    finally:
        compose(command, "down", "-v", timeout=300)


def test_every_service_is_healthy_on_the_guides_ports(compose_stack):
    for name, url in HEALTH.items():
        response = requests.get(url, timeout=5)
        assert response.status_code == 200, f"{name} at {url}: {response.status_code}"
    discovery = requests.get(
        "http://127.0.0.1:9000/.well-known/openid-configuration", timeout=5
    ).json()
    assert discovery["issuer"] == "http://127.0.0.1:9000/"


def test_the_second_app_is_its_own_client(compose_stack):
    """The second demo client: its page, and its client registered (by `--register`) with
    the logout URIs the authorization server reaches it at inside the compose network."""
    home = requests.get("http://127.0.0.1:9011/", timeout=5)
    assert home.status_code == 200
    assert "Second app" in home.text
    client = requests.get(ADMIN_CLIENTS + "/second-app", timeout=5).json()
    assert client["client_name"] == "Second app"
    assert client["redirect_uris"] == ["http://127.0.0.1:9011/callback"]
    assert client["backchannel_logout_uri"] == "http://second-app:4446/backchannel-logout"
    assert client["frontchannel_logout_uri"] == "http://127.0.0.1:9011/frontchannel-logout"
    assert client["backchannel_logout_session_required"] is True
    assert client["frontchannel_logout_session_required"] is True
    spa = requests.get(ADMIN_CLIENTS + "/second-app-spa", timeout=5).json()
    assert spa["allowed_cors_origins"] == ["http://127.0.0.1:9011"]
    first = requests.get(ADMIN_CLIENTS + "/demo-client", timeout=5).json()
    assert first["client_name"] == "Demo client"
    assert first["backchannel_logout_uri"] == "http://demo-client:4446/backchannel-logout"
    discovery = requests.get(
        "http://127.0.0.1:9000/.well-known/openid-configuration",
        headers={"Origin": "http://127.0.0.1:9011"},
        timeout=5,
    )
    assert discovery.headers.get("Access-Control-Allow-Origin") == "http://127.0.0.1:9011"


def test_the_browser_completes_the_flow_against_compose(compose_stack, page: Page):
    page.goto("http://127.0.0.1:9010/")
    page.get_by_role("link", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:9020/login\?login_challenge="))
    page.get_by_label("Email").fill(DEMO_USER[0])
    page.get_by_label("Password").fill(DEMO_USER[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/consent\?consent_challenge="))
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url("http://127.0.0.1:9010/**")
    expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()
    access_token = page.locator("code#access-token").inner_text().strip()
    result = requests.post(
        "http://127.0.0.1:9001/admin/oauth2/introspect", data={"token": access_token}, timeout=10
    ).json()
    assert result["active"] is True and result["sub"] == DEMO_USER[0]
    assert result["iss"] == "http://127.0.0.1:9000/"
