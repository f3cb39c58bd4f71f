"""The harness's built-in login/consent app, on the public port under ``/harness/``
(``URLS_LOGIN``, ``URLS_CONSENT``, ``URLS_LOGOUT`` and the device pages point here).

It answers the flow in this process (``oauth2.challenges``) instead of over the admin API:
one hop less per step keeps a scripted login in milliseconds. The decisions are
``desk.LoginDesk``'s; this module only maps them to redirects and pages."""

from __future__ import annotations

import hmac
import json
import secrets

from flask import Blueprint, Response, current_app, g, render_template, request

from authserver.domain.flows import FlowError
from authserver.domain.text import text_problem
from authserver.harness.decisions import DecisionError, check_claims, check_subject
from authserver.harness.desk import LoginDesk, ShowUsers
from authserver.oauth2.challenges import Answered, FlowChallenges, Gone, Refused
from authserver.public.browser import redirect_browser
from authserver.web.bodies import FORM_TYPE, json_problem
from authserver.web.pages import STYLE, error_page, render_page, security_headers
from authserver.web.transaction import db_session, writes

bp = Blueprint("harness_login", __name__, url_prefix="/harness")

CSRF_COOKIE = "authserver_harness_csrf"
MAX_CLAIMS_TEXT = 16 * 1024
_STYLE = STYLE + (
    ".warning{background:#fff3cd;padding:.5rem;border-radius:4px}.error{color:#b00020}"
    "ul.users{list-style:none;padding:0}ul.users li{margin:.4rem 0}"
)
_PAGE_HEADERS = security_headers(_STYLE, forms=True)


def _services():
    return current_app.extensions["authserver"]


def _desk() -> LoginDesk:
    return LoginDesk(FlowChallenges(_services(), db_session()), current_app.extensions["harness"])


def _go(outcome: Answered | Gone) -> Response:
    location = outcome.redirect_to if isinstance(outcome, Answered) else outcome.request_url
    return redirect_browser(location, [])


def _param(name: str) -> str:
    source = request.form if request.method == "POST" else request.args
    value = source.get(name, "")
    if not value or text_problem(value) or len(value) > 512:
        raise FlowError(f"The {name} parameter is missing or malformed.")
    return value


def _page(title: str, status: int = 200, **fields) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    if len(csrf) > 64:
        csrf = secrets.token_urlsafe(24)
    html = render_template(
        "harness_login.html",
        title=title,
        style=_STYLE,
        csrf=csrf,
        action=request.path,
        users=fields.pop("users", None),
        **fields,
    )
    response = Response(html, status=status, mimetype="text/html", headers=_PAGE_HEADERS)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict", path="/harness/")
    return response


def _form_checked() -> None:
    if request.mimetype != FORM_TYPE:
        raise FlowError(f"The form must be sent as {FORM_TYPE}.")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise FlowError("The form's CSRF token does not match; reload the page.")


@bp.errorhandler(FlowError)
def _flow_error(exc: FlowError):
    g._rollback_only = True  # a request that failed keeps nothing it wrote
    return error_page(exc.error, str(exc), status=exc.status)


# -- login ----------------------------------------------------------------------------------


@bp.get("/login")
@writes
def login():
    outcome = _desk().login(_param("login_challenge"))
    if isinstance(outcome, ShowUsers):
        return _users_page(outcome.flow.client_id, outcome.flow.request.get("scope", []))
    return _go(outcome)


def _users_page(client_id: str, scope, message: str = "", status: int = 200, claims_text=""):
    users = current_app.extensions["harness"].users()
    listed = [(subject, json.dumps(claims, sort_keys=True)) for subject, claims in users.items()]
    return _page(
        "Log in",
        status,
        users=listed,
        challenge=request.values.get("login_challenge", ""),
        client_id=client_id,
        scope=" ".join(scope),
        message=message,
        claims_text=claims_text,
    )


@bp.post("/login")
def login_submitted():
    _form_checked()
    challenge = _param("login_challenge")
    state = current_app.extensions["harness"]
    remember = request.form.get("remember") == "1"
    claims_text = request.form.get("claims", "")
    try:
        subject = check_subject(request.form.get("subject"))
        claims = _claims(claims_text) if request.form.get("free_form") else None
        if claims is None and state.user(subject) is None and request.form.get("free_form"):
            claims = {}
    except DecisionError as exc:
        flow = FlowChallenges(_services(), db_session()).login_flow(challenge)
        return _users_page(
            flow.client_id, flow.request.get("scope", []), str(exc), 400, claims_text
        )
    return _go(_desk().login_as(challenge, subject, claims, remember))


def _claims(text: str) -> dict | None:
    if not text.strip():
        return None
    if len(text) > MAX_CLAIMS_TEXT:
        raise DecisionError(f"the claims JSON is longer than {MAX_CLAIMS_TEXT} characters")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise DecisionError("the claims are not valid JSON") from None
    problem = json_problem(document)
    if problem:
        raise DecisionError(problem)
    return check_claims(document)


# -- consent and logout ---------------------------------------------------------------------


@bp.get("/consent")
@writes
def consent():
    return _go(_desk().consent(_param("consent_challenge")))


@bp.get("/logout")
@writes
def logout():
    service = FlowChallenges(_services(), db_session())
    return _go(service.accept_logout(service.logout_request(_param("logout_challenge"))))


# -- the device flow's user-code page (RFC 8628 §3.3) -----------------------------------------


@bp.get("/device")
@writes
def device():
    challenge = _param("device_challenge")
    user_code = request.args.get("user_code")
    if user_code:  # verification_uri_complete: nothing to type
        return _user_code(challenge, user_code)
    return _page("Enter the code shown on your device", device_challenge=challenge)


@bp.post("/device")
def device_submitted():
    _form_checked()
    return _user_code(_param("device_challenge"), request.form.get("user_code", ""))


def _user_code(challenge: str, user_code: str) -> Response:
    outcome = FlowChallenges(_services(), db_session()).accept_user_code(challenge, user_code)
    if isinstance(outcome, Refused):
        return _page(
            "Enter the code shown on your device",
            outcome.status,
            device_challenge=challenge,
            message=outcome.description,
        )
    return _go(outcome)


@bp.get("/device/done")
def device_done():
    error = request.args.get("error")
    if error:
        return error_page(error, request.args.get("error_description", ""), status=200)
    return render_page("Device approved", ["The device is signed in; you can close this page."])
