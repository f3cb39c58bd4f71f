"""``POST /refresh`` (RFC 6749 §6), ``POST /revoke`` (RFC 7009), ``POST /exchange`` (the
access token exchanged for one for another audience, RFC 8693) and ``POST /call-api`` (the
access token sent to the protected API, RFC 6750 §2.1); CSRF-protected forms."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from demo_client import errors
from demo_client.flow import ClientFlow
from demo_client.services import services
from demo_client.views.api import call_profile
from demo_client.views.pages import browser_state

bp = Blueprint("tokens", __name__)


def _state():
    state = browser_state()
    if state is None:
        raise errors.not_logged_in("use")
    return state


@bp.post("/refresh")
def refresh():
    state = _state()
    with state.lock:
        ClientFlow(services(), state).refresh()
    return redirect(url_for("home.index"), 303)


@bp.post("/revoke")
def revoke():
    state = _state()
    with state.lock:
        ClientFlow(services(), state).revoke(request.form.get("token", "refresh_token"))
    return redirect(url_for("home.index"), 303)


@bp.post("/exchange")
def exchange():
    state = _state()
    with state.lock:
        ClientFlow(services(), state).exchange_token()
    return redirect(url_for("home.index"), 303)


@bp.post("/call-api")
def call_api():
    state = _state()
    with state.lock:
        ClientFlow(services(), state).call_api(call_profile)
    return redirect(url_for("home.index"), 303)
