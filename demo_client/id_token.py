"""ID token validation (OIDC Core §3.1.3.7), one named check at a time so that the page can
show each rule and its result. Plain functions: no HTTP, no Flask.

A refreshed ID token (OIDC Core §12.2) is checked against the first one instead of a nonce:
same ``iss`` and ``sub``, and a nonce only if it equals the original.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import import_key

from demo_client.transport import without_surrogates

ALLOWED_ALGORITHMS = ("RS256",)
LEEWAY_SECONDS = 60


@dataclass
class Check:
    name: str  # short name shown in the table ("signature", "iss", …)
    rule: str  # the rule, one sentence
    expected: str
    actual: str
    passed: bool
    ref: str


@dataclass
class IdTokenResult:
    header: dict
    claims: dict
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)


def _b64_json(segment: str) -> dict:
    padded = segment + "=" * (-len(segment) % 4)
    value = without_surrogates(json.loads(base64.urlsafe_b64decode(padded)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def decode_unverified(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWS, *without* checking anything (for display)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("an ID token has three dot-separated parts")
    try:
        return _b64_json(parts[0]), _b64_json(parts[1])
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("the ID token is not base64url-encoded JSON") from exc


def when(timestamp: object) -> str:
    """A NumericDate as readable UTC, next to the number."""
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        return str(timestamp)
    moment = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{int(timestamp)} ({moment})"


def audience_list(claims: dict) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    return [item for item in aud if isinstance(item, str)] if isinstance(aud, list) else []


def find_key(jwks: dict, kid: object) -> dict | None:
    keys = [key for key in (jwks or {}).get("keys", []) if isinstance(key, dict)]
    if kid is not None:
        return next((key for key in keys if key.get("kid") == kid), None)
    return keys[0] if len(keys) == 1 else None


def alg_check(header: dict, ref: str = "OIDC Core §3.1.3.7 (7)") -> Check:
    alg = header.get("alg")
    return Check(
        "alg",
        "The signing algorithm is the one the client expects (never 'none').",
        " or ".join(ALLOWED_ALGORITHMS),
        str(alg),
        alg in ALLOWED_ALGORITHMS,
        ref,
    )


def key_checks(token: str, header: dict, jwks: dict) -> list[Check]:
    """The key named by ``kid`` is in the JWKS, and the signature verifies with it."""
    alg = header.get("alg")
    jwk = find_key(jwks, header.get("kid"))
    checks = [
        Check(
            "kid",
            "The key that signed it is published at the JWKS endpoint.",
            f"a key with kid {header.get('kid')}",
            "found" if jwk else "not in the JWKS",
            jwk is not None,
            "OIDC Core §10.1.1",
        )
    ]
    verified = False
    if jwk is not None and alg in ALLOWED_ALGORITHMS:
        try:
            jwt.decode(token, import_key(jwk), algorithms=[alg])
            verified = True
        except (JoseError, ValueError, TypeError):
            verified = False
    checks.append(
        Check(
            "signature",
            "The signature verifies with that public key: nobody changed a byte.",
            "valid",
            "valid" if verified else "invalid or not checked",
            verified,
            "OIDC Core §3.1.3.7 (6)",
        )
    )
    return checks


def _signature_checks(token: str, header: dict, jwks: dict) -> list[Check]:
    return [alg_check(header), *key_checks(token, header, jwks)]


def validate_id_token(
    token: str,
    jwks: dict,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: str | None = None,
    original: dict | None = None,
    now: float | None = None,
) -> IdTokenResult:
    """Run every check; the result says which passed. ``nonce`` is None for a refreshed
    token, which is compared with ``original`` (the first ID token's claims) instead.

    Raises ValueError when the token cannot even be decoded.
    """
    now = time.time() if now is None else now
    header, claims = decode_unverified(token)
    checks = _signature_checks(token, header, jwks)
    audiences = audience_list(claims)
    checks.append(
        Check(
            "iss",
            "The issuer is exactly the one this client trusts.",
            issuer,
            str(claims.get("iss")),
            claims.get("iss") == issuer,
            "OIDC Core §3.1.3.7 (2)",
        )
    )
    checks.append(
        Check(
            "aud",
            "This client's id is among the audiences: the token was issued to us.",
            f"contains {client_id}",
            ", ".join(audiences) or "(none)",
            client_id in audiences,
            "OIDC Core §3.1.3.7 (3)",
        )
    )
    if len(audiences) > 1 or "azp" in claims:
        checks.append(
            Check(
                "azp",
                "With several audiences, the authorized party is this client.",
                client_id,
                str(claims.get("azp")),
                claims.get("azp") == client_id,
                "OIDC Core §3.1.3.7 (4, 5)",
            )
        )
    exp = claims.get("exp")
    checks.append(
        Check(
            "exp",
            "The token has not expired.",
            f"after {when(int(now))}",
            when(exp),
            isinstance(exp, int | float) and exp + LEEWAY_SECONDS > now,
            "OIDC Core §3.1.3.7 (9)",
        )
    )
    iat = claims.get("iat")
    checks.append(
        Check(
            "iat",
            "The token was issued now, not in the future (a minute of clock skew allowed).",
            f"before {when(int(now))}",
            when(iat),
            isinstance(iat, int | float) and iat - LEEWAY_SECONDS <= now,
            "OIDC Core §3.1.3.7 (10)",
        )
    )
    if nonce is not None:
        checks.append(
            Check(
                "nonce",
                "The nonce is the one this client sent: the token belongs to this login "
                "attempt and is not a replay.",
                nonce,
                str(claims.get("nonce", "(missing)")),
                claims.get("nonce") == nonce,
                "OIDC Core §3.1.3.7 (11)",
            )
        )
    elif original is not None:
        checks.extend(_refresh_checks(claims, original))
    if "at_hash" in claims and access_token:
        expected = create_half_hash(access_token, str(header.get("alg")))
        expected_text = expected.decode("ascii").rstrip("=") if expected else "(unknown alg)"
        checks.append(
            Check(
                "at_hash",
                "The left half of SHA-256 of the access token matches: the access token came "
                "with this ID token.",
                expected_text,
                str(claims.get("at_hash")),
                claims.get("at_hash") == expected_text,
                "OIDC Core §3.1.3.8",
            )
        )
    return IdTokenResult(header, claims, checks)


def _refresh_checks(claims: dict, original: dict) -> list[Check]:
    checks = [
        Check(
            "sub",
            "A refreshed ID token is about the same user as the first one.",
            str(original.get("sub")),
            str(claims.get("sub")),
            claims.get("sub") == original.get("sub"),
            "OIDC Core §12.2",
        )
    ]
    if "nonce" in claims:
        checks.append(
            Check(
                "nonce",
                "A refreshed ID token has no nonce, or the original one.",
                str(original.get("nonce")),
                str(claims.get("nonce")),
                claims.get("nonce") == original.get("nonce"),
                "OIDC Core §12.2",
            )
        )
    return checks
