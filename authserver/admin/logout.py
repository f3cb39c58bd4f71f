"""``/admin/oauth2/auth/requests/logout`` (GET), ``…/logout/accept`` (PUT → redirect_to)
and ``…/logout/reject`` (PUT → 204): the logout app confirms or cancels a logout."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.admin.flow_views import challenge_param, gone, now, public_url, rfc3339
from authserver.domain.flows import FlowError, digest
from authserver.domain.sessions import LogoutState
from authserver.oauth2.login_consent import add_query
from authserver.storage.flows import LogoutRequestRepository
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session

bp = Blueprint("logout_requests", __name__)


def _find(repository: LogoutRequestRepository):
    challenge = challenge_param("logout_challenge")
    request = repository.by_challenge(digest(challenge))
    if request is None:
        raise ApiError("not_found", "The logout challenge is unknown.", 404)
    return challenge, request


@bp.get("/oauth2/auth/requests/logout")
def get_logout_request():
    challenge, request = _find(LogoutRequestRepository(db_session()))
    if request.status != LogoutState.REQUESTED or now() >= request.expires_at:
        return gone(request.request_url)
    return jsonify(
        challenge=challenge,
        subject=request.subject,
        sid=request.session_id,
        request_url=request.request_url,
        rp_initiated=request.rp_initiated,
        client=_client_or_none(request.client_id),
        requested_at=rfc3339(request.requested_at),
        expires_at=rfc3339(request.expires_at),
    )


def _client_or_none(client_id: str | None) -> dict | None:
    """The client that asked for the logout, if it still exists (a logout request has no
    foreign key to it: logging out must work even for a client deleted meanwhile)."""
    if not client_id:
        return None
    stored = current_app.extensions["authserver"].clients.find(db_session(), client_id)
    return stored.client.to_json() if stored else None


@bp.put("/oauth2/auth/requests/logout/accept")
def accept_logout_request():
    repository = LogoutRequestRepository(db_session())
    _, request = _find(repository)
    try:
        accepted, verifier = request.accept(now())
    except FlowError:
        return gone(request.request_url)
    if not repository.transition(request, accepted):
        return gone(request.request_url)
    return jsonify(
        redirect_to=add_query(public_url("/oauth2/sessions/logout"), {"logout_verifier": verifier})
    )


@bp.put("/oauth2/auth/requests/logout/reject")
def reject_logout_request():
    repository = LogoutRequestRepository(db_session())
    _, request = _find(repository)
    try:
        rejected = request.reject(now())
    except FlowError:
        return gone(request.request_url)
    if not repository.transition(request, rejected):
        return gone(request.request_url)
    return "", 204
