"""``GET|POST /oauth2/sessions/logout``: RP-initiated logout (see ``oauth2.logout``)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.oauth2.login_consent import SESSION_COOKIE, ErrorPage
from authserver.oauth2.logout import LogoutFlow
from authserver.public.browser import browser_params, canonical_url, redirect_browser, render_error
from authserver.web.transaction import db_session, writes

bp = Blueprint("logout", __name__)


@bp.route("/oauth2/sessions/logout", methods=["GET", "POST"])
@writes
def logout():
    flow = LogoutFlow(current_app.extensions["authserver"], db_session())
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        params = browser_params()
        if params.get("logout_verifier"):
            result = flow.finish(params["logout_verifier"], cookie)
        else:
            request_url = canonical_url("/oauth2/sessions/logout", params)
            result = flow.start(params, request_url, cookie)
    except ErrorPage as exc:
        return render_error(exc)
    return redirect_browser(result.location, result.cookies)
