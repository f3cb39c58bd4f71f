"""``perform device-code``: the device authorization grant (RFC 8628) from the device's side,
as Hydra's ``hydra perform device-code``.

It asks for a device code, shows the user where to go (the verification URI, the user code,
the complete URI and its QR code, on stderr), polls the token endpoint as RFC 8628 §3.5 says
(``interval``, ``slow_down`` adds 5 s, ``authorization_pending`` waits) and prints the tokens
on stdout in the formats of ``perform authorization-code``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass

import click

from authserver.cli.common import PUBLIC_DEFAULT, ApiClient, CliError, form_auth, split_list
from authserver.cli.output import TOKEN_HEADERS, print_row, token_cells

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: when the server names none
SLOW_DOWN_SECONDS = 5  # RFC 8628 §3.5

# The answers that end the polling, explained in one line each.
_FINAL_ERRORS = {
    "access_denied": "the user denied the authorization request (access_denied)",
    "expired_token": "the device code expired before the user finished (expired_token)",
}


@dataclass
class DeviceConfig:
    client_id: str
    client_secret: str
    scope: list[str]
    audience: list[str]
    device_auth_url: str
    token_url: str
    verify_tls: bool = True
    # "basic" or "post"; None until the server has said which (as Go's oauth2 auto-detects).
    auth_style: str | None = None


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: float


def _sleep(seconds: float) -> None:  # a seam for the tests
    time.sleep(seconds)


def _post(config: DeviceConfig, url: str, form: dict) -> tuple[int, object]:
    """POST a form with the client's authentication; the status and the JSON answer.

    With a secret, HTTP Basic first and, if the server answers invalid_client, the secret
    in the form (client_secret_post, as Hydra's device-code command documents).
    """
    if not config.client_secret:
        return _send(config, url, {**form, "client_id": config.client_id}, None)
    for style in [config.auth_style] if config.auth_style else ["basic", "post"]:
        status, body = _send_styled(config, url, form, style)
        if status != 401:
            config.auth_style = style
            break
    return status, body


def _send_styled(config: DeviceConfig, url: str, form: dict, style: str):
    if style == "basic":
        return _send(config, url, form, form_auth(config.client_id, config.client_secret))
    secret = {"client_id": config.client_id, "client_secret": config.client_secret}
    return _send(config, url, {**form, **secret}, None)


def _send(config: DeviceConfig, url: str, form: dict, auth) -> tuple[int, object]:
    response = ApiClient(url, verify=config.verify_tls).request(
        "POST", "", expected=range(200, 600), data=form, auth=auth
    )
    try:
        return response.status_code, response.json()
    except ValueError:
        raise CliError(
            f"{url} answered HTTP {response.status_code} with something not JSON"
        ) from None


def _error_line(url: str, status: int, body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description") or ""
        return f"{body['error']}: {description}".rstrip(": ") + f" (HTTP {status})"
    return f"{url} answered HTTP {status} without an OAuth 2.0 error"


def request_device_code(config: DeviceConfig) -> DeviceAuthorization:
    """RFC 8628 §3.1-3.2: the device authorization request."""
    form = {"scope": " ".join(config.scope)}
    if config.audience:
        form["audience"] = " ".join(config.audience)
    status, body = _post(config, config.device_auth_url, form)
    if status != 200:
        line = _error_line(config.device_auth_url, status, body)
        raise CliError(f"the device authorization request failed: {line}")
    try:
        return _parse_authorization(body)
    except (KeyError, TypeError, ValueError):
        raise CliError(
            f"{config.device_auth_url} answered without a device_code, user_code "
            "and verification_uri"
        ) from None


def _parse_authorization(body) -> DeviceAuthorization:
    fields = {name: body[name] for name in ("device_code", "user_code", "verification_uri")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise ValueError
    interval = float(body.get("interval") or DEFAULT_INTERVAL)
    return DeviceAuthorization(
        **fields,
        verification_uri_complete=str(body.get("verification_uri_complete") or ""),
        expires_in=int(body.get("expires_in") or 0),
        interval=max(interval, 0.0),
    )


def qr_text(data: str) -> str:
    """The QR code of ``data`` as text for a terminal (half blocks: two modules a line)."""
    import segno  # lazily: only this command draws QR codes

    out = io.StringIO()
    segno.make(data, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def show_instructions(device: DeviceAuthorization) -> None:
    """What the user needs, on stderr (stdout keeps only the tokens)."""

    def echo(text: str = "") -> None:
        click.echo(text, err=True)

    echo(f"To log in, open on any device:\n\n\t{device.verification_uri}\n")
    echo(f"and enter the code:\n\n\t{device.user_code}\n")
    if device.verification_uri_complete:
        echo(
            f"Or open (or scan) this address, which carries the code:\n\n\t"
            f"{device.verification_uri_complete}\n"
        )
        # A terminal without UTF-8 gets no QR code: the address must do.
        with contextlib.suppress(UnicodeEncodeError):
            echo(qr_text(device.verification_uri_complete))
    echo("Waiting for the authorization (Ctrl+C to stop)...")


def poll_for_token(config: DeviceConfig, device: DeviceAuthorization) -> dict:
    """RFC 8628 §3.4-3.5: poll until the tokens, a refusal or the expiry."""
    interval = device.interval
    deadline = time.monotonic() + device.expires_in if device.expires_in else None
    form = {"grant_type": GRANT_TYPE, "device_code": device.device_code}
    while True:
        _sleep(interval)
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(_FINAL_ERRORS["expired_token"])
        status, body = _post(config, config.token_url, form)
        error = body.get("error") if isinstance(body, dict) else None
        if status == 200 and isinstance(body, dict) and body.get("access_token"):
            return body
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += SLOW_DOWN_SECONDS
            continue
        if error in _FINAL_ERRORS:
            raise CliError(_FINAL_ERRORS[error])
        line = _error_line(config.token_url, status, body)
        raise CliError(f"the device token request failed: {line}")


def run_device_code(config: DeviceConfig, fmt: str) -> None:
    device = request_device_code(config)
    show_instructions(device)
    try:
        token = poll_for_token(config, device)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None
    click.echo("Successfully signed in!", err=True)
    expiry = time.time() + int(token.get("expires_in") or 0)
    print_row(TOKEN_HEADERS, token_cells(token, expiry), token, fmt)


@click.command("device-code")
@click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID).")
@click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET).")
@click.option("--scope", multiple=True, help="Scopes to request [offline,openid].")
@click.option("--audience", multiple=True, help="Audiences to request.")
@click.option("--device-auth-url", default="", help="[ENDPOINT/oauth2/device/auth].")
@click.option("--token-url", default="", help="Token endpoint [ENDPOINT/oauth2/token].")
@click.option(
    "-e",
    "--endpoint",
    default=None,
    metavar="URL",
    help=f"The public API URL (env ORY_SDK_URL; default {PUBLIC_DEFAULT}).",
)
@click.option("--skip-tls-verify", is_flag=True, help="Do not verify TLS certificates.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "json-pretty", "default"]),
    default="table",
    show_default=True,
)
def perform_device_code(
    client_id,
    client_secret,
    scope,
    audience,
    device_auth_url,
    token_url,
    endpoint,
    skip_tls_verify,
    fmt,
):
    """Perform the OAuth 2.0 device authorization grant (RFC 8628), as a device would.

    Shows where to log in (address, user code, QR code), polls the token endpoint and
    prints the tokens. The client needs the grant type
    urn:ietf:params:oauth:grant-type:device_code.
    """
    client_id = client_id or os.environ.get("OAUTH2_CLIENT_ID", "")
    if not client_id:
        raise click.UsageError("Please provide a Client ID using --client-id or OAUTH2_CLIENT_ID.")
    base = (endpoint or os.environ.get("ORY_SDK_URL") or PUBLIC_DEFAULT).rstrip("/")
    config = DeviceConfig(
        client_id=client_id,
        client_secret=client_secret or os.environ.get("OAUTH2_CLIENT_SECRET", ""),
        scope=split_list(scope) or ["offline", "openid"],
        audience=split_list(audience),
        device_auth_url=device_auth_url or base + "/oauth2/device/auth",
        token_url=token_url or base + "/oauth2/token",
        verify_tls=not skip_tls_verify,
    )
    run_device_code(config, fmt)
