"""Signed JWTs presented to the token endpoint: client assertions (RFC 7523 §2.2,
``private_key_jwt`` and ``client_secret_jwt``, OIDC Core §9) and JWT bearer grants
(RFC 7523 §2.1). Both are checked by the same steps, a table read top to bottom:

1. the compact JWS is read without trusting it (header, claims) — a garbled value, an
   ``alg`` of ``none`` or an algorithm outside the allowed list stops here;
2. the signature is verified with the candidate keys (a ``kid`` picks one);
3. the claims: ``iss``/``sub``, ``aud`` (the issuer or the endpoint's URL: newer specs
   and FAPI 2 use the issuer, Hydra the token URL), ``exp`` required and bounded, ``nbf``
   and ``iat`` not in the future (with a small allowance for clock skew), ``jti``;
4. the ``jti`` is recorded until ``exp``: a second use is a replay (RFC 7523 §3 item 7).

What differs between the two uses (who the issuer must be, which error code a failure
is) is in ``AssertionRules``; every failure raises ``AssertionRefused`` with a message fit
to show the client (never a key, never the assertion).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import KeySet, OctKey

from authserver.domain.client_keys import algorithms_for

# RFC 9864 deprecates the polymorphic "EdDSA" name in favour of "Ed25519"; clients and
# OIDC discovery still use it, so verifying it is not worth a warning per process.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

CLOCK_SKEW = 60  # seconds a client's clock may be ahead of ours
MAX_ASSERTION_BYTES = 16 * 1024


class AssertionRefused(Exception):
    """The assertion is not acceptable; the message says why."""


@dataclass(frozen=True)
class AssertionRules:
    purpose: str  # names the jti namespace: "client_assertion" or "jwt_bearer"
    audiences: frozenset[str]  # any one of them in ``aud``
    algorithms: tuple[str, ...]
    max_lifetime: int  # exp may be at most this far in the future
    jti_required: bool = True
    iat_required: bool = False


@dataclass(frozen=True)
class UnverifiedAssertion:
    header: dict[str, Any]
    claims: dict[str, Any]
    compact: str

    @property
    def alg(self) -> str:
        return self.header.get("alg", "")

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    def claim(self, name: str) -> str | None:
        value = self.claims.get(name)
        return value if isinstance(value, str) else None


def read_unverified(compact: str) -> UnverifiedAssertion:
    """Header and claims of a compact JWS, not yet trusted (step 1)."""
    if not compact or len(compact) > MAX_ASSERTION_BYTES or compact.count(".") != 2:
        raise AssertionRefused("The assertion is not a compact JWS (header.payload.signature).")
    try:
        parsed = jws.extract_compact(compact.encode("ascii"))
        claims = json.loads(parsed.payload)
    except (JoseError, ValueError, UnicodeError, TypeError):
        raise AssertionRefused("The assertion is not a well-formed signed JWT.") from None
    header = dict(parsed.protected)
    if not isinstance(claims, dict):
        raise AssertionRefused("The assertion's payload is not a JSON object of claims.")
    if header.get("crit"):
        raise AssertionRefused("The assertion uses critical header parameters (crit).")
    return UnverifiedAssertion(header, claims, compact)


def verify_signature(assertion: UnverifiedAssertion, keys: Sequence, rules: AssertionRules):
    """Step 2: one of ``keys`` (joserfc keys) signed it with an allowed algorithm."""
    alg = assertion.alg
    if alg not in rules.algorithms:
        raise AssertionRefused(
            f"The assertion's algorithm {alg[:20]!r} is not accepted here; use one of "
            f"{', '.join(rules.algorithms)}."
        )
    candidates = [key for key in keys if _fits(key, alg, assertion.kid)]
    if not candidates:
        raise AssertionRefused("No registered key matches the assertion's kid and algorithm.")
    for key in candidates:
        try:
            jws.deserialize_compact(assertion.compact, key, algorithms=[alg])
            return
        except (JoseError, ValueError, TypeError):
            continue
    raise AssertionRefused("The assertion's signature does not verify with the registered keys.")


def _fits(key, alg: str, kid: str | None) -> bool:
    if isinstance(key, OctKey):
        return alg.startswith("HS")
    if kid is not None and key.kid is not None and key.kid != kid:
        return False
    return alg in algorithms_for(key)


def check_claims(assertion: UnverifiedAssertion, rules: AssertionRules, now: int) -> int:
    """Step 3; the expiry time (for the jti record)."""
    claims = assertion.claims
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not any(
        isinstance(item, str) and _normal(item) in rules.audiences for item in audiences
    ):
        raise AssertionRefused(
            "The assertion's aud must name this server: its issuer or the endpoint's URL."
        )
    exp = _time_claim(claims, "exp", required=True)
    if exp <= now - CLOCK_SKEW:
        raise AssertionRefused("The assertion has expired.")
    if exp > now + rules.max_lifetime:
        raise AssertionRefused(
            f"The assertion's exp is too far in the future (at most {rules.max_lifetime} "
            "seconds ahead)."
        )
    nbf = _time_claim(claims, "nbf", required=False)
    if nbf is not None and nbf > now + CLOCK_SKEW:
        raise AssertionRefused("The assertion is not valid yet (nbf).")
    iat = _time_claim(claims, "iat", required=rules.iat_required)
    if iat is not None and iat > now + CLOCK_SKEW:
        raise AssertionRefused("The assertion was issued in the future (iat).")
    jti = claims.get("jti")
    if rules.jti_required and not (isinstance(jti, str) and jti):
        raise AssertionRefused("The assertion has no jti (a unique identifier is required).")
    if jti is not None and (not isinstance(jti, str) or len(jti) > 255):
        raise AssertionRefused("The assertion's jti must be a string of at most 255 characters.")
    return exp


def _time_claim(claims: dict, name: str, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise AssertionRefused(f"The assertion has no {name} claim.")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise AssertionRefused(f"The assertion's {name} claim must be a number (seconds).")
    if not -(2**53) < value < 2**53:
        raise AssertionRefused(f"The assertion's {name} claim is out of range.")
    return int(value)


def _normal(url: str) -> str:
    return url.rstrip("/")


def audiences_for(issuer: str, *urls: str) -> frozenset[str]:
    return frozenset(_normal(url) for url in (issuer, *urls))


def jti_digest(purpose: str, issuer: str, jti: str) -> str:
    """The replay record's key: the jti is unique per issuer (a client or a trusted
    issuer), and the same string used by two of them is two different ids."""
    raw = "\x00".join((purpose, issuer, jti)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()


def record_jti(
    use_once: Callable[[str, int], bool],
    assertion: UnverifiedAssertion,
    rules: AssertionRules,
    issuer: str,
    expires_at: int,
) -> None:
    """Step 4: ``use_once(digest, expires_at)`` is False when the id was seen before."""
    jti = assertion.claims.get("jti")
    if not jti:
        return  # only possible when the rules make it optional
    if not use_once(jti_digest(rules.purpose, issuer, jti), expires_at):
        raise AssertionRefused("The assertion was used before (its jti is single-use).")


def secret_keys(secrets: Sequence[str]) -> list[OctKey]:
    """HMAC keys for client_secret_jwt: the current secret and any rotated ones."""
    return [OctKey.import_key(secret.encode("utf-8")) for secret in secrets]


def keyset_keys(keyset: KeySet) -> list:
    return list(keyset.keys)
