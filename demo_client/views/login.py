"""``GET /login``: start the authorization code flow (RFC 6749 §4.1.1) with PKCE, state
and nonce; ``?prompt=login`` (or consent, none) is passed through."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request

from demo_client.flow import ClientFlow
from demo_client.services import services
from demo_client.views.pages import browser_state

bp = Blueprint("login", __name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


@bp.get("/login")
def login():
    # Cookies belong to a host name: a login started on localhost would lose its cookie when
    # the callback comes back to 127.0.0.1. Move the browser to the callback's host first.
    target = urlsplit(services().config.redirect_uri)
    if request.host != target.netloc and _loopback(request.host) and _loopback(target.netloc):
        query = request.query_string.decode("ascii")  # percent-encoded: see wrappers.py
        return redirect(f"{target.scheme}://{target.netloc}/login" + (f"?{query}" if query else ""))
    state = browser_state(create=True)
    with state.lock:
        url = ClientFlow(services(), state).start_login(request.args.get("prompt", ""))
    return redirect(url, 302)


def _loopback(netloc: str) -> bool:
    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    return host in LOOPBACK_NAMES
