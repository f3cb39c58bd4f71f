"""Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4), validated as §2.6 says: one
named check at a time, as for ID tokens, so that the inspector can show the table and a
refusal can name the check that failed. Plain functions: no HTTP, no Flask.

A logout token is signed like an ID token, by the same keys, but made so that it can never
pass for one (nor an ID token for it): header ``typ: logout+jwt``, an ``events`` claim with
the back-channel-logout event, and never a ``nonce``. The replay check (``jti`` seen
before) needs this app's memory: ``demo_client.channel_logout`` makes it, last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from demo_client.id_token import (
    LEEWAY_SECONDS,
    Check,
    alg_check,
    audience_list,
    decode_unverified,
    key_checks,
    when,
)

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"
IAT_FUTURE_SECONDS = 60  # clock skew
IAT_PAST_SECONDS = 10 * 60  # an older token is refused, so a jti need not be kept longer
MAX_JTI_LENGTH = 256  # the replay cache keeps each one: no megabyte keys
REF = "OIDC Back-Channel Logout §2.6"
# Three base64url parts: a compact JWS (RFC 7515 §7.1), not a JWE (five parts) nor JSON.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@dataclass
class LogoutToken:
    compact: str = field(repr=False)  # never logged, never shown whole
    header: dict
    claims: dict
    checks: list[Check] = field(default_factory=list)

    @property
    def signature(self) -> str:
        return self.compact.rsplit(".", 1)[-1]

    @property
    def failed(self) -> Check | None:
        """The first check that failed, or None."""
        return next((check for check in self.checks if not check.passed), None)


def read_logout_token(compact: str) -> LogoutToken | None:
    """Header and claims of a compact JWS, unverified; None when it is not one."""
    if not _COMPACT_JWS.fullmatch(compact):
        return None
    try:
        header, claims = decode_unverified(compact)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    return LogoutToken(compact, header, claims)


def header_checks(header: dict) -> list[Check]:
    """Before any key is fetched: an algorithm this client allows, and the explicit type."""
    return [
        alg_check(header, f"{REF} (3)"),
        Check(
            "typ",
            "The header says logout+jwt: no other kind of JWT, an ID token included, can "
            "pass for a logout token.",
            LOGOUT_TOKEN_TYPE,
            str(header.get("typ")),
            header.get("typ") == LOGOUT_TOKEN_TYPE,
            "OIDC Back-Channel Logout §2.4, RFC 8725 §3.11",
        ),
    ]


def signature_checks(token: LogoutToken, jwks: dict) -> list[Check]:
    """The key it names is in the issuer's JWKS, and the signature verifies with it."""
    checks = key_checks(token.compact, token.header, jwks)
    for check in checks:
        check.ref = f"{REF} (2)"
    return checks


def claim_checks(claims: dict, *, issuer: str, client_id: str, now: float) -> list[Check]:
    """§2.6 steps 4 to 7 and the jti's presence (§2.4); the replay check (8) needs memory."""
    iat, exp, jti, events = (claims.get(name) for name in ("iat", "exp", "jti", "events"))
    audiences = audience_list(claims)
    event = events.get(BACKCHANNEL_LOGOUT_EVENT) if isinstance(events, dict) else None
    names = [name for name in ("sub", "sid") if name in claims]
    return [
        Check(
            "iss",
            "The issuer is exactly the one this client trusts (the iss of its ID tokens).",
            issuer,
            str(claims.get("iss")),
            claims.get("iss") == issuer,
            f"{REF} (4)",
        ),
        Check(
            "aud",
            "This client's id is among the audiences: the token was made for this client.",
            f"contains {client_id}",
            ", ".join(audiences) or "(none)",
            client_id in audiences,
            f"{REF} (4)",
        ),
        Check(
            "iat",
            "Issued just now: at most a minute in the future (clock skew), at most "
            f"{IAT_PAST_SECONDS // 60} minutes ago.",
            f"between {when(int(now) - IAT_PAST_SECONDS)} and {when(int(now))}",
            _when(iat),
            _number(iat) and now - IAT_PAST_SECONDS <= iat <= now + IAT_FUTURE_SECONDS,
            f"{REF} (4)",
        ),
        Check(
            "exp",
            "If it has an expiry, that time has not passed (a minute of clock skew allowed).",
            f"absent, or after {when(int(now))}",
            "absent" if exp is None else _when(exp),
            exp is None or (_number(exp) and exp + LEEWAY_SECONDS > now),
            f"{REF} (4)",
        ),
        Check(
            "jti",
            "A unique id, so that the client can refuse the same token twice.",
            f"a string of 1 to {MAX_JTI_LENGTH} characters",
            "present" if isinstance(jti, str) and jti else "missing or not a string",
            isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_LENGTH,
            "OIDC Back-Channel Logout §2.4",
        ),
        Check(
            "sub/sid",
            "It names the user (sub), the login session (sid), or both, as strings: what to end.",
            "sub or sid",
            ", ".join(names) or "neither",
            bool(names) and all(isinstance(claims[name], str) and claims[name] for name in names),
            f"{REF} (5)",
        ),
        Check(
            "events",
            "The events claim holds the back-channel-logout event, as an object: this JWT "
            "is a logout token.",
            f'{{"{BACKCHANNEL_LOGOUT_EVENT}": {{}}}}',
            "as expected" if isinstance(event, dict) else "missing or not that event",
            isinstance(event, dict),
            f"{REF} (6)",
        ),
        Check(
            "nonce",
            "No nonce: that belongs to ID tokens, so an ID token cannot be sent as a logout token.",
            "absent",
            "absent" if "nonce" not in claims else "present",
            "nonce" not in claims,
            f"{REF} (7)",
        ),
    ]


def replay_check(first_use: bool) -> Check:
    return Check(
        "jti (replay)",
        "This jti was not seen before: a copy of a logout token cannot be replayed. It is "
        f"kept for longer than the {IAT_PAST_SECONDS // 60} minutes a token is accepted.",
        "not seen before",
        "first use" if first_use else "seen before",
        first_use,
        f"{REF} (8)",
    )


def _when(value: object) -> str:
    """``when``, for a value the sender chose: a number no date can hold stays a number."""
    try:
        return when(value)
    except (OverflowError, ValueError, OSError):
        return str(value)[:40]


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
