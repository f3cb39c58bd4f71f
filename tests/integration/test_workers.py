"""``authserver serve all --workers N``: N processes on the same ports, one supervisor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import authserver_command, run_cli, wait_alive, wait_for
from tests.integration.pg_instance import children_of

TIMEOUT = 10


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def issue_token(server, client) -> str:
    # A new connection each time (no Session): the kernel picks a worker per connection.
    response = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def workers_server(backend, server_factory):
    server = server_factory(backend, args=("--workers", "2"))
    workers = wait_for(lambda: len(children_of(server.process.pid)) == 2 or None)
    assert workers, server.log()
    created = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"], "client_secret": "workers-secret-0123"},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201
    return server, created.json()


def test_both_workers_serve_and_share_the_database(workers_server):
    server, client = workers_server
    workers = children_of(server.process.pid)
    before = {pid: cpu_ticks(pid) for pid in workers}
    tokens = [issue_token(server, client) for _ in range(60)]
    used = {pid for pid in workers if cpu_ticks(pid) > before[pid]}
    assert used == workers, "the kernel should spread new connections over both workers"
    for token in tokens[::10]:  # issued by either worker, introspected by either
        response = requests.post(
            server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
        )
        assert response.json()["active"] is True


def test_a_worker_that_dies_is_replaced(workers_server):
    server, client = workers_server
    first, *_ = sorted(children_of(server.process.pid))
    os.kill(first, signal.SIGKILL)
    replaced = wait_for(
        lambda: (lambda now: len(now) == 2 and first not in now)(children_of(server.process.pid))
    )
    assert replaced, server.log()
    for _ in range(10):
        issue_token(server, client)
    assert server.process.poll() is None


def test_sigterm_stops_every_worker(workers_server):
    server, _client = workers_server
    workers = children_of(server.process.pid)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_workers_refuse_an_in_memory_database(tmp_path):
    env = {**os.environ, "DSN": "memory", "SECRETS_SYSTEM": "x" * 32}
    result = run_cli("serve", "all", "--dev", "--workers", "2", env=env, timeout=60)
    assert result.returncode == 2
    assert "--workers" in result.stderr


def test_port_in_use_is_reported_before_forking(backend, make_database):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        database = make_database(backend)
        env = {
            **os.environ,
            "DSN": database.dsn,
            "SECRETS_SYSTEM": "y" * 32,
            "SERVE_PUBLIC_PORT": str(port),
        }
        result = subprocess.run(
            [*authserver_command(), "serve", "all", "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        blocker.close()
    assert result.returncode == 1
    assert str(port) in result.stderr


def descendants_of(pid: int) -> set[int]:
    found = set()
    for child in children_of(pid):
        found |= {child} | descendants_of(child)
    return found


@pytest.mark.parametrize("workers", ["1", "2"])
def test_granian_serves_both_apis_and_stops_cleanly(backend, server_factory, workers):
    server = server_factory(backend, args=("--server", "granian", "--workers", workers))
    # One Granian server per API: the public one may come up after the admin one.
    assert wait_alive(server.public_url, 30, server.process), server.log()
    created = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"], "client_secret": "granian-secret-0123"},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    token = issue_token(server, created.json())
    introspected = requests.post(
        server.admin_url + "/admin/oauth2/introspect", data={"token": token}, timeout=TIMEOUT
    )
    assert introspected.json()["active"] is True
    refused = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(created.json()["client_id"], "wrong-secret-0000"),
        timeout=TIMEOUT,
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    processes = descendants_of(server.process.pid)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=40) == 0
    assert wait_for(
        lambda: all(
            not Path(f"/proc/{pid}").exists() or ") Z" in Path(f"/proc/{pid}/stat").read_text()
            for pid in processes
        ),
        timeout=20,
    ), "every granian process should be gone"
