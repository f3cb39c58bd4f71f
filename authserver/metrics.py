"""Prometheus metrics, served at Hydra's ``GET /admin/metrics/prometheus``.

One ``Metrics`` per process (``metrics()``), made on first use. A server of several
processes (``serve --workers N``, ``--server granian``) runs with
``PROMETHEUS_MULTIPROC_DIR`` set to a directory of its own (``serve`` makes it; a value the
operator set is kept): each process then writes its values to files there, and whichever
process answers a scrape adds up every process's (prometheus-client's multiprocess mode).
A single process keeps them in memory.

Labels are bounded: an endpoint is its route's pattern (``/admin/clients/<id>``), never the
path a client sent; outcomes and grant types come from fixed lists.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Route label of a request no route matched (404s, the edge guard's refusals).
UNMATCHED = "unmatched"
# Seconds: from a hot-path token (~1 ms) to a request held by a slow database (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_KNOWN_GRANTS = frozenset(
    {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
)


class Metrics:
    def __init__(self):
        # prometheus-client picks how values are kept when a metric is made, from the
        # environment; read it now (serve sets it before any process makes its metrics).
        values.ValueClass = values.get_value_class()
        disable_created_metrics()  # the *_created series: noise for a dashboard
        self.registry = CollectorRegistry()
        self.multiprocess_dir = os.environ.get(MULTIPROCESS_ENV) or None
        # (metric, label values) -> its child: prometheus-client's labels() validates and
        # locks on every call; a plain dict read is a third of the cost on the hot path.
        self._children: dict[tuple, object] = {}
        r = self.registry

        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, labels, registry=r)

        self.requests = counter(
            "authserver_http_requests",
            "HTTP requests answered, by API, route, method and status.",
            "api",
            "route",
            "method",
            "status",
        )
        self.latency = Histogram(
            "authserver_http_request_duration_seconds",
            "Time to answer a request, by API and route.",
            ["api", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = counter(
            "authserver_tokens_issued",
            "Token responses (RFC 6749 §5.1) issued, by grant type.",
            "grant_type",
        )
        self.introspections = counter(
            "authserver_introspections",
            "Token introspections (RFC 7662), by result.",
            "result",
        )
        self.decisions = counter(
            "authserver_flow_decisions",
            "Login, consent and logout requests answered by the login app, by outcome.",
            "flow",
            "outcome",
        )
        self.replays = counter(
            "authserver_replays_detected",
            "Refresh tokens reused and codes redeemed twice: their grants were revoked.",
            "kind",
        )
        self.database_errors = counter(
            "authserver_database_errors",
            "Requests answered 503 because the database was unavailable or too slow.",
            "kind",
        )
        self.client_cache = counter(
            "authserver_client_cache_lookups",
            "Client lookups of the OAuth2 endpoints, answered by the cache or the database.",
            "result",
        )
        self.backchannel = counter(
            "authserver_backchannel_logout_deliveries",
            "Back-channel logout attempts, by result.",
            "result",
        )
        self.janitor = counter(
            "authserver_janitor_deletions",
            "Rows `authserver janitor` deleted, by kind (seen by the server's scrape when "
            "both run with one PROMETHEUS_MULTIPROC_DIR).",
            "kind",
        )
        self.pool = Gauge(
            "authserver_database_pool_connections",
            "Database connections of the serving processes: open in the pool, in use.",
            ["state"],
            registry=r,
            multiprocess_mode="livesum",
        )

    # -- recording (each a few microseconds: on every request) ---------------------------

    def _child(self, metric, *label_values: str):
        key = (metric, label_values)
        child = self._children.get(key)
        if child is None:  # a race here makes the same child twice: harmless
            child = self._children[key] = metric.labels(*label_values)
        return child

    def request(self, api: str, route: str, method: str, status: int, seconds: float) -> None:
        self._child(self.requests, api, route, method, str(status)).inc()
        self._child(self.latency, api, route).observe(seconds)

    def token_issued(self, grant_type: str) -> None:
        self._child(self.tokens, grant_type if grant_type in _KNOWN_GRANTS else "other").inc()

    def introspected(self, active: bool) -> None:
        self._child(self.introspections, "active" if active else "inactive").inc()

    def decided(self, flow: str, outcome: str) -> None:
        self.decisions.labels(flow, outcome).inc()

    def replay(self, kind: str) -> None:
        self.replays.labels(kind).inc()

    def database_error(self, kind: str) -> None:
        self.database_errors.labels(kind).inc()

    def client_lookup(self, hit: bool) -> None:
        self._child(self.client_cache, "hit" if hit else "miss").inc()

    def backchannel_attempt(self, result: str) -> None:
        self.backchannel.labels(result).inc()

    def janitor_deleted(self, kind: str, count: int) -> None:
        self.janitor.labels(kind).inc(count)

    def pool_use(self, open_connections: int, in_use: int) -> None:
        self.pool.labels("open").set(open_connections)
        self.pool.labels("in_use").set(in_use)

    # -- the scrape ----------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Prometheus's text format: every process's values when there are several."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry)


def forget_process(pid: int) -> None:
    """A serving process ended: its live gauges no longer count (its counters still do)."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        mark_process_dead(pid, directory)


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """This process's metrics."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics
