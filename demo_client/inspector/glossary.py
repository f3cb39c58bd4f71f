"""What the inspector says about each parameter and claim: the glossary of the flow.

Plain data for the templates: a parameter's meaning and where it is defined, one line per
standard claim, and which claims are times.
"""

from __future__ import annotations

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
    "device_code": (
        "The device's secret handle on its pending authorization: only the device sends it, "
        "to the token endpoint, until the user has finished (or it expires).",
        "RFC 8628 §3.2, §3.4",
    ),
    "user_code": (
        "The short code the user types at the verification URI, on any device with a "
        "browser: it ties their login to this device's request. Shown, not secret.",
        "RFC 8628 §3.2, §6.1",
    ),
    "verification_uri": (
        "Where the user goes (on a phone or a computer) to enter the user code.",
        "RFC 8628 §3.2",
    ),
    "verification_uri_complete": (
        "The verification URI with the user code in it, for a link or a QR code: no typing.",
        "RFC 8628 §3.3.1",
    ),
    "interval": (
        "The minimum number of seconds between two polls of the token endpoint (5 if absent).",
        "RFC 8628 §3.2, §3.5",
    ),
    "expires_in (device)": (
        "Seconds until the device code and the user code expire.",
        "RFC 8628 §3.2",
    ),
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
    "client_assertion_type": (
        "How the client authenticates: with a signed JWT, the client_assertion (jwt-bearer).",
        "RFC 7523 §2.2",
    ),
    "client_assertion": (
        "Client authentication with a key instead of a secret (private_key_jwt): a short-lived, "
        "single-use JWT signed with the client's private key (never shown whole).",
        "RFC 7523 §2.2, OIDC Core §9",
    ),
    "request_uri": (
        "The reference to the pushed request: short-lived and single-use; the browser "
        "carries it instead of the parameters.",
        "RFC 9126 §2.2, §4",
    ),
    "expires_in (PAR)": (
        "Seconds the request_uri can be used (once) at the authorization endpoint.",
        "RFC 9126 §2.2",
    ),
    "dpop_jkt": (
        "The thumbprint of the client's DPoP key: the code is bound to it, so only a token "
        "request with a proof of that key can redeem it.",
        "RFC 9449 §10",
    ),
    "resource": (
        "The API (an absolute URI) the access token is for: the server puts it in the "
        "token's aud, so other APIs refuse it.",
        "RFC 8707 §2",
    ),
    "subject_token": (
        "The token being exchanged: here the user's access token, issued to this client.",
        "RFC 8693 §2.1",
    ),
    "subject_token_type": (
        "What kind of token the subject_token is (an access token).",
        "RFC 8693 §2.1, §3",
    ),
    "requested_token_type": (
        "What kind of token the client wants back (an access token).",
        "RFC 8693 §2.1, §3",
    ),
    "audience": (
        "Who the new token is for: the server puts it in the token's aud, so a service "
        "that is not named refuses the token. It must be in the client's audience list.",
        "RFC 8693 §2.1",
    ),
    "issued_token_type": (
        "What kind of token the server issued (an access token).",
        "RFC 8693 §2.2.1",
    ),
    "logout_token": (
        "A JWT signed by the authorization server that says which login session ended "
        "(decoded below). Shown shortened.",
        "OIDC Back-Channel Logout §2.5",
    ),
    "DPoP": (
        "A DPoP proof: a JWT signed with the client's DPoP key for this request only "
        "(decoded below). Public-key signed and single-use, so shown whole.",
        "RFC 9449 §4",
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

# What each part of a client assertion (private_key_jwt) proves, in one line.
ASSERTION_CLAIMS: dict[str, str] = {
    "alg": "Header: how it was signed (RS256: RSA with SHA-256; ES256: ECDSA). The server "
    "accepts only the asymmetric algorithm registered for the client, never none.",
    "kid": "Header: which of the client's registered public keys (its jwks) checks the signature.",
    "typ": "Header: the type of the token (JWT).",
    "iss": "Issuer: the client itself, by its client_id: who signed this statement.",
    "sub": "Subject: the client_id again: the client authenticates as itself (iss = sub).",
    "aud": "Audience: this server's token endpoint: any other server refuses it, so it "
    "cannot be used elsewhere.",
    "iat": "Issued at: when the client signed it, just before sending it.",
    "exp": "Expiry: the server refuses it after this; kept short, so a copy soon becomes "
    "worthless.",
    "nbf": "Not before: the server refuses it before this time.",
    "jti": "JWT id: unique per assertion; the server records it until exp and refuses a "
    "second use, so the assertion cannot be replayed.",
    "signature": "Made with the client's private key, which never leaves this app; the server "
    "verifies it with the registered public key: this proves who sent it (shown shortened).",
}

# What each part of a DPoP proof proves, in one line (RFC 9449 §4.2, §4.3).
DPOP_CLAIMS: dict[str, str] = {
    "typ": "Header: dpop+jwt, so no other JWT can pass for a proof.",
    "alg": "Header: ES256 (ECDSA P-256 with SHA-256): an asymmetric algorithm, never none.",
    "jwk": "Header: the public half of the client's DPoP key; the server verifies the "
    "signature with it. The private key never leaves this app.",
    "→ thumbprint": "SHA-256 thumbprint of that jwk (RFC 7638): what the tokens are bound "
    "to, the token's cnf.jkt.",
    "jti": "Single use: a random id the server records and refuses to see twice.",
    "htm": "This request only: the HTTP method the proof was made for.",
    "htu": "This request only: the URL (no query) the proof was made for; any other "
    "endpoint refuses it.",
    "iat": "Fresh: when it was made; the server refuses proofs more than a few minutes old.",
    "ath": "Tied to this token: base64url(SHA-256(access token)); the proof works with no "
    "other token.",
    "nonce": "The server's nonce, sent back: proves the proof was made after the server "
    "asked (RFC 9449 §8).",
    "signature": "Made with the DPoP private key: proves possession of the key the tokens "
    "are bound to (shown shortened).",
}

# What each part of a logout token says, in one line (OIDC Back-Channel Logout §2.4).
LOGOUT_TOKEN_CLAIMS: dict[str, str] = {
    "alg": "Header: how it was signed (RS256), with the same keys as the ID tokens, so the "
    "client checks it against the JWKS it already trusts. Never none.",
    "kid": "Header: which key of the issuer's JWKS signed it.",
    "typ": "Header: logout+jwt, the explicit type: an ID token (or any other JWT) cannot be "
    "passed off as a logout token.",
    "iss": "Issuer: the authorization server, exactly as in the ID tokens.",
    "aud": "Audience: this client's id: the token was made for this client only.",
    "iat": "Issued at: when the server made it; the client refuses one that is not recent.",
    "exp": "Expiry: a logout token lives two minutes.",
    "jti": "JWT id: unique per token; the client records it and refuses the same token twice. "
    "A retry after a failure is a new token, with a new jti.",
    "events": "The back-channel-logout event (an empty object): this JWT is a logout token, "
    "nothing else.",
    "sub": "Subject: the user, as this client sees them (the sub of its ID tokens).",
    "sid": "Session id: the login session at the authorization server that ended, the sid "
    "of this client's ID tokens: the client ends the sessions it started from that login.",
    "signature": "Made with the authorization server's private key; verified with its public "
    "key from the JWKS: only the server could have sent this (shown shortened).",
}

TIME_CLAIMS = frozenset({"exp", "iat", "auth_time", "rat", "updated_at", "nbf"})


# The token endpoint's answers while a device polls (RFC 8628 §3.5), in plain words.
DEVICE_POLL_ANSWERS: dict[str, str] = {
    "authorization_pending": "The user has not finished yet: keep polling at the interval.",
    "slow_down": "Polled too fast: the interval grows by 5 seconds for every later poll.",
    "access_denied": "The user (or the login/consent app) refused: polling stops.",
    "expired_token": "The device code expired before the user finished: start again.",
}
