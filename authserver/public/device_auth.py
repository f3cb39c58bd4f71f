"""``POST /oauth2/device/auth`` (RFC 8628 §3.1): the device authorization endpoint. The
work is ``oauth2.device_authorization``'s; this view only hands it the request."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.web.bodies import require_form_post
from authserver.web.transaction import request_database

bp = Blueprint("device_auth", __name__)

# Hydra accepts a repeated ``audience``, RFC 8707 a repeated ``resource``; every other
# parameter appears once.
_REPEATABLE = frozenset({"audience", "resource"})


@bp.post("/oauth2/device/auth")
def device_authorization():
    # A client authenticated by HTTP Basic that asks for no scope may send no body at all
    # (as Ory's SDK does: its oAuth2DeviceFlow has no request body).
    if request.mimetype or request.content_length or request.args:
        require_form_post(repeatable=_REPEATABLE)
    server = current_app.extensions["authorization_server"]
    return server.create_endpoint_response("device_authorization", request_database())
