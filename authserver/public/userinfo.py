"""``GET|POST /userinfo`` (OIDC Core §5.3): the claims about the user that the consent app
put into ``session.id_token``, for an access token that was granted ``openid``.

Errors follow RFC 6750 §3: ``invalid_token`` (401) with a ``WWW-Authenticate``
challenge, ``insufficient_scope`` (403), ``invalid_request`` (400).

A DPoP-bound token (RFC 9449 §7) is accepted only as ``Authorization: DPoP <token>``
with a ``DPoP`` proof of its key made for this request and this token (``ath``); sent as
Bearer (or in the body) it is refused, and a Bearer token is not accepted with the DPoP
scheme. Proof errors are ``invalid_dpop_proof`` or ``use_dpop_nonce`` (with a
``DPoP-Nonce``) in a ``DPoP`` challenge.
"""

from __future__ import annotations

from authlib.oauth2.base import OAuth2Error
from flask import Blueprint, current_app, jsonify, request

from authserver.oauth2.dpop import DPOP_ALGORITHMS, DpopError
from authserver.oauth2.token_sets import client_subject
from authserver.storage.flows import FlowRepository
from authserver.web.bodies import FORM_TYPE
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session, read_only, will_write

bp = Blueprint("userinfo", __name__)

PATH = "/userinfo"
_DPOP_ALGS = f'algs="{" ".join(DPOP_ALGORITHMS)}"'


def _error(
    error: str, description: str, status: int, scheme: str = "Bearer", nonce: str | None = None
) -> ApiError:
    challenge = f'{scheme} error="{error}", error_description="{description}"'
    if scheme == "DPoP":
        challenge += f", {_DPOP_ALGS}"
    headers = {"WWW-Authenticate": challenge}
    if nonce:
        headers["DPoP-Nonce"] = nonce
    return ApiError(error, description, status, headers=headers)


def _presented_token() -> tuple[str, str]:
    """The token and how it came: ``bearer`` (header or body) or ``dpop``."""
    header = request.headers.get("Authorization", "")
    from_body = request.form.get("access_token", "") if request.mimetype == FORM_TYPE else ""
    if header and from_body:
        raise _error("invalid_request", "Send the token in one place only.", 400)
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "dpop") or not token.strip():
            raise _error("invalid_request", "Use the Bearer or the DPoP scheme.", 400)
        return token.strip(), scheme.lower()
    if from_body:
        return from_body, "bearer"
    raise ApiError(
        "invalid_request",
        "No access token was sent.",
        401,
        headers={"WWW-Authenticate": f'Bearer realm="userinfo", DPoP {_DPOP_ALGS}'},
    )


@bp.route(PATH, methods=["GET", "POST"])
@read_only
def userinfo():
    services = current_app.extensions["authserver"]
    token, scheme = _presented_token()
    if scheme == "dpop":
        will_write()  # the proof's jti is recorded
    record = services.access_tokens.lookup(db_session(), token)
    if record is None or not record.is_active(services.clock.now()):
        raise _error("invalid_token", "The access token is not active.", 401)
    _check_binding(services, record, token, scheme)
    if "openid" not in record.scope.split():
        raise _error(
            "insufficient_scope", "The access token was not granted the openid scope.", 403
        )
    flow = FlowRepository(db_session()).get(record.request_id)
    claims = ((flow.consent or {}).get("session") or {}).get("id_token") or {} if flow else {}
    return jsonify({**claims, "sub": _client_sub(services, record)})


def _check_binding(services, record, token: str, scheme: str) -> None:
    if scheme == "bearer":
        if record.dpop_jkt:  # RFC 9449 §7.2: a bound token is no bearer token
            raise _error(
                "invalid_token",
                "The access token is DPoP-bound: use the DPoP scheme with a proof.",
                401,
                scheme="DPoP",
            )
        return
    if not record.dpop_jkt:
        raise _error(
            "invalid_token", "The access token is not DPoP-bound: use the Bearer scheme.", 401
        )
    try:
        services.dpop.check_presentation(
            request.headers, db_session(), request.method, PATH, token, record.dpop_jkt
        )
    except DpopError as exc:
        raise _error(exc.error, exc.description, 401, scheme="DPoP", nonce=exc.nonce) from None


def _client_sub(services, record) -> str:
    """The ``sub`` of the client's ID token (OIDC Core §5.3.2): a JWT access token already
    carries it; an opaque one keeps the real subject, mapped here (``oauth2.token_sets``)."""
    if record.format == "jwt":
        return record.subject
    stored = services.clients.find(db_session(), record.client_id)
    if stored is None:
        raise _error("invalid_token", "The access token's client no longer exists.", 401)
    try:
        return client_subject(services.settings, stored.client, record.subject)
    except OAuth2Error:
        raise _error(
            "invalid_token", "The client's subject identifiers can no longer be issued.", 401
        ) from None
