"""``GET /``: the public API's index (what this is, its main endpoints) and
``GET /favicon.ico``. See ``web.index``."""

from __future__ import annotations

from flask import Blueprint, current_app

from authserver.web.index import HYDRA_REFERENCE, Entry, Index, favicon_response, index_response

bp = Blueprint("index", __name__)

PUBLIC_INDEX = Index(
    api="public",
    title="authserver: public API",
    description=(
        "The OAuth 2.0 and OpenID Connect endpoints that browsers and client applications "
        "talk to. This server shows no login or consent screen itself: it sends the browser "
        "to your login and consent app."
    ),
    entries=(
        Entry(
            "discovery",
            "OpenID Connect discovery (also at /.well-known/oauth-authorization-server)",
            "/.well-known/openid-configuration",
            link=True,
        ),
        Entry("jwks", "The public keys that verify ID tokens", "/.well-known/jwks.json", True),
        Entry("authorize", "Authorization endpoint (code flow with PKCE)", "/oauth2/auth"),
        Entry("token", "Token endpoint", "/oauth2/token"),
        Entry("userinfo", "UserInfo endpoint (with a bearer access token)", "/userinfo"),
        Entry("revoke", "Token revocation (RFC 7009)", "/oauth2/revoke"),
        Entry(
            "register",
            "Dynamic client registration (RFC 7591/7592; when turned on)",
            "/oauth2/register",
        ),
        Entry("logout", "Logout (OpenID Connect RP-initiated)", "/oauth2/sessions/logout"),
        Entry("health", "Readiness (also /health/alive)", "/health/ready", link=True),
    ),
    links=(("hydra_api_reference", "Ory Hydra's API reference (the model)", HYDRA_REFERENCE),),
    notes=(
        "Clients, login and consent requests and introspection are on the admin API, "
        "a separate port that is never exposed publicly.",
    ),
)


@bp.get("/")
def index():
    base = current_app.extensions["authserver"].settings.public_url.rstrip("/")
    return index_response(PUBLIC_INDEX, base)


@bp.get("/favicon.ico")
def favicon():
    return favicon_response()
