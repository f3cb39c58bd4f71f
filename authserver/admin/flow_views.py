"""What the admin API's login, consent and logout endpoints share: the challenge
parameter, the flow service (``oauth2.challenges``) and how its outcomes and errors are
answered, Hydra's JSON shapes, and the 410 answer for a challenge already handled."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from flask import current_app, jsonify, request

from authserver.domain.flows import Flow, FlowError, LoginAcceptance
from authserver.oauth2.challenges import Answered, FlowChallenges, Gone
from authserver.web.errors import ApiError
from authserver.web.transaction import db_session


def challenge_param(name: str) -> str:
    value = request.args.get(name, "")
    if not value:
        raise ApiError("invalid_request", f"The {name} query parameter is missing.", 400)
    return value


def challenges() -> FlowChallenges:
    return FlowChallenges(current_app.extensions["authserver"], db_session())


def flow_errors(view):
    """The view's ``FlowError`` (unknown challenge, bad answer…) as Hydra's error JSON."""

    @functools.wraps(view)
    def answer(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except FlowError as exc:
            raise ApiError(exc.error, str(exc), exc.status) from None

    return answer


def answered(outcome: Answered | Gone):
    if isinstance(outcome, Gone):
        return gone(outcome.request_url)
    return jsonify(redirect_to=outcome.redirect_to)


def gone(redirect_to: str):
    """Hydra's 410: the request was handled (or expired); redirect_to restarts the flow."""
    response = jsonify(redirect_to=redirect_to)
    response.status_code = 410
    response.headers["Cache-Control"] = "no-store"
    return response


def public_url(path: str) -> str:
    return current_app.extensions["authserver"].settings.public_url.rstrip("/") + path


def client_json(client_id: str) -> dict:
    stored = current_app.extensions["authserver"].clients.find(db_session(), client_id)
    return stored.client.to_json() if stored else {"client_id": client_id}


def oidc_context(flow: Flow) -> dict:
    req = flow.request
    return {
        "acr_values": req.get("acr_values", []),
        "display": req.get("display", ""),
        "id_token_hint_claims": req.get("id_token_hint_claims") or {},
        "login_hint": req.get("login_hint", ""),
        "ui_locales": req.get("ui_locales", []),
    }


def rfc3339(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def consent_request_json(flow: Flow, challenge: str) -> dict:
    """Hydra's ``oAuth2ConsentRequest``."""
    login = flow.accepted_login or _NO_LOGIN
    return {
        "challenge": challenge,
        "skip": flow.consent_skip,
        "subject": flow.subject or "",
        "client": client_json(flow.client_id),
        "request_url": flow.request_url,
        "requested_scope": flow.request.get("scope", []),
        "requested_access_token_audience": flow.request.get("audience", []),
        "oidc_context": oidc_context(flow),
        # We keep challenges as digests only; the flow id identifies the login step.
        "login_challenge": flow.id,
        "login_session_id": flow.login_session_id or "",
        "acr": login.acr,
        "amr": list(login.amr),
        "context": login.context,
    }


_NO_LOGIN = LoginAcceptance(subject="")
