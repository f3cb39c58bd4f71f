"""Process faults: the supervisor killed, and SIGTERM in the middle of traffic.

* ``serve all --workers 2`` (waitress, and Granian): when the supervisor is killed with
  SIGKILL (it cannot clean up), its workers notice and exit within a few seconds; no
  orphan keeps serving, and the ports can be bound again.
* SIGTERM under load, on waitress and on Granian: every request whose bytes had all been
  sent before the signal gets a complete HTTP response (no reset, no EOF instead of a
  response), a client that sends its next request right after reading a response on a
  keep-alive connection never meets a reset either (the server must announce
  ``Connection: close`` before it closes a connection), and the process exits 0. A
  connection refused, or a new connection dropped, once the listener is closed is fine.

The load generator speaks HTTP/1.1 over raw sockets, so that "request fully sent, then
the connection was reset" is told apart from "connection refused".

These run on SQLite: no database fault is involved.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import signal
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import wait_alive, wait_for
from tests.integration.pg_instance import children_of, is_gone, kill_survivors, snapshot

TIMEOUT = 10


def descendants_of(pid: int) -> set[int]:
    found = set()
    for child in children_of(pid):
        found |= {child} | descendants_of(child)
    return found


def port_of(url: str) -> int:
    return urlsplit(url).port


def can_bind(port: int) -> bool:
    """Can a plain socket (no SO_REUSEPORT) listen on the port? Not while anyone else
    listens on it, SO_REUSEPORT or not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def create_cc_client(server) -> dict:
    created = requests.post(
        server.admin_url + "/admin/clients",
        json={"grant_types": ["client_credentials"]},
        timeout=TIMEOUT,
    )
    assert created.status_code == 201, created.text
    return created.json()


# -- the supervisor killed ---------------------------------------------------------------


@pytest.mark.parametrize("server_name", ["waitress", "granian"])
def test_killing_the_supervisor_stops_its_workers(server_factory, server_name):
    server = server_factory("sqlite", args=("--workers", "2", "--server", server_name))
    for url in (server.public_url, server.admin_url):
        assert wait_alive(url, 30, server.process), server.log()
    # waitress: two workers; Granian: per API, a Granian main process and two workers.
    expected = 2 if server_name == "waitress" else 6
    found = wait_for(lambda: len(descendants_of(server.process.pid)) >= expected, 20)
    assert found, f"{descendants_of(server.process.pid)}\n{server.log()}"
    everything = descendants_of(server.process.pid)
    identities = snapshot(everything)
    try:
        server.process.kill()  # SIGKILL: the supervisor gets no chance to stop them
        server.process.wait(5)
        gone = wait_for(lambda: all(is_gone(pid) for pid in everything), timeout=5)
        still_running = sorted(pid for pid in everything if not is_gone(pid))
        serving = []
        for url in (server.public_url, server.admin_url):
            with contextlib.suppress(requests.RequestException):
                requests.get(url + "/health/alive", timeout=2)
                serving.append(url)
        assert gone, (
            f"5 s after the supervisor was killed, workers {still_running} still run "
            f"(still serving: {serving or 'nothing'})"
        )
        assert not serving, f"an orphan still serves {serving}"
        for url in (server.public_url, server.admin_url):
            assert can_bind(port_of(url)), f"port {port_of(url)} is still taken"
    finally:
        kill_survivors(identities)


# -- SIGTERM under load ------------------------------------------------------------------


@dataclass
class Outcome:
    connection: int  # which connection of its client
    index: int  # which request on that connection (0: the first)
    kind: str  # "response", "refused", "send_failed", "no_response"
    started: float  # when the client began to send (monotonic)
    sent: float | None  # when the last byte was handed to the kernel
    detail: str = ""


class IncompleteResponse(Exception):
    pass


def read_response(sock: socket.socket) -> tuple[int, dict[str, str]]:
    """Read one complete HTTP/1.1 response; raise IncompleteResponse on a short read."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise IncompleteResponse(f"EOF after {len(buffer)} bytes of the head")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        wanted = int(headers["content-length"])
        while len(rest) < wanted:
            chunk = sock.recv(65536)
            if not chunk:
                raise IncompleteResponse(f"EOF after {len(rest)} of {wanted} body bytes")
            rest += chunk
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while not rest.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise IncompleteResponse("EOF inside a chunked body")
            rest += chunk
    else:  # delimited by the end of the connection
        while chunk := sock.recv(65536):
            rest += chunk
        headers["connection"] = "close"
    return status, headers


class LoadClient(threading.Thread):
    """One client, keep-alive, no think time: the next request leaves as soon as the
    previous response is read. It stops when a connection is refused (or at ``until``)."""

    def __init__(self, host: str, port: int, request: bytes, until: float):
        super().__init__(daemon=True)
        self.address = (host, port)
        self.request = request
        self.until = until
        self.outcomes: list[Outcome] = []
        self.statuses: dict[int, int] = {}

    def run(self) -> None:
        connection_number = -1
        while time.monotonic() < self.until:
            try:
                sock = socket.create_connection(self.address, timeout=TIMEOUT)
            except OSError as exc:
                now = time.monotonic()
                self.outcomes.append(
                    Outcome(connection_number + 1, 0, "refused", now, None, repr(exc))
                )
                return
            connection_number += 1
            with sock:
                self._use(sock, connection_number)

    def _use(self, sock: socket.socket, connection: int) -> None:
        """Requests on one connection until the server closes it; a connection is reused
        only after a response that did not say ``Connection: close``."""
        index = 0
        while time.monotonic() < self.until:
            started = time.monotonic()
            try:
                sock.sendall(self.request)
            except OSError as exc:
                self._record(connection, index, "send_failed", started, None, repr(exc))
                return
            sent = time.monotonic()
            try:
                status, headers = read_response(sock)
            except (OSError, IncompleteResponse, ValueError, IndexError) as exc:
                self._record(connection, index, "no_response", started, sent, repr(exc))
                return
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self._record(connection, index, "response", started, sent, str(status))
            if headers.get("connection", "").lower() == "close":
                return
            index += 1

    def _record(self, *fields) -> None:
        self.outcomes.append(Outcome(*fields))


def token_request(host: str, port: int, client: dict) -> bytes:
    body = b"grant_type=client_credentials"
    credentials = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
    return (
        f"POST /oauth2/token HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Basic {credentials.decode()}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode() + body


def introspection_request(host: str, port: int, token: str) -> bytes:
    body = f"token={token}".encode()
    return (
        f"POST /admin/oauth2/introspect HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    ).encode() + body


def alive_request(host: str, port: int) -> bytes:
    return f"GET /health/alive HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


def broken_promises(outcomes: list[Outcome], stop_at: float) -> list[Outcome]:
    """The requests the server owed a response: fully sent before the stop, or sent on a
    kept-alive connection (whose previous response did not announce ``Connection: close``:
    the client reuses no other)."""
    broken = []
    for outcome in outcomes:
        if outcome.kind not in ("send_failed", "no_response"):
            continue
        sent_before_stop = outcome.sent is not None and outcome.sent < stop_at
        if sent_before_stop or outcome.index > 0:
            broken.append(outcome)
    return sorted(broken, key=lambda outcome: outcome.sent or outcome.started)


def describe(outcome: Outcome, stop_at: float) -> str:
    when = (outcome.sent or outcome.started) - stop_at
    return (
        f"{outcome.kind} (request #{outcome.index} on its connection, "
        f"{when:+.3f} s from SIGTERM): {outcome.detail}"
    )


@pytest.mark.parametrize("server_name", ["waitress", "granian"])
def test_sigterm_under_load_answers_every_request_sent_before(server_factory, server_name):
    server = server_factory("sqlite", args=("--server", server_name))
    assert wait_alive(server.public_url, 30, server.process), server.log()
    client = create_cc_client(server)
    token = requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    ).json()["access_token"]
    host, public, admin = "127.0.0.1", port_of(server.public_url), port_of(server.admin_url)
    # Requests that use the database (token: writes; introspection: reads), and cheap ones
    # (a load balancer's probes): with those, connections often sit between two requests.
    load = {
        (public, token_request(host, public, client)): 2,
        (admin, introspection_request(host, admin, token)): 4,
        (public, alive_request(host, public)): 12,
    }
    until = time.monotonic() + 40
    clients = [
        LoadClient(host, port, request, until)
        for (port, request), count in load.items()
        for _ in range(count)
    ]
    for load_client in clients:
        load_client.start()
    processes = snapshot(descendants_of(server.process.pid))
    try:
        time.sleep(2)  # under load
        before = sum(1 for c in clients for o in c.outcomes if o.kind == "response")
        stop_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        status = server.process.wait(30)
        for load_client in clients:
            load_client.join(15)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(5)
        kill_survivors(processes)
    outcomes = [outcome for c in clients for outcome in c.outcomes]
    statuses: dict[int, int] = {}
    for load_client in clients:
        for code, count in load_client.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    assert before >= 20, f"too little load to test anything: {before} responses"
    broken = broken_promises(outcomes, stop_at)
    answered_after = sum(1 for o in outcomes if o.kind == "response" and o.sent >= stop_at)
    sent_before = sum(1 for o in broken if o.sent is not None and o.sent < stop_at)
    summary = (
        f"{len(outcomes)} requests, statuses {statuses}, {answered_after} answered after "
        f"SIGTERM; left without a response: {sent_before} sent before SIGTERM, "
        f"{len(broken) - sent_before} sent after it on a kept-alive connection"
    )
    assert not broken, f"{server_name}: {summary}:\n" + "\n".join(
        describe(outcome, stop_at) for outcome in broken[:10]
    )
    assert status == 0, f"{server_name} exited {status}:\n{server.log()[-3000:]}"
