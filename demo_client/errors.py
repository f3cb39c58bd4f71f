"""Everything that can go wrong, explained for a person: one exception type, rendered in one
place (``views.pages.render_explanation``) as a page with the error code, the server's
description, what it means and what to do next. Never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Authorization errors come back to /callback as ?error=…&error_description=…
# (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6). What each means here, and what to do next.
_AUTHORIZATION_ERRORS: dict[str, tuple[str, str, str]] = {
    "access_denied": (
        "Access was denied",
        "You — or the login/consent app — said no: the login or the consent was rejected, "
        "so the authorization server sent your browser back without a code.",
        "Log in again and accept the consent screen, or check why the login app rejected it.",
    ),
    "login_required": (
        "A login is required",
        "The request said prompt=none (“do not show any screen”), but nobody is logged in at "
        "the authorization server in this browser, so it could not answer silently.",
        "Log in normally (without prompt=none) first; a silent request works after that.",
    ),
    "consent_required": (
        "Consent is required",
        "The request said prompt=none, but the user has not (or not yet) consented to "
        "everything this client asks for, and consent needs a screen.",
        "Log in normally once and accept the consent screen; then prompt=none can succeed.",
    ),
    "interaction_required": (
        "Interaction is required",
        "The request said prompt=none, but the authorization server needs to show the user "
        "something (a login or a consent screen) before it can answer.",
        "Log in normally (without prompt=none).",
    ),
    "account_selection_required": (
        "Account selection is required",
        "The request said prompt=none, but the user must pick an account first.",
        "Log in normally (without prompt=none).",
    ),
    "invalid_request": (
        "The authorization request was refused",
        "The authorization server found the request malformed or not allowed for this client "
        "(a parameter missing or repeated, a redirect URI or scope it does not accept, a "
        "verifier used twice…).",
        "Read the description below. If it names the client or its redirect URI, register the "
        "client again (demo-client --register) so its settings match this app's.",
    ),
    "invalid_scope": (
        "A requested scope is not allowed",
        "The client asked for a scope that it is not registered for.",
        "Register the client with the scopes in DEMO_CLIENT_SCOPE (demo-client --register).",
    ),
    "unauthorized_client": (
        "This client may not use this flow",
        "The client is not registered for the authorization code grant or this response type.",
        "Register it with grant_types authorization_code and refresh_token "
        "(demo-client --register does).",
    ),
    "unsupported_response_type": (
        "The response type is not supported",
        "The authorization server does not offer the requested response_type.",
        "This app only asks for response_type=code; check the authorization server.",
    ),
    "request_forbidden": (
        "The request was forbidden",
        "The authorization server refused to go on, often because its own cookies were "
        "missing: the login flow must happen in one browser, on one host name.",
        "Start again from this app's home page, in the same browser tab.",
    ),
    "server_error": (
        "The authorization server failed",
        "Something went wrong inside the authorization server.",
        "Look at the authorization server's log (the description may carry a request id).",
    ),
    "temporarily_unavailable": (
        "The authorization server is busy",
        "The authorization server cannot handle the request right now.",
        "Wait a moment and log in again.",
    ),
}

# Token endpoint errors (RFC 6749 §5.2) and what they usually mean for this app.
_TOKEN_ERRORS: dict[str, str] = {
    "invalid_grant": (
        "The authorization code or refresh token was not accepted: it expired, was already "
        "used (every refresh rotates the refresh token, and reusing an old one revokes the "
        "whole grant), was revoked, or the PKCE code_verifier does not match the "
        "code_challenge of the authorization request."
    ),
    "invalid_client": (
        "The client could not be authenticated: the client_id is unknown or the secret is "
        "wrong (with private_key_jwt: the key is not the one registered for the client). Set "
        "DEMO_CLIENT_SECRET to the client's secret (or DEMO_CLIENT_PRIVATE_KEY_FILE to its "
        "key), or run demo-client --register so that the app and the authorization server "
        "agree."
    ),
    "unauthorized_client": "The client is not allowed to use this grant type.",
    "invalid_request": "The token request was malformed or missing a parameter.",
    "invalid_scope": "The requested scope is not allowed.",
    "unsupported_grant_type": "The authorization server does not support this grant type.",
}


@dataclass
class Explained(Exception):
    """An error shown to the user as an explanation page."""

    title: str
    explanation: str
    next_step: str
    code: str = ""
    description: str = ""
    status: int = 400
    details: list[tuple[str, str]] = field(default_factory=list)
    checks: list = field(default_factory=list)  # ID token checks, when they failed

    def __str__(self) -> str:
        return f"{self.code or self.title}: {self.description or self.explanation}"


def authorization_error(code: str, description: str, state_note: str) -> Explained:
    title, explanation, next_step = _AUTHORIZATION_ERRORS.get(
        code,
        (
            "The authorization server returned an error",
            "The authorization server sent your browser back with an error instead of a code.",
            "Read the description below and log in again.",
        ),
    )
    return Explained(
        title=title,
        explanation=explanation,
        next_step=next_step,
        code=code,
        description=description,
        details=[("state", state_note)],
    )


def state_mismatch(received: str) -> Explained:
    return Explained(
        title="The state does not match",
        code="state_mismatch",
        explanation=(
            "The state parameter that came back is not one this browser sent. That is either "
            "an attack (someone trying to make your browser finish *their* login: cross-site "
            "request forgery, RFC 6749 §10.12) or, far more often, a stale tab: a login "
            "started in another tab, an old bookmark of the callback, or a login that "
            "already finished. The code was not exchanged."
        ),
        next_step="Start again from the home page and click Log in.",
        details=[("state received", received or "(none)")],
    )


def missing_session(app_address: str) -> Explained:
    """``app_address`` is the configured one: never the request's Host header, which the
    sender chooses (a forged one would be shown back)."""
    return Explained(
        title="This browser's session cookie is missing",
        code="missing_session",
        explanation=(
            "The callback arrived without this app's cookie (demo_client_session_<port>), so the "
            "app cannot know which login it belongs to, nor check its state. The usual "
            "cause is mixing host names: cookies belong to a host name, so a login started on "
            "http://localhost:… loses its cookie when it comes back to http://127.0.0.1:… "
            "(or the other way round). A restart of this app also forgets every session. "
            "The code was not exchanged."
        ),
        next_step=(
            f"Open this app at its own address ({app_address}) and click Log in again; use "
            "the same host name everywhere."
        ),
        details=[("this app's address", app_address)],
    )


def token_error(code: str, description: str, endpoint: str, status: int | None) -> Explained:
    return Explained(
        title="The token endpoint refused the request",
        code=code,
        description=description,
        explanation=_TOKEN_ERRORS.get(
            code, "The authorization server answered the token request with an error."
        ),
        next_step="Log in again to get a new authorization code and fresh tokens.",
        details=[("endpoint", endpoint), ("HTTP status", str(status or ""))],
    )


TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"

# Token exchange refusals (RFC 8693 §2.2.2): what each means here, and how to fix it.
_EXCHANGE_ERRORS: dict[str, tuple[str, str]] = {
    "unauthorized_client": (
        "The client is not registered for the grant type " + TOKEN_EXCHANGE_GRANT + ", so "
        "the server will not exchange tokens for it.",
        "Register the grant type: restart with demo-client --register (it adds the "
        "token-exchange grant type and DEMO_CLIENT_EXCHANGE_AUDIENCE to the client's "
        "audience), or add both to the client on the admin API (PUT /admin/clients/{id}).",
    ),
    "invalid_target": (
        "The audience asked for is not in the client's audience list: a client can get "
        "tokens only for the audiences it was registered with.",
        "Restart with demo-client --register (it adds DEMO_CLIENT_EXCHANGE_AUDIENCE to the "
        "client's audience), or set DEMO_CLIENT_EXCHANGE_AUDIENCE to an allowed audience.",
    ),
    "invalid_request": (
        "The server refused the exchange: the subject token is not active (revoked, "
        "expired), was not issued to this client, or the audience is not allowed for this "
        "client (the description says which).",
        "Log in again for a fresh access token; if the description names the audience, "
        "restart with demo-client --register (it adds DEMO_CLIENT_EXCHANGE_AUDIENCE to the "
        "client's audience).",
    ),
    "invalid_scope": (
        "The scope asked for is beyond the subject token's: an exchange can only narrow it.",
        "Ask for less, or log in again granting the scope.",
    ),
    "unsupported_grant_type": (
        "The authorization server does not offer token exchange (RFC 8693).",
        "Use an authorization server that supports " + TOKEN_EXCHANGE_GRANT + ", or set "
        "DEMO_CLIENT_EXCHANGE_AUDIENCE=off to hide the action.",
    ),
}


def token_exchange_error(
    code: str, description: str, endpoint: str, status: int | None, audience: str
) -> Explained:
    """The token endpoint refused the exchange (RFC 8693 §2.2.2): what it means, how to fix."""
    explanation, next_step = _EXCHANGE_ERRORS.get(
        code,
        (
            _TOKEN_ERRORS.get(code, "The authorization server answered with an error."),
            "Read the description below; the inspector shows the request and the answer.",
        ),
    )
    return Explained(
        title="The token exchange was refused",
        code=code,
        description=description,
        explanation=explanation,
        next_step=next_step,
        details=[
            ("endpoint", endpoint),
            ("HTTP status", str(status or "")),
            ("audience", audience),
        ],
    )


def exchange_disabled() -> Explained:
    return Explained(
        title="Token exchange is turned off",
        code="exchange_disabled",
        explanation="DEMO_CLIENT_EXCHANGE_AUDIENCE is empty (or off), so this app does not "
        "exchange tokens.",
        next_step="Set DEMO_CLIENT_EXCHANGE_AUDIENCE to an absolute URI (the default is "
        "https://downstream.example/) and restart with demo-client --register.",
    )


def unreachable(url: str, reason: str, what: str) -> Explained:
    return Explained(
        title="The authorization server is unreachable",
        code="unreachable",
        status=502,
        description=f"{what}: {reason}",
        explanation=(
            "This app (not your browser) could not reach the authorization server. The "
            "back-channel URL is how this server reaches it; inside Docker it is the "
            "service name (http://authserver:4444/), not the address your browser uses."
        ),
        next_step=(
            "Start the authorization server, or set DEMO_CLIENT_BACKCHANNEL_URL to an address "
            "this server can reach."
        ),
        details=[("URL tried", url)],
    )


def issuer_mismatch(expected: str, published: str, discovery_url: str) -> Explained:
    return Explained(
        title="The issuer does not match",
        code="issuer_mismatch",
        status=502,
        explanation=(
            "The discovery document names a different issuer than the one this app was told "
            "to trust. Tokens carry the issuer in their iss claim, and a client must only "
            "accept tokens from the issuer it expects (OpenID Connect Discovery §4.3), so "
            "this app stops here."
        ),
        next_step=(
            "Set DEMO_CLIENT_ISSUER to the issuer as browsers see it (the authorization "
            "server's URLS_SELF_ISSUER), and DEMO_CLIENT_BACKCHANNEL_URL to where this server "
            "reaches it."
        ),
        details=[
            ("DEMO_CLIENT_ISSUER", expected),
            ("issuer in the discovery document", published),
            ("discovery document", discovery_url),
        ],
    )


def callback_issuer_mismatch(expected: str, received: str) -> Explained:
    """The callback's ``iss`` (RFC 9207) is wrong: bad input from the browser, so a 400."""
    return Explained(
        title="The callback names another issuer",
        code="issuer_mismatch",
        explanation=(
            "The iss parameter of the callback is not the issuer this app logs in with. "
            "Authorization servers add it so that a client talking to several of them cannot "
            "be tricked into sending one server's code to another (a mix-up attack, RFC 9207 "
            "§2.4). The code was not exchanged."
        ),
        next_step="Start again from the home page and click Log in.",
        details=[("DEMO_CLIENT_ISSUER", expected), ("iss received", received)],
    )


def bad_metadata(discovery_url: str, problem: str) -> Explained:
    return Explained(
        title="The discovery document cannot be used",
        code="invalid_metadata",
        status=502,
        description=problem,
        explanation="The authorization server's metadata is missing something this app needs.",
        next_step="Check that the back-channel URL points at the authorization server.",
        details=[("discovery document", discovery_url)],
    )


def id_token_refused(checks: list) -> Explained:
    failed = [check.name for check in checks if not check.passed]
    return Explained(
        title="The ID token was refused",
        code="invalid_id_token",
        description="Failed: " + ", ".join(failed),
        explanation=(
            "The token endpoint returned an ID token, but it did not pass the checks every "
            "OpenID Connect client must make (OIDC Core §3.1.3.7). Without them anyone could "
            "replay or forge a login. The tokens were thrown away."
        ),
        next_step="Log in again. If it keeps failing, the checks below say which rule broke.",
        checks=checks,
    )


def csrf_failed(reason: str) -> Explained:
    return Explained(
        title="The form has expired",
        code="csrf_failed",
        description=reason,
        explanation=(
            "Every button on this app is a form with a CSRF token, so that another site "
            "cannot press it for you. This request's token was missing or invalid (the page "
            "was old, or this app restarted)."
        ),
        next_step="Go back to the home page, reload it and press the button again.",
    )


def not_logged_in(action: str) -> Explained:
    return Explained(
        title="Nobody is logged in",
        code="not_logged_in",
        explanation=f"There are no tokens in this browser's session to {action}.",
        next_step="Log in first.",
    )


# The device flow's final answers (RFC 8628 §3.5): title, explanation, next step.
_DEVICE_ERRORS: dict[str, tuple[str, str, str]] = {
    "access_denied": (
        "The device was refused",
        "You — or the login/consent app — said no on the other device: the login or the "
        "consent was rejected, so the token endpoint answered access_denied to the device's "
        "poll and will never issue tokens for this device code.",
        "Start a new device login and accept the consent screen.",
    ),
    "expired_token": (
        "The device code expired",
        "Nobody finished the login at the verification URI before the device code expired "
        "(expires_in), so the token endpoint answered expired_token. The user code is dead too.",
        "Start a new device login and enter the new user code in time.",
    ),
}


def device_error(code: str, description: str, endpoint: str, status: int | None) -> Explained:
    """A poll that ends the device flow: a refusal, an expiry or another token error."""
    if code not in _DEVICE_ERRORS:
        error = token_error(code, description, endpoint, status)
        error.next_step = "Start a new device login."
        return error
    title, explanation, next_step = _DEVICE_ERRORS[code]
    return Explained(
        title=title,
        code=code,
        description=description,
        explanation=explanation,
        next_step=next_step,
        details=[("endpoint", endpoint), ("HTTP status", str(status or ""))],
    )


def device_authorization_refused(
    code: str, description: str, endpoint: str, status: int | None
) -> Explained:
    return Explained(
        title="The device authorization request was refused",
        code=code,
        description=description,
        explanation=_TOKEN_ERRORS.get(code, "")
        + (
            " A client must be registered with the grant type "
            "urn:ietf:params:oauth:grant-type:device_code to use the device flow."
        ),
        next_step="Register the client again (demo-client --register adds the device grant).",
        details=[("endpoint", endpoint), ("HTTP status", str(status or ""))],
    )


def no_device_login() -> Explained:
    return Explained(
        title="No device login is in progress",
        code="no_device_login",
        explanation="This browser has no pending device authorization: it finished, "
        "failed, expired, or this app restarted.",
        next_step="Start a device login from the device page.",
    )
