"""What the public and the admin app have in common: request ids, access logs, limits on
request size, one transaction per request, and one error renderer."""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask, g, request

from authserver.web.errors import register_error_handlers
from authserver.web.logs import log_access, request_id_for, request_id_var
from authserver.web.transaction import init_transactions

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
    _init_request_ids(app)
    init_transactions(app)
    register_error_handlers(app)
    return app


def _init_request_ids(app: Flask) -> None:
    @app.before_request
    def _start():
        g.request_id = request_id_for(request.headers.get("X-Request-Id"))
        g._request_id_token = request_id_var.set(g.request_id)
        g._started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        elapsed = (time.perf_counter() - g.get("_started", time.perf_counter())) * 1000
        log_access(request.method, request.path, response.status_code, elapsed, request.remote_addr)
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("_request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
