"""``/admin/oauth2/auth/requests/logout`` (GET), ``…/logout/accept`` (PUT → redirect_to)
and ``…/logout/reject`` (PUT → 204): the logout app confirms or cancels a logout."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from authserver.admin.flow_views import (
    answered,
    challenge_param,
    challenges,
    flow_errors,
    gone,
    rfc3339,
)
from authserver.oauth2.challenges import Gone
from authserver.web.transaction import db_session

bp = Blueprint("logout_requests", __name__)


@bp.get("/oauth2/auth/requests/logout")
@flow_errors
def get_logout_request():
    challenge = challenge_param("logout_challenge")
    service = challenges()
    request = service.pending_logout(service.logout_request(challenge))
    if isinstance(request, Gone):
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
@flow_errors
def accept_logout_request():
    service = challenges()
    return answered(
        service.accept_logout(service.logout_request(challenge_param("logout_challenge")))
    )


@bp.put("/oauth2/auth/requests/logout/reject")
@flow_errors
def reject_logout_request():
    service = challenges()
    outcome = service.reject_logout(service.logout_request(challenge_param("logout_challenge")))
    if isinstance(outcome, Gone):
        return gone(outcome.request_url)
    return "", 204
