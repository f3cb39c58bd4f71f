"""The flow inspector: every HTTP step of the flow as a ``Step`` for the sequence diagram.

Steps hold display values only: every secret (codes, tokens, the PKCE verifier, challenges
and verifiers of the login flow, the Authorization header) is cut to its first eight
characters and "…" here, so no template can show a whole one. No I/O, no Flask.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit

from demo_client.id_token import Check, IdTokenResult
from demo_client.transport import Exchange

BROWSER = "Browser"
CLIENT = "Client"
SERVER = "Authorization server"
LOGIN_APP = "Login/consent app"
LANES = (BROWSER, CLIENT, SERVER, LOGIN_APP)

SECRET_NAMES = frozenset(
    {
        "code",
        "code_verifier",
        "access_token",
        "refresh_token",
        "id_token",
        "id_token_hint",
        "token",
        "client_secret",
        "login_challenge",
        "login_verifier",
        "consent_challenge",
        "consent_verifier",
        "logout_challenge",
        "logout_verifier",
    }
)
SHORT_LENGTH = 8

# What each parameter is for, and where it is defined.
PARAMETERS: dict[str, tuple[str, str]] = {
    "response_type": (
        "code: ask for an authorization code, to be exchanged on the back channel.",
        "RFC 6749 §4.1.1",
    ),
    "client_id": ("Which registered client is asking.", "RFC 6749 §4.1.1"),
    "redirect_uri": (
        "Where the browser brings the code back; must match a registered URI exactly.",
        "RFC 6749 §4.1.1, §3.1.2",
    ),
    "scope": (
        "What is asked for: openid (an ID token), offline_access (a refresh token), "
        "profile and email (claims).",
        "RFC 6749 §3.3, OIDC Core §3.1.2.1",
    ),
    "state": (
        "A random value the client remembers and checks on return: protects the callback "
        "against cross-site request forgery.",
        "RFC 6749 §4.1.1, §10.12",
    ),
    "nonce": (
        "A random value that must come back inside the ID token: binds the token to this "
        "login and stops replays.",
        "OIDC Core §3.1.2.1",
    ),
    "code_challenge": (
        "BASE64URL(SHA-256(code_verifier)): the verifier stays secret in the client until "
        "the token request, so a stolen code is useless.",
        "RFC 7636 §4.3, §4.2",
    ),
    "code_challenge_method": ("S256: the challenge is a SHA-256 hash.", "RFC 7636 §4.3"),
    "prompt": (
        "login forces a new login, consent a new consent, none forbids any screen.",
        "OIDC Core §3.1.2.1",
    ),
    "grant_type": ("Which grant is being redeemed.", "RFC 6749 §4.1.3, §6"),
    "code": ("The one-time authorization code from the callback.", "RFC 6749 §4.1.2"),
    "code_verifier": (
        "The PKCE secret; the server hashes it and compares with the code_challenge.",
        "RFC 7636 §4.5",
    ),
    "refresh_token": ("The refresh token being redeemed.", "RFC 6749 §6"),
    "token": ("The token to revoke or introspect.", "RFC 7009 §2.1, RFC 7662 §2.1"),
    "token_type_hint": (
        "Which kind of token it is (only a hint).",
        "RFC 7009 §2.1",
    ),
    "iss": (
        "The issuer that sent the browser back: lets the client detect a mix-up between "
        "authorization servers.",
        "RFC 9207 §2",
    ),
    "id_token_hint": (
        "The ID token of the session to end: tells the server who and which client.",
        "OIDC RP-Initiated Logout §2",
    ),
    "post_logout_redirect_uri": (
        "Where to send the browser after logout; must be registered for the client.",
        "OIDC RP-Initiated Logout §2",
    ),
    "client_id (logout)": ("The client asking for the logout.", "OIDC RP-Initiated Logout §2"),
    "Authorization": (
        "Client authentication: HTTP Basic with client_id:client_secret (never shown whole).",
        "RFC 6749 §2.3.1",
    ),
}

# One line per standard claim (and the ID token header fields), for the decoded ID token.
CLAIMS: dict[str, str] = {
    "iss": "Issuer: who made the token; must be exactly the issuer the client trusts.",
    "sub": "Subject: the user's stable, unique id at this issuer.",
    "aud": "Audience: the client(s) the token is for; must contain this client's id.",
    "exp": "Expiry: reject the token after this time (seconds since 1970, UTC).",
    "iat": "Issued at: when the token was made.",
    "auth_time": "When the user really authenticated (earlier than iat if the login was "
    "remembered).",
    "nonce": "The nonce this client sent, echoed back: ties the token to this login attempt.",
    "at_hash": "Access token hash: left half of SHA-256 of the access token, base64url.",
    "c_hash": "Code hash: left half of SHA-256 of the authorization code.",
    "acr": "Authentication context class: how strong the login was.",
    "amr": "Authentication methods used (pwd, otp, …).",
    "azp": "Authorized party: the client the token was issued to.",
    "sid": "Session id at the authorization server; used to end that session at logout.",
    "jti": "JWT id: a unique id for this token.",
    "rat": "Requested at: when the authorization request was made (Hydra's claim).",
    "email": "The user's email address (scope email).",
    "email_verified": "Whether the provider verified that email address.",
    "name": "The user's full name (scope profile).",
    "given_name": "First name (scope profile).",
    "family_name": "Last name (scope profile).",
    "preferred_username": "The name the user likes to be called by (scope profile).",
    "picture": "A URL of the user's picture (scope profile).",
    "locale": "The user's locale (scope profile).",
    "updated_at": "When the user's profile last changed.",
    "alg": "Header: the signature algorithm (RS256: RSA with SHA-256).",
    "kid": "Header: the id of the key that signed it, to look up in the JWKS.",
    "typ": "Header: the type of the token (JWT).",
}

TIME_CLAIMS = frozenset({"exp", "iat", "auth_time", "rat", "updated_at", "nbf"})


def short(value: object) -> str:
    """The first eight characters and "…": enough to recognise, useless to steal."""
    text = "" if value is None else str(value)
    return text if len(text) <= SHORT_LENGTH else text[:SHORT_LENGTH] + "…"


def fingerprint(value: str) -> str:
    """A few hex digits of SHA-256: tells two tokens apart without showing either."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]


def show(name: str, value: object) -> str:
    if name in SECRET_NAMES:
        return short(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def safe_url(url: str) -> str:
    """The URL with secret query parameters shortened (and "…" left readable)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not pairs:
        return base
    query = "&".join(
        f"{quote(name)}={quote(show(name, value), safe=':/')}".replace("%E2%80%A6", "…")
        for name, value in pairs
    )
    return f"{base}?{query}"


def show_authorization(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    return f"{scheme} {short(credentials)}" if credentials else short(header)


@dataclass
class Param:
    name: str
    value: str
    meaning: str = ""
    ref: str = ""


def param(name: str, value: object, meaning: str | None = None, ref: str | None = None) -> Param:
    doc_meaning, doc_ref = PARAMETERS.get(name, ("", ""))
    return Param(
        name,
        show(name, value),
        doc_meaning if meaning is None else meaning,
        doc_ref if ref is None else ref,
    )


@dataclass
class Step:
    key: str
    title: str
    source: str
    target: str
    purpose: str
    ref: str
    method: str = ""
    url: str = ""
    at: float = field(default_factory=time.time)
    status: str = ""
    duration_ms: float | None = None
    recorded: bool = True
    params: list[Param] = field(default_factory=list)
    response: list[Param] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ok: bool = True

    @property
    def arrow_class(self) -> str:
        """CSS classes that place the arrow between the two lanes of the diagram."""
        a, b = LANES.index(self.source) + 1, LANES.index(self.target) + 1
        if a == b:
            return f"self lane-{a}"
        low, high = sorted((a, b))
        return f"span-{low}-{high} {'ltr' if a < b else 'rtl'}"

    @property
    def label(self) -> str:
        if not self.method:
            return self.title
        if self.url.startswith("<"):  # a described step: "<login app>?login_challenge=…"
            name, _, rest = self.url[1:].partition(">")
            return f"{self.method} {rest.split('?')[0] or f'<{name}>'}"
        return f"{self.method} {urlsplit(self.url).path or self.url}"

    @property
    def clock(self) -> str:
        return (
            time.strftime("%H:%M:%S", time.localtime(self.at))
            + f".{int(self.at * 1000) % 1000:03d}"
        )


def _status(exchange: Exchange) -> str:
    return (
        str(exchange.status) if exchange.status is not None else f"no response ({exchange.error})"
    )


def _request_params(exchange: Exchange) -> list[Param]:
    params = [param(name, value) for name, value in exchange.params]
    if exchange.authorization:
        params.append(param("Authorization", show_authorization(exchange.authorization)))
    return params


def _response_params(exchange: Exchange, names: tuple[str, ...] | None = None) -> list[Param]:
    body = exchange.body
    if not isinstance(body, dict):
        return [Param("body", short(body) if body else "(empty)")] if exchange.status else []
    items = body.items() if names is None else ((n, body[n]) for n in names if n in body)
    return [Param(name, show(name, value)) for name, value in items]


def http_step(
    key: str,
    title: str,
    exchange: Exchange,
    purpose: str,
    ref: str,
    source: str = CLIENT,
    target: str = SERVER,
    **extra,
) -> Step:
    ok = exchange.status is not None and exchange.status < 400
    return Step(
        key=key,
        title=title,
        source=source,
        target=target,
        purpose=purpose,
        ref=ref,
        method=exchange.method,
        url=safe_url(exchange.url),
        at=exchange.started_at,
        status=_status(exchange),
        duration_ms=exchange.duration_ms,
        params=extra.pop("params", None) or _request_params(exchange),
        response=extra.pop("response", None) or _response_params(exchange),
        ok=extra.pop("ok", ok),
        **extra,
    )


# -- the steps, in the order they happen ------------------------------------------------


def discovery_step(exchange: Exchange, fetched_now: bool, rewritten) -> Step:
    notes = [
        f"{name}: published {published}, called at {used}"
        for name, published, used in rewritten
        if published != used
    ]
    if not fetched_now:
        notes.insert(0, "Fetched earlier and reused from this app's cache (kept 5 minutes).")
    return http_step(
        "discovery",
        "Discovery",
        exchange,
        "Learn the server's endpoints, keys URL and features from its metadata document.",
        "OIDC Discovery §4, RFC 8414 §3",
        response=_response_params(
            exchange,
            (
                "issuer",
                "authorization_endpoint",
                "token_endpoint",
                "userinfo_endpoint",
                "jwks_uri",
                "revocation_endpoint",
                "end_session_endpoint",
                "code_challenge_methods_supported",
            ),
        ),
        notes=notes,
    )


def authorization_request_step(url: str, params: list[tuple[str, str]], started: float) -> Step:
    return Step(
        key="authorization-request",
        title="Authorization request",
        source=CLIENT,
        target=BROWSER,
        purpose="The client builds the authorization URL and redirects your browser to it: "
        "it cannot talk to the user itself.",
        ref="RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1",
        method="302 → GET",
        url=safe_url(url),
        at=started,
        status="302",
        duration_ms=(time.time() - started) * 1000,
        params=[param(name, value) for name, value in params],
        notes=[
            "The client kept state, nonce and the PKCE code_verifier in its server-side "
            "session, to check what comes back."
        ],
    )


def _described(key, title, source, target, purpose, ref, method, url, at) -> Step:
    return Step(
        key, title, source, target, purpose, ref, method=method, url=url, at=at, recorded=False
    )


def browser_trip_steps(authorization_url: str, at: float) -> list[Step]:
    """What happens between the redirect and the callback. The client cannot see it: these
    steps are described, not recorded."""
    parts = urlsplit(authorization_url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    hydra = "Hydra's login & consent flow (no RFC)"
    return [
        _described(
            "browser-authorize",
            "Your browser asks the authorization server",
            BROWSER,
            SERVER,
            "Your browser follows the redirect. The server checks client_id, "
            "redirect_uri, scope and PKCE, stores the request and answers with a "
            "redirect to the login app.",
            "RFC 6749 §4.1.1",
            "GET",
            safe_url(authorization_url),
            at,
        ),
        _described(
            "browser-login",
            "Your browser opens the login app",
            BROWSER,
            LOGIN_APP,
            "The authorization server never shows a login screen itself: it sends "
            "your browser to the login app with a one-time login_challenge.",
            hydra,
            "GET",
            "<login app>?login_challenge=…",
            at,
        ),
        _described(
            "login-accept",
            "The login app accepts the login",
            LOGIN_APP,
            SERVER,
            "The login app reads the login request on the admin API, authenticates "
            "you, and accepts it with your subject; the admin API answers with a "
            "redirect_to carrying a login_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/login/accept",
            at,
        ),
        _described(
            "browser-login-verifier",
            "Your browser returns with the login verifier",
            BROWSER,
            SERVER,
            "The login_verifier is single-use and bound to this browser by a cookie. "
            "The server answers with a redirect to the consent app.",
            hydra,
            "GET",
            f"{endpoint}?login_verifier=…",
            at,
        ),
        _described(
            "browser-consent",
            "Your browser opens the consent app",
            BROWSER,
            LOGIN_APP,
            "The consent app gets a one-time consent_challenge and shows what the client asks for.",
            hydra,
            "GET",
            "<consent app>?consent_challenge=…",
            at,
        ),
        _described(
            "consent-accept",
            "The consent app accepts the consent",
            LOGIN_APP,
            SERVER,
            "It accepts on the admin API with the granted scopes and the "
            "claims for the ID token; the answer is a redirect_to carrying a "
            "consent_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/consent/accept",
            at,
        ),
        _described(
            "browser-consent-verifier",
            "Your browser returns with the consent verifier",
            BROWSER,
            SERVER,
            "The server issues a one-time authorization code and redirects your "
            "browser to the client's redirect_uri with the code, the state and iss.",
            hydra + "; RFC 6749 §4.1.2",
            "GET",
            f"{endpoint}?consent_verifier=…",
            at,
        ),
    ]


def callback_step(
    args: list[tuple[str, str]],
    expected_state: str | None,
    status: int,
    notes: list[str],
    ok: bool,
    url: str,
) -> Step:
    params = []
    received = dict(args)
    for name, value in args:
        if name == "state":
            verdict = (
                "matches the state this browser sent"
                if expected_state is not None
                else "does NOT match any request from this browser"
            )
            params.append(param(name, value, f"Compared: {verdict}.", "RFC 6749 §4.1.2, §10.12"))
        elif name in ("error", "error_description", "error_hint"):
            params.append(
                Param(name, value, "The authorization server's error answer.", "RFC 6749 §4.1.2.1")
            )
        else:
            params.append(param(name, value))
    if "state" not in received:
        params.append(
            Param("state", "(missing)", "No state came back: refused.", "RFC 6749 §4.1.2")
        )
    return Step(
        key="callback",
        title="Callback",
        source=BROWSER,
        target=CLIENT,
        purpose="The authorization server sends your browser back to the client with a "
        "one-time code (or an error) and the state the client sent.",
        ref="RFC 6749 §4.1.2, RFC 9207 §2",
        method="GET",
        url=safe_url(url),
        status=str(status),
        params=params,
        notes=notes,
        ok=ok,
    )


def token_step(exchange: Exchange, code_challenge: str, auth_method: str) -> Step:
    params = []
    for name, value in exchange.params:
        params.append(param(name, value))
        if name == "code_verifier":
            hashed = _s256(value)
            same = "matches" if hashed == code_challenge else "does NOT match"
            params.append(
                Param(
                    "→ code_challenge",
                    hashed,
                    f"BASE64URL(SHA-256(code_verifier)), computed here: {same} the "
                    "code_challenge of the authorization request. The server does the same.",
                    "RFC 7636 §4.6",
                )
            )
    params.append(_client_auth(exchange, auth_method))
    return http_step(
        "token-request",
        "Token request",
        exchange,
        "The client exchanges the code for tokens on the back channel, proving it is the "
        "client (its secret) and the one that started the flow (the PKCE verifier).",
        "RFC 6749 §4.1.3, §4.1.4, RFC 7636 §4.5",
        params=params,
        response=_token_response(exchange),
    )


def _client_auth(exchange: Exchange, auth_method: str) -> Param:
    if exchange.authorization:
        value = f"{auth_method}: Authorization: {show_authorization(exchange.authorization)}"
    else:
        value = f"{auth_method}: client_id in the body, no secret (a public client)"
    return Param("client authentication", value, PARAMETERS["Authorization"][0], "RFC 6749 §2.3.1")


def _token_response(exchange: Exchange) -> list[Param]:
    return _response_params(
        exchange,
        (
            "token_type",
            "expires_in",
            "scope",
            "access_token",
            "refresh_token",
            "id_token",
            "error",
            "error_description",
        ),
    )


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def jwks_step(exchange: Exchange) -> Step:
    body = exchange.body if isinstance(exchange.body, dict) else {}
    keys = [key for key in body.get("keys", []) if isinstance(key, dict)]
    return http_step(
        "jwks",
        "Fetch the signing keys",
        exchange,
        "Get the server's public keys to verify the ID token's signature.",
        "OIDC Core §10.1.1, RFC 7517",
        response=[
            Param(
                "keys",
                ", ".join(
                    f"{key.get('kid')} ({key.get('kty')} {key.get('alg', '')})".strip()
                    for key in keys
                )
                or "(none)",
            )
        ],
    )


def id_token_step(result: IdTokenResult, refreshed: bool = False) -> Step:
    return Step(
        key="id-token-checks",
        title="ID token validation" + (" (refreshed token)" if refreshed else ""),
        source=CLIENT,
        target=CLIENT,
        purpose="Before trusting who logged in, the client checks the ID token's signature "
        "and claims.",
        ref="OIDC Core §3.1.3.7" + (", §12.2" if refreshed else ""),
        method="verify",
        status="passed" if result.ok else "FAILED",
        checks=result.checks,
        ok=result.ok,
    )


def userinfo_step(exchange: Exchange, id_token_sub: str | None) -> Step:
    notes = []
    ok = exchange.status == 200
    if isinstance(exchange.body, dict) and id_token_sub is not None:
        same = exchange.body.get("sub") == id_token_sub
        ok = ok and same
        notes.append(("✓ " if same else "✗ ") + "sub equals the ID token's sub (OIDC Core §5.3.4)")
    return http_step(
        "userinfo",
        "UserInfo request",
        exchange,
        "The client uses the access token to ask for the claims about the user.",
        "OIDC Core §5.3, RFC 6750 §2.1",
        params=[
            param(
                "Authorization",
                show_authorization(exchange.authorization),
                "The access token as a Bearer token.",
                "RFC 6750 §2.1",
            )
        ],
        notes=notes,
        ok=ok,
    )


def introspection_step(exchange: Exchange | None, which: str, admin_configured: bool) -> Step:
    purpose = (
        f"Ask the authorization server whether the {which} is active, and what it "
        "grants. Resource servers do this with opaque tokens."
    )
    if exchange is None:
        return Step(
            key="introspection",
            title=f"Introspection ({which})",
            source=CLIENT,
            target=SERVER,
            purpose=purpose,
            ref="RFC 7662 §2",
            recorded=False,
            status="skipped",
            notes=[
                "Skipped: no admin URL is configured (set DEMO_CLIENT_ADMIN_URL). "
                "Introspection is on the admin API only, as in Hydra."
                if not admin_configured
                else "Skipped."
            ],
        )
    return http_step(
        "introspection", f"Introspection ({which})", exchange, purpose, "RFC 7662 §2.1, §2.2"
    )


def refresh_step(exchange: Exchange, old: str, new: str | None, auth_method: str) -> Step:
    params = [param(name, value) for name, value in exchange.params]
    params.append(_client_auth(exchange, auth_method))
    notes = []
    if new:
        rotated = new != old
        notes.append(
            f"{'✓ rotated' if rotated else '✗ NOT rotated'}: old {short(old)} "
            f"(#{fingerprint(old)}) → new {short(new)} (#{fingerprint(new)}). The old "
            "refresh token is now dead; using it again would revoke the whole grant."
        )
    return http_step(
        "refresh",
        "Refresh request",
        exchange,
        "The client trades the refresh token for new tokens, without the user.",
        "RFC 6749 §6",
        params=params,
        response=_token_response(exchange),
        notes=notes,
    )


def revoke_step(exchange: Exchange, auth_method: str) -> Step:
    params = [param(name, value) for name, value in exchange.params]
    params.append(_client_auth(exchange, auth_method))
    return http_step(
        "revoke",
        "Revocation",
        exchange,
        "The client tells the server it no longer needs the token; the server revokes it "
        "(and here the whole grant with it).",
        "RFC 7009 §2.1, §2.2",
        params=params,
        response=_response_params(exchange) or [Param("body", "(empty: 200 means done)")],
    )


def logout_request_step(url: str, params: list[tuple[str, str]], started: float) -> Step:
    return Step(
        key="logout-request",
        title="Logout request",
        source=CLIENT,
        target=BROWSER,
        purpose="The client sends your browser to the server's end-session endpoint to end "
        "the login session there too, not only here.",
        ref="OIDC RP-Initiated Logout §2",
        method="303 → GET",
        url=safe_url(url),
        at=started,
        status="303",
        duration_ms=(time.time() - started) * 1000,
        params=[param(name, value) for name, value in params],
    )


def logout_trip_steps(end_session_url: str, at: float) -> list[Step]:
    parts = urlsplit(end_session_url)
    endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
    hydra = "Hydra's logout flow (no RFC)"
    return [
        _described(
            "browser-logout",
            "Your browser asks the server to log out",
            BROWSER,
            SERVER,
            "The server checks the id_token_hint and the "
            "post_logout_redirect_uri. With a login session in this browser it "
            "redirects to the logout app; without one, straight back to the client.",
            "OIDC RP-Initiated Logout §2",
            "GET",
            safe_url(end_session_url),
            at,
        ),
        _described(
            "browser-logout-app",
            "Your browser opens the logout app",
            BROWSER,
            LOGIN_APP,
            "The logout app gets a one-time logout_challenge (and may ask “really log out?”).",
            hydra,
            "GET",
            "<logout app>?logout_challenge=…",
            at,
        ),
        _described(
            "logout-accept",
            "The logout app accepts the logout",
            LOGIN_APP,
            SERVER,
            "It accepts on the admin API and gets a redirect_to carrying a logout_verifier.",
            hydra,
            "PUT",
            "<admin API>/admin/oauth2/auth/requests/logout/accept",
            at,
        ),
        _described(
            "browser-logout-verifier",
            "Your browser returns with the logout verifier",
            BROWSER,
            SERVER,
            "The server ends the login session and "
            "redirects to the post_logout_redirect_uri with the state.",
            hydra + "; OIDC RP-Initiated Logout §3",
            "GET",
            f"{endpoint}?logout_verifier=…",
            at,
        ),
    ]


def logged_out_step(url: str, state_ok: bool) -> Step:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    verdict = (
        "matches the state sent with the logout request"
        if state_ok
        else "does NOT match: the local session is kept"
    )
    return Step(
        key="logged-out",
        title="Back from logout",
        source=BROWSER,
        target=CLIENT,
        purpose="The browser comes back to the post-logout redirect URI; the client checks "
        "the state and forgets the tokens.",
        ref="OIDC RP-Initiated Logout §3",
        method="GET",
        url=safe_url(url),
        status="200" if state_ok else "400",
        params=[param(n, v, f"Compared: {verdict}." if n == "state" else None) for n, v in pairs],
        ok=state_ok,
    )
