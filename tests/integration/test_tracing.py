"""``TRACING_PROVIDER=otel``: spans for each request and each of its SQL statements,
exported over OTLP/HTTP (the standard ``OTEL_*`` variables) to a collector played by the
test, which decodes them with OpenTelemetry's own protobuf definitions."""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import dedicated_server, free_port, run_cli, wait_alive, wait_for
from tests.integration.pg_instance import children_of
from tests.integration.test_faults_processes import create_cc_client
from tests.quiet_server import QuietHTTPServer

TIMEOUT = 10
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
SERVER, CLIENT = 2, 3  # Span.SpanKind in the protobuf
REQUEST_ID = "authserver.request_id"


@dataclass
class Span:
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict


class Collector:
    """An OTLP/HTTP receiver: every exported span, and the raw bytes it came in."""

    def __init__(self):
        self.spans: list[Span] = []
        self.raw = b""
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                collector._receive(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = QuietHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"

    def _receive(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        spans = [
            Span(
                span.name,
                span.kind,
                span.trace_id.hex(),
                span.span_id.hex(),
                span.parent_span_id.hex(),
                {a.key: _value(a.value) for a in span.attributes},
            )
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        with self._lock:
            self.spans.extend(spans)
            self.raw += body

    def server_span(self, request_id: str) -> Span | None:
        with self._lock:
            found = [
                s for s in self.spans if s.attributes.get("authserver.request_id") == request_id
            ]
        return found[0] if found else None

    def children(self, span: Span) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.parent_id == span.span_id]

    def close(self):
        self._server.shutdown()
        self._server.server_close()


def _value(value):
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@pytest.fixture(scope="module")
def collector():
    collector = Collector()
    yield collector
    collector.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def traced(collector, request, tmp_path_factory):
    env = {
        "TRACING_PROVIDER": "otel",
        "TRACING_SERVICE_NAME": "authserver-under-test",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    with dedicated_server(request, tmp_path_factory, "traced", env) as server:
        yield server


def traced_span(collector, response) -> Span:
    request_id = response.headers["X-Request-Id"]
    span = wait_for(lambda: collector.server_span(request_id), timeout=TIMEOUT)
    assert span is not None, f"no span for request {request_id}"
    return span


def test_a_request_and_its_statements_are_spans_of_the_callers_trace(traced, collector):
    client = create_cc_client(traced)
    response = requests.post(
        traced.public_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    access_token = response.json()["access_token"]

    span = traced_span(collector, response)
    assert span.name == "POST /oauth2/token"
    assert span.kind == SERVER
    assert (span.trace_id, span.parent_id) == (TRACE_ID, PARENT_ID)
    assert span.attributes["http.route"] == "/oauth2/token"
    assert span.attributes["http.response.status_code"] == 200
    statements = wait_for(lambda: collector.children(span) or None, timeout=TIMEOUT)
    assert statements, "no statement spans"
    assert all(s.kind == CLIENT and s.trace_id == TRACE_ID for s in statements)
    texts = [s.attributes["db.query.text"] for s in statements]
    assert any(text.startswith("INSERT INTO oauth2_access_tokens") for text in texts), texts
    # Statements travel with their placeholders, never their values.
    for secret in (access_token, access_token.split(".")[-1], client["client_secret"]):
        assert secret.encode() not in collector.raw


def test_the_flask_routes_and_unmatched_paths_are_named_by_pattern(traced, collector):
    client = create_cc_client(traced)
    got = requests.get(f"{traced.admin_url}/admin/clients/{client['client_id']}", timeout=TIMEOUT)
    assert got.status_code == 200
    assert traced_span(collector, got).name == "GET /admin/clients/<client_id>"
    missing = requests.get(traced.public_url + "/no/such/" + "x" * 40, timeout=TIMEOUT)
    assert missing.status_code == 404
    span = traced_span(collector, missing)
    assert span.name == "GET unmatched"
    assert span.attributes["http.response.status_code"] == 404


@pytest.mark.parametrize(
    "traceparent",
    [
        "garbage",
        f"ff-{TRACE_ID}-{PARENT_ID}-01",  # the forbidden version
        f"00-{'0' * 32}-{PARENT_ID}-01",  # an all-zero trace id
        f"00-{TRACE_ID}-{'0' * 16}-01",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        "00-" + "a" * 5000,
        "\u00ff" * 10,
    ],
)
def test_a_bad_traceparent_starts_a_new_trace(traced, collector, traceparent):
    response = requests.get(
        traced.public_url + "/.well-known/openid-configuration",
        headers={"traceparent": traceparent.encode("latin-1")},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    span = traced_span(collector, response)
    assert span.parent_id == "" and span.trace_id not in (TRACE_ID, "0" * 32)


def test_bad_tracing_settings_stop_the_start_in_one_line():
    ports = {"SERVE_PUBLIC_PORT": str(free_port()), "SERVE_ADMIN_PORT": str(free_port())}
    for env, says in (
        ({"TRACING_PROVIDER": "jaeger"}, "TRACING_PROVIDER"),
        ({"TRACING_PROVIDER": "otel", "OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
    ):
        result = run_cli("serve", "all", "--dev", env={"DSN": "memory", **ports, **env})
        assert result.returncode != 0
        assert says in result.stderr
        assert "Traceback" not in result.stderr


def test_tracing_off_imports_nothing_of_opentelemetry():
    program = """
import sys
from authserver.config import load_settings
from authserver.runtime.boot import prepare
from authserver.public.app import create_public_app
services = prepare(load_settings(env={"DSN": "memory"}, dev=True))
answer = create_public_app(services).test_client().get("/.well-known/jwks.json")
assert answer.status_code == 200
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("server_name", ["waitress", "granian"])
def test_every_serving_process_exports_its_spans(server_name, collector, server_factory):
    env = {
        "TRACING_PROVIDER": "otel",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": collector.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    server = server_factory("sqlite", env=env, args=("--workers", "2", "--server", server_name))
    assert wait_for(lambda: len(children_of(server.process.pid)) >= 2 or None), server.log()
    assert wait_alive(server.public_url, 30, server.process), server.log()
    answered = [  # a new connection each: the kernel spreads them over the processes
        requests.get(server.public_url + "/.well-known/jwks.json", timeout=TIMEOUT)
        for _ in range(20)
    ]
    for response in answered:
        assert traced_span(collector, response).name == "GET /.well-known/jwks.json"
