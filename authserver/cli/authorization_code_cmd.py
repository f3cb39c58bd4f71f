"""``perform authorization-code`` (and the 2019 guide's ``token user``): a tiny OAuth2 client
on 127.0.0.1 with a home page and a ``/callback``, to try the authorization code flow.

It is an Authlib client: PKCE (S256), ``state`` and ``nonce`` are generated and checked,
and the ID token is verified against the server's JWKS before the tokens are printed.
"""

from __future__ import annotations

import errno
import html
import os
import secrets
import sys
import threading
import time
import webbrowser
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import click

from authserver.cli.common import PUBLIC_DEFAULT, CliError, split_list
from authserver.cli.output import TOKEN_HEADERS, print_row, token_cells

if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session


@dataclass
class FlowConfig:
    client_id: str
    client_secret: str
    auth_url: str
    token_url: str
    jwks_url: str
    redirect_uri: str
    scope: list[str]
    audience: list[str]
    prompt: list[str]
    max_age: int
    verify_tls: bool = True


@dataclass
class FlowState:
    """The one pending authorization request (regenerated after each attempt)."""

    url: str = ""
    state: str = ""
    nonce: str = ""
    code_verifier: str = ""
    result: dict | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _session(config: FlowConfig) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        config.client_id,
        config.client_secret or None,
        scope=" ".join(config.scope),
        redirect_uri=config.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if config.client_secret else "none",
    )
    session.verify = config.verify_tls
    return session


def _new_request(config: FlowConfig, flow: FlowState) -> None:
    flow.state = secrets.token_urlsafe(16)
    flow.nonce = secrets.token_urlsafe(16)
    flow.code_verifier = secrets.token_urlsafe(48)
    extra = {"nonce": flow.nonce}
    if config.audience:
        extra["audience"] = " ".join(config.audience)
    if config.prompt:
        extra["prompt"] = " ".join(config.prompt)
    if config.max_age:
        extra["max_age"] = str(config.max_age)
    flow.url, _ = _session(config).create_authorization_url(
        config.auth_url, state=flow.state, code_verifier=flow.code_verifier, **extra
    )


def _exchange(config: FlowConfig, flow: FlowState, callback_url: str) -> dict:
    """Check state, exchange the code with the PKCE verifier, verify the ID token."""
    # Lazily, like every HTTP client and JOSE library here: every other command (and each
    # server process) would pay for their import.
    import requests
    from authlib.integrations.base_client import OAuthError
    from authlib.oauth2 import OAuth2Error

    session = _session(config)
    try:
        token = session.fetch_token(
            config.token_url,
            authorization_response=callback_url,
            state=flow.state,
            code_verifier=flow.code_verifier,
        )
    except (OAuthError, OAuth2Error) as exc:
        raise CliError(f"{exc.error}: {exc.description or 'the token request failed'}") from None
    except requests.RequestException as exc:
        raise CliError(f"cannot reach the token endpoint ({exc.__class__.__name__})") from None
    if token.get("id_token"):
        _verify_id_token(config, flow, token["id_token"])
    return dict(token)


def _verify_id_token(config: FlowConfig, flow: FlowState, id_token: str) -> None:
    import requests
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        jwks = requests.get(config.jwks_url, timeout=10, verify=config.verify_tls).json()
        claims = jwt.decode(id_token, KeySet.import_key_set(jwks)).claims
    except (requests.RequestException, ValueError, JoseError) as exc:
        raise CliError(f"the ID token could not be verified ({exc.__class__.__name__})") from None
    audience = claims.get("aud")
    audience = [audience] if isinstance(audience, str) else audience or []
    if config.client_id not in audience:
        raise CliError("the ID token was not issued to this client (aud)")
    if claims.get("nonce") != flow.nonce:
        raise CliError("the ID token's nonce does not match the one sent")
    if claims.get("exp", 0) < time.time():
        raise CliError("the ID token has expired")


# The pages carry their own CSS (no external assets): the home page and the outcome.
_STYLE = """<style>
:root { color-scheme: light; --ink: #1d2330; --muted: #5a6172; --line: #d5d9e2;
  --accent: #2454c5; --pass: #17733a; --pass-bg: #e6f4ea; --fail: #b3261e; --fail-bg: #fbe3e1; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1rem;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); background: #f4f5f8; }
main { width: 100%; max-width: 36rem; background: #fff; border: 1px solid var(--line);
  border-radius: 10px; padding: 1.5rem 1.75rem; box-shadow: 0 2px 10px rgb(0 0 0 / 6%); }
h1 { font-size: 1.5rem; line-height: 1.25; margin: .25rem 0 .75rem; }
p { margin: .5rem 0; }
.muted { color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; font-weight: 700; font-size: .85rem; padding: .2rem .7rem;
  border-radius: 1rem; }
.success .badge { color: var(--pass); background: var(--pass-bg); }
.failure .badge { color: var(--fail); background: var(--fail-bg); }
.success { border-top: 6px solid var(--pass); }
.failure { border-top: 6px solid var(--fail); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 1rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em;
  overflow-wrap: anywhere; }
a.button { display: inline-block; margin-top: .75rem; padding: .55rem 1.1rem; border-radius: 6px;
  background: var(--accent); color: #fff; font-weight: 600; text-decoration: none; }
a.button:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
</style>"""
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · authserver example client</title>{style}</head>
<body><main class="{outcome}" data-outcome="{outcome}">{body}</main></body></html>"""
_HOME = """<h1>An example OAuth 2.0 client</h1>
<p>This little client asks the authorization server for an access token, a refresh token and
an OpenID Connect ID token, with the authorization code flow (PKCE, state and nonce).</p>
<p><a class="button" href="{url}">Authorize application</a></p>"""
_TOKEN_KINDS = (("access_token", "Access token"), ("refresh_token", "Refresh token"))


def _document(title: str, body: str, outcome: str = "start") -> str:
    return _PAGE.format(title=html.escape(title), style=_STYLE, outcome=outcome, body=body)


def _home_page(url: str) -> str:
    return _document("Authorize", _HOME.format(url=html.escape(url)))


def _issued_page(token: dict, back: str) -> str:
    """The tokens' kinds, scope and lifetime; the tokens themselves go to the terminal."""
    rows = [
        (label, "received" if token.get(name) else "not issued") for name, label in _TOKEN_KINDS
    ]
    rows.append(("ID token", "received and verified" if token.get("id_token") else "not issued"))
    rows.append(("Scope", str(token.get("scope") or "(as requested)")))
    if token.get("expires_in"):
        rows.append(("Expires in", f"{token['expires_in']} s"))
    facts = "".join(
        f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>" for name, value in rows
    )
    body = (
        '<span class="badge">✓ Success</span><h1>Tokens issued</h1>'
        "<p>The authorization server issued tokens to this client.</p>"
        f'<dl>{facts}</dl><p class="muted">The tokens are printed in the terminal.</p>{back}'
    )
    return _document("Tokens issued", body, "success")


def _failed_page(message: str, back: str) -> str:
    error, _, description = message.partition(": ")
    detail = f"<dd>{html.escape(description)}</dd>" if description else ""
    body = (
        '<span class="badge">✗ Failed</span><h1>No tokens were issued</h1>'
        f"<dl><dt>Error</dt><dd><code>{html.escape(error)}</code></dd>"
        f"{'<dt>Description</dt>' + detail if detail else ''}</dl>"
        f'<p class="muted">The terminal shows the same error.</p>{back}'
    )
    return _document("No tokens were issued", body, "failure")


def _handler(config: FlowConfig, flow: FlowState, keep_running: bool):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # the terminal shows results, not access logs
            pass

        def _page(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server API)
            path = urlsplit(self.path).path
            if path == "/":
                self._page(200, _home_page(flow.url))
            elif path == urlsplit(config.redirect_uri).path:
                self._callback()
            elif path == "/favicon.ico":
                self.send_response(204)  # no icon, and no 404 in the browser's console
                self.end_headers()
            else:
                self._page(404, _document("Not found", "<h1>Not found</h1>", "failure"))

        def _callback(self):
            params = parse_qs(urlsplit(self.path).query)
            back = '<p><a class="button" href="/">Start again</a></p>' if keep_running else ""
            error = params.get("error", [""])[0]
            if error:
                description = params.get("error_description", [""])[0]
                flow.error = f"{error}: {description}".rstrip(": ")
                self._page(400, _failed_page(flow.error, back))
            else:
                try:
                    flow.result = _exchange(
                        config, flow, config.redirect_uri + "?" + urlsplit(self.path).query
                    )
                    self._page(200, _issued_page(flow.result, back))
                except CliError as exc:
                    flow.error = exc.message
                    self._page(400, _failed_page(exc.message, back))
            if keep_running:
                _report(flow)
                _new_request(config, flow)
            else:
                flow.done.set()

    return Handler


_printer_lock = threading.Lock()
_output = {"fmt": "table"}


def _report(flow: FlowState) -> None:
    with _printer_lock:
        if flow.error:
            click.echo(f"authserver: {flow.error}", err=True)
            return
        token = flow.result or {}
        expiry = token.get("expires_at") or time.time() + int(token.get("expires_in") or 0)
        print_row(TOKEN_HEADERS, token_cells(token, expiry), token, _output["fmt"])


class _LocalServer(ThreadingHTTPServer):
    """The command's pages. A browser that drops a connection (a closed tab, a prefetch
    it gave up) is no error of the user's: no traceback for it on their terminal."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def run_authorization_code(
    config: FlowConfig, port: int, open_browser: bool, keep_running: bool, fmt: str
) -> None:
    flow = FlowState()
    _new_request(config, flow)
    _output["fmt"] = fmt
    try:
        server = _LocalServer(("127.0.0.1", port), _handler(config, flow, keep_running))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"port {port} is already in use (choose another with --port)") from None
        raise CliError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    home = f"http://127.0.0.1:{port}/"
    click.echo(f"Setting up home route on {home}", err=True)
    click.echo(f"Setting up callback listener on {config.redirect_uri}", err=True)
    # Hydra says "Press Ctrl+C" in both cases; ours ends by itself unless --no-shutdown.
    ending = (
        "Press Ctrl+C to end the process."
        if keep_running
        else "The command ends after one flow (Ctrl+C ends it sooner)."
    )
    click.echo(ending, err=True)
    click.echo(f"If your browser does not open automatically, navigate to:\n\n\t{home}\n", err=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if open_browser:
        webbrowser.open(home)
    try:
        while not flow.done.wait(0.5):
            pass
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None
    finally:
        server.shutdown()
        server.server_close()
    _report(flow)
    if flow.error:
        raise click.exceptions.Exit(1)


def _flow_options(command):
    options = [
        click.option("--client-id", help="The client's id (env OAUTH2_CLIENT_ID)."),
        click.option("--client-secret", help="The client's secret (env OAUTH2_CLIENT_SECRET)."),
        click.option(
            "-p",
            "--port",
            type=click.IntRange(1, 65535),
            default=4446,
            show_default=True,
            help="The port of the local client.",
        ),
        click.option("--scope", multiple=True, help="Scopes to request [offline,openid]."),
        click.option("--audience", multiple=True, help="Audiences to request."),
        click.option("--prompt", multiple=True, help="The OpenID Connect prompt parameter."),
        click.option(
            "--max-age", type=click.IntRange(0), default=0, help="The OIDC max_age parameter."
        ),
        click.option(
            "--redirect", default="", help="The redirect URI [http://127.0.0.1:PORT/callback]."
        ),
        click.option(
            "--auth-url", default="", help="Authorization endpoint [ENDPOINT/oauth2/auth]."
        ),
        click.option("--token-url", default="", help="Token endpoint [ENDPOINT/oauth2/token]."),
        click.option(
            "-e",
            "--endpoint",
            default=None,
            help=f"The public API URL (env ORY_SDK_URL; default {PUBLIC_DEFAULT}).",
        ),
        click.option("--no-open", is_flag=True, help="Do not open the browser."),
        click.option("--no-shutdown", is_flag=True, help="Keep running after a flow completes."),
        click.option("--skip-tls-verify", is_flag=True, help="Do not verify TLS certificates."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "json-pretty", "default"]),
            default="table",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run(
    client_id,
    client_secret,
    port,
    scope,
    audience,
    prompt,
    max_age,
    redirect,
    auth_url,
    token_url,
    endpoint,
    no_open,
    no_shutdown,
    skip_tls_verify,
    fmt,
):
    client_id = client_id or os.environ.get("OAUTH2_CLIENT_ID", "")
    # A public client (PKCE only) has no secret; a confidential one passes it here.
    client_secret = client_secret or os.environ.get("OAUTH2_CLIENT_SECRET", "")
    if not client_id:
        raise click.UsageError("Please provide a Client ID using --client-id or OAUTH2_CLIENT_ID.")
    base = (endpoint or os.environ.get("ORY_SDK_URL") or PUBLIC_DEFAULT).rstrip("/")
    auth_url = auth_url or base + "/oauth2/auth"
    token_url = token_url or base + "/oauth2/token"
    # The keys live where the token endpoint is (the back channel), as in the Docker guide.
    origin = token_url.rsplit("/oauth2/", 1)[0] if "/oauth2/" in token_url else base
    config = FlowConfig(
        client_id=client_id,
        client_secret=client_secret,
        auth_url=auth_url,
        token_url=token_url,
        jwks_url=origin + "/.well-known/jwks.json",
        redirect_uri=redirect or f"http://127.0.0.1:{port}/callback",
        scope=split_list(scope) or ["offline", "openid"],
        audience=split_list(audience),
        prompt=split_list(prompt),
        max_age=max_age,
        verify_tls=not skip_tls_verify,
    )
    run_authorization_code(config, port, not no_open, no_shutdown, fmt)


@click.command("authorization-code")
@_flow_options
def perform_authorization_code(**options):
    """Run a local example client and perform the authorization code flow with it.

    Open http://127.0.0.1:PORT/ (the browser opens unless --no-open), log in and consent;
    the tokens are printed here and the command exits.
    """
    _run(**options)


@click.command("user")
@_flow_options
def token_user(**options):
    """(legacy) Alias of `perform authorization-code` (the 2019 guide's `token user`)."""
    _run(**options)
