"""Consent and login sessions (Hydra's ``/admin/oauth2/auth/sessions/...``).

Revoking a consent session also revokes every token issued under it; deleting login
sessions makes browsers log in again (their session cookies no longer match anything) and
sends back-channel logout tokens to the clients that took part in them (front-channel
logout needs a browser, which an administrator's call does not have).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request

from authserver.admin.flow_views import consent_request_json, rfc3339
from authserver.domain.flows import ConsentAcceptance, Flow
from authserver.oauth2.logout_channels import end_sessions
from authserver.oauth2.revocation import revoke_grant
from authserver.storage.flows import FlowRepository, LoginSessionRepository
from authserver.web.errors import ApiError
from authserver.web.transaction import after_commit, db_session

bp = Blueprint("sessions", __name__)

DEFAULT_PAGE_SIZE = 250
BACKCHANNEL_WAIT = 3.0  # seconds the answer waits for back-channel logout deliveries
MAX_PAGE_SIZE = 500


def _required(name: str) -> str:
    value = request.args.get(name, "")
    if not value:
        raise ApiError("invalid_request", f"The {name} query parameter is required.", 400)
    return value


def _consent_session_json(flow: Flow) -> dict:
    consent = flow.accepted_consent or ConsentAcceptance()  # listed sessions have one
    return {
        "consent_request": consent_request_json(flow, challenge=flow.id),
        "grant_scope": list(consent.grant_scope),
        "grant_access_token_audience": list(consent.grant_access_token_audience),
        "remember": flow.consent_remember,
        "remember_for": consent.remember_for,
        "handled_at": rfc3339(flow.consent_handled_at),
        "session": {
            "access_token": consent.access_token_claims,
            "id_token": consent.id_token_claims,
        },
        "context": consent.context,
    }


@bp.get("/oauth2/auth/sessions/consent")
def list_consent_sessions():
    subject = _required("subject")
    page_size, offset = _paging()
    flows = FlowRepository(db_session()).consent_sessions(
        subject, login_session_id=request.args.get("login_session_id") or None
    )
    page = flows[offset : offset + page_size]
    response = jsonify([_consent_session_json(flow) for flow in page])
    response.headers["X-Total-Count"] = str(len(flows))
    # The subject is the caller's text: percent-encoded, it can neither break the header
    # (CR/LF, non-Latin-1) nor add a relation of its own.
    first = {"subject": subject, "page_size": page_size}
    if request.args.get("login_session_id"):  # the next page keeps the filter
        first["login_session_id"] = request.args["login_session_id"]
    links = [f'<{request.path}?{urlencode(first)}>; rel="first"']
    if offset + page_size < len(flows):
        following = urlencode({**first, "page_token": offset + page_size})
        links.append(f'<{request.path}?{following}>; rel="next"')
    response.headers["Link"] = ",".join(links)
    return response


def _paging() -> tuple[int, int]:
    try:
        size = int(request.args.get("page_size") or DEFAULT_PAGE_SIZE)
        offset = int(request.args.get("page_token") or 0)
    except ValueError:
        raise ApiError(
            "invalid_request", "page_size and page_token must be numbers.", 400
        ) from None
    if size < 1 or offset < 0:
        raise ApiError("invalid_request", "page_size must be >= 1 and page_token >= 0.", 400)
    return min(size, MAX_PAGE_SIZE), offset


@bp.delete("/oauth2/auth/sessions/consent")
def revoke_consent_sessions():
    """By subject and client, or every client of the subject with ``all=true``."""
    subject = _required("subject")
    client_id = request.args.get("client") or None
    everything = request.args.get("all", "").lower() == "true"
    if not client_id and not everything:
        raise ApiError(
            "invalid_request",
            "Give client=<id>, or all=true to revoke every client's consent.",
            400,
        )
    session = db_session()
    for request_id in FlowRepository(session).revoke_consent_sessions(subject, client_id):
        revoke_grant(session, request_id)
    return "", 204


@bp.delete("/oauth2/auth/sessions/login")
def revoke_login_sessions():
    """By subject (all of the subject's browsers) or by session id (``sid``)."""
    subject = request.args.get("subject", "")
    session_id = request.args.get("sid", "")
    if bool(subject) == bool(session_id):
        raise ApiError("invalid_request", "Give exactly one of subject or sid.", 400)
    session = db_session()
    repository = LoginSessionRepository(session)
    if session_id and repository.get(session_id) is None:
        raise ApiError("not_found", "No login session has this sid.", 404)
    session_ids = repository.ids_for_subject(subject) if subject else [session_id]
    services = current_app.extensions["authserver"]
    ended = end_sessions(services, session, session_ids)
    if subject:
        repository.delete_for_subject(subject)
    else:
        repository.delete(session_id)
    if ended.deliveries:
        # As Hydra: the clients are told before the answer (bounded; then in the background).
        after_commit(lambda: services.backchannel.send_now(ended.deliveries, BACKCHANNEL_WAIT))
    return "", 204
