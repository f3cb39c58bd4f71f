"""The edge: values that no identifier, parameter or log line may hold are refused here,
before a view, a hot path or the database sees them.

PostgreSQL refuses NUL in text (a driver error, once a 500), SQLite stores it, and a
control character in the path forges log lines. So every request's path, query string
and form body must be valid UTF-8 without NUL, and the path also without any other control
character. JSON bodies are checked where they are read (``web.bodies.read_json``), HTTP
Basic credentials where they are decoded (``oauth2.client_auth``).
"""

from __future__ import annotations

import io
import re
from urllib.parse import unquote_to_bytes

from authserver.web.errors import wsgi_error_response

_FORM_TYPE = "application/x-www-form-urlencoded"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_problem(environ) -> str | None:
    try:
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except UnicodeError:
        return "The URL path is not valid UTF-8."
    if _CONTROL.search(path):
        return "The URL path contains a control character."
    return None


def urlencoded_problem(raw: bytes, where: str) -> str | None:
    """NUL or invalid UTF-8 in any name or value of a form-encoded string."""
    if raw.isascii() and b"%" not in raw and b"\x00" not in raw:
        return None  # the usual case, decided without decoding
    for pair in raw.split(b"&"):
        for part in pair.split(b"=", 1):
            decoded = unquote_to_bytes(part.replace(b"+", b" "))
            if b"\x00" in decoded:
                return f"The {where} contains a NUL character."
            try:
                decoded.decode("utf-8")
            except UnicodeDecodeError:
                return f"The {where} is not valid UTF-8."
    return None


def body_problem(environ, max_body_bytes: int) -> str | None:
    """Check a form body the app would parse; leave it readable again for the app."""
    mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    length = environ.get("CONTENT_LENGTH", "")
    if mimetype != _FORM_TYPE or not length.isdigit() or int(length) > max_body_bytes:
        return None  # not a form, or the app refuses it anyway (413)
    raw = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(raw)
    return urlencoded_problem(raw, "request body")


class InputGuard:
    """WSGI middleware in front of an app (and its hot paths): a 400 JSON error for a
    request whose path, query or form body could not be a valid one."""

    def __init__(self, app, max_body_bytes: int):
        self._app = app
        self._max_body_bytes = max_body_bytes

    def __call__(self, environ, start_response):
        problem = (
            path_problem(environ)
            or urlencoded_problem(
                environ.get("QUERY_STRING", "").encode("latin-1", "replace"), "query string"
            )
            or body_problem(environ, self._max_body_bytes)
        )
        if problem is None:
            return self._app(environ, start_response)
        return wsgi_error_response(environ, start_response, 400, "invalid_request", problem)
