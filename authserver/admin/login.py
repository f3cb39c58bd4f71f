"""``/admin/oauth2/auth/requests/login`` (GET), ``…/login/accept`` and ``…/login/reject``
(PUT): the login app reads the login request and answers it (Hydra's API)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from authserver.admin.flow_views import (
    answered,
    challenge_param,
    challenges,
    client_json,
    flow_errors,
    gone,
    oidc_context,
)
from authserver.domain.flows import LoginAcceptance, Rejection
from authserver.oauth2.challenges import Gone
from authserver.web.bodies import read_json

bp = Blueprint("login_requests", __name__)


@bp.get("/oauth2/auth/requests/login")
@flow_errors
def get_login_request():
    challenge = challenge_param("login_challenge")
    flow = challenges().login_request(challenge)
    if isinstance(flow, Gone):
        return gone(flow.request_url)
    return jsonify(
        challenge=challenge,
        skip=flow.login_skip,
        subject=flow.subject or "",
        client=client_json(flow.client_id),
        request_url=flow.request_url,
        requested_scope=flow.request.get("scope", []),
        requested_access_token_audience=flow.request.get("audience", []),
        oidc_context=oidc_context(flow),
        session_id=flow.login_session_id or "",
    )


# The challenge is looked up before the answer is read: an unknown challenge is a 404
# whatever the body holds.


@bp.put("/oauth2/auth/requests/login/accept")
@flow_errors
def accept_login_request():
    challenge = challenge_param("login_challenge")
    document = read_json()
    service = challenges()
    flow = service.login_flow(challenge)
    return answered(service.accept_login(flow, LoginAcceptance.from_json(document)))


@bp.put("/oauth2/auth/requests/login/reject")
@flow_errors
def reject_login_request():
    challenge = challenge_param("login_challenge")
    document = read_json()
    service = challenges()
    flow = service.login_flow(challenge)
    return answered(service.reject_login(flow, Rejection.from_json(document)))
