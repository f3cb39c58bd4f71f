"""``GET|POST /oauth2/sessions/logout``: RP-initiated logout (see ``oauth2.logout``).

Once the logout is done, the session's clients are told: over the back channel after the
transaction commits (the answer waits for them at most ``BACKCHANNEL_WAIT`` seconds), and
through the browser, whose next page loads their front-channel logout URIs in invisible
iframes before it goes on (``public.frontchannel``)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.oauth2.login_consent import SESSION_COOKIE, ErrorPage
from authserver.oauth2.logout import LoggedOut, LogoutFlow
from authserver.public.browser import browser_params, canonical_url, redirect_browser, render_error
from authserver.public.cookies import apply_cookies
from authserver.public.frontchannel import frontchannel_page
from authserver.web.transaction import after_commit, db_session, writes

bp = Blueprint("logout", __name__)

BACKCHANNEL_WAIT = 3.0  # seconds the browser's answer waits for back-channel deliveries


@bp.route("/oauth2/sessions/logout", methods=["GET", "POST"])
@writes
def logout():
    services = current_app.extensions["authserver"]
    flow = LogoutFlow(services, db_session())
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
    if not isinstance(result, LoggedOut):
        return redirect_browser(result.location, result.cookies)
    deliveries = result.ended.deliveries
    if deliveries:
        after_commit(lambda: services.backchannel.send_now(deliveries, BACKCHANNEL_WAIT))
    if not result.ended.frames:
        return redirect_browser(result.location, result.cookies)
    page = frontchannel_page(result.ended.frames, result.location)
    return apply_cookies(page, result.cookies, services.settings.dev)
