"""A request id for every request: in the ``X-Request-Id`` header, on error pages and on
every log line, so a user's screenshot leads straight to the logs.

Log lines never carry a password, and never a query string (it holds the challenges). A
log line is one line: control characters from a request (CR and LF in a path could forge a
whole line) are written as backslash escapes, ``\\r\\n``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("consent_ui.access")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "consent_ui_request_id", default="-"
)


# C0 and C1 controls, DEL, the Unicode line and paragraph separators, lone surrogates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")  # and backslash


def printable(value: object) -> str:
    """``value`` for a log line: backslash and control characters as Python escapes, so what
    a client sent can neither break the line nor be mistaken for an escape we wrote."""
    return _UNSAFE.sub(_escape, str(value))


def _escape(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class EscapeControlCharacters(logging.Filter):
    """The safety net for messages that did not go through ``printable`` (e.g. an error
    text that quotes the request): their control characters are escaped too."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _CONTROL.search(message):
            record.msg, record.args = _CONTROL.sub(_escape, message), None
        return True


class RequestIdFilter(logging.Filter):
    """Adds ``%(request_id)s`` to every record, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "info", stream=None) -> None:
    """Log to stderr as ``time LEVEL [request id] logger: message`` (used by the CLI)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(EscapeControlCharacters())
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
    method, path = printable(request.method), printable(request.path)
    log.info("%s %s %s %.0fms", method, path, response.status_code, elapsed)
    return response


def _forget(_exc: BaseException | None) -> None:
    request_id_var.set("-")
