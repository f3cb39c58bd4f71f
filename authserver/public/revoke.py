"""``POST /oauth2/revoke`` (RFC 7009)."""

from __future__ import annotations

from flask import Blueprint, current_app

from authserver.web.bodies import require_form_post
from authserver.web.transaction import request_database

bp = Blueprint("revoke", __name__)


@bp.post("/oauth2/revoke")
def revoke():
    require_form_post()
    server = current_app.extensions["authorization_server"]
    return server.create_endpoint_response("revocation", request_database())
