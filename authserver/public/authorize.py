"""``GET|POST /oauth2/auth``: the authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2).

One URL, three steps (see ``oauth2.login_consent``): a new authorization request, the
return from the login app (``login_verifier``) and from the consent app
(``consent_verifier``). This view only translates between HTTP and that flow.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request

from authserver.oauth2.login_consent import (
    CONSENT_CSRF_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    AuthorizationFlow,
    ClientError,
    ErrorPage,
    add_query,
)
from authserver.public.cookies import apply_cookies
from authserver.web.bodies import FORM_TYPE
from authserver.web.pages import SECURITY_HEADERS, error_page
from authserver.web.transaction import db_session

bp = Blueprint("authorize", __name__)


@bp.route("/oauth2/auth", methods=["GET", "POST"])
def authorize():
    services = current_app.extensions["authserver"]
    if request.method == "POST" and request.mimetype != FORM_TYPE:
        return render_error(ErrorPage("invalid_request", f"POST requests must be {FORM_TYPE}."))
    params = request.form if request.method == "POST" else request.args
    flow = AuthorizationFlow(services, db_session())
    try:
        if params.get("login_verifier"):
            result = flow.after_login(
                params["login_verifier"],
                request.cookies.get(LOGIN_CSRF_COOKIE),
                request.cookies.get(SESSION_COOKIE),
            )
        elif params.get("consent_verifier"):
            result = flow.after_consent(
                params["consent_verifier"], request.cookies.get(CONSENT_CSRF_COOKIE)
            )
        else:
            lists = {key: params.getlist(key) for key in params}
            request_url = (
                services.settings.public_url.rstrip("/")
                + "/oauth2/auth?"
                + urlencode([(key, value) for key, values in lists.items() for value in values])
            )
            result = flow.start(lists, request_url, request.cookies.get(SESSION_COOKIE))
    except ErrorPage as exc:
        return render_error(exc)
    except ClientError as exc:
        params = {"error": exc.error}
        if exc.description:
            params["error_description"] = exc.description
        if exc.hint:
            params["error_hint"] = exc.hint
        if exc.state:
            params["state"] = exc.state
        params["iss"] = services.settings.issuer
        return _redirect(add_query(exc.redirect_uri, params), exc.cookies)
    return _redirect(result.location, result.cookies)


def _redirect(location: str, cookies):
    response = redirect(location, 303 if request.method == "POST" else 302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return apply_cookies(response, cookies, current_app.extensions["authserver"].settings.dev)


def render_error(exc: ErrorPage):
    """URLS_ERROR when configured (as Hydra), else the server's own error page."""
    error_url = current_app.extensions["authserver"].settings.error_url
    if error_url:
        params = {"error": exc.error, "error_description": exc.description}
        if exc.hint:
            params["error_hint"] = exc.hint
        response = redirect(add_query(error_url, params), 302)
        response.headers.update(SECURITY_HEADERS)
        return response
    return error_page(exc.error, exc.description, exc.hint, exc.status)
