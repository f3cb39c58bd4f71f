"""``/admin/oauth2/auth/requests/login`` (GET), ``…/login/accept`` and ``…/login/reject``
(PUT): the login app reads the login request and answers it (Hydra's API)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from authserver.admin.flow_views import (
    challenge_param,
    client_json,
    find_flow,
    flow_error,
    gone,
    now,
    oidc_context,
    public_url,
)
from authserver.domain.flows import FlowError, FlowState, LoginAcceptance, Rejection
from authserver.oauth2.login_consent import add_query
from authserver.storage.flows import FlowRepository
from authserver.web.bodies import read_json
from authserver.web.transaction import db_session

bp = Blueprint("login_requests", __name__)


@bp.get("/oauth2/auth/requests/login")
def get_login_request():
    challenge = challenge_param("login_challenge")
    flow = find_flow(FlowRepository(db_session()).by_login_challenge, challenge, "login")
    if flow.state != FlowState.LOGIN_REQUESTED or flow.is_expired(now()):
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


@bp.put("/oauth2/auth/requests/login/accept")
def accept_login_request():
    return _answer(accept=True)


@bp.put("/oauth2/auth/requests/login/reject")
def reject_login_request():
    return _answer(accept=False)


def _answer(accept: bool):
    challenge = challenge_param("login_challenge")
    document = read_json()
    repository = FlowRepository(db_session())
    flow = find_flow(repository.by_login_challenge, challenge, "login")
    try:
        if accept:
            after, verifier = flow.accept_login(LoginAcceptance.from_json(document), now())
        else:
            after, verifier = flow.reject_login(Rejection.from_json(document), now())
    except FlowError as exc:
        return flow_error(exc, flow)
    if not repository.transition(flow, after):
        return gone(flow.request_url)  # a concurrent answer won
    redirect_to = add_query(public_url("/oauth2/auth"), {"login_verifier": verifier})
    return jsonify(redirect_to=redirect_to)
