"""``/device``: "Log in with a device" — this app plays a device without a browser
(RFC 8628). ``POST /device/start`` asks for a user code; the page shows it with the
verification URI and its QR code and polls ``POST /device/poll.json`` (one token request
per call at most); without JavaScript, ``POST /device/poll`` is the "Check now" button."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, url_for
from markupsafe import Markup

from demo_client import errors
from demo_client.device_flow import DONE, DeviceFlow
from demo_client.services import services
from demo_client.views.pages import browser_state, page, render_explanation

bp = Blueprint("device", __name__)


def qr_svg(data: str) -> Markup:
    """The QR code as inline SVG (no external asset, nothing for the CSP to block)."""
    import segno  # lazily: only this page draws QR codes

    svg = segno.make(data, error="m").svg_inline(scale=5, dark="#1d2330", light="#fff")
    return Markup(svg)  # noqa: S704 (segno's own markup; the data is path data only)


@bp.get("/device")
def device_page():
    state = browser_state()
    if state is not None and state.device_error is not None:
        error, state.device_error = state.device_error, None
        return render_explanation(error)
    device = state.device if state else None
    qr = (
        qr_svg(device.verification_uri_complete)
        if device and device.verification_uri_complete
        else None
    )
    return page("device.html", device=device, qr=qr, steps=state.steps if state else [])


@bp.post("/device/start")
def start():
    state = browser_state(create=True)
    with state.lock:
        DeviceFlow(services(), state).start()
    return redirect(url_for("device.device_page"), 303)


@bp.post("/device/poll")
def poll():
    """The no-JavaScript "Check now": one poll, then the tokens or the device page."""
    state = browser_state()
    if state is None:
        raise errors.no_device_login()
    with state.lock:
        outcome = DeviceFlow(services(), state).poll()
    return redirect(url_for("home.index" if outcome == DONE else "device.device_page"), 303)


@bp.post("/device/poll.json")
def poll_json():
    """For the page's script: the outcome of one poll as JSON; an error is kept for the
    device page to explain (the script goes there)."""
    state = browser_state()
    if state is None:
        return jsonify(status="failed", next=url_for("device.device_page"))
    with state.lock:
        try:
            outcome = DeviceFlow(services(), state).poll()
        except errors.Explained as exc:
            state.device_error = exc
            return jsonify(status="failed", next=url_for("device.device_page"))
        device = state.device
    if outcome == DONE:
        return jsonify(status=outcome, next=url_for("home.index"))
    return jsonify(status=outcome, interval=device.interval if device else 5)
