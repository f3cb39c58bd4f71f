"""``POST /admin/oauth2/introspect`` (RFC 7662). No client authentication: the admin port
is trusted, as in Hydra. Anything not an active token is ``{"active": false}``."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from authserver.domain.access_tokens import INACTIVE, introspection_response
from authserver.web.bodies import require_form_post
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session, read_only

bp = Blueprint("introspect", __name__)


@bp.post("/oauth2/introspect")
@read_only
def introspect():
    require_form_post()
    token = request.form.get("token", "")
    if not token:
        raise ApiError("invalid_request", "The 'token' parameter is missing.", 400)
    services = current_app.extensions["authserver"]
    record = services.access_tokens.lookup(db_session(), token)
    if (
        record is None
        or not record.is_active(int(time.time()))
        or not record.covers_scopes(request.form.get("scope"))
    ):
        return jsonify(INACTIVE)
    return jsonify(introspection_response(record, services.settings.issuer))
