"""``/device`` and ``/device/success``: the device authorization grant (RFC 8628).

A TV or a command line shows a short code and an address. The user opens that address on a
phone or laptop; the authorization server sends the browser here with
``?device_challenge=…`` (and ``&user_code=…`` when the address carried the code, as a QR
code's does).

1. GET shows a form for the code, prefilled from ``user_code``.
2. POST sends the code to the admin API (``accept_user_code``) and follows ``redirect_to``,
   on to the ordinary ``/login`` and ``/consent``, which say that a device is asking. A
   wrong, expired or used code shows the form again. After too many wrong codes, or once
   used, the challenge is dead: the server's 410 ``redirect_to`` starts again.
3. The flow ends at ``/device/success`` (the server's ``URLS_DEVICE_SUCCESS``), with
   ``?error=access_denied`` when the user said no at login or consent.

The server ends a challenge after a few wrong codes; this app also counts them per address
(``throttle.py``, its own counters), so one browser cannot try codes on challenge after
challenge for long.
"""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request

from consent_ui.admin_api import ChallengeGone, ChallengeNotFound, UserCodeRejected
from consent_ui.errors import MalformedChallenge, MissingChallenge, error_page, is_web_url
from consent_ui.forms import DeviceForm, user_code_problem
from consent_ui.services import services
from consent_ui.signin import Attempt
from consent_ui.views.common import challenge_from_form, challenge_from_query, follow

bp = Blueprint("device", __name__)

PARAMETER = "device_challenge"
# What a challenge is made of (Hydra's and authserver's: base64 or hex); the GET asks the
# server nothing, so a garbled one is caught here, not after the user typed the code.
CHALLENGE = re.compile(r"[A-Za-z0-9._~+/=-]+")
WRONG_CODE = "That code did not work: it is wrong, has expired or was already used."
TWO_CODES = "The link carried more than one code. Type the code your device shows."
MAX_DETAIL = 300  # characters of the server's reason shown to the user


@bp.get("/device")
def show_form():
    challenge = device_challenge()
    codes = request.args.getlist("user_code")
    typed = codes[0].strip() if codes else ""
    problem = TWO_CODES if len(codes) > 1 else (user_code_problem(typed) if typed else "")
    form = DeviceForm(challenge=challenge, user_code="" if problem else typed)
    return render_device(form, problem, 400 if problem else 200)


@bp.post("/device")
def submit_form():
    form = DeviceForm()
    challenge = well_formed(challenge_from_form(form, PARAMETER))
    if not form.validate():
        if not (form.user_code.data or "").isprintable():
            form.user_code.data = ""  # not echoed back: NUL, CR LF ...
        return render_device(form, status=400)
    throttle, key, address = services().code_throttle, throttle_key(challenge), client_address()
    wait = throttle.retry_after(key, address)
    if wait:
        attempt = Attempt(wait=wait)
        page, status = render_device(form, attempt.message(), 429)
        return page, status, {"Retry-After": str(attempt.retry_after)}
    try:
        redirect_to = services().admin_api.accept_user_code(
            challenge, normalized(form.user_code.data)
        )
    except UserCodeRejected as exc:
        throttle.record_failure(key, address)
        return render_device(form, WRONG_CODE, 400, detail=shown(exc.description))
    except ChallengeGone as exc:
        return start_again(exc.redirect_to)
    throttle.record_success(key, address)
    return follow(redirect_to)


@bp.get("/device/success")
def success():
    error = request.args.get("error")
    return render_template(
        "device_success.html",
        failed=error is not None,
        denied=error == "access_denied",
        description=shown(request.args.get("error_description", "")),
    )


# -- helpers -------------------------------------------------------------------------------


def device_challenge() -> str:
    """The challenge the server put in the URL; twice (two different ones?) is a bad link."""
    if len(request.args.getlist(PARAMETER)) > 1:
        raise ChallengeNotFound("more than one device_challenge")
    return well_formed(challenge_from_query(PARAMETER))


def well_formed(challenge: str) -> str:
    if not CHALLENGE.fullmatch(challenge):
        raise MalformedChallenge(PARAMETER)
    return challenge


def normalized(user_code: str) -> str:
    """``bcdf-ghjk`` as the device shows it, ``BCDFGHJK``: Hydra's codes are upper-case
    and undashed (authserver ignores case and dashes either way)."""
    return re.sub(r"[\s-]+", "", user_code).upper()


def throttle_key(challenge: str) -> str:
    """Wrong codes count as failures on this "account" (one per challenge) and address."""
    return f"device challenge {challenge}"


def client_address() -> str:
    return request.remote_addr or "unknown"  # a proxy's? see CONSENT_UI_TRUSTED_PROXIES


def shown(text: str) -> str:
    """Text from the server or the URL, fit to show (Jinja escapes it): printable, short."""
    text = (text or "").strip()
    return text[:MAX_DETAIL] if text.isprintable() else ""


def start_again(redirect_to: str):
    """410: the challenge is dead. Its ``redirect_to`` starts a new one on this browser."""
    if is_web_url(redirect_to):
        return follow(redirect_to)
    return error_page(
        410,
        "This code page has expired",
        "It was already used, or had too many wrong codes. Start again on your device.",
    )


def render_device(form: DeviceForm, error: str = "", status: int = 200, detail: str = ""):
    page = render_template("device.html", form=form, error=error, detail=detail)
    return page, status


@bp.errorhandler(MissingChallenge)
def missing_challenge(exc: MissingChallenge):
    if isinstance(exc, MalformedChallenge):  # there, but garbled
        return unknown_challenge(exc)
    return error_page(
        400,
        "Start on your device",
        "To connect a device, open the address it shows, or scan its QR code: that page "
        "brings you here, to a form for the device's code.",
    )


@bp.errorhandler(ChallengeNotFound)
def unknown_challenge(_exc: Exception):
    return error_page(
        400,
        "This link is not valid",
        "The authorization server does not know this request. Start again on your device: "
        "open the address it shows, or scan its QR code.",
    )
