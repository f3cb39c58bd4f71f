"""One error renderer for both apps: RFC 6749 §5.2 JSON with ``Cache-Control: no-store``.

Every client mistake is a 4xx with an ``error`` code and a human ``error_description``;
anything unexpected becomes a generic ``server_error`` with the request id and no internals.
"""

from __future__ import annotations

import json as stdlib_json
import logging
import traceback
from dataclasses import dataclass
from http import HTTPStatus

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

from authserver.domain.text import COMPACT_SEPARATORS, safe_description
from authserver.metrics import metrics
from authserver.repeats import RepeatedLog
from authserver.storage.database import is_unavailable

log = logging.getLogger(__name__)
_repeated = RepeatedLog(log)
RETRY_AFTER_SECONDS = "1"

NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}

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


def error_body(error: str, description: str, hint: str | None = None) -> dict:
    body = {"error": error, "error_description": safe_description(description)}
    if hint:
        body["error_hint"] = safe_description(hint)
    return body


def compact_json(document) -> bytes:
    """The one JSON encoding of answers built outside Flask's ``jsonify`` (the hot paths,
    the WSGI layers, the views they share): no spaces, no trailing newline."""
    return stdlib_json.dumps(document, separators=COMPACT_SEPARATORS).encode()


def error_json(error: str, description: str) -> bytes:
    """The compact JSON of an error, for answers made without Flask."""
    return compact_json(error_body(error, description))


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def wsgi_error_response(
    environ,
    start_response,
    status: int,
    error: str,
    description: str,
    headers: dict[str, str] | None = None,
) -> list[bytes]:
    """The JSON error, for the layers in front of Flask (the edge guard)."""
    parts = ErrorParts(
        status, error_body(error, description), {**NO_STORE_HEADERS, **(headers or {})}
    )
    return wsgi_parts_response(environ, start_response, parts)


def wsgi_parts_response(environ, start_response, parts: ErrorParts) -> list[bytes]:
    """``parts`` as a WSGI answer, byte for byte what the Flask apps send for them."""
    body = compact_json(parts.body)
    response_headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *parts.headers.items(),
    ]
    start_response(status_line(parts.status), response_headers)
    # A HEAD answer has the GET answer's headers and no body (RFC 9110 §9.3.2); bytes
    # after it would be read by a keep-alive client as the start of the next answer.
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def error_response(
    error: str,
    description: str,
    status: int,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = error_body(error, description, hint)
    response = Response(
        compact_json(body), status=status, mimetype="application/json", headers=NO_STORE_HEADERS
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@dataclass(frozen=True)
class ErrorParts:
    status: int
    body: dict
    headers: dict[str, str]


def parts_for(exc: BaseException, request_id: str) -> ErrorParts:
    """The one mapping from an exception to an answer, for every way a request comes in
    (the Flask apps and the hot paths): a client error as raised, the database unable to
    serve as 503 with Retry-After, anything else as a 500 that shows no internals."""
    if isinstance(exc, ApiError):
        body = error_body(exc.error, exc.description, exc.hint)
        return ErrorParts(exc.status, body, {**NO_STORE_HEADERS, **exc.headers})
    if is_unavailable(exc):
        # A lost connection (failover, restart), a timeout, no free connection: nothing
        # the client did wrong, and a retry may well succeed. SQLAlchemy has already
        # dropped a dead connection from the pool.
        reason = getattr(exc, "orig", None) or exc
        metrics().database_error(reason.__class__.__name__)
        _repeated.log(
            logging.WARNING,
            f"unavailable:{reason.__class__.__name__}",
            "database unavailable: %s",
            reason.__class__.__name__,
        )
        body = error_body(
            "temporarily_unavailable", "The database is busy or unreachable; please retry."
        )
        return ErrorParts(503, body, {**NO_STORE_HEADERS, "Retry-After": RETRY_AFTER_SECONDS})
    _repeated.log(
        logging.ERROR,
        f"unhandled:{_origin(exc)}",
        "unhandled error while serving request",
        exc_info=exc,
    )
    description = (
        f"The server encountered an internal error. Quote request id {request_id} when "
        "reporting it."
    )
    return ErrorParts(500, error_body("server_error", description), dict(NO_STORE_HEADERS))


def _origin(exc: BaseException) -> str:
    """Where an exception was raised: repeats of one bug are logged once per interval."""
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
    return f"{exc.__class__.__name__}@{place}"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        g._rollback_only = True
        status = exc.code or 500
        if status >= 500:
            return render_exception(exc)
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

    @app.errorhandler(Exception)
    def _exception(exc: Exception):
        return render_exception(exc)


def render_exception(exc: BaseException) -> Response:
    g._rollback_only = True
    parts = parts_for(exc, g.get("request_id", ""))
    return Response(
        compact_json(parts.body),
        status=parts.status,
        mimetype="application/json",
        headers=parts.headers,
    )
