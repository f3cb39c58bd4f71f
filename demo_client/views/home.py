"""``/``: what this app is and a Log in button; after login the tokens, the decoded ID
token, userinfo, introspection, the buttons and a short summary of the flow.
``/inspector``: the flow inspector (no full token on it)."""

from __future__ import annotations

from flask import Blueprint

from demo_client.id_token import when
from demo_client.inspector import short
from demo_client.views.pages import browser_state, page

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    state = browser_state()
    return page(
        "home.html", state=state, steps=state.steps if state else [], short=short, when=when
    )


@bp.get("/inspector")
def inspector():
    state = browser_state()
    return page(
        "inspector.html",
        steps=state.steps if state else [],
        logged_in=bool(state and state.tokens),
    )
