"""``GET|POST /oauth2/sessions/logout``: RP-initiated logout (see ``oauth2.logout``)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request

from authserver.oauth2.login_consent import SESSION_COOKIE, ErrorPage
from authserver.oauth2.logout import LogoutFlow
from authserver.public.authorize import render_error
from authserver.public.cookies import apply_cookies
from authserver.web.bodies import FORM_TYPE
from authserver.web.transaction import db_session

bp = Blueprint("logout", __name__)


@bp.route("/oauth2/sessions/logout", methods=["GET", "POST"])
def logout():
    services = current_app.extensions["authserver"]
    if request.method == "POST" and request.mimetype != FORM_TYPE:
        return render_error(ErrorPage("invalid_request", f"POST requests must be {FORM_TYPE}."))
    params = request.form if request.method == "POST" else request.args
    flow = LogoutFlow(services, db_session())
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        if params.get("logout_verifier"):
            result = flow.finish(params["logout_verifier"], cookie)
        else:
            request_url = (
                services.settings.public_url.rstrip("/")
                + "/oauth2/sessions/logout?"
                + urlencode(list(params.items(multi=True)))
            )
            result = flow.start(params, request_url, cookie)
    except ErrorPage as exc:
        return render_error(exc)
    response = redirect(result.location, 303 if request.method == "POST" else 302)
    response.headers["Cache-Control"] = "no-store"
    return apply_cookies(response, result.cookies, services.settings.dev)
