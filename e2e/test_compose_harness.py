"""The harness example's compose file for real (docs/examples/testing/
docker-compose.harness.yml): the `authserver harness` container starts from the image's
entry, answers on the published ports with the browser-facing issuer, and is reached by
other containers at its service name (the back channel)."""

from __future__ import annotations

import time

import pytest
import requests

from e2e.test_compose import ROOT, UP_TIMEOUT, compose_command, port_busy

pytestmark = pytest.mark.compose

COMPOSE_FILE = ROOT / "docs" / "examples" / "testing" / "docker-compose.harness.yml"
PROJECT = "authserver-harness-e2e"
PUBLIC, ADMIN = "http://127.0.0.1:4444", "http://127.0.0.1:4445"


def _compose(command, *args, timeout: float = 300):
    import subprocess

    return subprocess.run(
        [*command, "-p", PROJECT, "-f", str(COMPOSE_FILE), *args],
        cwd=COMPOSE_FILE.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def harness_container():
    command = compose_command()
    if command is None:
        pytest.skip(
            "docker compose test did not run: no Docker engine here (set AUTHSERVER_COMPOSE "
            "to another compose command, e.g. ../shared/compose-local/compose.sh)"
        )
    busy = [port for port in (4444, 4445) if port_busy(port)]
    assert not busy, f"ports {busy} are in use; stop what uses them"
    _compose(command, "down", "-v", timeout=120)
    # Only the harness: the example's app installs its packages at start, from the network.
    up = _compose(command, "up", "-d", "--build", "--wait", "authserver", timeout=UP_TIMEOUT)
    try:
        if up.returncode != 0:
            logs = _compose(command, "logs", "--no-color", "--tail", "80").stdout
            pytest.fail(f"compose up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}\n{logs}")
        yield command
    finally:
        _compose(command, "down", "-v", timeout=300)


def test_the_harness_container_serves_the_browser_facing_issuer(harness_container):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(ADMIN + "/health/ready", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    discovery = requests.get(PUBLIC + "/.well-known/openid-configuration", timeout=5).json()
    assert discovery["issuer"] == "http://localhost:4444/"
    assert discovery["authorization_endpoint"].startswith("http://localhost:4444/")
    logs = _compose(harness_container, "logs", "--no-color", "authserver").stdout
    assert "for tests only" in logs
    minted = requests.post(
        ADMIN + "/admin/harness/tokens",
        json={"client_id": "flask-app", "subject": "alice", "scope": "openid"},
        timeout=10,
    )
    assert minted.status_code == 200, minted.text
    introspection = requests.post(
        ADMIN + "/admin/oauth2/introspect",
        data={"token": minted.json()["access_token"]},
        timeout=10,
    ).json()
    assert introspection["active"] is True and introspection["iss"] == "http://localhost:4444/"


def test_the_back_channel_reaches_it_at_its_service_name(harness_container):
    probe = (
        "import json, urllib.request; "
        "print(json.load(urllib.request.urlopen("
        "'http://authserver:4444/.well-known/openid-configuration', timeout=10))['issuer'])"
    )
    # From inside the network, by the service name: it resolves through the network's DNS
    # and needs the harness to listen on the container's address, not only loopback.
    result = _compose(harness_container, "exec", "-T", "authserver", "python", "-c", probe)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("http://localhost:4444/")
