"""``GET /login``: start the authorization code flow (RFC 6749 §4.1.1) with PKCE, state
and nonce; ``?prompt=login`` (or consent, none) is passed through. The settings say
whether to push it (PAR), bind the tokens (DPoP) and name a resource; ``POST /login``, the
home page's form (CSRF-protected like every POST), picks those for one login."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request

from demo_client import errors
from demo_client.config import check_resource
from demo_client.flow import ClientFlow
from demo_client.oauth import LoginOptions
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
    return _start(request.args.get("prompt", ""), None)


@bp.post("/login")
def login_with_options():
    return _start(request.form.get("prompt", ""), _form_options())


def _start(prompt: str, options: LoginOptions | None):
    state = browser_state(create=True)
    with state.lock:
        url = ClientFlow(services(), state).start_login(prompt, options)
    return redirect(url, 303 if request.method == "POST" else 302)


def _form_options() -> LoginOptions:
    """The form's choices: a checkbox is sent only when ticked."""
    try:
        resource = check_resource(request.form.get("resource", ""))
    except ValueError as exc:
        raise errors.Explained(
            title="That resource cannot be used",
            code="invalid_target",
            description=f"resource {exc}",
            explanation="A resource indicator names the API the token is for: an absolute "
            "URI without a fragment (RFC 8707 §2).",
            next_step="Go back to the home page and fix the Resource field, or empty it.",
        ) from None
    return LoginOptions(
        par="use_par" in request.form, dpop="use_dpop" in request.form, resource=resource
    )


def _loopback(netloc: str) -> bool:
    host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
    return host in LOOPBACK_NAMES
