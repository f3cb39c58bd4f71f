"""What the public and the admin app have in common: the layers in front of Flask (the
request envelope, the edge guard, the hot paths), limits on request size, one
transaction per request, and one error renderer."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request

from authserver.web.envelope import REQUEST_ID_KEY, ROUTE_KEY, RequestEnvelope
from authserver.web.errors import register_error_handlers
from authserver.web.guard import InputGuard
from authserver.web.hotpath import HotPaths, HotRoute
from authserver.web.transaction import init_transactions
from authserver.web.transport import TransportPolicy

TEMPLATES = str(Path(__file__).resolve().parent.parent / "templates")


def create_base_app(import_name: str, services, max_body_bytes: int) -> Flask:
    app = Flask(import_name, template_folder=TEMPLATES, static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=max_body_bytes,
        MAX_FORM_MEMORY_SIZE=max_body_bytes,
        MAX_FORM_PARTS=200,
    )
    app.json.sort_keys = False
    app.json.compact = True
    app.url_map.strict_slashes = False
    app.extensions["authserver"] = services
    app.before_request(_take_request_id)
    init_transactions(app)
    register_error_handlers(app)
    return app


def _take_request_id() -> None:
    g.request_id = request.environ[REQUEST_ID_KEY]
    if request.url_rule is not None:
        request.environ[ROUTE_KEY] = request.url_rule.rule


def install_ways_in(
    app: Flask,
    api: str,
    database,
    hot_routes: dict[str, HotRoute],
    max_body_bytes: int,
    transport: TransportPolicy | None = None,
    hot_paths: bool = True,
    cors=None,
) -> Flask:
    """Put the layers in front of the Flask app, outermost first: the request envelope
    (request id, access line, last-resort errors: ``web.envelope``), CORS when enabled
    (``cors``, from ``web.cors``: on every answer inside, and preflights), the edge guard
    (``web.guard``), the hot paths (``web.hotpath``; ``hot_paths=False`` leaves them out,
    so that every request reaches Flask: the parity test compares the two)."""
    if hot_paths:
        app.wsgi_app = HotPaths(app.wsgi_app, database, hot_routes, max_body_bytes, transport)
    app.wsgi_app = InputGuard(app.wsgi_app, max_body_bytes)
    if cors is not None:
        app.wsgi_app = cors(app.wsgi_app)
    app.wsgi_app = RequestEnvelope(app.wsgi_app, api)
    return app
