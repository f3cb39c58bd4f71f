"""``/admin/oauth2/auth/requests/consent`` (GET), ``…/consent/accept`` and
``…/consent/reject`` (PUT): the consent app reads the consent request and answers it."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.admin.flow_views import (
    challenge_param,
    consent_request_json,
    find_flow,
    flow_error,
    gone,
    now,
    public_url,
)
from authserver.domain.flows import ConsentAcceptance, FlowError, FlowState, Rejection
from authserver.oauth2.login_consent import add_query
from authserver.storage.flows import FlowRepository
from authserver.web.bodies import read_json
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session

bp = Blueprint("consent_requests", __name__)


@bp.get("/oauth2/auth/requests/consent")
def get_consent_request():
    challenge = challenge_param("consent_challenge")
    flow = find_flow(FlowRepository(db_session()).by_consent_challenge, challenge, "consent")
    if flow.state != FlowState.CONSENT_REQUESTED or flow.is_expired(now()):
        return gone(flow.request_url)
    return jsonify(consent_request_json(flow, challenge))


@bp.put("/oauth2/auth/requests/consent/accept")
def accept_consent_request():
    return _answer(accept=True)


@bp.put("/oauth2/auth/requests/consent/reject")
def reject_consent_request():
    return _answer(accept=False)


def _answer(accept: bool):
    challenge = challenge_param("consent_challenge")
    document = read_json()
    repository = FlowRepository(db_session())
    flow = find_flow(repository.by_consent_challenge, challenge, "consent")
    try:
        if accept:
            acceptance = ConsentAcceptance.from_json(document)
            _check_grant(flow.client_id, acceptance)
            after, verifier = flow.accept_consent(acceptance, now())
        else:
            after, verifier = flow.reject_consent(Rejection.from_json(document), now())
    except FlowError as exc:
        return flow_error(exc, flow)
    if not repository.transition(flow, after):
        return gone(flow.request_url)
    redirect_to = add_query(public_url("/oauth2/auth"), {"consent_verifier": verifier})
    return jsonify(redirect_to=redirect_to)


def _check_grant(client_id: str, acceptance: ConsentAcceptance) -> None:
    """The consent app may grant less than requested, never more than the client may have."""
    stored = current_app.extensions["authserver"].clients.find(db_session(), client_id)
    if stored is None:
        raise ApiError("not_found", "The client of this request no longer exists.", 404)
    client = stored.client
    extra = [scope for scope in acceptance.grant_scope if scope not in client.scopes]
    if extra:
        raise ApiError(
            "invalid_request",
            f"grant_scope contains scopes the client may not request: {' '.join(extra)}.",
            400,
        )
    outside = [
        item for item in acceptance.grant_access_token_audience if item not in client.audience
    ]
    if outside:
        raise ApiError(
            "invalid_request",
            f"grant_access_token_audience is not allowed for the client: {' '.join(outside)}.",
            400,
        )
