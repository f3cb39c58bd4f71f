"""``GET /callback``: the redirect URI (RFC 6749 §4.1.2). Checks the state, exchanges the
code and shows the result on the home page (303: a reload does not reuse the code)."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from demo_client import errors
from demo_client.flow import ClientFlow
from demo_client.services import services
from demo_client.views.pages import browser_state, configured_url

bp = Blueprint("callback", __name__)


@bp.get("/callback")
def callback():
    state = browser_state()
    config = services().config
    if state is None:
        raise errors.missing_session(config.public_origin + "/")
    with state.lock:
        url = configured_url(config.redirect_uri)
        ClientFlow(services(), state).handle_callback(url, request.args)
    return redirect(url_for("home.index"), 303)
