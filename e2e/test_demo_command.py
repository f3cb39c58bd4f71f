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

import requests
from playwright.sync_api import Page, expect

from e2e.conftest import DEMO_USER
from tests.conftest import authserver_command, free_port


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
            # the three lines after "Ready." say where everything is
            lines.extend(process.stdout.readline() for _ in range(3))
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


def test_demo_runs_the_stack_and_a_browser_completes_the_flow(page: Page, tmp_path):
    ports = {name: free_port() for name in ("public", "admin", "consent", "client")}
    data_dir = tmp_path / "demo"
    process = start_demo(data_dir, ports)
    try:
        lines = wait_for_ready(process)
        progress = [line for line in lines if re.match(r"\[\d/5\]", line)]
        assert len(progress) == 5, lines
        text = "".join(lines)
        assert f"http://127.0.0.1:{ports['client']}/" in text
        assert f"{DEMO_USER[0]} / {DEMO_USER[1]}" in text
        for port, path in (
            (ports["public"], "/health/ready"),
            (ports["admin"], "/health/ready"),
            (ports["consent"], "/healthz"),
            (ports["client"], "/healthz"),
        ):
            assert requests.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200

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


def test_a_busy_port_is_one_clear_line(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        ports = {
            "public": free_port(),
            "admin": free_port(),
            "consent": busy,
            "client": free_port(),
        }
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
    assert f"port {busy} (login & consent app) is already in use" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
