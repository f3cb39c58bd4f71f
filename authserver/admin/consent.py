"""``/admin/oauth2/auth/requests/consent`` (GET), ``…/consent/accept`` and
``…/consent/reject`` (PUT): the consent app reads the consent request and answers it."""

from __future__ import annotations

from flask import Blueprint, jsonify

from authserver.admin.flow_views import (
    answered,
    challenge_param,
    challenges,
    consent_request_json,
    flow_errors,
    gone,
)
from authserver.domain.flows import ConsentAcceptance, Rejection
from authserver.oauth2.challenges import Gone
from authserver.web.bodies import read_json

bp = Blueprint("consent_requests", __name__)


@bp.get("/oauth2/auth/requests/consent")
@flow_errors
def get_consent_request():
    challenge = challenge_param("consent_challenge")
    flow = challenges().consent_request(challenge)
    if isinstance(flow, Gone):
        return gone(flow.request_url)
    return jsonify(consent_request_json(flow, challenge))


# The challenge is looked up before the answer is read: an unknown challenge is a 404
# whatever the body holds. A grant beyond the client's allowed scopes or audiences is a
# 400, and a deleted client a 404, even for a request already handled.


@bp.put("/oauth2/auth/requests/consent/accept")
@flow_errors
def accept_consent_request():
    challenge = challenge_param("consent_challenge")
    document = read_json()
    service = challenges()
    flow = service.consent_flow(challenge)
    return answered(service.accept_consent(flow, ConsentAcceptance.from_json(document)))


@bp.put("/oauth2/auth/requests/consent/reject")
@flow_errors
def reject_consent_request():
    challenge = challenge_param("consent_challenge")
    document = read_json()
    service = challenges()
    flow = service.consent_flow(challenge)
    return answered(service.reject_consent(flow, Rejection.from_json(document)))
