"""``PUT /admin/oauth2/auth/requests/device/accept?device_challenge=…`` (Hydra v25): the
user-code page sends what the user typed; the answer is where the browser goes next."""

from __future__ import annotations

from flask import Blueprint

from authserver.admin.flow_views import answered, challenge_param, challenges, flow_errors
from authserver.domain.flows import FlowError
from authserver.oauth2.challenges import Refused
from authserver.web.bodies import read_json
from authserver.web.errors import error_response

bp = Blueprint("device_requests", __name__)


@bp.put("/oauth2/auth/requests/device/accept")
@flow_errors
def accept_user_code_request():
    challenge = challenge_param("device_challenge")
    document = read_json()
    if not isinstance(document, dict):
        raise FlowError("The request body must be a JSON object.")
    outcome = challenges().accept_user_code(challenge, document.get("user_code"))
    if isinstance(outcome, Refused):
        return error_response(outcome.error, outcome.description, outcome.status)
    return answered(outcome)
