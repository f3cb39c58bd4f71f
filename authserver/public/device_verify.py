"""``GET /oauth2/device/verify``: the verification URI of the device flow (RFC 8628 §3.3).

One URL, four steps (see ``oauth2.login_consent``): a browser arriving (optionally with
``user_code``) gets a device challenge for the user-code page; it returns with the
``device_verifier`` the page got from the admin API and goes on to the login; then, as at
``/oauth2/auth``, with the ``login_verifier`` and the ``consent_verifier``. The flow ends
at ``URLS_DEVICE_SUCCESS``. This view only translates between HTTP and that flow.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from authserver.oauth2.login_consent import (
    DEVICE_CSRF_COOKIE,
    SESSION_COOKIE,
    AuthorizationFlow,
    ClientError,
    ErrorPage,
    add_query,
)
from authserver.public.browser import redirect_browser, render_error, returning_step
from authserver.web.transaction import db_session, writes

bp = Blueprint("device_verify", __name__)


@bp.get("/oauth2/device/verify")
@writes
def verify():
    services = current_app.extensions["authserver"]
    flow = AuthorizationFlow(services, db_session())
    params = request.args
    try:
        if params.get("device_verifier"):
            result = flow.after_device(
                params["device_verifier"],
                request.cookies.get(DEVICE_CSRF_COOKIE),
                request.cookies.get(SESSION_COOKIE),
            )
        else:
            result = returning_step(flow, params, request.cookies)
        if result is None:  # a browser arriving, perhaps with the user code
            result = flow.start_device(
                params.get("user_code"), request.cookies.get(DEVICE_CSRF_COOKIE)
            )
    except ErrorPage as exc:
        return render_error(exc)
    except ClientError as exc:
        # A rejected login or consent: the device code is denied, the browser ends at the
        # device success page with the error.
        location = add_query(
            exc.redirect_uri,
            {"error": exc.error, "error_description": exc.description or exc.error},
        )
        return redirect_browser(location, exc.cookies)
    return redirect_browser(result.location, result.cookies)
