"""Logging: a request id on every line, text or JSON, and no token, code or secret values.

Views never log request parameters. As a second line of defence a filter masks anything
shaped like one of our tokens or a JWT before a record is written, whatever logged it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("authserver.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def request_id_for(incoming: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is a sane token, else a new one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str, limit: int = 2048) -> str:
    """``text`` with control characters escaped (``\\x0d``) and cut to ``limit``: a value
    from a request must never start a new log line of its own."""
    text = text[:limit]
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def log_access_as(
    request_id: str, method: str, path: str, status: int, elapsed_ms: float, remote_addr
) -> None:
    """``log_access`` for a response made outside a request's context (the edge guard,
    the HTTP server's own errors): the line carries ``request_id`` all the same."""
    token = request_id_var.set(request_id)
    try:
        log_access(method, path, status, elapsed_ms, remote_addr)
    finally:
        request_id_var.reset(token)


def log_access(method: str, path: str, status: int, elapsed_ms: float, remote_addr) -> None:
    """One line per request: the path only (query strings can carry challenges and codes)."""
    if access_log.isEnabledFor(logging.INFO):
        method, path = printable(method, 32), printable(path)
        access_log.info(
            "%s %s %s %.1fms",
            method,
            path,
            status,
            elapsed_ms,
            extra={
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(elapsed_ms, 1),
                "remote_addr": remote_addr,
            },
        )


_SECRET_SHAPES = re.compile(
    r"ory_(?:at|rt|ac)_[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)?"  # our opaque tokens
    r"|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"  # JWTs
    r"|(?<![A-Za-z0-9_])(?:client_secret|password|code|refresh_token|access_token|token"
    r"|client_assertion|assertion|registration_access_token|subject_token|actor_token"
    r"|request_uri)"
    r"=[^&\s'\"]+"
)
_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}


def redact(text: str) -> str:
    return _SECRET_SHAPES.sub(_mask, text)


def _mask(match: re.Match) -> str:
    value = match.group(0)
    if "=" in value and not value.startswith(("ory_", "eyJ")):
        return value.split("=", 1)[0] + "=[redacted]"
    return value[:7] + "[redacted]"


class _RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("method", "path", "status", "duration_ms", "remote_addr"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


class _TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def formatException(self, ei) -> str:  # noqa: N802 (logging API name)
        return redact(super().formatException(ei))


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    """Configure the root logger once for the process (called by the CLI, never on import)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestContextFilter())
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # waitress logs "Serving on ..." at INFO; keep it. Its task warnings stay at WARNING.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # Alembic narrates every schema-version check at INFO; `migrate sql` prints its own summary.
    logging.getLogger("alembic").setLevel(logging.WARNING)
