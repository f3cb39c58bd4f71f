"""A client's public keys (its ``jwks``, or the document behind its ``jwks_uri``) and the
algorithms it may sign client assertions with (RFC 7523 §2.2, OIDC Core §9).

``parse_public_jwks`` turns untrusted JSON into joserfc keys or raises ``ValueError`` with
a message fit to show: private members are refused (a client that pastes its private key
into its registration must learn it at once, not leak it into the database), as are
symmetric keys, weak RSA moduli and duplicate key ids.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

# Asymmetric algorithms a client may sign a private_key_jwt assertion with.
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
# client_secret_jwt: HMAC with the client secret (RFC 7518 §3.2).
SYMMETRIC_ALGORITHMS = ("HS256", "HS384", "HS512")
MAX_KEYS = 20
MIN_RSA_BITS = 2048
_KEY_TYPES = {"RSA": RSAKey, "EC": ECKey, "OKP": OKPKey}
# Members that only a private (or symmetric) key has (RFC 7518 §6).
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
# The algorithms each key type can verify.
_KTY_ALGORITHMS = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}


def parse_public_jwks(document: Any, where: str = "jwks") -> KeySet:
    """A JWK Set of public signing keys; ``ValueError`` naming the problem otherwise."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f"{where} must be a JWK Set: an object with a 'keys' array")
    raw_keys = document["keys"]
    if len(raw_keys) > MAX_KEYS:
        raise ValueError(f"{where} holds more than {MAX_KEYS} keys")
    keys, kids = [], set()
    for index, raw in enumerate(raw_keys):
        key = _public_key(raw, f"{where} key {index + 1}")
        if key.kid is not None:
            if key.kid in kids:
                raise ValueError(f"{where}: the key id {key.kid!r} is used twice")
            kids.add(key.kid)
        keys.append(key)
    return KeySet(keys)


def _public_key(raw: Any, where: str):
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not a JSON object")
    kty = raw.get("kty")
    if kty not in _KEY_TYPES:
        raise ValueError(f"{where}: kty must be RSA, EC or OKP (public signing keys)")
    private = [name for name in _PRIVATE_MEMBERS if name in raw]
    if private:
        raise ValueError(
            f"{where} contains private key material ({', '.join(private)}); register the "
            "public key only"
        )
    if raw.get("use") not in (None, "sig"):
        raise ValueError(f"{where}: use must be 'sig'")
    alg = raw.get("alg")
    if alg is not None and alg not in _KTY_ALGORITHMS[kty]:
        raise ValueError(f"{where}: alg {alg!r} cannot be used with a key of type {kty}")
    for name in ("kid", "alg", "use"):
        if name in raw and not isinstance(raw[name], str):
            raise ValueError(f"{where}: {name} must be a string")
    if kty == "RSA" and _modulus_bits(raw.get("n")) < MIN_RSA_BITS:
        # Checked before joserfc reads the key (it would only warn).
        raise ValueError(f"{where}: RSA keys must have at least {MIN_RSA_BITS} bits")
    try:
        return _KEY_TYPES[kty].import_key(raw)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(
            f"{where} is not a valid {kty} public key ({type(exc).__name__})"
        ) from None


def _modulus_bits(n: Any) -> int:
    if not isinstance(n, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except (ValueError, binascii.Error):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def algorithms_for(key) -> tuple[str, ...]:
    """The asymmetric algorithms this key can verify (its ``alg`` alone, if it names one)."""
    alg = key.get("alg")
    return (alg,) if alg else _KTY_ALGORITHMS.get(key.key_type, ())
