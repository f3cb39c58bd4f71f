"""Logout started at the authorization server ends the session here too.

- ``POST /backchannel-logout`` (OIDC Back-Channel Logout 1.0 §2.5, §2.8): the server sends
  a logout token, server to server (no browser, no cookie, no CSRF token: the signature is
  what authenticates it). 200 with an empty body once the token passed every check, even
  when no session here matched; else 400 with a JSON error naming the check.
- ``GET /frontchannel-logout?iss=…&sid=…`` (OIDC Front-Channel Logout 1.0 §2): the
  server's logout page loads it in an invisible iframe, so the browser sends this app's
  cookie. With a sid, the sessions of that login end; without, this browser's own. Only
  the issuer's origin may frame the answer (``create_app`` sets the CSP).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request, session
from werkzeug.exceptions import HTTPException

from demo_client import inspector
from demo_client.channel_logout import (
    Refused,
    end_own_session,
    end_sessions,
    frontchannel_params,
)
from demo_client.config import BACKCHANNEL_LOGOUT_PATH, FRONTCHANNEL_LOGOUT_PATH
from demo_client.services import services
from demo_client.views.api import json_answer
from demo_client.views.pages import browser_state, page

log = logging.getLogger(__name__)

bp = Blueprint("channel_logout", __name__)

FORM = "application/x-www-form-urlencoded"


@bp.post(BACKCHANNEL_LOGOUT_PATH)
def backchannel_logout():
    config = services().config
    try:
        token = _one_logout_token()
        ended = services().backchannel_logout.accept(token, config.backchannel_logout_uri)
    except Refused as refusal:
        log.info("back-channel logout token refused: %s check", refusal.check)
        body = {"error": "invalid_request", "error_description": refusal.description}
        return json_answer(body, 400)
    log.info("back-channel logout ended %d session(s)", ended)
    return Response(b"", status=200, mimetype="text/plain")  # no-store: create_app adds it


def _one_logout_token() -> str:
    """§2.5: one ``logout_token`` in a form body, and nowhere else."""
    if request.mimetype != FORM:
        raise Refused("form", "the body must be application/x-www-form-urlencoded")
    try:
        values = request.form.getlist("logout_token")
    except HTTPException:  # over the size limit (64 KiB), or unreadable
        raise Refused("form", "the request body cannot be read (at most 64 KiB)") from None
    if "logout_token" in request.args:  # URLs end up in logs
        raise Refused("form", "send the logout_token in the body, not in the URL")
    if len(values) != 1:
        raise Refused("form", "send exactly one logout_token parameter")
    return values[0]


@bp.get(FRONTCHANNEL_LOGOUT_PATH)
def frontchannel_logout():
    config = services().config
    try:
        iss, sid = frontchannel_params(
            request.args.getlist("iss"), request.args.getlist("sid"), config.issuer
        )
    except Refused as refusal:
        log.info("front-channel logout refused: %s check", refusal.check)
        return page("frontchannel_logout.html", status=400, problem=refusal.description)

    def step():
        return inspector.frontchannel_logout_step(config.frontchannel_logout_uri, iss, sid)

    own = browser_state()
    if sid is not None:
        ended = end_sessions(services().store, "sid", sid, step)
    else:
        ended = [own] if own is not None and end_own_session(own, step) else []
    if ended is None:
        log.info("front-channel logout refused: session check (busy)")
        return page("frontchannel_logout.html", status=400, problem="a session here is busy")
    log.info("front-channel logout ended %d session(s)", len(ended))
    if own is not None and any(state is own for state in ended) and not own.pending_logout:
        # The browser's cookie goes too; a logout this app started keeps it, so that its
        # post-logout redirect can still check the state and show the whole flow.
        services().store.drop(own.id)
        session.clear()
    return page("frontchannel_logout.html", ended=len(ended), problem="")
