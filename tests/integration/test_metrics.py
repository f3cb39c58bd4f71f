"""``GET /admin/metrics/prometheus``: what the server counts, read as Prometheus reads it,
after requests whose effect is known (deltas: other tests share the server, never at the
same time: each test process has its own).

Several processes (``--workers 2``, Granian) add up: whichever process answers a scrape
reports every process's counts."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import run_cli, wait_alive, wait_for
from tests.integration.oauth_flow import FlowDriver, create_code_client
from tests.integration.pg_instance import children_of
from tests.integration.test_faults_processes import create_cc_client
from tests.integration.test_janitor import record_jtis
from tests.integration.test_logout import (
    accept,
    logged_in,
    logout_challenge_of,
    logout_client,
    start_logout,
)

TIMEOUT = 10
PATH = "/admin/metrics/prometheus"


def scrape(server) -> dict[tuple, float]:
    response = requests.get(server.admin_url + PATH, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class Counts:
    """The change of each sample between two scrapes."""

    def __init__(self, server):
        self.server = server
        self.before = scrape(server)

    def delta(self, name: str, **labels) -> float:
        return value(scrape(self.server), name, **labels) - value(self.before, name, **labels)


def token(server, client: dict) -> requests.Response:
    return requests.post(
        server.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=TIMEOUT,
    )


def test_requests_tokens_and_introspections_are_counted(server):
    client = create_cc_client(server)
    counts = Counts(server)
    issued = [token(server, client).json()["access_token"] for _ in range(3)]
    bad = token(server, {**client, "client_secret": "wrong"})
    assert bad.status_code == 401
    for candidate in (issued[0], issued[1], "not-a-token"):
        requests.post(
            server.admin_url + "/admin/oauth2/introspect",
            data={"token": candidate},
            timeout=TIMEOUT,
        )
    requests.get(server.public_url + "/no/such/path/" + "x" * 50, timeout=TIMEOUT)

    requests_total = "authserver_http_requests_total"
    token_route = {"api": "public", "route": "/oauth2/token", "method": "POST"}
    assert counts.delta(requests_total, **token_route, status="200") == 3
    assert counts.delta(requests_total, **token_route, status="401") == 1
    assert counts.delta("authserver_tokens_issued_total", grant_type="client_credentials") == 3
    assert counts.delta("authserver_introspections_total", result="active") == 2
    assert counts.delta("authserver_introspections_total", result="inactive") == 1
    introspect_route = {"api": "admin", "route": "/admin/oauth2/introspect", "method": "POST"}
    assert counts.delta(requests_total, **introspect_route, status="200") == 3
    # A path nobody routes is one label, whatever the path: no unbounded series.
    unmatched = {"api": "public", "route": "unmatched", "method": "GET", "status": "404"}
    assert counts.delta(requests_total, **unmatched) == 1
    samples = scrape(server)
    assert not any("no/such/path" in str(key) for key in samples)
    latency = "authserver_http_request_duration_seconds"
    assert value(samples, latency + "_count", api="public", route="/oauth2/token") >= 4
    assert value(samples, latency + "_bucket", api="public", route="/oauth2/token", le="+Inf") >= 4
    assert value(samples, "authserver_client_cache_lookups_total", result="hit") >= 1
    assert value(samples, "authserver_database_pool_connections", state="open") >= 0


def test_login_consent_logout_and_replays_are_counted(dev_server):
    counts = Counts(dev_server)
    decided = "authserver_flow_decisions_total"
    # A whole login: accepted login and consent, a code exchanged, refreshed.
    client = logout_client(dev_server)
    driver, _, tokens = logged_in(dev_server, client)
    assert counts.delta(decided, flow="login", outcome="accepted") == 1
    assert counts.delta(decided, flow="consent", outcome="accepted") == 1
    assert counts.delta("authserver_tokens_issued_total", grant_type="authorization_code") == 1

    # A refresh token used twice: the second use is a reuse, and the grant is revoked.
    first = driver.refresh(tokens["refresh_token"])
    assert first.status_code == 200
    assert driver.refresh(tokens["refresh_token"]).status_code == 400
    assert counts.delta("authserver_tokens_issued_total", grant_type="refresh_token") == 1
    assert counts.delta("authserver_replays_detected_total", kind="refresh_token_reuse") == 1

    # A code redeemed twice.
    other = FlowDriver(dev_server, create_code_client(dev_server))
    code = other.run()["code"]
    assert other.exchange(code).status_code == 200
    assert other.exchange(code).status_code == 400
    assert counts.delta("authserver_replays_detected_total", kind="authorization_code_replay") == 1

    # A rejected login, then a logout rejected and one accepted.
    rejected = FlowDriver(dev_server, client)
    rejected.reject_login(rejected.start(), error="access_denied")
    assert counts.delta(decided, flow="login", outcome="rejected") == 1
    challenge = logout_challenge_of(start_logout(driver))
    response = driver.admin(
        "PUT", "/admin/oauth2/auth/requests/logout/reject", params={"logout_challenge": challenge}
    )
    assert response.status_code == 204
    accept(driver, logout_challenge_of(start_logout(driver)))
    assert counts.delta(decided, flow="logout", outcome="rejected") == 1
    assert counts.delta(decided, flow="logout", outcome="accepted") == 1


@pytest.mark.parametrize("server_name", ["waitress", "granian"])
def test_several_processes_add_up(server_name, server_factory):
    """Two processes answer (the kernel spreads new connections); every scrape, whichever
    process answers it, reports both processes' tokens."""
    server = server_factory("sqlite", args=("--workers", "2", "--server", server_name))
    assert wait_for(lambda: len(children_of(server.process.pid)) >= 2 or None), server.log()
    assert wait_alive(server.public_url, 30, server.process), server.log()
    client = create_cc_client(server)
    counts = Counts(server)
    for _ in range(40):
        assert token(server, client).status_code == 200  # a new connection each time
    for _ in range(4):  # each scrape may be answered by another process
        assert counts.delta("authserver_tokens_issued_total", grant_type="client_credentials") == 40


def test_janitor_deletions_reach_the_servers_scrape(make_database, server_factory, tmp_path):
    """``authserver janitor`` is a command of its own: run with the server's
    ``PROMETHEUS_MULTIPROC_DIR``, what it deleted shows in the server's metrics."""
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    database = make_database("sqlite")
    server = server_factory("sqlite", database=database, env=shared)
    expired = int(time.time()) - 60
    record_jtis(database.dsn, {"expired-1": expired, "expired-2": expired, "live": expired + 3600})
    counts = Counts(server)

    result = run_cli("janitor", "--tokens", database.dsn, env=shared)

    assert result.returncode == 0, result.stderr
    deleted = "authserver_janitor_deletions_total"
    assert counts.delta(deleted, kind="used assertion ids") == 2
    assert counts.delta(deleted, kind="access tokens") == 0


def test_the_readme_lists_every_metric(server):
    """README's metrics table names exactly the families a scrape shows."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(authserver_[a-z_]+)`", readme, flags=re.MULTILINE))
    response = requests.get(server.admin_url + PATH, timeout=TIMEOUT)
    families = text_string_to_metric_families(response.text)
    exposed = {f.name + ("_total" if f.type == "counter" else "") for f in families}
    assert listed == exposed
