"""Rendering shared by the views: this browser's state, pages, and the explanation page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, render_template, request, session
from werkzeug.sansio.utils import get_current_url

from demo_client.errors import Explained
from demo_client.inspector import CLAIMS, LANES, PARAMETERS, TIME_CLAIMS, show
from demo_client.services import services
from demo_client.store import BrowserState

BROWSER_KEY = "browser_id"


def browser_state(create: bool = False) -> BrowserState | None:
    """This browser's server-side state, found by the id in the session cookie."""
    store = services().store
    state = store.get(session.get(BROWSER_KEY))
    if state is None and create:
        state = store.create()
        session[BROWSER_KEY] = state.id
    return state


def configured_url(configured: str) -> str:
    """This request's URL at the origin of ``configured`` (the redirect URI it arrived at),
    for the inspector: a forged Host header is never recorded nor shown."""
    origin = urlsplit(configured)
    return get_current_url(
        origin.scheme, origin.netloc, request.root_path, request.path, request.query_string
    )


def page(template: str, status: int = 200, **context) -> Response:
    html = render_template(
        template,
        config=services().config,
        dpop_key=services().dpop_key,
        lanes=LANES,
        claim_docs=CLAIMS,
        parameter_docs=PARAMETERS,
        time_claims=TIME_CLAIMS,
        show=show,
        **context,
    )
    return Response(html, status=status, mimetype="text/html")


def render_explanation(error: Explained) -> Response:
    state = browser_state()
    steps = list(state.steps) if state else []
    return page("error.html", status=error.status, error=error, steps=steps)
