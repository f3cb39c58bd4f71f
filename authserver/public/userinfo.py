"""``GET|POST /userinfo`` (OIDC Core §5.3): the claims about the user that the consent app
put into ``session.id_token``, for an access token that was granted ``openid``.

Errors follow RFC 6750 §3: ``invalid_token`` (401) with a ``WWW-Authenticate: Bearer``
challenge, ``insufficient_scope`` (403), ``invalid_request`` (400).
"""

from __future__ import annotations

from authlib.oauth2.base import OAuth2Error
from flask import Blueprint, current_app, jsonify, request

from authserver.oauth2.token_sets import client_subject
from authserver.storage.flows import FlowRepository
from authserver.web.bodies import FORM_TYPE
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session, read_only

bp = Blueprint("userinfo", __name__)


def _bearer_error(error: str, description: str, status: int) -> ApiError:
    challenge = f'Bearer error="{error}", error_description="{description}"'
    return ApiError(error, description, status, headers={"WWW-Authenticate": challenge})


def _presented_token() -> str:
    header = request.headers.get("Authorization", "")
    from_body = request.form.get("access_token", "") if request.mimetype == FORM_TYPE else ""
    if header and from_body:
        raise _bearer_error("invalid_request", "Send the token in one place only.", 400)
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _bearer_error("invalid_request", "Use the Bearer authentication scheme.", 400)
        return token.strip()
    if from_body:
        return from_body
    raise ApiError(
        "invalid_request",
        "No access token was sent.",
        401,
        headers={"WWW-Authenticate": 'Bearer realm="userinfo"'},
    )


@bp.route("/userinfo", methods=["GET", "POST"])
@read_only
def userinfo():
    services = current_app.extensions["authserver"]
    token = _presented_token()
    record = services.access_tokens.lookup(db_session(), token)
    if record is None or not record.is_active(services.clock.now()):
        raise _bearer_error("invalid_token", "The access token is not active.", 401)
    if "openid" not in record.scope.split():
        raise _bearer_error(
            "insufficient_scope", "The access token was not granted the openid scope.", 403
        )
    flow = FlowRepository(db_session()).get(record.request_id)
    claims = ((flow.consent or {}).get("session") or {}).get("id_token") or {} if flow else {}
    return jsonify({**claims, "sub": _client_sub(services, record)})


def _client_sub(services, record) -> str:
    """The ``sub`` of the client's ID token (OIDC Core §5.3.2): a JWT access token already
    carries it; an opaque one keeps the real subject, mapped here (``oauth2.token_sets``)."""
    if record.format == "jwt":
        return record.subject
    stored = services.clients.find(db_session(), record.client_id)
    if stored is None:
        raise _bearer_error("invalid_token", "The access token's client no longer exists.", 401)
    try:
        return client_subject(services.settings, stored.client, record.subject)
    except OAuth2Error:
        raise _bearer_error(
            "invalid_token", "The client's subject identifiers can no longer be issued.", 401
        ) from None
