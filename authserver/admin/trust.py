"""``/admin/trust/grants/jwt-bearer/issuers``: the JWT bearer grant's trusted issuers, as
Hydra's trust API (``trustOAuth2JwtGrantIssuer`` and friends)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from authserver.domain.text import text_problem
from authserver.domain.trust import InvalidTrustRequest, validate_trust_request
from authserver.storage.trust import TrustedIssuerRepository
from authserver.web.bodies import read_json
from authserver.web.errors import ApiError
from authserver.web.paging import link_header, page_after, page_size
from authserver.web.transaction import db_session

bp = Blueprint("trust", __name__)

PATH = "/trust/grants/jwt-bearer/issuers"


def _not_found() -> ApiError:
    return ApiError("not_found", "Unable to locate the resource: no such trust relationship.", 404)


@bp.post(PATH)
def trust_issuer():
    now = datetime.fromtimestamp(current_app.extensions["authserver"].clock.now(), UTC)
    try:
        trusted = validate_trust_request(read_json(), now)
    except InvalidTrustRequest as exc:
        raise ApiError("invalid_request", str(exc), 400) from None
    if not TrustedIssuerRepository(db_session()).add(trusted):
        raise ApiError(
            "conflict",
            "This issuer already trusts this subject with a key of this kid.",
            409,
        )
    return jsonify(trusted.to_json()), 201


@bp.get(PATH)
def list_trusted_issuers():
    size = page_size()
    issuer = request.args.get("issuer") or None
    if issuer is not None and text_problem(issuer):
        raise ApiError("invalid_request", "The issuer filter is not valid text.", 400)
    rows = TrustedIssuerRepository(db_session()).page(size + 1, page_after(), issuer)
    shown = rows[:size]
    response = jsonify([trusted.to_json() for trusted in shown])
    last = shown[-1].id if len(rows) > size else None
    response.headers["Link"] = link_header(size, last, {"issuer": issuer} if issuer else {})
    return response


@bp.get(PATH + "/<trust_id>")
def get_trusted_issuer(trust_id: str):
    trusted = TrustedIssuerRepository(db_session()).get(trust_id)
    if trusted is None:
        raise _not_found()
    return jsonify(trusted.to_json())


@bp.delete(PATH + "/<trust_id>")
def delete_trusted_issuer(trust_id: str):
    if not TrustedIssuerRepository(db_session()).delete(trust_id):
        raise _not_found()
    return "", 204
