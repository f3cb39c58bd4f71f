"""The request log: what the public endpoints received (method, path, parameters with
secrets masked, the client, the status), for a test to assert on what its app sent.

A WSGI layer outside everything else of the public app, so that it sees every request,
those the hot paths answer included. It reads a form body once and hands the same bytes
on; bodies are small (the public app refuses anything over 64 KiB)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidClientError

from authserver.harness.state import HarnessState
from authserver.oauth2.assertions import AssertionRefused, read_unverified
from authserver.oauth2.client_auth import decode_basic

# Parameters whose value is a secret or a credential: logged as "***".
SECRET_PARAMS = frozenset(
    {
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "access_token",
        "token",
        "device_code",
        "user_code",
        "password",
        "client_assertion",
        "assertion",
        "id_token_hint",
        "subject_token",
        "actor_token",
        "request_uri",  # a pushed request's reference (RFC 9126), a short-lived credential
        "login_verifier",
        "consent_verifier",
        "device_verifier",
        "logout_verifier",
    }
)
MASK = "***"
_LOGGED_BODY_BYTES = 64 * 1024
# The harness's own pages and the health checks are not what a test's app sent.
_NOT_LOGGED = ("/harness/", "/health/")


class RequestLog:
    def __init__(self, app, state: HarnessState, clock):
        self.app = app
        self.state = state
        self.clock = clock

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(_NOT_LOGGED):
            return self.app(environ, start_response)
        params = _query(environ) + _form(environ)
        entry = {
            "time": datetime.fromtimestamp(self.clock.time(), UTC).isoformat(),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": path.encode("latin-1", "replace").decode("utf-8", "replace"),
            "params": {name: MASK if name in SECRET_PARAMS else value for name, value in params},
            "client_id": _client_id(environ, dict(params)),
            "status": None,
        }

        def recording_start_response(status, headers, exc_info=None):
            entry["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, recording_start_response)
        finally:
            self.state.record(entry)


def _query(environ) -> list[tuple[str, str]]:
    raw = environ.get("QUERY_STRING", "").encode("latin-1", "replace").decode("utf-8", "replace")
    return parse_qsl(raw, keep_blank_values=True)


def _form(environ) -> list[tuple[str, str]]:
    """The form body's fields; the body is put back for the app to read."""
    content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return []
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return []
    if not 0 < length <= _LOGGED_BODY_BYTES:
        return []
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _client_id(environ, params: dict[str, str]) -> str | None:
    """The client the request names: HTTP Basic's user (RFC 6749 §2.3.1), a client
    assertion's issuer (RFC 7523 §3, read unverified: the log records, it does not
    authenticate), else client_id."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.strip().lower().startswith("basic "):
        try:
            return decode_basic(header)[0]
        except InvalidClientError:
            return None  # not Basic, or malformed: the token endpoint says so itself
    if params.get("client_assertion"):
        try:
            return read_unverified(params["client_assertion"]).claim("iss")
        except AssertionRefused:
            return None
    return params.get("client_id") or None
