"""``POST /oauth2/token`` (RFC 6749 §3.2): the grants themselves live in ``authserver.oauth2``."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.web.bodies import require_form_post
from authserver.web.errors import ApiError

bp = Blueprint("token", __name__)

# Hydra accepts a repeated ``audience`` parameter; every other parameter appears once.
_REPEATABLE = frozenset({"audience"})


@bp.post("/oauth2/token")
def token():
    require_form_post(repeatable=_REPEATABLE)
    if not request.form.get("grant_type"):
        raise ApiError("invalid_request", "The 'grant_type' parameter is missing.", 400)
    return current_app.extensions["authorization_server"].create_token_response()
