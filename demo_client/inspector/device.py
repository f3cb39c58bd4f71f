"""The device authorization grant's steps (RFC 8628): the device authorization request,
each poll of the token endpoint (a run of identical ``authorization_pending`` answers is one
step with a count), and the user's trip on another device, described."""

from __future__ import annotations

from demo_client.inspector.assertion import client_assertion_auth
from demo_client.inspector.glossary import DEVICE_POLL_ANSWERS, PARAMETERS
from demo_client.inspector.model import (
    BROWSER,
    SERVER,
    Param,
    Step,
    http_step,
    param,
    response_params,
)
from demo_client.inspector.redaction import safe_url, show_authorization
from demo_client.transport import Exchange

PENDING = "authorization_pending"


def _client_auth(exchange: Exchange) -> Param:
    with_key = client_assertion_auth(exchange)
    if with_key is not None:
        return Param("client authentication", *with_key)
    value = (
        f"client_secret_basic: Authorization: {show_authorization(exchange.authorization)}"
        if exchange.authorization
        else "none: client_id in the body, no secret (a public client)"
    )
    return Param("client authentication", value, PARAMETERS["Authorization"][0], "RFC 6749 §2.3.1")


def _request_params(exchange: Exchange) -> list[Param]:
    return [param(name, value) for name, value in exchange.params] + [_client_auth(exchange)]


def device_authorization_step(exchange: Exchange, discovered: bool) -> Step:
    response = response_params(
        exchange,
        (
            "device_code",
            "user_code",
            "verification_uri",
            "verification_uri_complete",
            "expires_in",
            "interval",
            "error",
            "error_description",
        ),
    )
    for row in response:
        if row.name == "expires_in":
            row.meaning, row.ref = PARAMETERS["expires_in (device)"]
    notes = [
        "The client keeps the device_code on its server; the page shows only the user code, "
        "the verification URI and its QR code."
    ]
    if not discovered:
        notes.append("Discovery names no device_authorization_endpoint: Hydra's path is used.")
    return http_step(
        "device-authorization",
        "Device authorization request",
        exchange,
        "A device without a (usable) browser asks for a device code and a short user code; "
        "the user will log in somewhere else.",
        "RFC 8628 §3.1, §3.2",
        params=_request_params(exchange),
        response=response,
        notes=notes,
    )


def device_user_step(verification_uri: str, at: float) -> Step:
    """The user's part, out of the client's sight: described, not recorded."""
    return Step(
        key="device-user",
        title="You enter the user code on another device",
        source=BROWSER,
        target=SERVER,
        purpose="On a phone or computer you open the verification URI (or scan the QR code), "
        "enter the user code, then log in and consent as in any flow.",
        ref="RFC 8628 §3.3",
        method="GET",
        url=safe_url(verification_uri),
        at=at,
        recorded=False,
    )


def poll_answer(exchange: Exchange) -> str:
    body = exchange.body if isinstance(exchange.body, dict) else {}
    if exchange.status == 200 and "access_token" in body:
        return "tokens"
    return str(body.get("error") or exchange.status or "no response")


def device_poll_step(exchange: Exchange, interval: float, count: int = 1) -> Step:
    answer = poll_answer(exchange)
    notes = [f"Polling every {interval:g} s at least (the interval, RFC 8628 §3.5)."]
    if answer in DEVICE_POLL_ANSWERS:
        notes.insert(0, f"{answer}: {DEVICE_POLL_ANSWERS[answer]}")
    if count > 1:
        notes.insert(0, f"{count} polls in a row answered {answer} (shown once).")
    pending = answer in (PENDING, "slow_down")
    title = "Token request (device poll)" + (f" ×{count}" if count > 1 else "")
    return http_step(
        "device-poll",
        title,
        exchange,
        "The device asks the token endpoint whether the user has finished, with its device "
        "code and client authentication.",
        "RFC 8628 §3.4, §3.5",
        params=_request_params(exchange),
        response=response_params(
            exchange,
            (
                "error",
                "error_description",
                "token_type",
                "expires_in",
                "scope",
                "access_token",
                "refresh_token",
                "id_token",
            ),
        ),
        notes=notes,
        ok=pending or answer == "tokens",
    )
