"""Pages shown when ``URLS_LOGIN``, ``URLS_CONSENT``, ``URLS_LOGOUT``, ``URLS_ERROR``,
``URLS_POST_LOGOUT_REDIRECT``, ``URLS_DEVICE_VERIFICATION`` or ``URLS_DEVICE_SUCCESS`` are
not configured (Hydra's ``/oauth2/fallbacks/*``)."""

from __future__ import annotations

from flask import Blueprint, request

from authserver.web.pages import error_page, render_page

bp = Blueprint("fallbacks", __name__)

_APPS = {
    "login": ("URLS_LOGIN", "sign users in"),
    "consent": ("URLS_CONSENT", "ask users for consent"),
    "logout": ("URLS_LOGOUT", "confirm logouts"),
    "device": ("URLS_DEVICE_VERIFICATION", "ask users for the user code of a device"),
}


def _not_configured(step: str):
    variable, purpose = _APPS[step]
    return render_page(
        f"No {step} app is configured",
        [
            f"This authorization server does not {purpose} itself: it sends the browser to "
            f"an app of yours, at the address in {variable}.",
            f"Set {variable} (for example to the consent_ui app, http://127.0.0.1:3000/{step}) "
            "and start the flow again.",
        ],
    )


@bp.get("/oauth2/fallbacks/login")
def login():
    return _not_configured("login")


@bp.get("/oauth2/fallbacks/consent")
def consent():
    return _not_configured("consent")


@bp.get("/oauth2/fallbacks/logout")
def logout():
    return _not_configured("logout")


@bp.get("/oauth2/fallbacks/device")
def device():
    return _not_configured("device")


@bp.get("/oauth2/fallbacks/device/done")
def device_done():
    if request.args.get("error"):
        return error_page(
            request.args.get("error", "")[:200],
            request.args.get("error_description", "")[:2000],
        )
    return render_page(
        "Your device is connected",
        ["You can close this window and go back to your device."],
    )


@bp.get("/oauth2/fallbacks/logout/callback")
def logged_out():
    return render_page("You are logged out", ["Your session with this server has ended."])


@bp.get("/oauth2/fallbacks/error")
def error():
    return error_page(
        request.args.get("error", "unknown_error")[:200],
        request.args.get("error_description", "")[:2000],
        request.args.get("error_hint", "")[:2000],
    )
