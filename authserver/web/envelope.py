"""The one way in: what every request to the public or admin app passes through first.

Whichever layer answers (the edge guard, a hot path, a Flask view, an error handler), the
request gets its id here (``X-Request-Id``, on the response and on every log line while
it is served), its one access log line here, and, for an exception no layer inside
handled, the same JSON answer ``web.errors.parts_for`` gives everywhere else. A layer
added inside (a check, a hot path, a hook) cannot skip any of it.
"""

from __future__ import annotations

import logging
import time

from authserver import tracing
from authserver.metrics import UNMATCHED, metrics
from authserver.web.errors import parts_for, wsgi_parts_response
from authserver.web.logs import log_access, request_id_for, request_id_var

log = logging.getLogger(__name__)

# The request id, for the layers inside (Flask's ``g.request_id`` is read from here).
REQUEST_ID_KEY = "authserver.request_id"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# The route a request matched, for the metrics' bounded label: set by the layer that
# answers (a hot path, or Flask from its URL rule).
ROUTE_KEY = "authserver.route"


class RequestEnvelope:
    def __init__(self, app, api: str):
        self._app = app
        self._api = api  # "public" or "admin", the metrics' label
        self._metrics = metrics()
        self._tracing = tracing.current()  # None unless TRACING_PROVIDER=otel

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        token = request_id_var.set(request_id)
        status: list[str] = []
        span = self._tracing.begin_request(environ, self._api) if self._tracing else None

        def start(status_line: str, headers: list, exc_info=None):
            headers.append(("X-Request-Id", request_id))
            status[:] = [status_line]
            return start_response(status_line, headers, exc_info)

        try:
            try:
                body = self._app(environ, start)
            except Exception as exc:  # noqa: BLE001 (the last layer: mapped like the rest)
                if status:
                    raise  # the answer has begun: the server can only drop the connection
                body = wsgi_parts_response(environ, start, parts_for(exc, request_id))
            code = int(status[0][:3]) if status else 500
            seconds = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "-")
            log_access(method, _path(environ), code, seconds * 1000, environ.get("REMOTE_ADDR"))
            route = environ.get(ROUTE_KEY, UNMATCHED)
            self._metrics.request(
                self._api, route, method if method in _METHODS else "other", code, seconds
            )
            if span is not None:
                self._tracing.end_request(span, route, code, request_id)
                span = None
            return body
        finally:
            if span is not None:  # the answer failed after it had begun
                self._tracing.end_request(span, environ.get(ROUTE_KEY, UNMATCHED), 500, request_id)
            request_id_var.reset(token)


def _path(environ) -> str:
    """The path as the client wrote it (WSGI hands it over as latin-1 decoded bytes)."""
    path = environ.get("PATH_INFO", "")
    try:
        return path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return path
