"""What the browser-facing endpoints (``/oauth2/auth``, ``/oauth2/sessions/logout``) share:
reading GET or form-POST parameters, redirecting with cookie changes, and the error page."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, redirect, request
from werkzeug.datastructures import MultiDict

from authserver.oauth2.login_consent import (
    CONSENT_CSRF_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AuthorizationFlow,
    CookieChange,
    ErrorPage,
    Redirect,
    add_query,
)
from authserver.public.cookies import apply_cookies
from authserver.web.bodies import FORM_TYPE
from authserver.web.pages import SECURITY_HEADERS, error_page


def browser_params() -> MultiDict:
    """OIDC Core §3.1.2.1: GET query parameters, or a form-encoded POST body."""
    if request.method == "POST":
        if request.mimetype != FORM_TYPE:
            raise ErrorPage("invalid_request", f"POST requests must be {FORM_TYPE}.")
        return request.form
    return request.args


# Kept out of the stored request_url: an ID token is a credential, and nothing keeps a raw
# token at rest. The flow keeps the hint's verified claims instead.
_NOT_STORED = frozenset({"id_token_hint"})


def returning_step(flow: AuthorizationFlow, params, cookies) -> Redirect | None:
    """The browser back from the login app or the consent app, the same at
    ``/oauth2/auth`` and ``/oauth2/device/verify``; None when it starts a flow instead."""
    if params.get("login_verifier"):
        return flow.after_login(
            params["login_verifier"], cookies.get(LOGIN_CSRF_COOKIE), cookies.get(SESSION_COOKIE)
        )
    if params.get("consent_verifier"):
        return flow.after_consent(params["consent_verifier"], cookies.get(CONSENT_CSRF_COOKIE))
    return None


def canonical_url(path: str, params: MultiDict) -> str:
    """The request as a GET URL on the public address (what the admin API calls
    request_url), without the parameters that must not be stored (``_NOT_STORED``)."""
    base = current_app.extensions["authserver"].settings.public_url.rstrip("/")
    kept = [(key, value) for key, value in params.items(multi=True) if key not in _NOT_STORED]
    return f"{base}{path}?{urlencode(kept)}"


def redirect_browser(location: str, cookies: list[CookieChange]):
    # 303 after a POST so that the browser follows with a GET (RFC 9110 §15.4.4).
    response = redirect(location, 303 if request.method == "POST" else 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return apply_cookies(response, cookies, current_app.extensions["authserver"].settings.dev)


def render_error(exc: ErrorPage):
    """URLS_ERROR when configured (as Hydra), else the server's own error page.

    The request failed as a whole, so nothing it wrote is kept (e.g. the login session of a
    verifier redemption that lost a race to another tab)."""
    g._rollback_only = True
    error_url = current_app.extensions["authserver"].settings.error_url
    if error_url:
        params = {"error": exc.error, "error_description": exc.description}
        if exc.hint:
            params["error_hint"] = exc.hint
        response = redirect(add_query(error_url, params), 302)
        response.headers.update(SECURITY_HEADERS)
        return response
    return error_page(exc.error, exc.description, exc.hint, exc.status)
