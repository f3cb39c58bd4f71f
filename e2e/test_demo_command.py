"""`authserver demo` (what `make demo` runs): the whole stack from one command, a browser
completing the flow against it, and a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from e2e.conftest import DEMO_USER
from tests.conftest import authserver_command, free_port

PORT_NAMES = ("public", "admin", "consent", "client", "second-app")


def start_demo(data_dir: Path, ports: dict[str, int], *extra: str) -> subprocess.Popen:
    args = list(extra)
    for name, port in ports.items():
        args += [f"--{name}-port", str(port)]
    return subprocess.Popen(
        [*authserver_command(), "demo", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "DSN"},
    )


def wait_for_ready(process: subprocess.Popen, timeout: float = 90) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise AssertionError("demo exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if line.startswith("Ready."):
            # the lines after "Ready." say where everything is, up to the logs
            while not lines[-1].lstrip().startswith("logs:"):
                line = process.stdout.readline()
                if not line:
                    raise AssertionError("demo output ended:\n" + "".join(lines))
                lines.append(line)
            return lines
    process.kill()
    raise AssertionError("demo did not become ready:\n" + "".join(lines))


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return process.returncode, output


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def check_second_app(ports: dict[str, int]) -> None:
    """The second demo client: its own page, its own registered client (with the logout
    URIs at its origin) and its own single-page app's client, whose origin CORS allows."""
    second = f"http://127.0.0.1:{ports['second-app']}"
    admin = f"http://127.0.0.1:{ports['admin']}/admin/clients"
    home = requests.get(second + "/", timeout=5)
    assert home.status_code == 200
    assert "Second app" in home.text
    client = requests.get(admin + "/second-app", timeout=5).json()
    assert client["client_name"] == "Second app"
    assert client["redirect_uris"] == [second + "/callback"]
    assert client["backchannel_logout_uri"] == second + "/backchannel-logout"
    assert client["frontchannel_logout_uri"] == second + "/frontchannel-logout"
    assert client["backchannel_logout_session_required"] is True
    assert client["frontchannel_logout_session_required"] is True
    spa = requests.get(admin + "/second-app-spa", timeout=5).json()
    assert spa["redirect_uris"] == [second + "/spa"]
    assert spa["allowed_cors_origins"] == [second]
    first = requests.get(admin + "/demo-client", timeout=5).json()
    assert first["client_name"] == "Demo client"
    assert first["redirect_uris"] == [f"http://127.0.0.1:{ports['client']}/callback"]
    discovery = requests.get(
        f"http://127.0.0.1:{ports['public']}/.well-known/openid-configuration",
        headers={"Origin": second},
        timeout=5,
    )
    assert discovery.headers.get("Access-Control-Allow-Origin") == second


def test_demo_runs_the_stack_and_a_browser_completes_the_flow(page: Page, tmp_path):
    ports = {name: free_port() for name in PORT_NAMES}
    data_dir = tmp_path / "demo"
    process = start_demo(data_dir, ports)
    try:
        lines = wait_for_ready(process)
        progress = [line for line in lines if re.match(r"\[\d/6\]", line)]
        assert len(progress) == 6, lines
        text = "".join(lines)
        assert f"Demo client: http://127.0.0.1:{ports['client']}/" in text
        assert f"Second app: http://127.0.0.1:{ports['second-app']}/" in text
        assert f"{DEMO_USER[0]} / {DEMO_USER[1]}" in text
        for port, path in (
            (ports["public"], "/health/ready"),
            (ports["admin"], "/health/ready"),
            (ports["consent"], "/healthz"),
            (ports["client"], "/healthz"),
            (ports["second-app"], "/healthz"),
        ):
            assert requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200
        check_second_app(ports)

        client = f"http://127.0.0.1:{ports['client']}"
        page.goto(client + "/")
        page.get_by_role("link", name="Log in", exact=True).click()
        page.get_by_label("Email").fill(DEMO_USER[0])
        page.get_by_label("Password").fill(DEMO_USER[1])
        page.get_by_label("Remember me").check()
        page.get_by_role("button", name="Log in").click()
        page.get_by_label("Remember this decision").check()
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(client + "/**")
        expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()
    finally:
        status, output = stop(process) if process.poll() is None else (process.returncode, "")
    assert status == 0, output
    assert "Stopped." in output
    for port in ports.values():
        assert not listening(port), f"port {port} still in use after Ctrl-C"

    secret_file = data_dir / "secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text()

    # `make demo-reset`: a second start on an empty database keeps the secret, and the
    # remembered login and consent are gone: the same browser sees both pages again.
    again = start_demo(data_dir, ports, "--reset")
    try:
        lines = wait_for_ready(again)
        assert "removed" in lines[0], lines
        page.goto(client + "/login")
        page.wait_for_url(re.compile(r".*/login\?login_challenge="))
        page.get_by_label("Email").fill(DEMO_USER[0])
        page.get_by_label("Password").fill(DEMO_USER[1])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r".*/consent\?consent_challenge="))
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(client + "/**")
        expect(page.get_by_role("heading", name="You are logged in")).to_be_visible()
    finally:
        status, _ = stop(again)
    assert status == 0
    assert secret_file.read_text() == secret


@pytest.mark.parametrize(
    ("name", "what"), [("consent", "login & consent app"), ("second-app", "second app")]
)
def test_a_busy_port_is_one_clear_line(tmp_path, name, what):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        ports = {port_name: free_port() for port_name in PORT_NAMES}
        ports[name] = busy
        result = subprocess.run(
            [
                *authserver_command(),
                "demo",
                "--data-dir",
                str(tmp_path),
                *[arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))],
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert f"port {busy} ({what}) is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
