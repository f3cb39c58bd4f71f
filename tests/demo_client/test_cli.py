"""``demo-client`` as a process: one-line errors, and a clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import free_port

SCRIPT = str(Path(sys.executable).parent / "demo-client")


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_CLIENT_")}
    return subprocess.run(
        [SCRIPT, *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_register_without_admin_url_is_one_line():
    result = run("--register", "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DEMO_CLIENT_ADMIN_URL" in result.stderr


def test_bad_setting_is_one_line():
    result = run(env={"PORT": "nope"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "demo-client: PORT must be a number between 1 and 65535, not 'nope'"
    )


def test_port_in_use_is_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"demo-client: port {port} is already in use (choose another with --port)"
    )


def test_serves_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_CLIENT_")}
    log = open(tmp_path / "demo.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [SCRIPT, "--port", str(port)], env=clean, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
        log.close()


class _FakeServer:
    """Stands in for waitress: records the WSGI app, serves one request, returns."""

    def __init__(self, app, **_kwargs):
        self.app = app
        self.home = None

    def run(self):
        from werkzeug.test import Client

        self.home = Client(self.app).get("/", base_url="http://127.0.0.1:4446").text

    def close(self):
        pass


def test_register_says_what_it_waits_for_and_serves_under_the_id_it_got(monkeypatch, capsys):
    from demo_client import cli
    from demo_client.register import Registration

    servers: list[_FakeServer] = []

    def fake_create_server(app, **kwargs):
        servers.append(_FakeServer(app, **kwargs))
        return servers[-1]

    monkeypatch.setattr(cli, "create_server", fake_create_server)
    monkeypatch.setattr(cli.signal, "signal", lambda *_args: None)

    def fake_register(config, say):
        say(f"waiting for the admin API at {config.admin_url}")
        return Registration("created", "demo-client-4446")

    monkeypatch.setattr(cli, "register_client", fake_register)
    monkeypatch.setattr(
        cli, "register_spa_client", lambda config, say: Registration("created", "demo-spa-4446")
    )
    for name in [k for k in os.environ if k.startswith("DEMO_CLIENT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DEMO_CLIENT_ADMIN_URL", "http://127.0.0.1:9001")
    assert cli.main(["--register", "--port", "4446"]) == 0
    err = capsys.readouterr().err
    assert "http://127.0.0.1:9001" in err.splitlines()[0]
    assert "'demo-client-4446'" in err
    assert "demo-client-4446" in servers[0].home  # the app uses the registered id
    assert "'demo-spa-4446'" in err  # and the single-page app's client id it got
