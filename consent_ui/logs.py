"""A request id for every request: in the ``X-Request-Id`` header, on error pages and on
every log line, so a user's screenshot leads straight to the logs.

Log lines never carry a password, and never a query string (it holds the challenges).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("consent_ui.access")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "consent_ui_request_id", default="-"
)


class RequestIdFilter(logging.Filter):
    """Adds ``%(request_id)s`` to every record, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "info") -> None:
    """Log to stderr as ``time LEVEL [request id] logger: message`` (used by the CLI)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.getLevelNamesMapping().get(level.upper(), logging.INFO))
    # urllib3 logs full URLs at debug level, and ours carry the challenges.
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def request_id() -> str:
    return g.get("request_id", "-")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_forget)


def _start() -> None:
    g.request_id = uuid.uuid4().hex
    g.started = time.monotonic()
    request_id_var.set(g.request_id)


def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = request_id()
    elapsed = (time.monotonic() - g.get("started", time.monotonic())) * 1000
    log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, elapsed)
    return response


def _forget(_exc: BaseException | None) -> None:
    request_id_var.set("-")
