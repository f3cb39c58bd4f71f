"""One error renderer for both apps: RFC 6749 §5.2 JSON with ``Cache-Control: no-store``.

Every client mistake is a 4xx with an ``error`` code and a human ``error_description``;
anything unexpected becomes a generic ``server_error`` with the request id and no internals.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, g, json
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_FORBIDDEN_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")

_HTTP_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    411: "invalid_request",
    413: "invalid_request",
    414: "invalid_request",
    415: "invalid_request",
    431: "invalid_request",
}


class ApiError(Exception):
    """A client error the views raise; rendered as RFC 6749-style JSON."""

    def __init__(
        self,
        error: str,
        description: str,
        status: int = 400,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.hint = hint
        self.headers = headers or {}


def safe_description(text: str, limit: int = 500) -> str:
    """Make text that may contain user input fit RFC 6749's error_description alphabet."""
    cleaned = _FORBIDDEN_IN_DESCRIPTION.sub("?", text.replace('"', "'").replace("\\", "/"))
    return cleaned[:limit]


def error_response(
    error: str,
    description: str,
    status: int,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": error, "error_description": safe_description(description)}
    if hint:
        body["error_hint"] = safe_description(hint)
    response = Response(
        json.dumps(body), status=status, mimetype="application/json", headers=NO_STORE_HEADERS
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        g._rollback_only = True
        return error_response(exc.error, exc.description, exc.status, exc.hint, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        g._rollback_only = True
        status = exc.code or 500
        if status >= 500:
            return _server_error(exc)
        description = exc.description or exc.name
        if status == 404:
            description = "The requested resource could not be found."
        elif status == 405:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            description = f"The method is not allowed for this resource (allowed: {allowed})."
        elif status == 413:
            description = "The request body is too large."
        response = error_response(
            _HTTP_ERROR_CODES.get(status, "invalid_request"), description, status
        )
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(OperationalError)
    def _database_unavailable(exc: OperationalError):
        # A lost connection (failover, restart) or SQLite's lock timeout: nothing the
        # client did wrong, and a retry may well succeed. SQLAlchemy has already dropped a
        # dead connection from the pool.
        g._rollback_only = True
        log.warning("database unavailable: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        response = error_response(
            "temporarily_unavailable", "The database is busy or unreachable; please retry.", 503
        )
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        return _server_error(exc)


def _server_error(exc: BaseException) -> Response:
    g._rollback_only = True
    log.error("unhandled error while serving request", exc_info=exc)
    request_id = g.get("request_id", "")
    return error_response(
        "server_error",
        "The server encountered an internal error. Quote request id "
        f"{request_id} when reporting it.",
        500,
    )
