"""demo_client: an OAuth 2.0 / OpenID Connect client web app with a flow inspector.

``create_app(config, http)`` builds the Flask app; nothing happens at import time. ``config``
is a ``Config``, a mapping of environment variable names (tests), or None for the process
environment; ``http`` is the ``requests.Session`` used for every back-channel call.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import requests
from flask import Flask, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from demo_client import errors
from demo_client.config import Config, load_config
from demo_client.logs import printable
from demo_client.services import build_services
from demo_client.views import api, register_views
from demo_client.views.channel_logout import backchannel_logout
from demo_client.views.pages import page, render_explanation
from demo_client.wrappers import RejectBadHost, Request

log = logging.getLogger(__name__)

FRONTCHANNEL = "channel_logout.frontchannel_logout"  # the one page another origin may frame

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-ancestors 'none'"
)
# The device page runs a script: its poller, served from this app (no inline code).
DEVICE_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'none'", "script-src 'self'"
)
# A CSP source is an origin: scheme, host (a name, IPv4 or [IPv6]) and port, nothing else.
_CSP_ORIGIN = re.compile(r"https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def spa_content_security_policy(issuer_origin: str) -> str:
    """The single-page app's policy: its script from this app, and ``fetch`` to this app
    and to the authorization server's origin (cross-origin calls that CORS then allows).
    An issuer no CSP source can name (user:password@host) gets ``'self'`` only: the page
    then shows its calls blocked, rather than the policy allowing more."""
    if not _CSP_ORIGIN.fullmatch(issuer_origin):
        # Not the value: user info in it may be a password.
        log.warning("the issuer's origin cannot be named in a CSP; /spa will not reach it")
        issuer_origin = ""
    return CONTENT_SECURITY_POLICY.replace(
        "script-src 'none'", f"script-src 'self'; connect-src 'self' {issuer_origin}".rstrip()
    )


def frontchannel_content_security_policy(issuer_origin: str) -> str:
    """The front-channel logout page is loaded in an iframe of the authorization server's
    logout page (OIDC Front-Channel Logout §2): that origin may frame it, nobody else.
    An issuer no CSP source can name gets ``'self'``: the frame is then blocked, not opened
    to everyone."""
    if not _CSP_ORIGIN.fullmatch(issuer_origin):
        log.warning("the issuer's origin cannot be named in a CSP; front-channel logout is off")
        issuer_origin = "'self'"
    return CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", f"frame-ancestors {issuer_origin}"
    )


def create_app(config: Config | Mapping | None = None, http: requests.Session | None = None):
    if config is None:
        config = load_config()
    elif isinstance(config, Mapping):
        config = load_config(config)
    if not isinstance(config, Config):
        raise TypeError("config must be a Config, a mapping of settings, or None")
    if http is None:
        http = requests.Session()
        http.headers["User-Agent"] = "demo-client"

    app = Flask(__name__)
    app.request_class = Request  # odd bytes in a query string are a value, not a 500
    app.wsgi_app = RejectBadHost(app.wsgi_app, app.url_map)
    app.config.update(
        SECRET_KEY=config.secret_key,
        # All the demo's apps run on 127.0.0.1, and cookies ignore ports: the name must be
        # this instance's (demo_client_session_<port> unless DEMO_CLIENT_SESSION_COOKIE).
        SESSION_COOKIE_NAME=config.session_cookie_name,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # sent on the top-level redirect back to /callback
        SESSION_COOKIE_SECURE=config.redirect_uri.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,  # every form here is a button and a token
    )
    csrf = CSRFProtect(app)
    app.extensions["demo_client"] = build_services(config, http)
    register_views(app)
    # The authorization server POSTs logout tokens server to server: no browser, no session,
    # no CSRF token; the signed logout token is what authenticates the request.
    csrf.exempt(backchannel_logout)

    @app.errorhandler(errors.Explained)
    def explained(error: errors.Explained):
        log.info("explained error: %s", printable(error.code or error.title))  # ?error=…
        return render_explanation(error)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_explanation(errors.csrf_failed(error.description))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if api.is_api_path(request.path):  # an API answers JSON, even a 405
            return api.http_error(error)
        return page("status.html", status=error.code or 500, error=error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        if api.is_api_path(request.path):
            body = {"error": "server_error", "error_description": "see this app's log"}
            return api.json_answer(body, 500)
        return render_explanation(
            errors.Explained(
                title="Something went wrong in this app",
                code="internal_error",
                status=500,
                explanation="The demo client hit an unexpected error (its log has the details).",
                next_step="Go back to the home page and try again.",
            )
        )

    policies = {
        "device.device_page": DEVICE_CONTENT_SECURITY_POLICY,
        "spa.spa_page": spa_content_security_policy(config.issuer_origin),
        FRONTCHANNEL: frontchannel_content_security_policy(config.issuer_origin),
    }

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = policies.get(
            request.endpoint, CONTENT_SECURITY_POLICY
        )
        if request.endpoint != FRONTCHANNEL:  # framed by the issuer's logout page; CSP says who
            response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.endpoint not in ("static", "icon.favicon", "api.resource_metadata"):
            response.headers["Cache-Control"] = "no-store"  # pages carry tokens
        return response

    return app
