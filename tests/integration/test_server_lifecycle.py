"""Starting, refusing to start, readiness and stopping: what an operator sees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from tests.conftest import authserver_command, free_port, run_cli, wait_alive

GOOD_SECRET = "s" * 32


def serve_env(**extra) -> dict:
    return {
        "SECRETS_SYSTEM": GOOD_SECRET,
        "SERVE_PUBLIC_PORT": str(free_port()),
        "SERVE_ADMIN_PORT": str(free_port()),
        **extra,
    }


def test_every_configuration_problem_is_one_line(tmp_path):
    result = run_cli(
        "serve",
        "all",
        env={
            "SECRETS_SYSTEM": "short",
            "DSN": "mysql://root@localhost/hydra",
            "TTL_ACCESS_TOKEN": "one hour",
            "URLS_SELF_ISSUER": "http://auth.example.com/",
        },
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 4, result.stderr
    assert all(line.startswith("authserver: configuration: ") for line in lines)
    joined = "\n".join(lines)
    for name in ("SECRETS_SYSTEM", "DSN", "TTL_ACCESS_TOKEN", "URLS_SELF_ISSUER"):
        assert name in joined
    assert "Traceback" not in result.stderr


def test_missing_secret_is_an_error_outside_dev_only(tmp_path):
    env = {"SECRETS_SYSTEM": "", "DSN": "memory"}
    refused = run_cli("serve", "all", env={**env, "SECRETS_SYSTEM": ""})
    # An empty SECRETS_SYSTEM is "not set".
    assert refused.returncode == 2 and "SECRETS_SYSTEM" in refused.stderr

    ports = serve_env(DSN="memory")
    ports.pop("SECRETS_SYSTEM")
    process = subprocess.Popen(
        [*authserver_command(), "serve", "all", "--dev"],
        env={**_base_env(), **ports},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_alive(f"http://127.0.0.1:{ports['SERVE_ADMIN_PORT']}")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "SECRETS_SYSTEM is not set" in output  # --dev says what it did instead


def test_unmigrated_database_refuses_to_start(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = run_cli("serve", "all", env=serve_env(DSN=dsn))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "migrate sql" in result.stderr


def test_migrate_requires_yes_and_reports_status(tmp_path):
    dsn = f"sqlite:///{tmp_path / 'db.sqlite'}"
    refused = run_cli("migrate", "sql", dsn)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    status = run_cli("migrate", "status", dsn)
    assert status.returncode == 1 and "pending: 0001" in status.stdout

    applied = run_cli("migrate", "sql", "--yes", dsn)
    assert applied.returncode == 0, applied.stderr
    again = run_cli("migrate", "sql", "--yes", dsn)
    assert again.returncode == 0 and "up to date" in again.stdout
    status = run_cli("migrate", "status", dsn)
    assert status.returncode == 0 and "pending: none" in status.stdout

    from_env = run_cli("migrate", "sql", "-e", "--yes", env={"DSN": dsn})
    assert from_env.returncode == 0 and "up to date" in from_env.stdout


def test_migrate_rejects_unknown_dsn_scheme():
    result = run_cli("migrate", "sql", "--yes", "mysql://root@localhost/db")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_port_in_use_is_one_clear_line():
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = run_cli("serve", "all", env=serve_env(DSN="memory", SERVE_PUBLIC_PORT=str(port)))
    assert result.returncode == 1
    assert f"port {port} (public API) is already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_server_cleanly(stop_signal):
    env = serve_env(DSN="memory")
    process = subprocess.Popen(
        [*authserver_command(), "serve", "all"],
        env={**_base_env(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        admin = f"http://127.0.0.1:{env['SERVE_ADMIN_PORT']}"
        _wait_alive(admin)
        started = time.monotonic()
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert time.monotonic() - started < 10
    assert "Traceback" not in output
    with pytest.raises(requests.ConnectionError):
        requests.get(admin + "/health/alive", timeout=2)


def test_memory_dsn_serves_a_complete_flow():
    env = serve_env(DSN="memory")
    process = subprocess.Popen(
        [*authserver_command(), "serve", "all"],
        env={**_base_env(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        admin = f"http://127.0.0.1:{env['SERVE_ADMIN_PORT']}"
        public = f"http://127.0.0.1:{env['SERVE_PUBLIC_PORT']}"
        _wait_alive(admin)
        client = requests.post(
            admin + "/admin/clients", json={"grant_types": ["client_credentials"]}, timeout=10
        ).json()
        token = requests.post(
            public + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client["client_id"], client["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        result = requests.post(
            admin + "/admin/oauth2/introspect", data={"token": token}, timeout=10
        ).json()
        assert result["active"] is True
        assert requests.get(public + "/health/ready", timeout=5).json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)


def test_public_and_admin_can_run_as_separate_processes(make_database, server_factory):
    database = make_database("sqlite")
    secret = {"SECRETS_SYSTEM": GOOD_SECRET}
    admin = server_factory("sqlite", database=database, env=secret, which="admin")
    public = server_factory("sqlite", database=database, env=secret, which="public")
    # Each process answers only its own API.
    assert requests.get(public.public_url + "/health/ready", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(public.admin_url + "/health/alive", timeout=2)
    client = requests.post(
        admin.admin_url + "/admin/clients", json={"grant_types": ["client_credentials"]}, timeout=10
    ).json()
    token = requests.post(
        public.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    result = requests.post(
        admin.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=10
    ).json()
    assert result["active"] is True


def test_ready_reports_database_outage_and_recovers(make_database, server_factory):
    """Readiness answers 503 with a reason while PostgreSQL refuses connections to our
    database, and 200 again once it is back; liveness stays 200 throughout."""
    database = make_database("postgres")
    server = server_factory("postgres", database=database)
    assert requests.get(server.public_url + "/health/ready", timeout=5).status_code == 200

    import psycopg

    name = database.dsn.rsplit("/", 1)[1]
    admin_dsn = database.dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
    try:
        statuses = [requests.get(server.admin_url + "/health/ready", timeout=10) for _ in range(2)]
        assert all(response.status_code == 503 for response in statuses)
        assert "database" in statuses[-1].json()["errors"]
        assert requests.get(server.admin_url + "/health/alive", timeout=5).status_code == 200
        # A token request during the outage (the hot path) and a Flask-served one: the
        # database is unavailable, not the client wrong, and a retry may well succeed.
        for path, form in (
            ("/oauth2/token", {"grant_type": "client_credentials"}),
            ("/oauth2/revoke", {"token": "something"}),
        ):
            failed = requests.post(
                server.public_url + path, data=form, auth=("someone", "something"), timeout=10
            )
            assert failed.status_code == 503, failed.text
            assert failed.json()["error"] == "temporarily_unavailable"
            assert failed.headers["Retry-After"] == "1"
            assert "Traceback" not in failed.text
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if requests.get(server.admin_url + "/health/ready", timeout=5).status_code == 200:
            break
        time.sleep(0.2)
    else:
        pytest.fail("readiness did not recover after the database came back")


def _base_env() -> dict:
    return dict(os.environ)


def _wait_alive(url: str) -> None:
    assert wait_alive(url), f"{url} did not come up"
