"""``/login``: who are you?

The authorization server sends the browser here with ``?login_challenge=…``.

1. GET reads the login request. When the server already knows this browser's user
   (``skip``: an earlier "Remember me"), accept at once with that subject; no form.
2. Otherwise show the form. POST checks the email and password (with throttling) and
   accepts with the user's subject; "Deny access" rejects the login instead.
3. Accept and reject both answer with ``redirect_to``: send the browser there.

Throttling (``throttle.py``, through ``signin.py``) comes before the password check: too
many recent failures get 429 with ``Retry-After`` and the password is not even looked at.
A successful login marks the browser as a known device for the account (``devices.py``),
so its owner is never slowed down by someone guessing from elsewhere.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template
from flask_login import login_user

from consent_ui.admin_api import LoginRequest
from consent_ui.devices import remember_device, trusted_device
from consent_ui.forms import LoginForm
from consent_ui.services import services
from consent_ui.signin import Attempt, check_password
from consent_ui.views.common import challenge_from_form, challenge_from_query, follow

log = logging.getLogger(__name__)
bp = Blueprint("login", __name__)

# How the user authenticated, for the ID token's acr and amr claims (RFC 8176: "pwd").
ACR = "urn:consent-ui:password"
AMR = ["pwd"]


@bp.get("/login")
def show_form():
    challenge = challenge_from_query("login_challenge")
    api = services().admin_api
    login_request = api.get_login_request(challenge)
    if login_request.skip:
        # The server already authenticated this user. Confirm the same subject; this is
        # also the place to refuse, e.g. when the account was disabled since.
        return follow(api.accept_login(challenge, subject=login_request.subject))
    form = LoginForm(challenge=challenge, email=login_request.login_hint)
    return render_login(form, login_request)


@bp.post("/login")
def submit_form():
    form = LoginForm()
    challenge = challenge_from_form(form, "login_challenge")
    api = services().admin_api
    if form.deny.data:
        description = "The user denied the login."
        return follow(api.reject_login(challenge, "access_denied", description))
    # Read the request again before checking a password: a used or expired challenge
    # shows its error page now, not after the user typed their password.
    login_request = api.get_login_request(challenge)
    if not form.validate():
        return render_login(form, login_request)
    return log_in(form, challenge, login_request)


def log_in(form: LoginForm, challenge: str, login_request: LoginRequest):
    email, password = form.email.data.strip(), form.password.data
    # The device id is "" unless this browser logged in to this account before.
    attempt = check_password(email, password, trusted_device(email))
    if attempt.wait:
        return too_many_attempts(form, login_request, attempt)
    if attempt.user is None:
        return render_login(form, login_request, attempt.message())
    user = attempt.user

    remember = bool(form.remember.data)
    redirect_to = services().admin_api.accept_login(
        challenge,
        subject=user.subject,
        remember=remember,  # the server will skip this form next time ...
        remember_for=current_app.config["REMEMBER_FOR"],  # ... for this many seconds
        acr=ACR,
        amr=AMR,
    )
    login_user(user, remember=remember)  # lets the consent and logout pages greet them
    log.info("login succeeded")
    response = follow(redirect_to)
    remember_device(response, email)
    return response


def too_many_attempts(form: LoginForm, login_request: LoginRequest, attempt: Attempt):
    """429 with Retry-After (whole seconds, rounded up); the form stays usable."""
    page, status = render_login(form, login_request, attempt.message(), 429)
    return page, status, {"Retry-After": str(attempt.retry_after)}


def render_login(form: LoginForm, login_request: LoginRequest, error: str = "", status=200):
    page = render_template(
        "login.html",
        form=form,
        client=login_request.client,
        error=error,
        demo_account=current_app.config["SHOW_DEMO_ACCOUNT"],
        device=login_request.from_device,  # a device is asking: say so (RFC 8628 §5.4)
    )
    return page, status
