"""``POST /admin/oauth2/introspect`` (RFC 7662). No client authentication: the admin port
is trusted, as in Hydra. Anything not an active token is ``{"active": false}``."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from authserver.domain.access_tokens import (
    INACTIVE,
    introspection_response,
    refresh_token_introspection,
)
from authserver.domain.tokens import TokenKind
from authserver.storage.grants import RefreshTokenRepository
from authserver.web.bodies import require_form_post
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session, independent_reads

bp = Blueprint("introspect", __name__)


@bp.post("/oauth2/introspect")
@independent_reads
def introspect():
    require_form_post()
    token = request.form.get("token", "")
    if not token:
        raise ApiError("invalid_request", "The 'token' parameter is missing.", 400)
    services = current_app.extensions["authserver"]
    required_scope = request.form.get("scope")
    now = int(time.time())
    if TokenKind.of(token) is TokenKind.REFRESH_TOKEN:
        digest = services.codec.verify(token, TokenKind.REFRESH_TOKEN)
        refresh = RefreshTokenRepository(db_session()).find(digest) if digest else None
        if (
            refresh is None
            or not refresh.active
            or refresh.is_expired(now)
            or not set((required_scope or "").split()) <= set(refresh.session.scope)
        ):
            return jsonify(INACTIVE)
        return jsonify(refresh_token_introspection(refresh, services.settings.issuer))
    record = services.access_tokens.lookup(db_session(), token)
    if record is None or not record.is_active(now) or not record.covers_scopes(required_scope):
        return jsonify(INACTIVE)
    return jsonify(introspection_response(record, services.settings.issuer))
