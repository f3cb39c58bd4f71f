"""``GET|POST /oauth2/auth``: the authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1.2).

One URL, three steps (see ``oauth2.login_consent``): a new authorization request, the
return from the login app (``login_verifier``) and from the consent app
(``consent_verifier``). This view only translates between HTTP and that flow.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from werkzeug.datastructures import MultiDict

from authserver.oauth2.login_consent import (
    SESSION_COOKIE,
    AuthorizationFlow,
    ClientError,
    ErrorPage,
    add_query,
    is_pushed,
)
from authserver.public.browser import (
    browser_params,
    canonical_url,
    redirect_browser,
    render_error,
    returning_step,
)
from authserver.web.transaction import db_session, writes

bp = Blueprint("authorize", __name__)


@bp.route("/oauth2/auth", methods=["GET", "POST"])
@writes
def authorize():
    services = current_app.extensions["authserver"]
    flow = AuthorizationFlow(services, db_session())
    try:
        params = browser_params()
        result = returning_step(flow, params, request.cookies)
        if result is None:  # a new authorization request
            result = _start(flow, params)
    except ErrorPage as exc:
        return render_error(exc)
    except ClientError as exc:
        return redirect_browser(_error_location(exc, services.settings.issuer), exc.cookies)
    return redirect_browser(result.location, result.cookies)


def _start(flow: AuthorizationFlow, params: MultiDict):
    lists = {key: params.getlist(key) for key in params}
    pushed = is_pushed(lists)
    if pushed:  # RFC 9126: the pushed parameters, and they alone
        lists = flow.redeem_pushed(lists)
        params = MultiDict([(key, value) for key, values in lists.items() for value in values])
    request_url = canonical_url("/oauth2/auth", params)
    return flow.start(lists, request_url, request.cookies.get(SESSION_COOKIE), pushed=pushed)


def _error_location(exc: ClientError, issuer: str) -> str:
    """RFC 6749 §4.1.2.1 error response, with the RFC 9207 ``iss`` parameter."""
    params = {"error": exc.error}
    if exc.description:
        params["error_description"] = exc.description
    if exc.hint:
        params["error_hint"] = exc.hint
    if exc.state:
        params["state"] = exc.state
    params["iss"] = issuer
    return add_query(exc.redirect_uri, params)
