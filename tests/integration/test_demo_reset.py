"""`authserver demo --reset` (what `make demo-reset` runs), without a browser: the start
migrates an empty database in place of the old one, and says what it removed; a demo
still running on the ports keeps its database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from authserver.devstack import DATABASE_FILE
from tests.conftest import authserver_command, free_port

PORT_NAMES = ("public", "admin", "consent", "client", "second-app")


def demo_command(data_dir, ports: dict[str, int]) -> list[str]:
    args = [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
    return [*authserver_command(), "demo", "--reset", "--data-dir", str(data_dir), *args]


def read_until(process: subprocess.Popen, prefix: str, timeout: float = 60) -> list[str]:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no line starting {prefix!r}:\n" + "".join(lines))


def test_reset_starts_the_demo_on_an_empty_database(tmp_path):
    # Not a database at all: the migration would fail on it, so the demo can only
    # start if the reset removed it.
    (tmp_path / DATABASE_FILE).write_bytes(b"not a SQLite database")
    (tmp_path / (DATABASE_FILE + "-wal")).write_bytes(b"stale")
    ports = {name: free_port() for name in PORT_NAMES}
    process = subprocess.Popen(
        demo_command(tmp_path, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "DSN"},
    )
    try:
        lines = read_until(process, "Ready.")  # migrated, and the whole stack started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never left running for the next test
            rest, _ = process.communicate()
    assert process.returncode == 0, "".join(lines) + rest
    reset_lines = [line for line in lines if "removed" in line]
    assert len(reset_lines) == 1 and DATABASE_FILE in reset_lines[0], lines
    assert lines.index(reset_lines[0]) == 0  # said first, before [1/6]
    wal = tmp_path / (DATABASE_FILE + "-wal")
    assert not wal.exists() or wal.read_bytes() != b"stale"  # the new database's own, if any
    assert (tmp_path / DATABASE_FILE).read_bytes().startswith(b"SQLite format 3")
    assert (tmp_path / "secret").exists()


def test_reset_leaves_the_database_of_a_demo_running_on_the_ports(tmp_path):
    (tmp_path / DATABASE_FILE).write_bytes(b"still in use")
    with socket.socket() as running:
        running.bind(("127.0.0.1", 0))
        running.listen()
        ports = {name: free_port() for name in PORT_NAMES}
        ports["public"] = running.getsockname()[1]
        result = subprocess.run(
            demo_command(tmp_path, ports), capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 1
    assert "already in use" in result.stderr
    assert (tmp_path / DATABASE_FILE).read_bytes() == b"still in use"


def test_ctrl_c_while_starting_stops_everything(tmp_path):
    """Ctrl-C during the start (here while the server starts) stops the demo and every app
    it started. (The handler only sets a flag: an exception raised from it could be lost in
    a finalizer, and once was, under load.)"""
    ports = {name: free_port() for name in PORT_NAMES}
    process = subprocess.Popen(
        demo_command(tmp_path, ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "DSN"},
    )
    try:
        read_until(process, "[3/6]")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, rest
    assert "Stopped." in rest
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still in use"
