"""``POST /admin/oauth2/introspect`` (RFC 7662). No client authentication: the admin port
is trusted, as in Hydra. Anything not an active token is ``{"active": false}``.

Well-formed requests are served by the hot path (``web.hotpath``, no Flask); the Flask
view answers the rest (and the errors) with the same ``introspect`` function.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from authserver.domain.access_tokens import (
    INACTIVE,
    introspection_response,
    refresh_token_introspection,
)
from authserver.domain.tokens import TokenKind
from authserver.metrics import metrics
from authserver.storage.grants import RefreshTokenRepository
from authserver.web.bodies import require_form_post
from authserver.web.errors import ApiError, compact_json
from authserver.web.hotpath import HotRequest, HotResponse, HotRoute
from authserver.web.transaction import db_session, independent_reads

bp = Blueprint("introspect", __name__)


@bp.post("/oauth2/introspect")
@independent_reads
def introspect_view():
    require_form_post()
    token = request.form.get("token", "")
    if not token:
        raise ApiError("invalid_request", "The 'token' parameter is missing.", 400)
    services = current_app.extensions["authserver"]
    answer = introspect(services, db_session(), token, request.form.get("scope"))
    # The hot path's bytes exactly (no trailing newline), so both ways in answer alike.
    return Response(compact_json(answer), mimetype="application/json")


def introspect(services, session, token: str, required_scope: str | None) -> dict:
    """The RFC 7662 response for ``token``; reads at most one row."""
    answer = _introspection(services, session, token, required_scope)
    metrics().introspected(answer is not INACTIVE)
    return answer


def _introspection(services, session, token: str, required_scope: str | None) -> dict:
    now = services.clock.now()
    if TokenKind.of(token) is TokenKind.REFRESH_TOKEN:
        digest = services.codec.verify(token, TokenKind.REFRESH_TOKEN)
        refresh = RefreshTokenRepository(session).find(digest) if digest else None
        if (
            refresh is None
            or not refresh.active
            or refresh.is_expired(now)
            or not set((required_scope or "").split()) <= set(refresh.session.scope)
        ):
            return INACTIVE
        return refresh_token_introspection(refresh, services.settings.issuer)
    record = services.access_tokens.lookup(session, token)
    if record is None or not record.is_active(now) or not record.covers_scopes(required_scope):
        return INACTIVE
    return introspection_response(record, services.settings.issuer)


def hot_route(services) -> HotRoute:
    def introspect_token(hot: HotRequest) -> HotResponse | None:
        token = hot.form.get("token", "")
        if not token:
            return None  # the view explains what is missing
        body = introspect(services, hot.db.get(), token, hot.form.get("scope"))
        return HotResponse(200, body)

    return HotRoute(introspect_token)
