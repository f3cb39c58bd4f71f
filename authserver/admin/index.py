"""``GET /admin/`` (and ``/``): the admin API's index (what this is, its main endpoints)
and the favicon. See ``web.index``."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, current_app

from authserver.web.index import HYDRA_REFERENCE, Entry, Index, favicon_response, index_response

bp = Blueprint("index", __name__)

_REQUESTS = "/admin/oauth2/auth/requests"

ADMIN_INDEX = Index(
    api="admin",
    title="authserver: admin API",
    description=(
        "Clients, the login, consent and logout requests your login app answers, sessions, "
        "token introspection and keys. It has no authentication of its own: never expose "
        "this port publicly."
    ),
    entries=(
        Entry("clients", "OAuth 2.0 clients (list, create)", "/admin/clients", link=True),
        Entry("client", "One client (get, replace, patch, delete)", "/admin/clients/{client_id}"),
        Entry(
            "client_secret_rotation",
            "Rotate a client's secret (post), drop the rotated ones (delete)",
            "/admin/clients/{client_id}/secrets/rotate",
        ),
        Entry(
            "login_request", "Login request (then .../accept or .../reject)", f"{_REQUESTS}/login"
        ),
        Entry(
            "consent_request",
            "Consent request (then .../accept or .../reject)",
            f"{_REQUESTS}/consent",
        ),
        Entry(
            "logout_request",
            "Logout request (then .../accept or .../reject)",
            f"{_REQUESTS}/logout",
        ),
        Entry(
            "consent_sessions",
            "Consent sessions (list, revoke)",
            "/admin/oauth2/auth/sessions/consent",
        ),
        Entry("introspect", "Token introspection (RFC 7662)", "/admin/oauth2/introspect"),
        Entry("tokens", "Revoke every token of a client (delete)", "/admin/oauth2/tokens"),
        Entry(
            "trusted_jwt_issuers",
            "Trusted issuers of the JWT bearer grant (list, create)",
            "/admin/trust/grants/jwt-bearer/issuers",
        ),
        Entry("keys", "JSON Web Key sets", "/admin/keys/{set_id}"),
        Entry("health", "Readiness (also /admin/health/alive)", "/admin/health/ready", True),
        Entry("version", "The server's version", "/admin/version", link=True),
    ),
    notes=("Every path also answers without the /admin prefix, as in Hydra.",),
)


@bp.get("/")
def index():
    public = current_app.extensions["authserver"].settings.public_url
    links = (
        ("public_api", "The public API (the issuer's endpoints)", public),
        ("hydra_api_reference", "Ory Hydra's API reference (the model)", HYDRA_REFERENCE),
    )
    return index_response(replace(ADMIN_INDEX, links=links))


@bp.get("/favicon.ico")
def favicon():
    return favicon_response()
