"""Device cookies: "this browser has logged in to this account before".

After a successful login the browser gets ``consent_ui_device``: the account and a random
device id, signed with the app's SECRET_KEY (itsdangerous) and valid for
DEVICE_COOKIE_MAX_AGE seconds. A login attempt that carries a valid one for the email typed
is throttled per device, apart from everyone else (see ``throttle.py``): an attacker
guessing the password elsewhere cannot lock the owner out of their usual browser. This is
OWASP's "Slow Down Online Guessing Attacks with Device Cookies".

The cookie proves nothing about who is typing: the password is still checked every time.
One cookie per browser: logging in as another account replaces it.
"""

from __future__ import annotations

import secrets

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from consent_ui.throttle import account_key

COOKIE = "consent_ui_device"
SALT = "consent_ui.device"  # keeps these signatures apart from the session's


def trusted_device(email: str) -> str:
    """The device id of this browser's cookie when it is valid for ``email``, else ""."""
    value = request.cookies.get(COOKIE)
    if not value:
        return ""
    try:
        account, device = _serializer().loads(value, max_age=_max_age())
    except (BadData, TypeError, ValueError):  # forged, expired, or not our shape
        return ""
    if not isinstance(device, str) or account != account_key(email):
        return ""
    return device


def remember_device(response: Response, email: str) -> None:
    """Mark this browser as a known device for ``email`` (a new id each login)."""
    value = _serializer().dumps([account_key(email), secrets.token_urlsafe(16)])
    response.set_cookie(
        COOKIE,
        value,
        max_age=_max_age(),
        path="/login",  # only the login form needs it
        secure=bool(current_app.config["HTTPS"]),  # and on https requests: wrappers.py
        httponly=True,
        samesite="Lax",
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def _max_age() -> int:
    return int(current_app.config["DEVICE_COOKIE_MAX_AGE"])
