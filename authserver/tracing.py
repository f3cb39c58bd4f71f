"""Optional OpenTelemetry tracing: ``TRACING_PROVIDER=otel`` (Hydra's ``tracing.provider``)
with ``pip install 'authserver[otel]'``.

Each request is a span (named by its method and route pattern, with its status and
request id; a caller's W3C ``traceparent`` continues the caller's trace), and each SQL
statement a child span holding the statement's text with its placeholders, never its
parameters: no token, code or secret leaves in a span. Where spans go is OpenTelemetry's
standard configuration: ``OTEL_TRACES_EXPORTER`` (``otlp``, the default, ``console`` or
``none``), ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP
over HTTP), ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, ``OTEL_RESOURCE_ATTRIBUTES``; the
service is named by ``TRACING_SERVICE_NAME`` (default ``authserver``).

Off, the default, nothing of OpenTelemetry is imported: a request pays one ``is None``
check, a statement one more.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading

log = logging.getLogger(__name__)

_EXPORTERS = ("otlp", "console", "none")
_tracing: Tracing | None = None
_NOTHING = contextlib.nullcontext()


class TracingError(Exception):
    """Tracing was asked for but cannot run (the extra is not installed, a bad exporter)."""


def start(settings) -> None:
    """Begin tracing in this process if the settings ask for it (once per process: the
    span processor's thread belongs to the process that made it)."""
    global _tracing
    if settings.tracing_provider != "otel" or _tracing is not None:
        return
    _tracing = Tracing(settings.tracing_service_name)
    atexit.register(stop)


def current() -> Tracing | None:
    return _tracing


def statement(sql: str):
    """A span around one statement sent by ``storage.driver`` (a context manager)."""
    return _NOTHING if _tracing is None else _tracing.statement(sql)


def instrument(engine) -> None:
    """Spans for the statements SQLAlchemy sends on ``engine`` (those not sent by the
    driver itself)."""
    if _tracing is not None:
        _tracing.instrument(engine)


class Tracing:
    def __init__(self, service_name: str):
        try:
            from opentelemetry import context, propagate, trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            raise TracingError(
                "TRACING_PROVIDER=otel needs OpenTelemetry: pip install 'authserver[otel]'"
            ) from None
        self._context, self._propagate, self._trace = context, propagate, trace
        self._server_kind = trace.SpanKind.SERVER
        self._client_kind = trace.SpanKind.CLIENT
        self._error = trace.Status(trace.StatusCode.ERROR)
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        exporter = _exporter()
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
        self._provider = provider
        self._tracer = provider.get_tracer("authserver")
        self._open = threading.local()  # the statement span SQLAlchemy's events opened

    # -- requests ----------------------------------------------------------------------

    def begin_request(self, environ, api: str):
        """The request's span, made current (its statements become its children)."""
        carrier = {
            name: environ[key]
            for name, key in (
                ("traceparent", "HTTP_TRACEPARENT"),
                ("tracestate", "HTTP_TRACESTATE"),
            )
            if key in environ
        }
        parent = self._propagate.extract(carrier) if carrier else None
        method = environ.get("REQUEST_METHOD", "-")
        span = self._tracer.start_span(
            method,
            context=parent,
            kind=self._server_kind,
            attributes={"http.request.method": method, "authserver.api": api},
        )
        token = self._context.attach(self._trace.set_span_in_context(span, parent))
        return span, token, method

    def end_request(self, begun, route: str, status: int, request_id: str) -> None:
        span, token, method = begun
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("authserver.request_id", request_id)
        if status >= 500:
            span.set_status(self._error)
        span.end()
        self._context.detach(token)

    # -- statements ----------------------------------------------------------------------

    def _in_request(self) -> bool:
        """Statements are traced inside a request only (not the background work's polls,
        which would be a root span every second)."""
        return self._trace.get_current_span().get_span_context().is_valid

    def statement(self, sql: str):
        return self._statement(sql) if self._in_request() else _NOTHING

    @contextlib.contextmanager
    def _statement(self, sql: str):
        span = self._statement_span(sql)
        try:
            yield
        except BaseException:
            span.set_status(self._error)
            raise
        finally:
            span.end()

    def _statement_span(self, sql: str):
        verb = sql.split(None, 1)[0].upper() if sql.strip() else "SQL"
        return self._tracer.start_span(
            verb, kind=self._client_kind, attributes={"db.query.text": sql}
        )

    def instrument(self, engine) -> None:
        from sqlalchemy import event

        @event.listens_for(engine, "before_cursor_execute")
        def _before(_conn, _cursor, sql, _params, context, _many):
            # (the driver's own statements, without a context, have theirs already)
            if context is not None and self._in_request():
                self._open.span = self._statement_span(sql)

        @event.listens_for(engine, "after_cursor_execute")
        def _after(*_args):
            self._end_open(error=False)

        @event.listens_for(engine, "handle_error")
        def _failed(_context):
            self._end_open(error=True)

    def _end_open(self, error: bool) -> None:
        span = getattr(self._open, "span", None)
        if span is not None:
            self._open.span = None
            if error:
                span.set_status(self._error)
            span.end()

    def shutdown(self) -> None:
        self._provider.shutdown()  # sends what is still queued


def _exporter():
    """The exporter OTEL_TRACES_EXPORTER names (OpenTelemetry's own variable)."""
    name = (os.environ.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower()
    if name not in _EXPORTERS:
        raise TracingError(
            f"OTEL_TRACES_EXPORTER={name!r} is not supported: use {', '.join(_EXPORTERS)}"
        )
    if name == "none":
        return None
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise TracingError(
            "OTLP export needs its exporter: pip install 'authserver[otel]'"
        ) from None
    return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_* itself


def stop() -> None:
    """Flush the spans still queued (at a clean stop)."""
    if _tracing is not None:
        with contextlib.suppress(Exception):
            _tracing.shutdown()
