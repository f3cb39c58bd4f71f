"""``POST /oauth2/par`` (RFC 9126 §2): the pushed authorization request endpoint. The work
is ``oauth2.pushed_authorization``'s; this view only hands it the request."""

from __future__ import annotations

from flask import Blueprint, current_app

from authserver.web.bodies import require_form_post
from authserver.web.transaction import request_database

bp = Blueprint("par", __name__)

# An authorization request may repeat these (Hydra's audience, RFC 8707's resource).
_REPEATABLE = frozenset({"audience", "resource"})


@bp.post("/oauth2/par")
def pushed_authorization_request():
    require_form_post(repeatable=_REPEATABLE)
    server = current_app.extensions["authorization_server"]
    return server.create_endpoint_response("pushed_authorization_request", request_database())
