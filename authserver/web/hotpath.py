"""Hot paths: the client-credentials token and introspection endpoints without Flask.

Profiles (issue #6) showed Flask's per-request machinery (request and app contexts,
context-local proxies, before/after hooks, the response object) costing more CPU on these
two endpoints than the work itself; the same request served by Authlib's
framework-independent server costs less than half. So this WSGI middleware, in front of
the Flask app, serves them directly.

It only takes the plain, well-formed case: a POST with a form body within the size limit,
no query string, no repeated parameter (except those an endpoint allows), UTF-8, over an
acceptable transport, and that the endpoint's handler accepts (the client-credentials
grant; introspection with a token). Anything else goes to the Flask app unchanged, so
every request error except the protocol's own (Authlib's) has one renderer. The request
id and the access line come from the envelope around both (``web.envelope``); an
exception is answered by the same ``parts_for`` as in Flask; the handler receives the
request's database handle (a plain autocommit connection, opened on first use).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from authserver.storage.handles import SessionHandle
from authserver.web.bodies import FORM_TYPE
from authserver.web.envelope import REQUEST_ID_KEY, ROUTE_KEY
from authserver.web.errors import compact_json, parts_for, status_line
from authserver.web.transport import TransportPolicy

log = logging.getLogger(__name__)

MAX_FORM_FIELDS = 200


@dataclass
class HotRequest:
    environ: dict
    form: dict[str, str]  # the first value of each parameter
    form_lists: dict[str, list[str]]  # every value
    db: SessionHandle | None = None  # set by HotPaths before the handler runs


@dataclass
class HotResponse:
    status: int
    body: dict
    headers: list[tuple[str, str]] = field(default_factory=list)


# A handler returns None to decline (before touching the database): Flask serves it.
Handler = Callable[[HotRequest], HotResponse | None]


@dataclass(frozen=True)
class HotRoute:
    handler: Handler
    repeatable: frozenset[str] = frozenset()
    writes: bool = False  # SQLite: writers queue for the database's one write lock


class HotPaths:
    def __init__(
        self,
        app,
        database,
        routes: dict[str, HotRoute],
        max_body_bytes: int,
        transport: TransportPolicy | None = None,
    ):
        self._app = app
        self._database = database
        self._routes = routes
        self._max_body_bytes = max_body_bytes
        self._transport = transport

    def __call__(self, environ, start_response):
        route = self._routes.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") != "POST":
            return self._app(environ, start_response)
        request = self._parse(environ, route.repeatable)
        if request is None:
            return self._app(environ, start_response)
        request.db = SessionHandle(self._database, write=route.writes, autocommit=True)
        try:
            response = self._handle(route.handler, request)
        finally:
            request.db.close()
        if response is None:
            return self._app(environ, start_response)
        environ[ROUTE_KEY] = environ["PATH_INFO"]  # a route's fixed path
        body = compact_json(response.body)
        headers = list(response.headers)  # Authlib's responses carry a Content-Type
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers.append(("Content-Type", "application/json"))
        headers.append(("Content-Length", str(len(body))))
        start_response(status_line(response.status), headers)
        return [body]

    def _parse(self, environ, repeatable: frozenset[str]) -> HotRequest | None:
        """The form, if this request is the plain case; None sends it to Flask."""
        if environ.get("QUERY_STRING") or environ.get("HTTP_TRANSFER_ENCODING"):
            return None
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        length = environ.get("CONTENT_LENGTH", "")
        if mimetype != FORM_TYPE or not length.isdigit():
            return None
        size = int(length)
        if not 0 < size <= self._max_body_bytes:
            return None
        if self._transport is not None and not self._transport.is_secure(environ):
            return None
        raw = environ["wsgi.input"].read(size)
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask can read it again if we decline
        if len(raw) != size:
            return None
        try:
            pairs = parse_qsl(
                raw.decode("ascii"),
                keep_blank_values=True,
                strict_parsing=False,
                encoding="utf-8",
                errors="strict",
                max_num_fields=MAX_FORM_FIELDS,
            )
        except (UnicodeDecodeError, ValueError):
            return None
        first: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        for key, value in pairs:
            if key in first:
                if key not in repeatable:
                    return None  # Flask answers invalid_request
                lists[key].append(value)
            else:
                first[key] = value
                lists[key] = [value]
        return HotRequest(environ, first, lists)

    @staticmethod
    def _handle(handler: Handler, request: HotRequest) -> HotResponse | None:
        try:
            return handler(request)
        except Exception as exc:  # noqa: BLE001 (mapped like the Flask apps' errors)
            parts = parts_for(exc, request.environ.get(REQUEST_ID_KEY, "-"))
            headers = [("Content-Type", "application/json"), *parts.headers.items()]
            return HotResponse(parts.status, parts.body, headers)
