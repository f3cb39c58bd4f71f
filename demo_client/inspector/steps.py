"""The steps the client records, in the order they happen: each builds a ``Step`` from
what the client sent and received. What happens in the browser between two of them, out of
the client's sight, is in ``trips``."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qsl, urlsplit

from demo_client.id_token import IdTokenResult
from demo_client.inspector.assertion import client_assertion_auth
from demo_client.inspector.glossary import PARAMETERS
from demo_client.inspector.model import (
    BROWSER,
    CLIENT,
    SERVER,
    Param,
    Step,
    dpop_header,
    http_step,
    param,
    response_params,
)
from demo_client.inspector.redaction import fingerprint, safe_url, short, show_authorization
from demo_client.transport import Exchange


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
        response=response_params(
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


def par_step(exchange: Exchange, auth_method: str) -> Step:
    params = [param(name, value) for name, value in exchange.params]
    params.append(_client_auth(exchange, auth_method))
    names = ("request_uri", "expires_in", "error", "error_description")
    response = response_params(exchange, names)
    for row in response:
        if row.name == "expires_in":
            row.meaning, row.ref = PARAMETERS["expires_in (PAR)"]
    return http_step(
        "par",
        "Pushed authorization request",
        exchange,
        "The authorization request went straight to the server, authenticated; the browser "
        "only carried a reference (RFC 9126 §2).",
        "RFC 9126 §2.1, §2.2",
        params=params + dpop_header(exchange),
        response=response,
        notes=[
            "Nothing of the request travels through the browser, where it could be read or "
            "changed; the server checks it (and the client) before the user sees anything.",
            *(
                ["The DPoP proof binds the code to the client's DPoP key (RFC 9449 §10.1)."]
                if exchange.dpop_proof
                else []
            ),
        ],
    )


def authorization_request_step(
    url: str, params: list[tuple[str, str]], started: float, pushed: bool = False
) -> Step:
    notes = [
        "The client kept state, nonce and the PKCE code_verifier in its server-side "
        "session, to check what comes back."
    ]
    if pushed:
        notes.insert(
            0,
            "Pushed (PAR): the browser carries only client_id and the request_uri; the "
            "parameters were sent to the server directly (RFC 9126 §4).",
        )
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
        notes=notes,
    )


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
    params += dpop_header(exchange)
    return http_step(
        "token-request",
        "Token request",
        exchange,
        "The client exchanges the code for tokens on the back channel, proving it is the "
        "client (its secret, or an assertion signed with its key) and the one that started "
        "the flow (the PKCE verifier).",
        "RFC 6749 §4.1.3, §4.1.4, RFC 7636 §4.5",
        params=params,
        response=_token_response(exchange),
    )


def _client_auth(exchange: Exchange, auth_method: str) -> Param:
    with_key = client_assertion_auth(exchange)
    if with_key is not None:
        return Param("client authentication", *with_key)
    if exchange.authorization:
        value = f"{auth_method}: Authorization: {show_authorization(exchange.authorization)}"
    else:
        value = f"{auth_method}: client_id in the body, no secret (a public client)"
    return Param("client authentication", value, PARAMETERS["Authorization"][0], "RFC 6749 §2.3.1")


def _token_response(exchange: Exchange) -> list[Param]:
    rows = response_params(
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
    for row in rows:
        if row.name == "token_type" and row.value.lower() == "dpop":
            row.value = "DPoP ★ (bound to the client's DPoP key, not a bearer token)"
    return rows


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


EXCHANGE_PURPOSE = (
    "The client traded the user's token for one meant for another audience; the server "
    "checked that the token was issued to this client (RFC 8693 §2.1)."
)


def token_exchange_step(exchange: Exchange, auth_method: str) -> Step:
    """RFC 8693 §2.1, §2.2: the exchange of the session's access token."""
    params = [param(name, value) for name, value in exchange.params]
    params.append(_client_auth(exchange, auth_method))
    params += dpop_header(exchange)
    rows = response_params(
        exchange,
        (
            "access_token",
            "issued_token_type",
            "token_type",
            "expires_in",
            "scope",
            "refresh_token",
            "error",
            "error_description",
        ),
    )
    for row in rows:
        if row.name == "token_type" and row.value.lower() == "dpop":
            row.value = "DPoP ★ (bound to the client's DPoP key, like the subject token)"
        if row.name in PARAMETERS and not row.meaning:
            row.meaning, row.ref = PARAMETERS[row.name]
    body = exchange.body if isinstance(exchange.body, dict) else {}
    notes = [
        "The subject token stays valid: the new token is an extra one, with a grant of its "
        "own, for the named audience only; no refresh token comes with it (RFC 8693 §2.2.1)."
    ]
    if body.get("error") == "unauthorized_client":
        notes = [
            "unauthorized_client: the client is not registered for the grant type "
            "urn:ietf:params:oauth:grant-type:token-exchange (demo-client --register adds it)."
        ]
    return http_step(
        "token-exchange",
        "Token exchange",
        exchange,
        EXCHANGE_PURPOSE,
        "RFC 8693 §2.1, §2.2",
        params=params,
        response=rows,
        notes=notes,
    )


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
        params=_presented_token(exchange, "The access token as a Bearer token."),
        notes=notes,
        ok=ok,
    )


def _presented_token(exchange: Exchange, bearer_meaning: str) -> list[Param]:
    """The Authorization header (Bearer, or DPoP with the proof, RFC 9449 §7.1)."""
    if exchange.authorization.startswith("DPoP "):
        row = param(
            "Authorization",
            show_authorization(exchange.authorization),
            "A DPoP-bound access token: worthless without the proof below, made with the key "
            "it is bound to.",
            "RFC 9449 §7.1",
        )
        return [row, *dpop_header(exchange)]
    return [
        param(
            "Authorization",
            show_authorization(exchange.authorization),
            bearer_meaning,
            "RFC 6750 §2.1",
        )
    ]


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
    params += dpop_header(exchange)
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
        response=response_params(exchange) or [Param("body", "(empty: 200 means done)")],
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


def api_call_step(exchange: Exchange, www_authenticate: list[str]) -> Step:
    notes = [f"WWW-Authenticate: {challenge}" for challenge in www_authenticate]
    notes.append(
        "This app is the resource server too: the call is made in-process. To answer, the API "
        "introspects the token on the admin API, then calls userinfo with it."
    )
    return http_step(
        "api-call",
        "Call the protected API",
        exchange,
        "The client presents the access token to a resource server as a Bearer token; on a "
        "401 the challenge's resource_metadata says which authorization server to ask.",
        "RFC 6750 §2.1, §3, RFC 9728 §5.1",
        target=CLIENT,
        params=_presented_token(
            exchange, "The access token as a Bearer token: the only place this API accepts it."
        ),
        notes=notes,
    )
